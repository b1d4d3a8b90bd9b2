"""HDF5 recorder: a streaming sink plus its mosaik adapter.

:class:`HDF5Sink` owns the file. It is created by the orchestrator and
handed to the recorder simulator by reference (in-process), so the
orchestrator can close it with the right ``status`` whatever happens
inside mosaik. Rows are buffered and written in blocks of ``chunk_steps``;
memory does not grow with the run length.

Output files (Linux and macOS: ``fcntl.flock``):

* the sink first takes an exclusive lock on the result path, as a ``flock``
  on the sidecar ``OUT.h5.lock`` (removed when the sink releases it); a
  second run into the same path fails at once with :class:`OutputBusy`;
* the run writes a name of its own, ``OUT.h5.<pid>-<random>.partial``;
* a complete file is renamed to ``OUT.h5``; a failed or interrupted one to
  ``OUT.h5.partial`` (replacing an older partial), so a failed run never
  replaces an earlier result;
* a few MiB are reserved on disk beside the file (``OUT.h5.<...>.reserve``)
  and freed when a write fails, so that a run that fills the disk can still
  close its file with ``status = failed``.

A run killed with SIGKILL leaves its ``OUT.h5.<pid>-<random>.partial``
(``status = running``); the next run into the same path removes the stale
reserve and lock files.

Layout (``layout_version`` 1) is documented in ``docs/results.md``. Root
attributes added since (``scenario_resolved``, ``git_commit``, ``time_zone``,
a ``start`` with UTC offset, HDF5 ENUM ``reason`` columns) are additions a
version-1 reader ignores or reads unchanged, so the version stays 1; readers
treat them as optional.

This module is the only writer of that layout: the sink and
:func:`analysis.synthetic.write_result` (test fixtures, demos) both call the
functions of the "layout" section below.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import json
import logging
import os
import secrets
import zlib
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import h5py
import mosaik_api_v3
import numpy as np
import pandas as pd
from h5py import h5t, h5z

from simulators.common.records import concat

from .errors import OutputBusy, OutputPathError, RecorderWriteError

try:  # ISA-L's deflate: level-1 output of zlib's size at a sixth of its time (encode_chunk)
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - a platform without python-isal wheels: zlib encodes all levels
    _isal_zlib = None

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1
_PACKAGES = ("mosaik", "mosaik-api-v3", "pandapower", "simbench", "numpy", "isal",
             "pandas", "h5py", "pydantic", "lightsim2grid", "highspy", "pvlib")


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a result (``cosim`` from its own ``__version__``)."""
    from cosim import __version__

    out = {"cosim": __version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def source_commit() -> str:
    """``git`` commit of the cosim source that runs (``+dirty`` with local changes), or ``""``.

    Known only when cosim runs from a git checkout; an installed wheel records
    its version (``cosim_version``) instead.
    """
    import subprocess

    from cosim._layout import ROOT, SOURCE_CHECKOUT

    if not SOURCE_CHECKOUT or not (ROOT / ".git").exists():
        return ""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return head.stdout.strip() + ("+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


#: Disk space held back while a run writes [byte]; freed to close the file when the disk is full.
RESERVE_BYTES = 4 * 2**20


def partial_path(path: Path) -> Path:
    """Where a failed or interrupted run leaves its file: ``OUT.h5.partial``."""
    return path.with_name(path.name + ".partial")


# ------------------------------------------------------------------ layout
def write_root_attrs(f: h5py.File, attrs: Mapping[str, object]) -> None:
    """Write the root attributes ``attrs`` and ``layout_version`` to ``f``."""
    for k, v in attrs.items():
        f.attrs[k] = v
    f.attrs["layout_version"] = LAYOUT_VERSION


def create_time(f: h5py.File, chunk_steps: int) -> h5py.Dataset:
    """Create the empty, growable ``/time`` dataset (int64 seconds since ``start``)."""
    return f.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(chunk_steps,))


def series_dtype(sample: np.ndarray) -> type:
    """Stored dtype of a series: bool stays bool, everything else is float64."""
    return np.bool_ if np.asarray(sample).dtype == np.bool_ else np.float64


def create_series(f: h5py.File, sim: str, attr: str, shape: tuple[int, ...], dtype: type, unit: str,
                  entities, chunk_steps: int, compression: str | None, level: int) -> h5py.Dataset:
    """Create the empty, growable ``/series/<sim>/<attr>`` dataset with its ``unit`` and ``entities``.

    Parameters
    ----------
    shape : tuple of int
        Shape of one row (``()`` for a scalar series, ``(n_entities,)`` otherwise).
    dtype : type
        From :func:`series_dtype`.
    chunk_steps : int
        Rows per HDF5 chunk.
    compression : str or None
        ``gzip``, ``lzf`` or None; ``level`` applies to gzip.
    """
    kwargs: dict = {}
    if compression:
        kwargs["compression"] = compression
        if compression == "gzip":
            kwargs["compression_opts"] = level
        # byte shuffle (built into HDF5, no plugin) before the codec: on 8,767-wide float
        # rows with distinct values it saved 8 % (gzip 1) at no measurable write cost;
        # full-row chunks kept: column chunks of 1 MiB sped up a one-home read but
        # slowed writes and whole reads (benchmarks/bench_recorder.py, RESULTS.md)
        kwargs["shuffle"] = np.dtype(dtype).itemsize > 1
    size = int(np.prod(shape)) if shape else 1
    ds = f.require_group(f"series/{sim}").create_dataset(
        attr, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype,
        chunks=(chunk_steps, *shape) if size else None, **kwargs,
    )
    ds.attrs["unit"] = unit
    ds.attrs["entities"] = np.array([str(e) for e in entities], dtype="S")
    return ds


def write_static_table(f: h5py.File, sim: str, table: str, columns: Mapping[str, object]) -> None:
    """Write a table as per-column datasets under ``/static/<sim>/<table>`` (text as bytes)."""
    g = f.require_group(f"static/{sim}").create_group(table)
    for col, values in columns.items():
        values = np.asarray(values)
        if values.dtype == object or values.dtype.kind in "US":
            values = np.array([str(v) for v in values], dtype="S")
        g.create_dataset(str(col), data=values)


def create_events(f: h5py.File, name: str, dtype: np.dtype, compression: str | None,
                  level: int | None = None) -> h5py.Dataset:
    """Create the empty, growable event table ``/events/<name>`` of structured ``dtype``.

    ``level`` applies to gzip, as for the series (``output.compression_level``).
    """
    opts = {"compression_opts": level} if compression == "gzip" and level is not None else {}
    return f.require_group("events").create_dataset(
        name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,), compression=compression, **opts,
    )


