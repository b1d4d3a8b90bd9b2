"""The docs site: a strict mkdocs build, and the generated pages are current.

Generated: ``docs/reference/scenario.md`` and ``scenario.schema.json``
(``python -m cosim.docgen docs``) and the enum tables of ``docs/results.md``
(``python -m simulators.catalog docs/results.md``).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cosim import docgen
from cosim.config import Scenario
from simulators import catalog
from simulators.common.messages import Kind, Status
from simulators.market.dso import REASONS
from simulators.market.orders import STATUS_CODES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


# ------------------------------------------------------------------ generated pages are current
def test_scenario_reference_is_current():
    assert docgen.stale(DOCS) == [], "docs/reference is out of date: run python -m cosim.docgen docs"


def test_results_enum_tables_are_current():
    text = (DOCS / "results.md").read_text(encoding="utf-8")
    assert "<!-- enums -->" in text
    assert catalog.render_docs(text) == text, (
        "docs/results.md enum tables are out of date: run python -m simulators.catalog docs/results.md")


def test_docgen_check_reports_a_stale_file(tmp_path):
    assert docgen.main([str(tmp_path), "--check"]) == 1  # nothing written yet
    assert docgen.main([str(tmp_path)]) == 0
    assert docgen.main([str(tmp_path), "--check"]) == 0
    page = tmp_path / docgen.MARKDOWN
    page.write_text(page.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert docgen.stale(tmp_path) == [page]


# ------------------------------------------------------------------ content of the generated pages
def test_scenario_reference_lists_every_section_and_field():
    text = (DOCS / docgen.MARKDOWN).read_text(encoding="utf-8")
    schema = Scenario.model_json_schema()
    for name, sub in [("Scenario", schema), *schema["$defs"].items()]:
        assert f"\n## {name}\n" in text, name
        for key in sub.get("properties", {}):
            assert f"| `{key}` |" in text, f"{name}.{key}"
    # hand-checked rows against cosim/config.py: seed >= 0 with default 0; grid has no default
    assert "| `seed` | integer | `0` | >= `0` |" in text
    assert "| `grid` | [GridConfig](#gridconfig) | **required** |" in text
    # a Literal is listed once, with the table pipe escaped once (simulators/market/schema.py)
    assert '| `dso_check` | `"none"` \\| `"caps"` \\| `"ac_check"` \\| `"zonal"` | `"none"` |' in text


def test_json_schema_accepts_every_shipped_scenario_and_rejects_unknown_keys():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    schema = json.loads((DOCS / docgen.SCHEMA).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    # sweep specifications (scenarios/sweeps/*, except their base scenarios) are another format
    files = [p for p in sorted((ROOT / "scenarios").rglob("*.yaml"))
             if p.parent.name != "sweeps" or p.stem.endswith("_base")]
    assert len(files) > 10
    for path in files:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
        assert errors == [], path.name
    assert not validator.is_valid({"grid": {"simbench": "1-LV-rural1--0-sw"}, "sed": 3})  # typo of seed
    assert not validator.is_valid({"seed": 3})  # neither grid nor extends


def test_enum_tables_carry_every_code_with_its_meaning():
    text = (DOCS / "results.md").read_text(encoding="utf-8")
    rows = [(c, n) for c, n in REASONS.items()] + [(c, n) for n, c in STATUS_CODES.items()]
    rows += [(int(m), m.name) for e in (Kind, Status) for m in e]
    rows += [(0, "green"), (1, "amber"), (2, "red")]
    for code, name in rows:
        assert f"| {code} | `{name}` |" in text, name
    assert "| 9 | `ledger_not_final` | dropped because" in text
    for _, module, table, kind in catalog.ENUMS:  # every entry has a meaning (a trailing comment)
        assert all(meaning for _, _, meaning in catalog.enum_rows(module, table, kind)), table


# ------------------------------------------------------------------ the site
@pytest.mark.slow
def test_mkdocs_build_is_strict_and_clean(tmp_path):
    for module in ("mkdocs", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    # no -q: mkdocs counts warnings for --strict only among the messages it logs
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("load_scenario", "run_scenario", "analysis.load", "analysis.Result", "analysis.kpis"):
        assert name in api, name  # rendered by mkdocstrings from the docstrings
    assert (site / "reference" / "scenario.schema.json").is_file()
    assert "ledger_not_final" in (site / "results" / "index.html").read_text(encoding="utf-8")


def test_field_comments_become_descriptions():
    """``#:`` comments above a field fill an empty description (hand-built model); explicit ones win."""
    from pydantic import BaseModel, Field

    class Toy(BaseModel):
        """A toy section."""

        #: first line of a
        #: second line with ``code`` and :mod:`x.y`
        a: int = 0
        b: int = 1  # a plain comment is not a description
        #: ignored: an explicit description wins
        c: int = Field(2, description="explicit")

    docs = docgen.comment_docs(Toy)
    assert docs == {"a": "first line of a second line with `code` and `x.y`",
                    "c": "ignored: an explicit description wins"}
    # and in the real schema: a field documented only by its comment carries it
    ev = docgen.model_schema()["$defs"]["EvConfig"]["properties"]["mean_daily_km"]
    assert "MiD 2017" in ev["description"]


def test_every_scenario_key_has_a_description():
    """Each key of the scenario reference says what it is (Field description or #: comment)."""
    schema = docgen.model_schema()
    missing = [f"{name}.{key}" for name, sub in [("Scenario", schema), *schema["$defs"].items()]
               for key, prop in sub.get("properties", {}).items() if not prop.get("description")]
    assert missing == [], f"fields without a description: {missing}"
