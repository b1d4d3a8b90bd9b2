"""Parameter sweeps on Dask: ``cosim sweep SWEEP.yaml``.

A sweep file names a base scenario and the overrides of each variant, with the
dotted paths of ``cosim run --set``::

    base: ../default.yaml            # relative to the sweep file
    grid:                            # cartesian product
      households.pv.share: [0.0, 0.5, 1.0]
      market.mechanism: [tariff, pay_as_clear]
    variants:                        # explicit list, crossed with the grid
      - {households.policy: market}
    sample: {n: 10, seed: 1, ranges: {households.pv.kwp.value: {low: 4, high: 15}}}
    seeds: [1, 2]                    # crossed with everything else
    timeout_s: 600                   # per variant
    output_dir: out/sweeps/example   # relative to the working directory

The design is the cartesian product of its factors (grid points, sampled
points, explicit variants, seeds); a factor that is absent contributes one
empty override set, so a file with only ``variants`` runs exactly that list.
A key may appear in only one factor.

Every variant is validated before anything runs: with
:func:`cosim.config.load_scenario` (exactly as ``--set``) and with the checks
that need the net (:mod:`cosim.sweep.plan`). Each variant then runs as its own
child process (``cosim run BASE --set ... -o ID.h5``) launched by a Dask task,
so a timeout can kill it; the task runs on a
:class:`dask.distributed.LocalCluster` (``--workers N`` processes, loopback
only, no HTTP server) or on the scheduler given by ``--scheduler`` (the
workers must see the same file system and Python environment; see
:mod:`cosim.sweep.run` for the child's import path). A variant's id
is the first 16 hex digits of the SHA-256 of the canonical JSON of its
effective scenario, so the same scenario always maps to the same file and
``--resume`` can skip it.

``sweep_index.parquet`` (and ``sweep_index.csv``) in the output directory hold
one row per variant; both are rewritten atomically after every finished
variant. Status values: ``complete``, ``failed``, ``timeout``, ``skipped``
(``--resume`` found a complete result; KPIs are read from it) and
``pending`` (not finished when the sweep stopped).

Modules: :mod:`.schema` (the sweep file), :mod:`.plan` (expansion and
validation), :mod:`.run` (Dask, child processes, the CLI), :mod:`.index` (the
index and what it reads from results). PV hosting capacity from an index is
:func:`analysis.hosting.hosting_capacity`.
"""

from __future__ import annotations

import importlib

# Names are imported on first use: a Dask worker unpickling ``run_variant`` or a
# child starting with ``python -m cosim.sweep`` must not pay for the planner's
# imports (cosim.config and the simulator schemas, ~1.5 s).
_PUBLIC = {
    "MAX_VARIANTS": ".schema", "SampleConfig": ".schema", "SampleRange": ".schema", "SweepConfig": ".schema",
    "NET_CHECKS": ".plan", "Plan": ".plan", "Variant": ".plan", "expand": ".plan", "load_sweep": ".plan",
    "plan_sweep": ".plan", "to_set_item": ".plan", "variant_id": ".plan",
    "EXIT_FAILED": ".run", "EXIT_INTERRUPTED": ".run", "EXIT_OK": ".run", "EXIT_USAGE": ".run",
    "KILL_GRACE_S": ".run", "build_parser": ".run", "child_main": ".run", "main": ".run",
    "run_variant": ".run",
    "INDEX_COLUMNS": ".index", "INDEX_NAME": ".index", "KPI_COLUMNS": ".index", "dataset_digest": ".index",
    "headline_kpis": ".index", "result_status": ".index", "write_index": ".index",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    """Import a public name from its module on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