# ------------------------------------------------------------------ chunks
def deflate_engine(level: int) -> str:
    """Which deflate encoder writes gzip ``level``: ``isal`` for level 1, ``zlib`` otherwise.

    On a district day's rows and events (424 MB raw, 1,209 chunks) ISA-L's
    level 1 wrote 116.6 MB in 0.79 s and zlib's level 1 115.9 MB in 4.90 s
    (one thread; benchmarks/RESULTS.md). ISA-L's other levels are not zlib's,
    so every other level keeps zlib's own encoder and meaning.
    """
    return "isal" if level == 1 and _isal_zlib is not None else "zlib"


def encode_chunk(chunk: np.ndarray, shuffle: bool, level: int, rows: int | None = None) -> bytes:
    """The stored bytes of one full HDF5 chunk after HDF5's shuffle and deflate filters.

    HDF5's shuffle filter stores byte ``j`` of element ``i`` at ``j * n + i``
    (all first bytes, then all second bytes, ...): the transpose of the
    ``(n, itemsize)`` byte matrix. Its deflate filter stores one zlib stream
    (RFC 1950), which any zlib inflates whatever encoder wrote it; h5py and
    every HDF5 reader read the chunk with their own filters.

    ``rows``: only the first ``rows`` rows of ``chunk`` are data, the rest of
    the chunk is stored as zero bytes (an edge chunk of a dataset whose fill
    value is zero; what lies beyond the extent is never read).
    """
    chunk = np.asarray(chunk)
    size = chunk.dtype.itemsize
    if rows is None or rows >= len(chunk):
        raw = np.ascontiguousarray(chunk).reshape(-1)
        data = raw.view(np.uint8)
        if shuffle and size > 1:
            data = data.reshape(-1, size).T.copy()
    else:
        live = np.ascontiguousarray(chunk[:rows]).reshape(-1).view(np.uint8)
        n, n_live = chunk.size, live.size // size
        data = np.zeros((size, n) if shuffle and size > 1 else n * size, dtype=np.uint8)
        if data.ndim == 2:
            data[:, :n_live] = live.reshape(-1, size).T
        else:
            data[:live.size] = live
    if deflate_engine(level) == "isal":
        return _isal_zlib.compress(data, level)
    return zlib.compress(data, level)


