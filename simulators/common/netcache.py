"""On-disk cache of parsed SimBench nets and their profiles.

``simbench.get_simbench_net`` re-parses the SimBench CSV files (111-134 MB per
scenario) on every call: 10-20 s per grid on a loaded 2-core machine, paid
again by every process of a sweep. This module keeps the parsed net on disk
and gives back a net equal to the parsed one, table by table and bit by bit.

Format (no pickle, nothing in a cache file can name code to run): one zip
archive per entry (stored, not compressed), holding ``manifest.json`` and one
Parquet file per DataFrame (the net's element tables and ``net.profiles``)
with its numeric and bool columns. The manifest is a tagged tree of the net's
other entries and of the object columns, cell by cell (str, int, float,
bool, None; JSON keeps floats exact via ``repr``). Reading uses
``json`` and ``pyarrow.parquet`` only; the net container is built as
``pandapowerNet(dict)``.

Validity: an entry is named by a hash of its key: the SimBench code, the
cache format :data:`FORMAT`, the installed versions of simbench, pandapower,
pandas, numpy and pyarrow, and the size and mtime of every SimBench CSV file.
Any change gives a new name, so a stale entry is never read (``clear``
removes old ones). The manifest repeats the key and is checked on read.
A missing, unreadable or mismatching entry is logged, removed and rebuilt.

Before an entry is written, it is read back and compared with the parsed net
(every table with ``pandas.testing.assert_frame_equal``, exact, plus the type
of every cell of object columns, so ``None`` and ``NaN`` stay apart). A net
that does not round-trip exactly is not cached (logged), never altered.

Writes are atomic (temporary file in the cache directory, then
``os.replace``): concurrent runs and sweep workers may build the same entry;
the last complete one wins and readers never see a partial file.

Beside the nets, :func:`load_arrays` keeps numeric arrays that are a pure
function of their key and costly to recompute in every process (the solar
position of a year per place), as ``.npz`` read without pickle.

Location: ``$COSIM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/cosim`` or
``~/.cache/cosim``. ``COSIM_CACHE_DIR=off`` switches the cache off.
``python -m simulators.common.netcache info|clear`` (also ``cosim cache``)
shows or empties it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import zipfile
from importlib import metadata, util
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Cache format version: bump when the layout or the encoding changes.
FORMAT = 1
#: Values of ``COSIM_CACHE_DIR`` that switch the cache off.
OFF = frozenset({"off", "0", "no", "false", "none"})
_VERSIONED = ("simbench", "pandapower", "pandas", "numpy", "pyarrow")
_SCALARS = (str, int, float, bool, type(None))


class Uncacheable(ValueError):
    """The net holds a value this format cannot store exactly."""


class CorruptEntry(ValueError):
    """A cache file is unreadable or does not match its key."""


# ------------------------------------------------------------------ location
def cache_dir() -> Path | None:
    """The cache directory, or None when switched off (``COSIM_CACHE_DIR=off``)."""
    env = os.environ.get("COSIM_CACHE_DIR")
    if env is not None and env.strip():
        if env.strip().lower() in OFF:
            return None
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cosim"


def _simbench_root() -> Path | None:
    """The installed simbench package directory, found without importing it."""
    spec = util.find_spec("simbench")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def source_fingerprint() -> list[list]:
    """``[relative path, size, mtime_ns]`` of every SimBench CSV file, sorted."""
    root = _simbench_root()
    if root is None:
        return []
    out = []
    for path in sorted((root / "networks").glob("*/*.csv")):
        st = path.stat()
        out.append([path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns])
    return out


def _versions() -> dict[str, str]:
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def _key(what: str, fingerprint: list[list]) -> dict:
    return {"format": FORMAT, "what": what, "versions": _versions(), "sources": fingerprint}


def _entry_path(root: Path, prefix: str, key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in prefix)
    return root / "simbench" / f"{safe}-{digest}.zip"


# ------------------------------------------------------------------ encoding
def _encode(value: Any, tables: list) -> list:
    """Tagged JSON tree of ``value``; DataFrames go to ``tables`` by position."""
    import pandas as pd

    if type(value) in _SCALARS:
        if type(value) is float and not math.isfinite(value):
            return ["f", repr(value)]
        return ["v", value]
    if type(value) is dict:
        if any(type(k) is not str for k in value):
            raise Uncacheable("dict with non-str keys")
        return ["d", [[k, _encode(v, tables)] for k, v in value.items()]]
    if type(value) is list:
        return ["l", [_encode(v, tables) for v in value]]
    if type(value) is pd.DataFrame:
        if any(type(c) is not str for c in value.columns):
            raise Uncacheable("DataFrame with non-str column names")
        tables.append(value)
        return ["t", len(tables) - 1]
    raise Uncacheable(f"value of type {type(value).__name__}")


def _decode(node: list, tables: list) -> Any:
    tag, body = node
    if tag == "v":
        return body
    if tag == "f":
        return float(body)
    if tag == "d":
        return {k: _decode(v, tables) for k, v in body}
    if tag == "l":
        return [_decode(v, tables) for v in body]
    if tag == "t":
        return tables[body]
    raise CorruptEntry(f"unknown tag {tag!r}")


def _cells(values: list, col) -> list:
    """Object-column cells as JSON: plain strings as they are, else tagged scalars."""
    if all(type(x) is str for x in values):
        return ["s", values]
    for x in values:
        if type(x) not in _SCALARS:
            raise Uncacheable(f"column {col!r} holds a {type(x).__name__}")
    return ["c", [_encode(x, []) for x in values]]


def _uncells(node: list) -> list:
    tag, body = node
    if tag == "s":
        return body
    if tag == "c":
        return [_decode(c, []) for c in body]
    raise CorruptEntry(f"unknown cell tag {tag!r}")


def _table_bytes(df) -> tuple[bytes | None, dict]:
    """Parquet bytes of the non-object columns and the JSON part of ``df``.

    Object columns hold Python objects (str, int, float, None mixed) whose
    types Parquet would not give back (ints come back as int64, NaN as None),
    so they are kept cell by cell in JSON. An empty table is kept as its
    schema only (no Parquet file: most of a net's 130 tables are empty).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not df.columns.is_unique:
        raise Uncacheable("DataFrame with repeated column names")
    if len(df) == 0:
        return None, {"empty": [[c, str(t)] for c, t in df.dtypes.items()],
                      "index": [type(df.index).__name__, str(df.index.dtype), df.index.name]}
    objects = [[pos, col, _cells(df[col].tolist(), col)]
               for pos, col in enumerate(df.columns) if df[col].dtype == object]
    rest = df.drop(columns=[c for _, c, _ in objects])
    spec: dict = {"objects": objects}
    if rest.shape[1] == 0:  # Parquet needs a column to carry the rows (and a RangeIndex)
        spec["filler"] = "__rows__" + "_" * max((len(str(c)) for c in df.columns), default=0)
        rest = rest.assign(**{spec["filler"]: 0})
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(rest), buf, compression="snappy")
    return buf.getvalue(), spec


