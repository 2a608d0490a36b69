"""The pod's configuration: the .NET agent's JSON file (docs/agent-config.md), or built in Python with Python inputs.

``PodConfig.load("hospital-a.json")`` reads the very file ``smpc pod run --config`` reads (camelCase keys, comments and
trailing commas allowed, relative paths relative to the file) and checks it against the agent's JSON schema
(``docs/agent-config.schema.json``, a copy ships in this package) when ``jsonschema`` is installed, else against the
keys and ids it knows. In Python, inputs may also be numpy arrays, pandas DataFrames or Series, lists, CSV/.npy/.json
files or SQLite queries (:class:`SqliteInput`), and sources may be pandas DataFrames.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from ..errors import SmpcError
from ..identity import IdentityKey, is_fingerprint
from ..pins import Pin, PinKinds, PinSources, PinStore

__all__ = [
    "ConfigError",
    "PodConfig",
    "InputSpec",
    "SqliteInput",
    "SourceSpec",
    "SecureAggregationPolicy",
    "PsiPolicy",
    "QueryPolicy",
    "TrainingPolicy",
    "ID_PATTERN",
]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SCHEMA_FILE = pathlib.Path(__file__).with_name("agent-config.schema.json")

PathLike = Union[str, os.PathLike]


class ConfigError(SmpcError, ValueError):
    """The pod configuration is not valid: the message names the file and the JSON path (like the .NET agent's exit code 3)."""


# ---- inputs and sources ----

@dataclasses.dataclass(frozen=True)
class SqliteInput:
    """A secure-aggregation input read from SQLite: every cell of every row of ``query``, row by row (numbers only)."""

    path: PathLike
    query: str


@dataclasses.dataclass
class InputSpec:
    """
    A named secure-aggregation input: exactly one of ``value`` (one number), ``values`` (numbers, or a numpy array,
    pandas DataFrame/Series: flattened row-major), ``file`` (.json, .csv or .npy), ``sqlite`` (:class:`SqliteInput`);
    for weighted means at most one of ``weight`` (> 0) and ``weight_rows_of`` (a file's data rows, or a DataFrame's
    length); and the per-input differencing guard (None: the policy's).
    """

    value: Optional[float] = None
    values: Any = None
    file: Optional[PathLike] = None
    sqlite: Optional[SqliteInput] = None
    weight: Optional[float] = None
    weight_rows_of: Any = None
    min_pods: Optional[int] = None
    min_pod_set_difference: Optional[int] = None
    differencing_window_days: Optional[float] = None

    def __post_init__(self) -> None:
        given = [n for n in ("value", "values", "file", "sqlite") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ConfigError(f"an input needs exactly one of value, values, file or sqlite (got {', '.join(given) or 'none'})")
        if self.weight is not None and self.weight_rows_of is not None:
            raise ConfigError("an input sets weight or weightRowsOf, not both")
        if self.weight is not None and not (float(self.weight) > 0):
            raise ConfigError("an input's weight is a number > 0")
        if self.min_pods is not None and int(self.min_pods) < 3:
            raise ConfigError(f"minPods is {self.min_pods}; a session needs at least 3 pods")
        if self.min_pod_set_difference is not None and int(self.min_pod_set_difference) < 1:
            raise ConfigError(f"minPodSetDifference is {self.min_pod_set_difference}; it is at least 1")
        if self.differencing_window_days is not None and not (float(self.differencing_window_days) >= 0):
            raise ConfigError(f"differencingWindowDays is {self.differencing_window_days}; give a number of days >= 0")

    @classmethod
    def of(cls, value: Any) -> "InputSpec":
        """An input from a Python value: an InputSpec, a number, a sequence/numpy array/DataFrame/Series, a path, a SqliteInput,
        or the agent file's input object (a dict with its camelCase keys)."""
        if isinstance(value, InputSpec):
            return value
        if isinstance(value, SqliteInput):
            return cls(sqlite=value)
        if isinstance(value, (str, os.PathLike)):
            return cls(file=value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(value=float(value))
        if isinstance(value, Mapping):  # the agent file's object: {"values": [...], "weight": 3, "minPods": 5, ...}
            unknown = set(value) - {"value", "values", "file", "weight", "weightRowsOf", "minPods", "minPodSetDifference", "differencingWindowDays"}
            if unknown:
                raise ConfigError(f"an input has unknown keys {sorted(unknown)} (see docs/agent-config.md)")
            return cls(value=value.get("value"), values=value.get("values"), file=value.get("file"), weight=value.get("weight"),
                       weight_rows_of=value.get("weightRowsOf"), min_pods=value.get("minPods"),
                       min_pod_set_difference=value.get("minPodSetDifference"), differencing_window_days=value.get("differencingWindowDays"))
        return cls(values=value)


@dataclasses.dataclass
class SourceSpec:
    """
    A named record source for PSI, federated SQL and training: ``kind`` ``csv`` (``path``, ``delimiter``), ``sqlite``
    (``path`` and ``table`` or ``query``), ``postgres`` (the .NET agent's; not read by this SDK) or ``dataframe`` (a pandas
    DataFrame in ``dataframe``).
    """

    kind: str = "csv"
    path: Optional[PathLike] = None
    connection_string: Optional[str] = None
    connection_string_environment_variable: Optional[str] = None
    table: Optional[str] = None
    query: Optional[str] = None
    delimiter: str = ","
    dataframe: Any = None

    @classmethod
    def of(cls, value: Any) -> "SourceSpec":
        """A source from a Python value: a SourceSpec, a pandas DataFrame, or a CSV path."""
        if isinstance(value, SourceSpec):
            return value
        if isinstance(value, (str, os.PathLike)):
            p = str(value)
            return cls(kind="sqlite" if p.endswith((".db", ".sqlite", ".sqlite3")) else "csv", path=value)
        if hasattr(value, "columns") and hasattr(value, "itertuples"):
            return cls(kind="dataframe", dataframe=value)
        raise ConfigError(f"a source is a SourceSpec, a pandas DataFrame or a CSV path, not {type(value).__name__}")

    def to_dataframe(self) -> Any:
        """The source's rows as a pandas DataFrame of strings (csv, sqlite) or the DataFrame itself; the error names the fault."""
        import pandas as pd

        if self.kind == "dataframe":
            return self.dataframe
        if self.kind == "csv":
            if not self.path:
                raise ConfigError("a csv source needs a path")
            return pd.read_csv(self.path, sep=self.delimiter, dtype=str, keep_default_na=False)
        if self.kind == "sqlite":
            import sqlite3

            if not self.path or (self.table is None) == (self.query is None):
                raise ConfigError("a sqlite source needs a path and a table or a query (not both)")
            sql = self.query if self.query is not None else f'SELECT * FROM "{self.table}"'
            uri = pathlib.Path(self.path).absolute().as_uri() + "?mode=ro"
            with sqlite3.connect(uri, uri=True) as db:
                return pd.read_sql_query(sql, db)
        raise ConfigError(f"this SDK reads csv, sqlite and dataframe sources, not {self.kind}")


# ---- policies ----

@dataclasses.dataclass
class SecureAggregationPolicy:
    """``policy``: modellers (ids or fingerprints; empty: every verified one), operations, and the differencing guard."""

    modellers: List[str] = dataclasses.field(default_factory=list)
    operations: List[str] = dataclasses.field(default_factory=lambda: ["sum", "mean", "weighted-mean"])
    min_pods: int = 3
    min_pod_set_difference: Optional[int] = None
    differencing_window_days: float = 90.0


@dataclasses.dataclass
class PsiPolicy:
    """``psi``: what the pod agrees to in private set intersection (docs/agent-config.md)."""

    modellers: List[str] = dataclasses.field(default_factory=list)
    protocols: List[str] = dataclasses.field(default_factory=lambda: ["ecdh", "rsa-blind"])
    modes: List[str] = dataclasses.field(default_factory=lambda: ["intersection", "cardinality"])
    max_modeller_set_size: int = 1_000_000
    max_modeller_records_per_day: int = 10_000_000
    min_count: int = 0
    set_reuse_hours: float = 0.0


@dataclasses.dataclass
class QueryPolicy:
    """``query``: what the pod agrees to answer in federated SQL."""

    modellers: List[str] = dataclasses.field(default_factory=list)
    tables: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
    min_rows_per_group: int = 0
    time_limit_seconds: float = 60.0
    max_cells: int = 100_000


@dataclasses.dataclass
class TrainingPolicy:
    """``training``: what the pod agrees to in federated training."""

    modellers: List[str] = dataclasses.field(default_factory=list)
    trainers: List[str] = dataclasses.field(default_factory=lambda: ["linear", "logistic"])
    columns: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
    max_rounds: int = 1000


# ---- the configuration ----

@dataclasses.dataclass
class PodConfig:
    """
    The pod's configuration (the .NET agent's keys in snake_case). ``identity`` may be given as an :class:`IdentityKey`
    instead of ``identity_key_file``; ``api_key`` None takes the environment variable ``api_key_environment_variable``.
    Relative paths are relative to ``base_directory`` (the configuration file's folder when loaded from a file).
    ``fit_clients`` names Python models a pod serves in federated FedAvg (``smpc.federated``).
    """

    tenant: str
    pod: str
    identity_key_file: Optional[PathLike] = None
    identity: Optional[IdentityKey] = None
    url: str = "http://127.0.0.1:5080"
    api_key: Optional[str] = None
    api_key_environment_variable: str = "SMPC_POD_KEY"
    state_directory: PathLike = "state"
    poll_seconds: float = 1.0
    inputs: Dict[str, Any] = dataclasses.field(default_factory=dict)
    policy: SecureAggregationPolicy = dataclasses.field(default_factory=SecureAggregationPolicy)
    sources: Dict[str, Any] = dataclasses.field(default_factory=dict)
    psi: PsiPolicy = dataclasses.field(default_factory=PsiPolicy)
    query: QueryPolicy = dataclasses.field(default_factory=QueryPolicy)
    training: TrainingPolicy = dataclasses.field(default_factory=TrainingPolicy)
    pins: Dict[str, str] = dataclasses.field(default_factory=dict)
    pins_file: Optional[PathLike] = None
    trust_on_first_use: bool = True
    modeller_pins: Dict[str, str] = dataclasses.field(default_factory=dict)
    fit_clients: Dict[str, Any] = dataclasses.field(default_factory=dict)
    base_directory: PathLike = "."

    def __post_init__(self) -> None:
        for what, value in (("tenant", self.tenant), ("pod", self.pod)):
            if not isinstance(value, str) or not ID_PATTERN.match(value):
                raise ConfigError(f"{what} '{value}' is not an id (1-63 lower-case letters, digits and hyphens, not starting with a hyphen)")
        if self.identity is None and self.identity_key_file is None:
            raise ConfigError("a pod needs its identity: identity_key_file (smpc identity new) or identity=IdentityKey")
        # Policies may be given as the agent file's objects (dicts) in Python too.
        self.policy, self.psi, self.query, self.training = (
            _policy(kind, getattr(self, attr)) for (kind, _), attr in zip(_POLICY_KEYS, ("policy", "psi", "query", "training")))
        self.inputs = {name: InputSpec.of(v) for name, v in (self.inputs or {}).items()}
        self.sources = {name: SourceSpec.of(v) for name, v in (self.sources or {}).items()}
        for name in list(self.inputs) + list(self.sources):
            if not ID_PATTERN.match(name):
                raise ConfigError(f"'{name}' is not a valid input or source name (an id: 1-63 lower-case letters, digits and hyphens)")
        for kind, pins in (("pins", self.pins), ("modellerPins", self.modeller_pins)):
            for member, fp in (pins or {}).items():
                if not ID_PATTERN.match(member) or not is_fingerprint(str(fp).strip().lower()):
                    raise ConfigError(f"{kind}: '{member}': '{fp}' is not an identity fingerprint (sha256: and 64 lower-case hex digits)")
        if not (self.poll_seconds > 0):
            raise ConfigError("pollSeconds is a number > 0")

    # ---- paths ----

    def resolve(self, path: PathLike) -> pathlib.Path:
        """A path of the configuration, relative to its base directory."""
        p = pathlib.Path(path)
        return p if p.is_absolute() else pathlib.Path(self.base_directory).absolute() / p

    @property
    def state_path(self) -> pathlib.Path:
        """The state directory, resolved."""
        return self.resolve(self.state_directory)

    @property
    def pins_path(self) -> pathlib.Path:
        """The pins file: ``pins_file``, else ``pins.json`` in the state directory."""
        return self.resolve(self.pins_file) if self.pins_file is not None else self.state_path / "pins.json"

    def load_identity(self) -> IdentityKey:
        """The pod's identity key (the given one, or its key file)."""
        return self.identity if self.identity is not None else IdentityKey.load(self.resolve(self.identity_key_file))

    def resolve_api_key(self) -> str:
        """The API key: ``api_key``, else the environment variable it names; a missing key is a ConfigError."""
        key = self.api_key or os.environ.get(self.api_key_environment_variable) or None
        if not key:
            raise ConfigError(f"No API key for pod {self.tenant}/{self.pod}: set api_key, or the environment variable {self.api_key_environment_variable}.")
        return key

    def configured_pins(self) -> List[Pin]:
        """Every configured pin: peer pods (``pins``) and modellers (``modellerPins``)."""
        return ([Pin(self.tenant, PinKinds.POD, k, v, PinSources.CONFIGURED) for k, v in self.pins.items()]
                + [Pin(self.tenant, PinKinds.MODELLER, k, v, PinSources.CONFIGURED) for k, v in self.modeller_pins.items()])

    def create_pin_store(self, notice: Optional[Callable[[str], None]] = None) -> PinStore:
        """The pod's one pin store: configured pins, the pins file, trust on first use (``notice`` hears each first use)."""
        try:
            return PinStore(self.pins_path, self.configured_pins(), self.trust_on_first_use, notice)
        except ValueError as e:
            raise ConfigError(f"pins: {e}") from None

    # ---- the .NET agent's file ----

    @classmethod
    def load(cls, path: PathLike, *, url: Optional[str] = None, api_key: Optional[str] = None) -> "PodConfig":
        """
        Loads the .NET agent's configuration file. ``url`` and ``api_key`` override the file's (like ``--url`` and
        ``--key``). Errors name the file and the JSON path.
        """
        p = pathlib.Path(path)
        try:
            raw = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{p}: no such configuration file") from None
        return cls.from_json(raw, base_directory=p.absolute().parent, name=p.name, url=url, api_key=api_key)

    @classmethod
    def from_json(cls, text: str, *, base_directory: PathLike = ".", name: str = "config", url: Optional[str] = None,
                  api_key: Optional[str] = None) -> "PodConfig":
        """Parses the agent's JSON (comments and trailing commas allowed) and checks it like the agent does."""
        try:
            doc = json.loads(_strip_json_extras(text))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{name}: not valid JSON ({e}); see docs/agent-config.md.") from None
        check_schema(doc, name)
        return cls.from_dict(doc, base_directory=base_directory, name=name, url=url, api_key=api_key)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, base_directory: PathLike = ".", name: str = "config", url: Optional[str] = None,
                  api_key: Optional[str] = None) -> "PodConfig":
        """A configuration from the agent's JSON object (already parsed)."""
        def ids(value: Any) -> List[str]:
            return list(value or [])

        inputs = {}
        for input_name, i in (doc.get("inputs") or {}).items():
            inputs[input_name] = InputSpec(
                value=i.get("value"), values=i.get("values"), file=i.get("file"), weight=i.get("weight"), weight_rows_of=i.get("weightRowsOf"),
                min_pods=i.get("minPods"), min_pod_set_difference=i.get("minPodSetDifference"), differencing_window_days=i.get("differencingWindowDays"))
        sources = {}
        for source_name, s in (doc.get("sources") or {}).items():
            sources[source_name] = SourceSpec(
                kind=s.get("kind") or "csv", path=s.get("path"), connection_string=s.get("connectionString"),
                connection_string_environment_variable=s.get("connectionStringEnvironmentVariable"), table=s.get("table"), query=s.get("query"),
                delimiter=s.get("delimiter") or ",")
        policy, psi, query, training = (_policy(kind, doc.get(key)) for kind, key in _POLICY_KEYS)
        try:
            return cls(
                tenant=doc.get("tenant"), pod=doc.get("pod"), identity_key_file=doc.get("identityKeyFile"), url=url or doc.get("url") or "http://127.0.0.1:5080",
                api_key=api_key or doc.get("apiKey"), api_key_environment_variable=doc.get("apiKeyEnvironmentVariable") or "SMPC_POD_KEY",
                state_directory=doc.get("stateDirectory") or "state", poll_seconds=float(doc.get("pollSeconds", 1)), inputs=inputs, policy=policy,
                sources=sources, psi=psi, query=query, training=training, pins=dict(doc.get("pins") or {}), pins_file=doc.get("pinsFile"),
                trust_on_first_use=bool(doc.get("trustOnFirstUse", True)), modeller_pins=dict(doc.get("modellerPins") or {}),
                base_directory=base_directory)
        except ConfigError as e:
            raise ConfigError(f"{name}: {e}; see docs/agent-config.md.") from None


#: The policy sections of the configuration: (dataclass, JSON key).
_POLICY_KEYS = (("secagg", "policy"), ("psi", "psi"), ("query", "query"), ("training", "training"))


def _policy(kind: str, value: Any) -> Any:
    """A policy section from the agent file's object (camelCase keys; snake_case accepted too, for Python callers), or
    the dataclass itself when given one."""
    classes = {"secagg": SecureAggregationPolicy, "psi": PsiPolicy, "query": QueryPolicy, "training": TrainingPolicy}
    if isinstance(value, classes[kind]):
        return value
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(f"a {kind} policy is an object (or {classes[kind].__name__}), not {type(value).__name__}")
    raw = dict(value or {})
    d = {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): v for k, v in raw.items()}

    def ids(v: Any) -> List[str]:
        return list(v or [])
    if kind == "secagg":
        pol = d
        return SecureAggregationPolicy(
            modellers=ids(pol.get("modellers")), operations=list(pol["operations"]) if pol.get("operations") is not None else SecureAggregationPolicy().operations,
            min_pods=int(pol.get("minPods", 3)), min_pod_set_difference=pol.get("minPodSetDifference"),
            differencing_window_days=float(pol.get("differencingWindowDays", 90)))
    if kind == "psi":
        ps = d
        return PsiPolicy(modellers=ids(ps.get("modellers")), protocols=list(ps.get("protocols", PsiPolicy().protocols)),
                        modes=list(ps.get("modes", PsiPolicy().modes)), max_modeller_set_size=int(ps.get("maxModellerSetSize", 1_000_000)),
                        max_modeller_records_per_day=int(ps.get("maxModellerRecordsPerDay", 10_000_000)), min_count=int(ps.get("minCount", 0)),
                        set_reuse_hours=float(ps.get("setReuseHours", 0)))
    if kind == "query":
        q = d
        return QueryPolicy(modellers=ids(q.get("modellers")), tables={k: list(v) for k, v in (q.get("tables") or {}).items()},
                            min_rows_per_group=int(q.get("minRowsPerGroup", 0)), time_limit_seconds=float(q.get("timeLimitSeconds", 60)),
                            max_cells=int(q.get("maxCells", 100_000)))
    t = d
    return TrainingPolicy(modellers=ids(t.get("modellers")), trainers=list(t.get("trainers", TrainingPolicy().trainers)),
                                  columns={k: list(v) for k, v in (t.get("columns") or {}).items()}, max_rounds=int(t.get("maxRounds", 1000)))


# ---- checking the file ----

def check_schema(doc: Any, name: str = "config") -> None:
    """
    Checks the agent's JSON object against docs/agent-config.schema.json (with ``jsonschema`` when installed; else the
    known keys, required keys and ids). Raises ConfigError naming the JSON path, like the .NET agent.
    """
    try:
        import jsonschema  # Debian's python3-jsonschema
    except ImportError:
        jsonschema = None
    if jsonschema is not None and _SCHEMA_FILE.exists():
        schema = json.loads(_SCHEMA_FILE.read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(doc), key=lambda e: (len(list(e.absolute_path)), list(map(str, e.absolute_path))))
        if errors:
            e = errors[0]
            raise ConfigError(f"{name}: {_json_path(e.absolute_path)}: {e.message}; see docs/agent-config.md.")
        return
    _check_known_keys(doc, name)


def _json_path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", str(p)) else f"['{p}']")
    return out


_TOP = {"url", "tenant", "pod", "apiKey", "apiKeyEnvironmentVariable", "identityKeyFile", "stateDirectory", "pollSeconds", "inputs", "policy",
        "sources", "psi", "query", "training", "pins", "modellerPins", "pinsFile", "trustOnFirstUse"}
_SECTIONS = {
    "policy": {"modellers", "operations", "minPods", "minPodSetDifference", "differencingWindowDays"},
    "psi": {"modellers", "protocols", "modes", "maxModellerSetSize", "maxModellerRecordsPerDay", "minCount", "setReuseHours"},
    "query": {"modellers", "tables", "minRowsPerGroup", "timeLimitSeconds", "maxCells"},
    "training": {"modellers", "trainers", "columns", "maxRounds"},
}
_INPUT = {"value", "values", "file", "weight", "weightRowsOf", "minPods", "minPodSetDifference", "differencingWindowDays"}
_SOURCE = {"kind", "path", "connectionString", "connectionStringEnvironmentVariable", "table", "query", "delimiter"}


def _check_known_keys(doc: Any, name: str) -> None:
    def fail(path: str, message: str) -> None:
        raise ConfigError(f"{name}: {path}: {message}; see docs/agent-config.md.")

    if not isinstance(doc, dict):
        fail("$", "expected an object")
    for key in doc:
        if key not in _TOP:
            fail(f"$.{key}", "unknown key (keys are case-sensitive camelCase)")
    for key in ("tenant", "pod", "identityKeyFile"):
        if key not in doc:
            fail("$", f"the required key '{key}' is missing")
    for key in ("tenant", "pod"):
        if not isinstance(doc[key], str) or not ID_PATTERN.match(doc[key]):
            fail(f"$.{key}", "expected an id: 1-63 lower-case letters, digits and hyphens, not starting with a hyphen")
    for section, keys in _SECTIONS.items():
        for key in (doc.get(section) or {}):
            if key not in keys:
                fail(f"$.{section}.{key}", "unknown key")
    for group, keys in (("inputs", _INPUT), ("sources", _SOURCE)):
        for item, body in (doc.get(group) or {}).items():
            if not ID_PATTERN.match(item):
                fail(f"$.{group}.{item}", "names are ids: 1-63 lower-case letters, digits and hyphens")
            for key in body or {}:
                if key not in keys:
                    fail(f"$.{group}.{item}.{key}", "unknown key")


def _strip_json_extras(text: str) -> str:
    """Removes // and /* */ comments and trailing commas outside strings (the agent's reader allows both)."""
    out: List[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
        elif c == '"':
            in_string = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))