def direct_chunk_filters(ds: h5py.Dataset, dtype: np.dtype) -> tuple[bool, int] | None:
    """``(shuffle, level)`` if :func:`encode_chunk` can write ``ds``'s chunks, else None.

    That is a chunked dataset whose filters are exactly [shuffle,] deflate,
    whose fill value is zero (the padding of edge chunks) and whose file type
    has the memory layout of ``dtype`` (size and, for records, every field's
    offset); anything else is written through HDF5's own filters.
    """
    if ds.chunks is None or dtype.hasobject:
        return None
    if np.asarray(ds.fillvalue).tobytes().strip(b"\0"):
        return None
    dcpl = ds.id.get_create_plist()
    filters = [dcpl.get_filter(i) for i in range(dcpl.get_nfilters())]
    codes = [f[0] for f in filters]
    if codes not in ([h5z.FILTER_SHUFFLE, h5z.FILTER_DEFLATE], [h5z.FILTER_DEFLATE]):
        return None
    ftype = ds.id.get_type()
    if ftype.get_size() != dtype.itemsize:
        return None
    if dtype.names:
        if not isinstance(ftype, h5t.TypeCompoundID) or ftype.get_nmembers() != len(dtype.names):
            return None
        for i in range(ftype.get_nmembers()):
            name = ftype.get_member_name(i).decode()
            if name not in dtype.fields or ftype.get_member_offset(i) != dtype.fields[name][1]:
                return None
    return codes[0] == h5z.FILTER_SHUFFLE, int(filters[-1][2][0])


def _pieces(parts: list[np.ndarray], ends: np.ndarray, a: int, b: int) -> list[np.ndarray]:
    """Views of records ``a:b`` of the parts joined end to end (``ends``: their cumulative lengths)."""
    out = []
    k = int(np.searchsorted(ends, a, side="right"))
    while a < b:
        first = int(ends[k - 1]) if k else 0
        take = min(b, int(ends[k])) - a
        out.append(parts[k][a - first:a - first + take])
        a += take
        k += 1
    return out


def _encode_records(pieces: list[np.ndarray], size: int, shuffle: bool, level: int) -> bytes:
    """:func:`encode_chunk` of the records of ``pieces`` joined, zero-padded to ``size`` records."""
    short = size - sum(len(p) for p in pieces)
    if short:  # the last chunk: its padding lies beyond the extent and is never read
        pieces = [*pieces, np.zeros(short, dtype=pieces[0].dtype)]
    return encode_chunk(concat(pieces), shuffle, level)


def append_rows(ds: h5py.Dataset, rows: np.ndarray) -> None:
    """Append ``rows`` along the first (time or record) axis of ``ds``."""
    n = ds.shape[0]
    ds.resize(n + len(rows), axis=0)
    ds[n:] = rows


def lock_path(path: Path) -> Path:
    """The sidecar lock file of a result path: ``OUT.h5.lock``."""
    return path.with_name(path.name + ".lock")


