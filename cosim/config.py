"""Scenario schema and YAML loading.

A scenario is a YAML mapping validated once, here, into a frozen pydantic
model; everything downstream trusts it. ``extends: other.yaml`` inherits a
base scenario (path relative to the extending file, deep merge: mappings
merge key by key, anything else is replaced). ``--set a.b=value`` overrides
are applied after merging; the value is parsed as YAML (``7d`` stays a
string, ``42`` becomes an int).

Every problem is reported at once, one line each, as
``field.path: what is wrong; got VALUE``.
"""

from __future__ import annotations

import copy
import hashlib
import math
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, field_validator, model_validator

from simulators.common.netdata import PROFILE_ROWS, PROFILE_START, PROFILE_STEP_S
from simulators.common.schema import StrictModel
from simulators.common.tariffs import TariffConfig
from simulators.coordinator.schema import CoordinatorConfig
from simulators.household.schema import HouseholdsConfig
from simulators.ict.schema import IctConfig
from simulators.market.schema import MarketConfig

from .errors import ScenarioError
from .extensions import ExtraSimulator, check_names
from .timeutil import parse_duration_s

PROFILE_YEAR_START = PROFILE_START
PROFILE_YEAR_END = PROFILE_START + timedelta(seconds=PROFILE_ROWS * PROFILE_STEP_S)
#: Largest scenario file accepted [byte]; guards against feeding a data file.
MAX_FILE_BYTES = 2_000_000
#: Largest number of values a scenario may hold once YAML aliases are expanded;
#: a few hundred bytes of nested aliases ("billion laughs") would otherwise
#: expand to 10**9 values when validated or printed.
MAX_EXPANDED_VALUES = 1_000_000
SERIES_SIMS = ("grid", "household", "ict", "market", "ledger", "coordinator")


def _duration(value: Any) -> int | str:
    if isinstance(value, float) and not math.isfinite(value):  # int(inf) would raise OverflowError
        raise ValueError(f"expected a finite duration like '15min', '7d' or seconds, got {value!r}")
    parse_duration_s(value)  # raises ValueError with the allowed forms
    return value


#: A duration: ``"15min"``, ``"7d"``, ``"900s"`` or a number of seconds.
Duration = Annotated[int | str, BeforeValidator(_duration)]


class _Frozen(StrictModel):
    """Scenario models: frozen, no extra keys, finite numbers (see simulators.common.schema)."""


class GridConfig(_Frozen):
    """The network: exactly one of ``simbench`` or ``pandapower_json``, and optional profiles.

    ``profiles``: a CSV/Parquet table of absolute element values (see
    :mod:`simulators.common.profiles`) overriding the named elements, or
    ``constant`` to state that a ``pandapower_json`` net runs at its nominal
    values (without either, such a net runs constant with a warning).
    Relative paths are taken from the scenario file's folder.
    """

    simbench: str | None = Field(None, description="SimBench code, see `cosim grids`")
    pandapower_json: str | None = Field(None, description="path to a pandapower JSON net")
    profiles: str | None = Field(None, description="profile table (CSV/Parquet) or 'constant'")

    @model_validator(mode="after")
    def _constant_needs_own_net(self):
        from simulators.common.profiles import CONSTANT

        if self.profiles == CONSTANT and self.simbench is not None:
            raise ValueError("profiles: 'constant' is for pandapower_json nets (SimBench nets bring their "
                             "profiles); give a profile table or leave it out; got 'constant'")
        return self

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("simbench", "pandapower_json") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of 'simbench' or 'pandapower_json' (got {given or 'none'})"
            )
        return self

    @field_validator("simbench")
    @classmethod
    def _known_code(cls, v):
        if v is None:
            return v
        from simulators.common.netdata import simbench_codes

        if v not in simbench_codes():
            raise ValueError(f"unknown SimBench code {v!r}; run `cosim grids` for the list")
        return v

    def spec(self) -> dict:
        """The grid spec dict passed to simulators (``load_net``)."""
        if self.simbench is not None:
            return {"simbench": self.simbench}
        return {"pandapower_json": self.pandapower_json}