@functools.lru_cache(maxsize=64)
def _dtype(name: str):
    import pandas as pd

    return pd.api.types.pandas_dtype(name)


def _empty_column(name: str):
    import numpy as np
    import pandas as pd

    dtype = _dtype(name)
    if isinstance(dtype, np.dtype):
        return np.empty(0, dtype=dtype)
    return pd.array([], dtype=dtype)


def _read_table(data: bytes | None, spec: dict):
    import pandas as pd

    if "empty" in spec:
        cls, dtype, name = spec["index"]
        index = pd.RangeIndex(0, name=name) if cls == "RangeIndex" else pd.Index([], dtype=dtype, name=name)
        if not spec["empty"]:
            return pd.DataFrame(index=index, columns=pd.Index([], dtype=object))
        return pd.DataFrame({c: _empty_column(t) for c, t in spec["empty"]}, index=index, copy=False)
    import pyarrow.parquet as pq

    df = pq.read_table(io.BytesIO(data)).to_pandas()
    if "filler" in spec:
        df = df.drop(columns=[spec["filler"]])
    for pos, col, cells in spec["objects"]:
        df.insert(int(pos), col, pd.Series(_uncells(cells), index=df.index, dtype=object))
    return df


def _pack(net, key: dict) -> bytes:
    """The zip archive of ``net`` (raises :class:`Uncacheable`)."""
    tables: list = []
    tree = _encode(dict(net), tables)
    buf = io.BytesIO()
    objects = []
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, df in enumerate(tables):
            try:
                data, obj = _table_bytes(df)
            except Uncacheable:
                raise
            except Exception as exc:  # pyarrow refuses some column types
                raise Uncacheable(f"table {i}: {type(exc).__name__}: {exc}") from None
            if data is not None:
                zf.writestr(f"t{i}.parquet", data)
            objects.append(obj)
        manifest = {"key": key, "container": f"{type(net).__module__}.{type(net).__qualname__}",
                    "tree": tree, "tables": objects}
        zf.writestr("manifest.json", json.dumps(manifest))
    return buf.getvalue()