def check_output_path(path: str | Path) -> Path:
    """Refuse a result path that cannot be written, before any set-up.

    Creates missing parent folders.

    Raises
    ------
    OutputPathError
        The path is a folder, its parent is not a folder, or it cannot be
        created or written (one line, with the operating system's reason).
    """
    path = Path(path)
    if path.suffix != ".h5":
        raise OutputPathError(f"-o/--output: expected a path ending in .h5, got {str(path)!r}")
    if "\0" in str(path):
        raise OutputPathError("-o/--output: the path contains a NUL character")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"-o/--output: cannot create the folder {str(path.parent)[:200]!r} "
                              f"({exc.strerror or exc})") from None
    try:
        # + 32: the run's own name adds ".<pid>-<random>.partial"
        if len(path.name.encode()) + 32 > os.pathconf(path.parent, "PC_NAME_MAX"):
            raise OutputPathError(f"-o/--output: file name {path.name[:40]!r}... is too long for the file system")
        if path.is_dir():
            raise OutputPathError(f"-o/--output: {str(path)!r} is a folder; give a file name ending in .h5")
    except OSError as exc:
        raise OutputPathError(f"-o/--output: cannot use {str(path)[:200]!r} ({exc.strerror or exc})") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"-o/--output: the folder {str(path.parent)!r} is not writable")
    return path