class OutputConfig(_Frozen):
    """What the recorder stores.

    ``series``: per simulator the attributes to record, or ``all``;
    a simulator not listed records everything it offers.
    """

    #: Per simulator (grid, household, market, ict, coordinator, extras) the attributes to record, or ``all``.
    series: dict[str, list[str] | str] = Field(default_factory=dict)
    chunk_steps: int = Field(96, ge=1, le=100_000, description="rows per HDF5 chunk and write")
    compression: str | None = Field("gzip", description="gzip, lzf or null")
    #: gzip level (ignored by lzf); 1 was chosen by measurement and is encoded by ISA-L
    #: (zlib's size, about 6x faster), the others by zlib (benchmarks/RESULTS.md).
    compression_level: int = Field(1, ge=0, le=9)

    @field_validator("series")
    @classmethod
    def _known_sims(cls, v):
        bad = [k for k in v if k not in SERIES_SIMS]
        if bad:
            raise ValueError(f"unknown simulator(s) {bad}; allowed: {', '.join(SERIES_SIMS)}")
        for k, attrs in v.items():
            if isinstance(attrs, str) and attrs != "all":
                raise ValueError(f"{k}: expected a list of attribute names or 'all', got {attrs!r}")
        return v

    @field_validator("compression")
    @classmethod
    def _known_compression(cls, v):
        if v not in (None, "gzip", "lzf"):
            raise ValueError(f"unknown compression {v!r}; allowed: gzip, lzf, null")
        return v


class Scenario(_Frozen):
    """A complete, validated scenario."""

    #: Name stored in the result file.
    name: str = "unnamed"
    #: Free text stored in the result file.
    description: str = ""
    #: Seed of every random draw of the run (one seeded generator per simulator).
    seed: int = Field(0, ge=0, le=2**63 - 1)
    start: datetime = Field(datetime(2016, 1, 1), description="ISO 8601 within 2016")
    duration: Duration = Field("1d", description="e.g. 1d, 7d, 365d or seconds")
    step: Duration = Field("15min", description="interval length, e.g. 15min or 900")
    #: The network and its load/generation profiles.
    grid: GridConfig
    #: The retail tariff, defined once and passed to households and market.
    tariff: TariffConfig = TariffConfig()
    #: Homes with PV, batteries, EVs, heat pumps and a home energy manager (null: the grid's profiles only).
    households: HouseholdsConfig | None = None
    #: Communication links between homes and market/DSO (null: ideal, no ICT simulator).
    ict: IctConfig | None = None
    #: The local market operator (null: no market).
    market: MarketConfig | None = None
    #: The TSO-DSO coordinator (null: none).
    coordinator: CoordinatorConfig | None = None
    #: What the recorder stores and how.
    output: OutputConfig = OutputConfig()
    #: Extra mosaik simulators that join the world (:mod:`cosim.extensions`, docs/extending.md).
    simulators: list[ExtraSimulator] = Field(default_factory=list)
    auth_key_file: str | None = Field(
        None, description="file with the master secret of order authentication (hex, >= 64 digits); "
                          "default: a fresh secret from the operating system per run")

    @field_validator("auth_key_file")
    @classmethod
    def _readable_key(cls, v):
        if v is not None:
            from simulators.common.auth import read_key_file

            read_key_file(v)  # AuthKeyError (a ValueError) names the problem
        return v

    @field_validator("start")
    @classmethod
    def _in_profile_year(cls, v: datetime):
        v = v.replace(tzinfo=None)
        if not PROFILE_YEAR_START <= v < PROFILE_YEAR_END:
            raise ValueError(f"start {v.isoformat()} is outside the SimBench profile year 2016")
        if (v - PROFILE_YEAR_START).total_seconds() % 900:
            raise ValueError(f"start {v.isoformat()} is not on a 15-min boundary")
        return v

    @field_validator("duration")
    @classmethod
    def _positive_duration(cls, v):
        s = parse_duration_s(v)
        if s <= 0:
            raise ValueError(f"duration must be positive, got {v!r}")
        return v

    @field_validator("step")
    @classmethod
    def _valid_step(cls, v):
        s = parse_duration_s(v)
        if s <= 0 or (900 % s and s % 900):
            raise ValueError(
                f"step must be positive and divide or be a multiple of 900 s (the SimBench "
                f"profile resolution), got {v!r}"
            )
        return v

    def enabled_simulators(self) -> set[str]:
        """cosim's simulators this scenario runs, by their name in ``simulators[].connections``."""
        enabled = {"grid"} | {k for k in ("ict", "market", "ledger", "coordinator") if getattr(self, k) is not None}
        return enabled | ({"household"} if self.households is not None else set())

    @model_validator(mode="after")
    def _fits(self):
        if self.duration_s % self.step_s:
            raise ValueError(
                f"duration ({self.duration_s} s) must be a whole number of steps ({self.step_s} s)"
            )
        if self.start + timedelta(seconds=self.duration_s) > PROFILE_YEAR_END:
            raise ValueError(
                f"start {self.start.isoformat()} + duration {self.duration_s} s runs past the end "
                "of the SimBench profile year (2017-01-01)"
            )
        return self

    def grid_spec(self) -> dict:
        """The grid spec for ``load_net``, with the run period when a profile table is given."""
        from simulators.common.profiles import CONSTANT

        spec = self.grid.spec()
        if self.grid.profiles not in (None, CONSTANT):
            spec["profiles"] = {"path": self.grid.profiles, "start": self.start.isoformat(),
                                "step_s": self.step_s, "duration_s": self.duration_s}
        return spec

    @property
    def duration_s(self) -> int:
        return parse_duration_s(self.duration)

    @property
    def step_s(self) -> int:
        return parse_duration_s(self.step)

    @property
    def n_steps(self) -> int:
        return self.duration_s // self.step_s

    @property
    def ledger(self):
        """The ledger simulator's section, or None: ``market.ledger`` (the ledger settles the
        market's trades, so it is configured beside the market and runs only with it)."""
        return None if self.market is None else self.market.ledger