def _unpack(data: bytes, key: dict):
    """The net stored in ``data`` (raises :class:`CorruptEntry`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            if manifest.get("key") != key:
                raise CorruptEntry("key mismatch")
            container = manifest["container"]
            tables = [_read_table(None if "empty" in spec else zf.read(f"t{i}.parquet"), spec)
                      for i, spec in enumerate(manifest["tables"])]
        content = _decode(manifest["tree"], tables)
    except CorruptEntry:
        raise
    except Exception as exc:  # zip, JSON, parquet errors of a damaged file
        raise CorruptEntry(f"{type(exc).__name__}: {exc}") from None
    if container == "pandapower.auxiliary.pandapowerNet":
        from pandapower.auxiliary import pandapowerNet

        return pandapowerNet(content)
    raise CorruptEntry(f"unknown container {container!r}")


# ------------------------------------------------------------------ equality
def _same_scalar(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


def assert_same(a, b, where: str = "net") -> None:
    """Raise AssertionError unless ``a`` and ``b`` are equal in value, type and order.

    DataFrames: :func:`pandas.testing.assert_frame_equal` with ``check_exact``,
    plus the index class and the exact type of every object-column cell.
    """
    import pandas as pd

    if type(a) is not type(b):
        raise AssertionError(f"{where}: type {type(a).__name__} != {type(b).__name__}")
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True,
                                      check_column_type=True, check_flags=True, obj=where)
        if type(a.index) is not type(b.index) or a.attrs != b.attrs:
            raise AssertionError(f"{where}: index class or attrs differ")
        for col in a.columns:
            if a[col].dtype == object:
                for x, y in zip(a[col].tolist(), b[col].tolist()):
                    if not _same_scalar(x, y) and not (type(x) is type(y) and x == y):
                        raise AssertionError(f"{where}[{col!r}]: {x!r} != {y!r}")
    elif isinstance(a, dict):
        if list(a) != list(b):
            raise AssertionError(f"{where}: keys differ")
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        if len(a) != len(b):
            raise AssertionError(f"{where}: lengths differ")
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif not _same_scalar(a, b):
        raise AssertionError(f"{where}: {a!r} != {b!r}")


# ------------------------------------------------------------------ file I/O
def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _discard(path: Path, why: str) -> None:
    log.warning("grid cache: ignoring %s (%s); rebuilding", path, why)
    try:
        path.unlink()
    except OSError:
        pass


# ------------------------------------------------------------------ public
def load_simbench(code: str, build) -> Any:
    """The SimBench net ``code``, from the cache or from ``build()`` (then cached).

    Parameters
    ----------
    code : str
        SimBench code (already validated by the caller).
    build : callable
        ``build() -> net``: the parse (``simbench.get_simbench_net``).
    """
    root = cache_dir()
    if root is None:
        return build()
    key = _key(f"net:{code}", source_fingerprint())
    path = _entry_path(root, code, key)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:
        log.warning("grid cache: cannot read %s (%s)", path, exc)
        data = None
    if data is not None:
        try:
            net = _unpack(data, key)
            log.info("grid cache: %s from %s", code, path)
            return net
        except CorruptEntry as exc:
            _discard(path, str(exc))
    net = build()
    try:
        data = _pack(net, key)
        assert_same(net, _unpack(data, key))
    except Exception as exc:  # noqa: BLE001 - the cache must never fail a run: use the parsed net
        log.warning("grid cache: %s not cached, it does not round-trip exactly (%s: %s)",
                    code, type(exc).__name__, " ".join(str(exc).split())[:200])
        return net
    try:
        _atomic_write(path, data)
        log.info("grid cache: stored %s in %s (%.1f MB)", code, path, len(data) / 1e6)
    except OSError as exc:
        log.warning("grid cache: cannot write %s (%s)", path, exc)
    return net


def load_codes(build) -> tuple[str, ...]:
    """All SimBench codes, from the cache or from ``build()`` (then cached).

    Lets ``cosim grids`` and scenario validation answer without importing
    simbench (and with it pandapower).
    """
    root = cache_dir()
    if root is None:
        return tuple(build())
    key = _key("codes", source_fingerprint())
    path = _entry_path(root, "codes", key).with_suffix(".json")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("key") == key and isinstance(doc.get("codes"), list) \
                and all(type(c) is str for c in doc["codes"]):
            return tuple(doc["codes"])
        _discard(path, "key mismatch or malformed")
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        _discard(path, f"{type(exc).__name__}: {exc}")
    codes = tuple(build())
    try:
        _atomic_write(path, json.dumps({"key": key, "codes": list(codes)}).encode())
    except OSError as exc:
        log.warning("grid cache: cannot write %s (%s)", path, exc)
    return codes


def load_arrays(name: str, key: dict, build) -> dict[str, "np.ndarray"]:
    """Numeric arrays derived from inputs, from the cache or from ``build()`` (then cached).

    For results that cost a noticeable part of set-up in every process (the
    solar position of a year, 0.4 s per grid location) and are a pure function
    of ``key``. ``key`` must name every input, including the version of the
    code that computes it (callers pass a hash of their module's source);
    :data:`FORMAT` and the versions of the numeric libraries are added here.

    Stored as ``.npz`` and read with ``allow_pickle=False`` (numeric and
    fixed-width string arrays only, nothing that names code); the key is
    stored beside the arrays and checked on read. Written atomically after a
    read-back that must give the same bytes, dtype and shape, else the value
    is returned uncached. A damaged or mismatching entry is logged, removed
    and rebuilt; a cache that cannot be written never fails the run.
    """
    import numpy as np

    full = {"format": FORMAT, "what": f"arrays:{name}", "versions": {**_versions(), **_more_versions()},
            "key": key}
    key_text = json.dumps(full, sort_keys=True)
    root = cache_dir()
    if root is None:
        return build()
    path = _entry_path(root, name, full).with_suffix(".npz")

    def read(blob: bytes) -> dict[str, np.ndarray]:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        if str(out.pop("__key__", "")) != key_text:
            raise CorruptEntry("key mismatch")
        return out

    try:
        return read(path.read_bytes())
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - zip/npz errors of a damaged file
        _discard(path, f"{type(exc).__name__}: {exc}")
    value = build()
    try:
        buf = io.BytesIO()
        np.savez(buf, __key__=np.array(key_text), **value)
        back = read(buf.getvalue())
        same = list(back) == list(value) and all(
            back[k].dtype == value[k].dtype and back[k].shape == value[k].shape
            and back[k].tobytes() == np.ascontiguousarray(value[k]).tobytes() for k in value)
        if not same:
            raise Uncacheable("read-back differs")
        _atomic_write(path, buf.getvalue())
    except Exception as exc:  # noqa: BLE001 - the cache must never fail a run
        log.warning("cache: %s not cached (%s: %s)", name, type(exc).__name__, exc)
    return value


def _more_versions() -> dict[str, str]:
    out = {}
    for name in ("pvlib", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def entries(root: Path | None = None) -> list[Path]:
    """Cache files under ``root`` (default :func:`cache_dir`)."""
    root = cache_dir() if root is None else root
    if root is None or not (root / "simbench").is_dir():
        return []
    return sorted(p for p in (root / "simbench").iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """``info`` (location, entries, sizes) or ``clear`` (remove every entry)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv not in (["info"], ["clear"]):
        sys.stderr.write("usage: cosim cache info|clear\n")
        return 2
    root = cache_dir()
    if root is None:
        print("grid cache: off (COSIM_CACHE_DIR=off)")
        return 0
    files = entries(root)
    if argv == ["info"]:
        total = sum(p.stat().st_size for p in files)
        print(f"grid cache: {root} ({len(files)} files, {total / 1e6:.1f} MB)")
        for p in files:
            print(f"  {p.name}  {p.stat().st_size / 1e6:.1f} MB")
        return 0
    shutil.rmtree(root / "simbench", ignore_errors=True)
    print(f"grid cache: removed {len(files)} files from {root}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