class OutputLock:
    """Exclusive ``flock`` on ``OUT.h5.lock`` for the life of one run.

    The lock file is removed by its holder while it still holds the lock;
    a process that opened the file just before checks after locking that
    the path still names the file it locked, and retries otherwise.
    """

    def __init__(self, path: Path) -> None:
        self.target = Path(path)
        self.path = lock_path(self.target)
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`OutputBusy` (never waits)."""
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as exc:
                raise OutputPathError(f"-o/--output: cannot create {str(self.path)!r} "
                                      f"({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputBusy(f"{self.target} is being written by another run (lock {self.path} "
                                     "is held); wait for it or choose another -o") from None
                raise OutputPathError(f"-o/--output: cannot lock {str(self.path)!r} ({exc.strerror})") from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return
            os.close(fd)  # the previous holder removed it between our open and flock
        raise OutputBusy(f"{self.target}: could not take the lock {self.path}; another run keeps replacing it")

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = None


class _Series:
    """One /series dataset with its row buffer."""

    def __init__(self, f: h5py.File, sim: str, name: str, sample: np.ndarray, meta: dict,
                 chunk: int, compression: str | None, level: int) -> None:
        arr = np.asarray(sample)
        self.shape = arr.shape
        dtype = series_dtype(arr)
        self.ds = create_series(f, sim, name, self.shape, dtype, meta.get("unit", ""),
                                meta.get("entities", []), chunk, compression, level)
        self.buf = np.empty((chunk, *self.shape), dtype=dtype)
        self.spare: np.ndarray | None = None  # a buffer back from the writer thread, reused
        self.n = 0
        self.direct = direct_chunk_filters(self.ds, self.buf.dtype)  # (shuffle, level) or None


class HDF5Sink:
    """Streams recorded steps into one HDF5 file.

    Parameters
    ----------
    path : Path
        Final result path. It is locked (:class:`OutputLock`, raises
        :class:`OutputBusy` if another run holds it) and the file is written
        at ``path + '.<pid>-<random>.partial'`` (:attr:`running`).
    root_attrs : dict
        Written to ``/`` at open (scenario YAML, seed, start, ...).
    chunk_steps : int
        Rows buffered per dataset before a write (also the HDF5 chunk length).

    Writing behind
    --------------
    When ``chunk_steps`` rows are buffered, :meth:`end_row` hands the full
    buffers to one writer thread and goes on with fresh ones: compressing a
    district day's rows (about 420 MB raw) takes seconds, and h5py releases the
    GIL while HDF5 compresses, so the writing overlaps the next rows' simulation
    on another core. At most one block is in flight: the next block, and
    :meth:`flush` and :meth:`close`, wait for it first, and a write error in the
    thread is raised there as :class:`RecorderWriteError`. The bytes written
    are the same as when writing in the calling thread.
    """

    def __init__(self, path: str | Path, root_attrs: dict, chunk_steps: int = 96,
                 compression: str | None = "gzip", compression_level: int = 1,
                 reserve_bytes: int = RESERVE_BYTES) -> None:
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = OutputLock(self.path)
        self.lock.acquire()
        # holding the lock, no other run writes this path: reserves left by a
        # killed run (SIGKILL) are garbage
        for stale in self.path.parent.glob(f"{glob.escape(self.path.name)}.*.reserve"):
            stale.unlink(missing_ok=True)
        run_id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.running = self.path.with_name(f"{self.path.name}.{run_id}.partial")
        self.reserve = self.path.with_name(f"{self.path.name}.{run_id}.reserve")
        self.closed = True
        self.failed_write: OSError | None = None
        try:
            self._reserve(reserve_bytes)
            # HDF5 1.8 file format: it has dense attribute storage (a district's
            # 8,767 entity labels exceed the 64 KiB limit of compact attributes) and
            # is read by any HDF5 >= 1.8. No HDF5 file lock, so notebooks (and the
            # tests) can read a running result; each run writes a name of its own.
            self.f = h5py.File(self.running, "w", libver=("v108", "v108"), locking=False)
        except OSError as exc:
            self._drop_reserve()
            self.lock.release()
            raise RecorderWriteError(f"cannot create {self.running} ({exc.strerror or exc})") from None
        self.closed = False
        self.chunk = int(chunk_steps)
        self.compression = compression
        self.level = compression_level
        write_root_attrs(self.f, root_attrs)
        self.f.attrs["status"] = "running"
        self.f.attrs["n_steps_done"] = 0
        self._time = create_time(self.f, self.chunk)
        self._time_buf: list[int] = []
        self._series: dict[tuple[str, str], _Series] = {}
        self._meta: dict[tuple[str, str], dict] = {}
        self._events: dict[str, h5py.Dataset] = {}
        self._events_direct: dict[str, tuple[bool, int] | None] = {}
        self._ev_buf: dict[str, list[np.ndarray]] = {}
        self._row: dict[tuple[str, str], np.ndarray] = {}
        self.rows_written = 0  # rows handed to the file (written, or being written behind)
        self.rows_on_disk = 0  # rows whose write has finished
        self._writer: ThreadPoolExecutor | None = None
        self._inflight: tuple[Future, list] | None = None  # (the block's write, its buffers)
        self._encoders: ThreadPoolExecutor | None = None  # chunk encoders (_write_block)

    def _reserve(self, n_bytes: int) -> None:
        """Write (not just allocate) ``n_bytes`` beside the result, freed on a write error."""
        if n_bytes <= 0:
            return
        with open(self.reserve, "wb") as fh:
            block = b"\0" * min(n_bytes, 2**20)
            left = n_bytes
            while left > 0:
                left -= fh.write(block[:left])
            fh.flush()
            os.fsync(fh.fileno())

    def _drop_reserve(self) -> None:
        try:
            self.reserve.unlink()
        except FileNotFoundError:
            pass

    # -------------------------------------------------------------- set-up
    def declare(self, sim: str, attr: str, meta: dict) -> None:
        """Announce a series (unit, entity labels) before its first value."""
        self._meta[(sim, attr)] = meta

    def write_static(self, sim: str, table: str, df: pd.DataFrame) -> None:
        """Write a table as per-column datasets under /static/<sim>/<table>."""
        write_static_table(self.f, sim, table, {col: df[col].to_numpy() for col in df.columns})

    # -------------------------------------------------------------- stream
    def record(self, sim: str, attr: str, value) -> None:
        """Stage one value of the current row."""
        self._row[(sim, attr)] = value

    def end_row(self, time_s: int) -> None:
        """Commit the staged values as the row of ``time_s``."""
        for key, value in self._row.items():
            s = self._series.get(key)
            if s is None:
                s = self._series[key] = _Series(self.f, key[0], key[1], np.asarray(value),
                                                self._meta.get(key, {}), self.chunk,
                                                self.compression, self.level)
                # a series that appears late is padded with NaN for earlier rows
                if self.rows_written or self._time_buf:
                    self._pad(s)
            arr = np.asarray(value)
            if arr.shape != s.shape:
                raise ValueError(f"series {key[0]}/{key[1]} changed shape from {s.shape} to {arr.shape}")
            s.buf[s.n] = arr
            s.n += 1
        for key, s in self._series.items():
            if key not in self._row:  # a value missing in this step is NaN / False
                s.buf[s.n] = False if s.ds.dtype == np.bool_ else np.nan
                s.n += 1
        self._row.clear()
        self._time_buf.append(int(time_s))
        if len(self._time_buf) >= self.chunk:
            self._flush_behind()

    def _pad(self, s: _Series) -> None:
        """Fill the rows before a late-appearing series with NaN (False)."""
        fill = False if s.ds.dtype == np.bool_ else np.nan
        if self.rows_written:
            s.ds.resize(self.rows_written, axis=0)
            s.ds[:] = fill
        for _ in range(len(self._time_buf)):
            s.buf[s.n] = fill
            s.n += 1

    def append_events(self, name: str, records: np.ndarray) -> None:
        """Stage structured records for /events/<name> (written at the next flush)."""
        records = np.asarray(records)
        if records.dtype.names is None:
            raise TypeError(f"events {name!r} must be a structured array")
        if len(records):
            self._ev_buf.setdefault(name, []).append(records)

    def flush(self) -> None:
        """Write buffered rows and events; afterwards all committed rows are on disk.

        Raises
        ------
        RecorderWriteError
            The file system refused a write (disk full, I/O error), now or in
            the block written behind. The buffered rows are dropped, the disk
            reserve is freed so that :meth:`close` can still record the status.
        """
        if self.failed_write is not None:
            raise RecorderWriteError(self._write_problem(self.failed_write))
        self._wait_behind()
        self._write_block(self._take_block(), failed=self._failed)

    def _flush_behind(self) -> None:
        """Hand the buffered block to the writer thread (after the previous one has finished)."""
        if self.failed_write is not None:
            raise RecorderWriteError(self._write_problem(self.failed_write))
        self._wait_behind()
        block = self._take_block()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cosim-recorder")
        self._inflight = (self._writer.submit(self._write_block, block), block["series"])

    def _wait_behind(self) -> None:
        """Wait for the block in flight; raise its write error; take its buffers back for reuse."""
        if self._inflight is None:
            return
        future, series = self._inflight
        exc = future.result()  # an interrupt here leaves the block in flight, for close() to wait for
        self._inflight = None
        for s, buf, _n in series:
            s.spare = buf
        if exc is not None:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        self.failed_write = exc if isinstance(exc, OSError) else OSError(errno.EIO, str(exc))
        self._discard_buffers()
        self._drop_reserve()
        raise RecorderWriteError(self._write_problem(self.failed_write))

    def _take_block(self) -> dict:
        """The buffered rows and events as one block to write; the buffers start anew."""
        n = len(self._time_buf)
        block = {"start": self.rows_written, "time": list(self._time_buf), "series": [], "events": {}}
        if n:
            for s in self._series.values():
                block["series"].append((s, s.buf, s.n))
                s.buf = s.spare if s.spare is not None else np.empty_like(s.buf)
                s.spare = None
                s.n = 0
            self.rows_written += n
            self._time_buf.clear()
        for name, parts in self._ev_buf.items():
            if parts:
                block["events"][name] = list(parts)
                parts.clear()
        return block

    def _write_block(self, block: dict, failed=None) -> Exception | None:
        """Write a block (:meth:`_take_block`); a write error is returned, or passed to ``failed``.

        Chunks that start at the block's first row are encoded by
        :func:`encode_chunk` on the encoder threads (``_encoders``, one per
        core) and stored with ``write_direct_chunk``; the rest (a block
        starting inside a chunk, after a :meth:`flush` mid-run) goes through
        HDF5's own filters. The stored values are the same either way.
        """
        try:
            start, n = block["start"], len(block["time"])
            pending: list[tuple[h5py.Dataset, tuple[int, ...], Future]] = []
            if n:
                self._time.resize(start + n, axis=0)
                self._time[start:] = block["time"]
                for s, buf, rows in block["series"]:
                    s.ds.resize(start + rows, axis=0)
                    if s.direct is not None and start % self.chunk == 0:
                        pending.append((s.ds, (start,) + (0,) * len(s.shape),
                                        self._encode(encode_chunk, buf, *s.direct, rows)))
                    else:
                        s.ds[start:start + rows] = buf[:rows]
            for name, parts in block["events"].items():
                ds = self._events.get(name)
                if ds is None:
                    ds = self._events[name] = create_events(self.f, name, parts[0].dtype, self.compression,
                                                            self.level)
                    self._events_direct[name] = direct_chunk_filters(ds, parts[0].dtype)
                self._append_events(ds, parts, self._events_direct[name], pending)
            for ds, offset, encoded in pending:
                ds.id.write_direct_chunk(offset, encoded.result())
            self.f.attrs["n_steps_done"] = start + n
            self.f.flush()
            self.rows_on_disk = start + n
        except (OSError, RuntimeError, ValueError) as exc:  # h5py reports a failed write as any of these
            if failed is None:
                return exc
            failed(exc)
        return None

    def _append_events(self, ds: h5py.Dataset, parts: list[np.ndarray], direct: tuple[bool, int] | None,
                       pending: list) -> None:
        """Append the records of ``parts``; whole chunks from a chunk boundary on are encoded on the
        encoder threads, each joined there from the parts it covers (a district day's 144 MB of
        messages is never joined in one piece)."""
        n0 = ds.shape[0]
        ends = np.cumsum([len(p) for p in parts])
        n = int(ends[-1])
        ds.resize(n0 + n, axis=0)
        if direct is None:
            ds[n0:] = concat(parts)
            return
        size = ds.chunks[0]
        head = min(n, -n0 % size)  # the rest of a chunk an earlier block began
        if head:
            ds[n0:n0 + head] = concat(_pieces(parts, ends, 0, head))
        for i in range(head, n, size):
            pieces = _pieces(parts, ends, i, min(i + size, n))
            pending.append((ds, (n0 + i,), self._encode(_encode_records, pieces, size, *direct)))

    def _encode(self, fn, *args) -> Future:
        """Run an encoder on the encoder threads (one per core, at most 4; started at first use)."""
        if self._encoders is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            self._encoders = ThreadPoolExecutor(max_workers=min(4, cores), thread_name_prefix="cosim-encode")
        return self._encoders.submit(fn, *args)

    def _write_problem(self, exc: OSError) -> str:
        text = str(exc)
        # h5py's OSError carries errno only in its text ("errno = 28")
        full = exc.errno == errno.ENOSPC or "errno = 28" in text or os.strerror(errno.ENOSPC) in text
        why = "the disk is full" if full else (exc.strerror or " ".join(text.split())[:200])
        return f"cannot write {self.running.name}: {why}; {self.rows_on_disk} steps were written"

    def _discard_buffers(self) -> None:
        self._time_buf.clear()
        for s in self._series.values():
            s.n = 0
        for parts in self._ev_buf.values():
            parts.clear()
        self._row.clear()

    def _stop_writer(self) -> None:
        """Wait for a block in flight (its error is dropped: the caller is failing already) and end the thread."""
        if self._inflight is not None:
            self._inflight[0].result()  # its error, if any, is not raised: the caller is failing already
            self._inflight = None
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._encoders is not None:
            self._encoders.shutdown(wait=True)
            self._encoders = None

    def discard(self) -> None:
        """Close and delete the run's file (the run never started) and release the lock."""
        self._stop_writer()
        if not self.closed:
            try:
                self.f.close()
            except (OSError, RuntimeError):
                log.debug("closing a discarded file failed", exc_info=True)
            self.closed = True
        self.running.unlink(missing_ok=True)
        self._drop_reserve()
        self.lock.release()

    def release(self) -> None:
        """Release the lock on the result path (after :meth:`close`)."""
        self._drop_reserve()
        self.lock.release()

    def close(self, status: str, error: str = "", extra_attrs: dict | None = None,
              release_lock: bool = True) -> Path:
        """Flush, set ``status`` and close; rename to the final path if complete.

        A failed or interrupted file goes to ``OUT.h5.partial``. If the
        last rows cannot be written (disk full) the file is still closed,
        with ``status = failed`` and the write error in ``error``, and
        :class:`RecorderWriteError` is raised after that.

        Returns the path of the closed file.
        """
        if self.closed:
            return self.path if status == "complete" else self.partial
        self._row.clear()  # a half-staged row is not a completed step
        problem = None
        try:
            self.flush()
        except RecorderWriteError as exc:
            problem = exc
            if status == "complete":
                status = "failed"
            if str(exc) not in error:
                error = f"{error}; {exc}" if error else str(exc)
        self._stop_writer()
        self._drop_reserve()  # the space it held is for these last metadata writes
        try:
            self.f.attrs["status"] = status
            self.f.attrs["error"] = error
            for k, v in (extra_attrs or {}).items():
                self.f.attrs[k] = v
            self.f.close()
        except (OSError, RuntimeError, ValueError) as exc:
            try:
                self.f.close()
            except (OSError, RuntimeError, ValueError):
                log.debug("second close of %s failed", self.running, exc_info=True)
            problem = problem or RecorderWriteError(self._write_problem(
                exc if isinstance(exc, OSError) else OSError(errno.EIO, str(exc))))
        self.closed = True
        # a file whose status could not be recorded is never published as complete
        final = self.path if status == "complete" and problem is None else self.partial
        try:
            os.replace(self.running, final)
        except OSError as exc:
            final = self.running
            problem = problem or RecorderWriteError(
                f"cannot rename {self.running.name} to {self.path.name if status == 'complete' else self.partial.name}"
                f" ({exc.strerror or exc})")
        if release_lock or problem is not None:
            self.lock.release()
        if problem is not None:
            raise RecorderWriteError(str(problem), str(final))
        return final