# ----------------------------------------------------------------- loading
class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping names the same key twice."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key written twice in one mapping.

    Plain YAML keeps the last of two equal keys, so a scenario with ``seed:``
    twice would silently run with the second. Keys brought in by a merge
    (``<<: *base``) may still be overridden.
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable key: the base class reports it
                    continue
                if duplicate:
                    raise DuplicateKeyError(
                        "while constructing a mapping", node.start_mark,
                        f"key {key!r} appears twice in one mapping; keep one", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def yaml_load(text: str) -> Any:
    """Parse YAML text safely (no Python objects) and without repeated keys."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - UniqueKeyLoader is a SafeLoader


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base`` (mappings recursively)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_yaml(path: Path) -> dict:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read scenario file ({exc.strerror})"]) from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError([f"{path}: file is {size} bytes; a scenario is at most {MAX_FILE_BYTES}"])
    if not path.is_file():
        raise ScenarioError([f"{path}: not a file; give the path of a YAML scenario"])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read scenario file ({exc.strerror})"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"]) from None
    if "\x00" in text:
        raise ScenarioError([f"{path}: contains NUL bytes; a scenario is a YAML text file"])
    try:
        data = yaml_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError([f"{path}: invalid YAML{where}: {problem}"]) from None
    except RecursionError:
        raise ScenarioError([f"{path}: YAML nesting is too deep"]) from None
    try:
        too_big = _expanded_size(data, MAX_EXPANDED_VALUES) > MAX_EXPANDED_VALUES
    except RecursionError:
        raise ScenarioError([f"{path}: YAML nesting is too deep"]) from None
    if too_big:
        raise ScenarioError([f"{path}: YAML aliases expand to more than {MAX_EXPANDED_VALUES} values; "
                             "write the values out instead of nesting aliases"])
    if data is None:
        raise ScenarioError([f"{path}: the file is empty; a scenario needs at least `grid:`"])
    if not isinstance(data, dict):
        raise ScenarioError([f"{path}: top level must be a mapping of scenario fields, got {type(data).__name__}"])
    return data


def _expanded_size(data: Any, limit: int) -> int:
    """Number of values in ``data`` with aliases expanded (counting stops past ``limit``).

    Shared (aliased) containers are sized once and reused, so this is linear
    in the number of distinct YAML nodes, not in the expanded size.
    """
    sizes: dict[int, int] = {}

    def size(obj: Any) -> int:
        if isinstance(obj, dict):
            children: Any = [*obj.keys(), *obj.values()]
        elif isinstance(obj, list):
            children = obj
        else:
            return 1
        if id(obj) not in sizes:
            n = 1
            for child in children:
                n += size(child)
                if n > limit:
                    break
            sizes[id(obj)] = n
        return sizes[id(obj)]

    return size(data)


def load_raw(path: str | Path, _chain: tuple = ()) -> dict:
    """Read a scenario file and resolve ``extends:`` chains into one dict."""
    path = Path(path).resolve()
    if path in _chain:
        raise ScenarioError([f"extends: cycle {' -> '.join(str(p) for p in (*_chain, path))}"])
    data = _read_yaml(path)
    _anchor_grid_paths(data, path.parent)
    base = data.pop("extends", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ScenarioError([f"extends: expected a file path, got {base!r}"])
    base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
    return deep_merge(load_raw(base_path, (*_chain, path)), data)


#: ``grid`` keys holding a file path, taken relative to the scenario file that writes them.
_GRID_PATHS = ("pandapower_json", "profiles")


def _anchor_grid_paths(data: dict, folder: Path) -> None:
    grid = data.get("grid")
    if not isinstance(grid, dict):
        return
    for key in _GRID_PATHS:
        value = grid.get(key)
        if isinstance(value, str) and value != "constant" and not Path(value).is_absolute():
            grid[key] = str(folder / value)


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``dotted.key=value`` overrides (values parsed as YAML)."""
    out = copy.deepcopy(data)
    problems = []
    for item in overrides:
        if "=" not in item:
            problems.append(f"--set {item!r}: expected dotted.key=value")
            continue
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if not all(parts):
            problems.append(f"--set {item!r}: empty key component")
            continue
        try:
            value = yaml_load(raw)
        except DuplicateKeyError as exc:
            problems.append(f"--set {key.strip()}: {exc.problem}")
            continue
        except yaml.YAMLError:
            value = raw
        node = out
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = value
    if problems:
        raise ScenarioError(problems)
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """Field names allowed at ``loc`` (for 'unknown key' messages)."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return None


def _model_in(annotation) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for a in args or ():
        m = _model_in(a)
        if m is not None:
            return m
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _clean_loc(model: type[BaseModel], loc: tuple) -> tuple:
    """Drop pydantic's union-branch tags (``int``, ``str``, ...) from an error path."""
    out: list = []
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part in current.model_fields:
                out.append(part)
                current = _model_in(current.model_fields[part].annotation) or dict
            elif isinstance(part, str) and (part[:1].islower() is False or "[" in part or part in _TAGS):
                continue  # a union branch tag
            else:
                out.append(part)
                current = None
        elif isinstance(part, str) and ("[" in part or part in _TAGS):
            continue
        else:
            out.append(part)
    return tuple(out)


_TAGS = {"int", "str", "float", "bool", "list", "dict", "none", "constrained-str",
         "constrained-int", "constrained-float", "literal", "datetime", "date", "tuple"}


def format_validation_error(exc: ValidationError, model: type[BaseModel] = Scenario) -> list[str]:
    """One line per problem (union branches merged): path, message, offending value."""
    lines: list[str] = []
    seen: dict[tuple, int] = {}
    for err in exc.errors():
        loc = _clean_loc(model, tuple(err["loc"]))
        path = ".".join(str(p) for p in loc) or "(scenario)"
        msg = err["msg"].removeprefix("Value error, ")
        if loc in seen and err["type"] not in ("extra_forbidden", "missing"):
            i = seen[loc]
            if msg not in lines[i]:
                lines[i] = lines[i].replace("; got ", f", or {msg[0].lower() + msg[1:]}; got ", 1)
            continue
        seen[loc] = len(lines)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{path}: unknown key{hint}")
        elif err["type"] == "missing":
            lines.append(f"{path}: required field is missing")
        else:
            got = _short(err.get("input"))
            lines.append(f"{path}: {msg}" if got in msg or str(err.get("input")) in msg else f"{path}: {msg}; got {got}")
    return lines


def validate(data: dict) -> Scenario:
    """Validate a scenario dict; raise :class:`ScenarioError` with every problem."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc)) from None
    except RecursionError:
        raise ScenarioError(["(scenario): nesting is too deep"]) from None
    problems = check_names(scenario.simulators, scenario.enabled_simulators())
    if problems:  # needs the whole scenario, so after the schema (each line names its field)
        raise ScenarioError(problems)
    return scenario


def default_scenario_path() -> Path:
    """Path of the default scenario shipped inside the package."""
    return Path(str(resources.files("cosim") / "data" / "default.yaml"))


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with cosim (runnable as ``cosim run NAME``)."""
    from cosim._layout import shipped_dir

    return sorted(p.stem for p in shipped_dir("scenarios").glob("*.yaml"))


def resolve_scenario(path: str | Path | None) -> Path:
    """The scenario file for ``path``: an existing file, else a shipped scenario of that name.

    ``None`` is the built-in default. A bare name (no folder, with or without
    ``.yaml``) that is not a file in the current directory names a shipped
    scenario, so ``cosim run market_lv_rural`` works from any folder.
    """
    from cosim._layout import shipped_dir

    if path is None:
        return default_scenario_path()
    given = Path(path)
    if given.exists() or given.parent != Path("."):
        return given
    shipped = shipped_dir("scenarios") / (given.name if given.suffix in (".yaml", ".yml") else f"{given.name}.yaml")
    if shipped.is_file():
        return shipped
    raise ScenarioError([f"scenario: {str(path)[:80]!r} is neither a file nor a shipped scenario; "
                         f"shipped: {', '.join(shipped_scenarios())}"])


def load_scenario(path: str | Path | None = None, overrides: list[str] = ()) -> tuple[Scenario, str]:
    """Load, merge, override and validate a scenario.

    ``path`` is a YAML file or the name of a shipped scenario (see
    :func:`resolve_scenario`). Returns the scenario and the effective YAML text
    (after ``extends`` and overrides), which the recorder stores in the result file.
    """
    raw = load_raw(resolve_scenario(path))
    raw = apply_overrides(raw, list(overrides))
    scenario = validate(raw)
    check_profiles(scenario)
    return scenario, yaml.safe_dump(raw, sort_keys=False)


def check_profiles(scenario: Scenario) -> None:
    """Check ``grid.profiles`` against the net and the run period (one line on failure).

    Loads the net (cached per process, so the run that follows does not pay
    twice). Raises :class:`ScenarioError` with the ``grid.profiles:`` line.
    """
    spec = scenario.grid_spec()
    if "profiles" not in spec:
        return
    from simulators.common.netdata import GridSpecError, load_net
    from simulators.common.profiles import ProfileError

    try:
        load_net(spec)
    except (ProfileError, GridSpecError) as exc:
        raise ScenarioError([" ".join(str(exc).split())]) from None


def scenario_sha256(yaml_text: str) -> str:
    """SHA-256 of the effective scenario YAML."""
    return hashlib.sha256(yaml_text.encode()).hexdigest()