# ------------------------------------------------------------------ mosaik
class RecorderSim(mosaik_api_v3.Simulator):
    """mosaik adapter: stores every connected attribute through an :class:`HDF5Sink`.

    Series attributes are written once per regular step (every ``step_s``),
    the only steps it takes. ``events_*`` are connected without a trigger and
    staged in the sink by the connection itself (see ``cosim.world``), so they
    never wake the recorder; a batch that still reaches :meth:`step` is appended.
    """

    def __init__(self) -> None:
        super().__init__({"api_version": "3.0", "type": "hybrid", "models": {}})

    def init(self, sid, time_resolution=0.001, *, sink: HDF5Sink, step_s: int,
             sources: dict[str, str], event_attrs: list[str] = (), on_step=None, **_):
        self.sink = sink
        self.tick_s = float(time_resolution)
        self.step_ticks = int(round(step_s / self.tick_s))
        self.sources = sources  # source full id -> simulator name in the file
        self.on_step = on_step
        self.meta["models"]["Recorder"] = {
            "public": True, "params": [], "attrs": [], "any_inputs": True,
            "trigger": [], "persistent": [],
        }
        return self.meta

    def create(self, num, model, **_):
        return [{"eid": f"recorder{i}", "type": model} for i in range(num)]

    def step(self, time, inputs, max_advance=None):
        regular = time % self.step_ticks == 0
        for _eid, attrs in inputs.items():
            for attr, by_src in attrs.items():
                for src, value in by_src.items():
                    sim = self.sources.get(src, src.split(".")[0])
                    if attr.startswith("events_"):
                        if value is not None and len(value):
                            self.sink.append_events(attr[len("events_"):], value)
                    elif regular:
                        self.sink.record(sim, attr, value)
        if not regular:
            return None
        self.sink.end_row(int(round(time * self.tick_s)))
        if self.on_step is not None:
            self.on_step(time * self.tick_s)
        return time + self.step_ticks

    def get_data(self, outputs):
        return {}
