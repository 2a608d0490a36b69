"""Federated SQL (docs/protocols/federated.md, "Federated SQL"): the query's shape, a pod's answer, the release rule and
the modeller's result table — the same semantics as the .NET pod agent and modeller, so mixed pods add up.

Steps of a query, as each party runs them:

1. ``QueryShape.create(spec)`` validates the request (the wire ``QueryRequest`` dict, camelCase keys) and fixes the
   cells: the cartesian product of the group-by domains, first column slowest.
2. A pod runs the SQL once on its source (``run_query``: SQLite read-only with an authorizer, a CSV file or a pandas
   DataFrame loaded into an in-memory SQLite table named after the source), maps each result row to its cell
   (``QueryAccumulator``), checks bounds (refuses, never clips) and suppresses cells with 0 < count < minRowsPerGroup.
3. Counts round: ``count_round_fields`` / ``count_round_input``. The modeller decides the release (``decide_release``),
   sends it sealed; each pod checks it (``release_refusal``) and sends the values round (``value_round_input``).
4. The modeller builds the result (``result_table``): pooled counts, exact pooled sums, pooled means Σsum / Σcount.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import sqlite3
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

DEFAULT_PRECISION = 10_000
SUPPRESSED_FIELD = "suppressed-pods"
RESERVED_NAMES = ("withheld", "suppressed_on")
MAX_FEDERATED_PODS = 50
FIELD_MAX_SIGNED = ((1 << 61) - 2) // 2
MIN_ROUND_TIMEOUT_SECONDS = 5
MAX_ROUND_TIMEOUT_SECONDS = 86_400
_RELATIVE_TOLERANCE = 1e-9
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?\Z")
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


class QuerySpecError(ValueError):
    """The query request is invalid; the message says what is wrong (the service refuses it with the same rules)."""


class QueryRefused(Exception):
    """A pod refuses to answer: its policy forbids the query or its data does not fit the declared shape.

    ``str(exc)`` never quotes the pod's data (it becomes the decline reason); ``detail`` may, and stays in the pod's log.
    """

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail or reason


def _get(d: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A wire property, matched ignoring case (System.Text.Json web defaults read case-insensitively)."""
    if name in d:
        return d[name]
    lower = name.lower()
    for k, v in d.items():
        if isinstance(k, str) and k.lower() == lower:
            return v
    return default


def dotnet_double_text(x: float) -> str:
    """A double as .NET's ``ToString("R", InvariantCulture)`` writes it (shortest round trip, ``E+XX`` exponents)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    sign = "-" if x < 0 else ""
    t = Decimal(repr(abs(float(x)))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    point = len(digits) + int(t.exponent)  # the decimal point's position within the digits
    exponent = point - 1  # scientific exponent
    if exponent >= 15 or exponent < -4:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}E{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * (-point)}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def key_text(key: Any) -> str | None:
    """An SQL value as invariant text, as explicit group-by values are compared; None for NULL (and blobs)."""
    if key is None or isinstance(key, (bytes, bytearray, memoryview)):
        return None
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, str):
        return key
    if isinstance(key, (int, np.integer)):
        return str(int(key))
    if isinstance(key, (float, np.floating)):
        return dotnet_double_text(float(key))
    if isinstance(key, Decimal):
        return format(key.normalize(), "f") if key == key.to_integral() else str(key.normalize())
    if isinstance(key, _dt.datetime):
        if key.time() == _dt.time(0):
            return key.strftime("%Y-%m-%d")
        return key.strftime("%Y-%m-%dT%H:%M:%S") + (f".{key.microsecond:06d}".rstrip("0") if key.microsecond else "")
    if isinstance(key, _dt.date):
        return key.strftime("%Y-%m-%d")
    return str(key)


def _sql_integer(value: Any, max_float: float) -> int | None:
    """A whole number as int, or None (floats only up to ``max_float`` in magnitude)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, np.integer)):
        v = int(value)
        return v if _LONG_MIN <= v <= _LONG_MAX else None
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f) and f == math.floor(f) and abs(f) <= max_float:
            return int(f)
        return None
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and _LONG_MIN <= value <= _LONG_MAX:
            return int(value)
    return None


# --- group-by domains -------------------------------------------------------------------------------------------

class _Domain:
    column: str
    size: int

    def label(self, index: int) -> str:
        raise NotImplementedError

    def index_of(self, key: Any) -> int | None:
        raise NotImplementedError


class _ValuesDomain(_Domain):
    def __init__(self, column: str, values: Sequence[str]) -> None:
        if not values:
            raise QuerySpecError(f"group-by column '{column}' declares an empty list of values")
        index: dict[str, int] = {}
        for i, v in enumerate(values):
            if not isinstance(v, str) or v == "":
                raise QuerySpecError(f"group-by column '{column}': value {i + 1} is empty")
            if v in index:
                raise QuerySpecError(f"group-by column '{column}': value '{v}' is listed twice")
            index[v] = i
        self.column, self.size, self._values, self._index = column, len(values), list(values), index

    def label(self, index: int) -> str:
        return self._values[index]

    def index_of(self, key: Any) -> int | None:
        text = key_text(key)
        return None if text is None else self._index.get(text)


class _IntegerBinsDomain(_Domain):
    def __init__(self, column: str, bins: Mapping[str, Any], max_size: int) -> None:
        frm, to, width = int(_get(bins, "from", 0)), int(_get(bins, "to", 0)), int(_get(bins, "width", 0))
        if width <= 0:
            raise QuerySpecError(f"group-by column '{column}': bin width must be positive, not {width}")
        if to <= frm:
            raise QuerySpecError(f"group-by column '{column}': bins need from < to (from {frm}, to {to})")
        size = (to - frm + width - 1) // width
        if size > max_size:
            raise QuerySpecError(f"group-by column '{column}' has {size} bins, more than the {max_size} cells allowed")
        self.column, self.size, self._from, self._to, self._width = column, size, frm, to, width

    def label(self, index: int) -> str:
        start = self._from + index * self._width
        return f"[{start}, {min(start + self._width, self._to)})"

    def index_of(self, key: Any) -> int | None:
        if isinstance(key, str):
            value = int(key) if re.fullmatch(r"[+-]?[0-9]+", key) else None
            if value is not None and not (_LONG_MIN <= value <= _LONG_MAX):
                value = None
        else:
            value = _sql_integer(key, 9.2e18)
        if value is None or value < self._from or value >= self._to:
            return None
        return (value - self._from) // self._width


def _month_number(d: _dt.date) -> int:
    return d.year * 12 + d.month - 1


class _DateBinsDomain(_Domain):
    def __init__(self, column: str, bins: Mapping[str, Any], max_size: int) -> None:
        frm = self._parse(column, "from", _get(bins, "from"))
        to = self._parse(column, "to", _get(bins, "to"))
        raw_unit = _get(bins, "unit")
        unit = raw_unit.strip().lower() if isinstance(raw_unit, str) else None
        if unit not in ("day", "month", "year"):
            raise QuerySpecError(f"group-by column '{column}': date bin unit must be day, month or year, not '{raw_unit}'")
        if to <= frm:
            raise QuerySpecError(f"group-by column '{column}': date bins need from < to ({_get(bins, 'from')}, {_get(bins, 'to')})")
        if unit != "day" and (frm.day != 1 or to.day != 1 or (unit == "year" and (frm.month != 1 or to.month != 1))):
            raise QuerySpecError(f"group-by column '{column}': {unit} bins must start and end on the first day of a {unit} "
                                 f"({_get(bins, 'from')}, {_get(bins, 'to')})")
        size = {"day": (to - frm).days, "month": _month_number(to) - _month_number(frm), "year": to.year - frm.year}[unit]
        if size > max_size:
            raise QuerySpecError(f"group-by column '{column}' has {size} date bins, more than the {max_size} cells allowed")
        self.column, self.size, self._from, self._to, self._unit = column, size, frm, to, unit

    @staticmethod
    def _parse(column: str, which: str, text: Any) -> _dt.date:
        if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return _dt.date.fromisoformat(text)
            except ValueError:
                pass
        raise QuerySpecError(f"group-by column '{column}': date bins '{which}' must be a date yyyy-MM-dd, not '{text}'")

    def label(self, index: int) -> str:
        if self._unit == "day":
            return (self._from + _dt.timedelta(days=index)).strftime("%Y-%m-%d")
        if self._unit == "month":
            m = _month_number(self._from) + index
            return f"{m // 12:04d}-{m % 12 + 1:02d}"
        return f"{self._from.year + index:04d}"

    def index_of(self, key: Any) -> int | None:
        d: _dt.date | None = None
        if isinstance(key, _dt.datetime):
            d = key.date()
        elif isinstance(key, _dt.date):
            d = key
        elif isinstance(key, str) and _ISO_DATE.match(key):
            try:
                d = _dt.date.fromisoformat(key[:10])
            except ValueError:
                d = None
        if d is None or d < self._from or d >= self._to:
            return None
        if self._unit == "day":
            return (d - self._from).days
        if self._unit == "month":
            return _month_number(d) - _month_number(self._from)
        return d.year - self._from.year


def _domain(g: Mapping[str, Any], max_size: int) -> _Domain:
    column = _get(g, "column")
    values, bins, date_bins = _get(g, "values"), _get(g, "bins"), _get(g, "dateBins")
    declared = sum(x is not None for x in (values, bins, date_bins))
    if declared != 1:
        raise QuerySpecError(f"group-by column '{column}' must declare exactly one of values, bins or dateBins (it declares {declared})")
    if values is not None:
        return _ValuesDomain(column, list(values))
    if bins is not None:
        return _IntegerBinsDomain(column, bins, max_size)
    return _DateBinsDomain(column, date_bins, max_size)


# --- shape --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueryAggregate:
    """A validated aggregate column and the bounds of the field it is aggregated in."""

    name: str
    kind: str  # count | sum | mean
    min: float
    max: float
    precision: int
    count_column: str | None
    field_min: float
    field_max: float


def _check_fits(name: str, bound: float, precision: int) -> None:
    scaled = math.ceil(bound * precision)
    if not (scaled < 9.2e18) or int(scaled) * MAX_FEDERATED_PODS > FIELD_MAX_SIGNED:
        raise QuerySpecError(f"aggregate '{name}': a pod's cell value up to {dotnet_double_text(bound)} at precision {precision}, "
                             f"summed over {MAX_FEDERATED_PODS} pods, overflows the field (2^61 − 1); lower the bounds, "
                             "maxRowsPerCell or the precision")


class QueryShape:
    """The validated output shape of a federated query: cells, aggregates and the fields of its two rounds."""

    def __init__(self, spec: Mapping[str, Any], domains: list[_Domain], cells: int, aggregates: list[QueryAggregate]) -> None:
        self.spec = spec
        self._domains = domains
        self.cell_count = cells
        self._strides = [1] * len(domains)
        stride = 1
        for i in range(len(domains) - 1, -1, -1):
            self._strides[i] = stride
            stride *= domains[i].size
        self.key_columns = [d.column for d in domains]
        self.aggregates = aggregates
        self.count_aggregates = [a for a in aggregates if a.kind == "count"]
        self.value_aggregates = [a for a in aggregates if a.kind != "count"]
        self.primary_count = self.count_aggregates[0]
        self.min_pooled_count = int(_get(spec, "minPooledCount", 0) or 0)
        self.max_rows_per_cell = int(_get(spec, "maxRowsPerCell", 10_000_000))
        self.round_timeout_seconds = int(_get(spec, "roundTimeoutSeconds", 300))

    @classmethod
    def create(cls, spec: Mapping[str, Any], max_cells: int = 100_000) -> "QueryShape":
        """Validates a ``QueryRequest`` dict and builds its shape; QuerySpecError says what is wrong."""
        sql = _get(spec, "sql")
        if not isinstance(sql, str) or not sql.strip():
            raise QuerySpecError("the query has no SQL")
        min_pooled = int(_get(spec, "minPooledCount", 0) or 0)
        max_rows = int(_get(spec, "maxRowsPerCell", 10_000_000))
        if min_pooled < 0:
            raise QuerySpecError(f"minPooledCount must not be negative, not {min_pooled}")
        if max_rows < 1:
            raise QuerySpecError(f"maxRowsPerCell must be at least 1, not {max_rows}")
        group_by = list(_get(spec, "groupBy") or [])
        aggregates_in = list(_get(spec, "aggregates") or [])
        if not aggregates_in:
            raise QuerySpecError("the query declares no aggregates")
        names: set[str] = set()

        def check_name(name: Any, what: str) -> None:
            if not isinstance(name, str) or not _IDENTIFIER.match(name):
                raise QuerySpecError(f"{what} name '{name}' is not an identifier (a letter or '_', then letters, digits or '_')")
            if name.lower() in RESERVED_NAMES:
                raise QuerySpecError(f"{what} name '{name}' is reserved for the result table")
            if name.lower() in names:
                raise QuerySpecError(f"column name '{name}' is used twice (names are compared ignoring case)")
            names.add(name.lower())

        domains: list[_Domain] = []
        cells = 1
        for i, g in enumerate(group_by):
            if g is None:
                raise QuerySpecError(f"group-by {i + 1} is missing")
            check_name(_get(g, "column"), "group-by column")
            d = _domain(g, max_cells)
            domains.append(d)
            cells *= d.size
            if cells > max_cells:
                raise QuerySpecError(f"the group-by domains have more than {max_cells} cells together (at most {max_cells} allowed)")
        for a in aggregates_in:
            if a is None:
                raise QuerySpecError("an aggregate is missing")
            check_name(_get(a, "name"), "aggregate")
        kinds = [cls._kind(a) for a in aggregates_in]
        count_names = [_get(a, "name") for a, k in zip(aggregates_in, kinds) if k == "count"]
        if not count_names:
            raise QuerySpecError("the query needs a count aggregate (the group's row count, which the minimum group and "
                                 "pooled counts apply to)")
        aggregates = [cls._aggregate(a, k, count_names, max_rows) for a, k in zip(aggregates_in, kinds)]
        return cls(spec, domains, cells, aggregates)

    @staticmethod
    def _kind(a: Mapping[str, Any]) -> str:
        kind = _get(a, "kind")
        k = kind.strip().lower() if isinstance(kind, str) else None
        if k not in ("count", "sum", "mean"):
            raise QuerySpecError(f"aggregate '{_get(a, 'name')}' has unknown kind '{kind}' (use count, sum or mean)")
        return k

    @staticmethod
    def _aggregate(a: Mapping[str, Any], kind: str, count_names: list[str], max_rows: int) -> QueryAggregate:
        name = _get(a, "name")
        precision_in = _get(a, "precision")
        count_column = _get(a, "countColumn")
        if kind == "count":
            if precision_in is not None and int(precision_in) != 1:
                raise QuerySpecError(f"count aggregate '{name}' is an exact integer; its precision must be 1, not {precision_in}")
            if count_column is not None:
                raise QuerySpecError(f"count aggregate '{name}' takes no countColumn")
            _check_fits(name, float(max_rows), 1)
            return QueryAggregate(name, kind, 0.0, float(max_rows), 1, None, 0.0, float(max_rows))
        lo, hi = float(_get(a, "min", 0.0)), float(_get(a, "max", 0.0))
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise QuerySpecError(f"aggregate '{name}': bounds [{dotnet_double_text(lo)}, {dotnet_double_text(hi)}] must be finite with min ≤ max")
        precision = DEFAULT_PRECISION if precision_in is None else int(precision_in)
        if precision < 1:
            raise QuerySpecError(f"aggregate '{name}': precision must be at least 1, not {precision}")
        resolved: str | None = None
        if kind == "sum":
            if count_column is not None:
                raise QuerySpecError(f"sum aggregate '{name}' takes no countColumn (only a mean does)")
            field_min, field_max = min(0.0, lo), max(0.0, hi)
        else:
            if count_column is None:
                if len(count_names) != 1:
                    raise QuerySpecError(f"mean aggregate '{name}' must name its countColumn: the query has {len(count_names)} count aggregates")
                resolved = count_names[0]
            else:
                resolved = next((c for c in count_names if c.lower() == str(count_column).lower()), None)
                if resolved is None:
                    raise QuerySpecError(f"mean aggregate '{name}': countColumn '{count_column}' is not a count aggregate of the query")
            field_min, field_max = min(0.0, lo) * max_rows, max(0.0, hi) * max_rows
        _check_fits(name, max(abs(field_min), abs(field_max)), precision)
        return QueryAggregate(name, kind, lo, hi, precision, resolved, field_min, field_max)

    def cell_labels(self, cell: int) -> list[str]:
        """The key labels of a cell: the value, "[from, to)" for integer bins, yyyy-MM-dd / yyyy-MM / yyyy for dates."""
        return [d.label(cell // s % d.size) for d, s in zip(self._domains, self._strides)]

    def cell_of(self, keys: Sequence[Any]) -> int | None:
        """The cell of a result row's key values, or None when one is outside its domain."""
        cell = 0
        for d, s, k in zip(self._domains, self._strides, keys):
            i = d.index_of(k)
            if i is None:
                return None
            cell += i * s
        return cell

    def describe(self, cell: int) -> str:
        """"(age_band=[40, 50), region=north)": a cell named for messages."""
        if not self._domains:
            return "(all rows)"
        return "(" + ", ".join(f"{d.column}={l}" for d, l in zip(self._domains, self.cell_labels(cell))) + ")"

    def count_round_fields(self) -> list[dict[str, Any]]:
        """The counts round's fields: each count aggregate, then ``suppressed-pods``; all of length cell_count."""
        return ([_field(a.name, self.cell_count, a.field_min, a.field_max, 1) for a in self.count_aggregates]
                + [_field(SUPPRESSED_FIELD, self.cell_count, 0.0, 1.0, 1)])

    def value_round_fields(self, released_cells: int) -> list[dict[str, Any]]:
        """The values round's fields: one per sum/mean aggregate of length ``released_cells``; empty when none."""
        if released_cells < 0 or released_cells > self.cell_count:
            raise ValueError("released cells out of range")
        if released_cells == 0:
            return []
        return [_field(a.name, released_cells, a.field_min, a.field_max, a.precision) for a in self.value_aggregates]


def _field(name: str, length: int, lo: float, hi: float, precision: int) -> dict[str, Any]:
    return {"name": name, "length": int(length), "min": float(lo), "max": float(hi), "precision": int(precision)}


def session_problem(spec: Mapping[str, Any]) -> str | None:
    """Why the service refuses this query as a session's spec, or None (the modeller checks before sending)."""
    timeout = int(_get(spec, "roundTimeoutSeconds", 300))
    if not MIN_ROUND_TIMEOUT_SECONDS <= timeout <= MAX_ROUND_TIMEOUT_SECONDS:
        return f"query.roundTimeoutSeconds must be between {MIN_ROUND_TIMEOUT_SECONDS} and {MAX_ROUND_TIMEOUT_SECONDS}."
    try:
        QueryShape.create(spec)
    except QuerySpecError as e:
        return f"query: {e}"
    return None


# --- a pod's answer -----------------------------------------------------------------------------------------------

@dataclass
class PodQueryResult:
    """A pod's per-cell answer after its policy: counts [count aggregate][cell], sums [value aggregate][cell]."""

    counts: np.ndarray  # int64 (count aggregates × cells)
    sums: np.ndarray  # float64 (value aggregates × cells): a sum, or mean · count for a mean
    suppressed: np.ndarray  # bool (cells)
    rows_returned: int


def _describe_value(value: Any) -> str:
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "a blob"
    return key_text(value) or "NULL"


class QueryAccumulator:
    """Maps result rows to cells, adds rows sharing a cell, checks bounds and suppresses small cells."""

    def __init__(self, shape: QueryShape) -> None:
        self.shape = shape
        n = shape.cell_count
        self._counts = [[0] * n for _ in shape.count_aggregates]
        self._sums = np.zeros((len(shape.value_aggregates), n))
        self._seen = np.zeros(n, dtype=bool)
        count_names = [c.name for c in shape.count_aggregates]
        self._mean_count = [count_names.index(a.count_column) if a.kind == "mean" else -1 for a in shape.value_aggregates]
        self._key_cols: list[int] = []
        self._count_cols: list[int] = []
        self._value_cols: list[int] = []
        self._rows = 0

    def bind(self, result_columns: Sequence[str]) -> None:
        """Finds each declared column among the result's columns (ignoring case); refuses a missing or ambiguous one."""
        missing: list[str] = []
        ambiguous: list[str] = []

        def resolve(names: Iterable[str]) -> list[int]:
            out = []
            for name in names:
                matches = [i for i, c in enumerate(result_columns) if c.lower() == name.lower()]
                if not matches:
                    missing.append(name)
                elif len(matches) > 1:
                    ambiguous.append(name)
                out.append(matches[0] if len(matches) == 1 else -1)
            return out

        self._key_cols = resolve(self.shape.key_columns)
        self._count_cols = resolve(a.name for a in self.shape.count_aggregates)
        self._value_cols = resolve(a.name for a in self.shape.value_aggregates)
        cols = ", ".join(result_columns)
        if missing:
            raise QueryRefused(f"the query's result has no column {', '.join(missing)} (its columns: {cols}); every group-by "
                               "column and aggregate must be returned by name")
        if ambiguous:
            raise QueryRefused(f"the query's result has more than one column named {', '.join(ambiguous)} (its columns: {cols})")

    def add(self, row: Sequence[Any]) -> None:
        """Adds one result row (values by result column; None for NULL)."""
        self._rows += 1
        keys = [row[i] for i in self._key_cols]
        cell = self.shape.cell_of(keys)
        if cell is None:
            text = ", ".join(f"{c}={key_text(k) or 'NULL'}" for c, k in zip(self.shape.key_columns, keys))
            raise QueryRefused("a result row's key is outside the query's declared group-by domain",
                               f"a result row's key ({text}) is outside the query's declared group-by domain")
        self._seen[cell] = True
        row_counts = []
        for c, col in enumerate(self._count_cols):
            n = self._to_count(self.shape.count_aggregates[c].name, row[col])
            row_counts.append(n)
            total = self._counts[c][cell] + n
            if total > _LONG_MAX:
                raise QueryRefused(f"column {self.shape.count_aggregates[c].name} adds up beyond a 64-bit integer")
            self._counts[c][cell] = total
        for v, col in enumerate(self._value_cols):
            x = self._to_value(self.shape.value_aggregates[v].name, row[col])
            mc = self._mean_count[v]
            self._sums[v, cell] += x * row_counts[mc] if mc >= 0 else x

    @staticmethod
    def _to_count(column: str, value: Any) -> int:
        n = 0 if value is None else _sql_integer(value, 9e15)
        if isinstance(value, str) or n is None or n < 0:
            raise QueryRefused(f"column {column} holds a value that is not a count (a non-negative integer)",
                               f"column {column} holds {_describe_value(value)}, which is not a count (a non-negative integer)")
        return n

    @staticmethod
    def _to_value(column: str, value: Any) -> float:
        if value is None:
            return 0.0
        if isinstance(value, (int, float, np.integer, np.floating, Decimal)) and not isinstance(value, bool):
            x = float(value)
            if math.isfinite(x):
                return x
        raise QueryRefused(f"column {column} holds a value that is not a finite number",
                           f"column {column} holds {_describe_value(value)}, which is not a finite number")

    def finish(self, min_rows_per_group: int) -> PodQueryResult:
        """Checks every cell against the bounds (refuses, never clips), then suppresses cells below the minimum."""
        shape = self.shape
        max_rows = shape.max_rows_per_cell
        for cell in np.flatnonzero(self._seen):
            for c, counts in enumerate(self._counts):
                if counts[cell] > max_rows:
                    name = shape.count_aggregates[c].name
                    raise QueryRefused(f"a cell's column {name} is above the query's maxRowsPerCell {max_rows}",
                                       f"cell {shape.describe(cell)} column {name} = {counts[cell]} is above the query's maxRowsPerCell {max_rows}")
            for v, a in enumerate(shape.value_aggregates):
                mc = self._mean_count[v]
                if mc < 0:
                    self._check_bounds(cell, a, self._sums[v, cell])
                    continue
                count = self._counts[mc][cell]
                if count > 0:
                    self._check_bounds(cell, a, self._sums[v, cell] / count)
                # Only rounding noise can take mean · count past the field's bound here.
                self._sums[v, cell] = min(max(self._sums[v, cell], a.field_min), a.field_max)
        counts = np.array(self._counts, dtype=np.int64).reshape(len(self._counts), shape.cell_count)
        primary = counts[0]
        suppressed = (primary > 0) & (primary < min_rows_per_group)
        counts[:, suppressed] = 0
        sums = self._sums.copy()
        sums[:, suppressed] = 0.0
        return PodQueryResult(counts, sums, suppressed, self._rows)

    @staticmethod
    def _check_bounds_text(a: QueryAggregate) -> str:
        return f"[{dotnet_double_text(a.min)}, {dotnet_double_text(a.max)}]"

    def _check_bounds(self, cell: int, a: QueryAggregate, value: float) -> None:
        slack = _RELATIVE_TOLERANCE * max(1.0, abs(a.min), abs(a.max))
        if a.min - slack <= value <= a.max + slack:
            return
        bounds = self._check_bounds_text(a)
        raise QueryRefused(f"a cell's column {a.name} is outside the declared bounds {bounds}",
                           f"cell {self.shape.describe(cell)} column {a.name} = {dotnet_double_text(float(value))} is outside the declared bounds {bounds}")


def count_round_input(result: PodQueryResult) -> np.ndarray:
    """The pod's counts-round vector: each count aggregate's cells, then 1 per suppressed cell."""
    return np.concatenate([result.counts.astype(np.float64).ravel(), result.suppressed.astype(np.float64)])


def value_round_input(result: PodQueryResult, released_cells: Sequence[int]) -> np.ndarray:
    """The pod's values-round vector: each value aggregate's sums of the released cells, in order."""
    cells = np.asarray(released_cells, dtype=np.int64)
    n = result.suppressed.shape[0]
    if cells.size and (cells.min() < 0 or cells.max() >= n or np.any(np.diff(cells) <= 0)):
        raise ValueError("released cells must be distinct cells in increasing order")
    return result.sums[:, cells].ravel().astype(np.float64)


# --- release ------------------------------------------------------------------------------------------------------

def _pooled_integers(shape: QueryShape, sums: Mapping[str, Any], name: str, max_per_pod: int) -> np.ndarray:
    if name not in sums or sums[name] is None:
        raise ValueError(f"the count round has no field '{name}'")
    values = np.asarray(sums[name], dtype=np.float64)
    if values.shape != (shape.cell_count,):
        raise ValueError(f"count-round field '{name}' has {values.size} cells, not {shape.cell_count}")
    top = float(max_per_pod) * MAX_FEDERATED_PODS
    bad = ~((values >= 0) & (values <= top) & (values == np.floor(values)))
    if bad.any():
        cell = int(np.flatnonzero(bad)[0])
        raise ValueError(f"count-round field '{name}' holds {values[cell]} at cell {cell}, which is not a pooled count")
    return values.astype(np.int64)


def decide_release(shape: QueryShape, count_sums: Mapping[str, Any], min_pooled_count: int) -> dict[str, list[int]]:
    """The release ``counts``: pooled primary counts, suppression counts and the released cells (pooled ≥ minimum).

    Its JSON form is the .NET ``QueryRelease``: ``{"pooledCounts": [...], "suppressedOn": [...], "releasedCells": [...]}``.
    """
    pooled = _pooled_integers(shape, count_sums, shape.primary_count.name, shape.max_rows_per_cell)
    suppressed_on = _pooled_integers(shape, count_sums, SUPPRESSED_FIELD, 1)
    released = np.flatnonzero(pooled >= min_pooled_count)
    return {"pooledCounts": pooled.tolist(), "suppressedOn": suppressed_on.tolist(), "releasedCells": released.tolist()}


def release_refusal(shape: QueryShape, release: Mapping[str, Any], own: PodQueryResult, min_pooled_count: int) -> str | None:
    """A pod's check of the release before it sends values: None when acceptable, else why not."""
    pooled, suppressed_on, released = (_get(release, "pooledCounts"), _get(release, "suppressedOn"), _get(release, "releasedCells"))
    if pooled is None or suppressed_on is None or released is None:
        return "the released counts are incomplete"
    if len(pooled) != shape.cell_count or len(suppressed_on) != shape.cell_count or own.suppressed.shape[0] != shape.cell_count:
        return f"the released counts do not have the query's {shape.cell_count} cells"
    own_counts = own.counts[0]
    previous = -1
    for cell in released:
        if not isinstance(cell, int) or isinstance(cell, bool) or cell < 0 or cell >= shape.cell_count or cell <= previous:
            return "the released cells are not distinct cells of the query in increasing order"
        previous = cell
        p = pooled[cell]
        if p < min_pooled_count:
            return f"cell {shape.describe(cell)} is released with a pooled count of {p}, below the minimum {min_pooled_count}"
        if p < own_counts[cell]:
            return f"cell {shape.describe(cell)} is released with a pooled count below this pod's own count"
    return None


# --- the modeller's result ----------------------------------------------------------------------------------------

def result_table(shape: QueryShape, release: Mapping[str, Any], count_sums: Mapping[str, Any],
                 value_sums: Mapping[str, Any] | None) -> "Any":
    """The result as a pandas DataFrame: key columns, aggregates (counts int, sums/means float, NaN when withheld or a
    mean over no rows), ``withheld`` and ``suppressed_on`` — the columns of the .NET ``QueryResultTable`` CSV."""
    import pandas as pd

    counts = {a.name: _pooled_integers(shape, count_sums, a.name, shape.max_rows_per_cell) for a in shape.count_aggregates}
    released = list(_get(release, "releasedCells"))
    suppressed_on = list(_get(release, "suppressedOn"))
    at = np.full(shape.cell_count, -1, dtype=np.int64)
    at[np.asarray(released, dtype=np.int64)] = np.arange(len(released))
    sums: dict[str, np.ndarray] = {}
    if released:
        for a in shape.value_aggregates:
            if value_sums is None or a.name not in value_sums:
                raise ValueError(f"the value round has no field '{a.name}'")
            v = np.asarray(value_sums[a.name], dtype=np.float64)
            if v.shape != (len(released),):
                raise ValueError(f"value-round field '{a.name}' has {v.size} cells, not the {len(released)} released")
            sums[a.name] = v
    columns: dict[str, Any] = {k: [] for k in shape.key_columns}
    for cell in range(shape.cell_count):
        for k, label in zip(shape.key_columns, shape.cell_labels(cell)):
            columns[k].append(label)
    withheld = at < 0
    for a in shape.aggregates:
        if a.kind == "count":
            columns[a.name] = counts[a.name]
            continue
        col = np.full(shape.cell_count, np.nan)
        ok = ~withheld
        if a.kind == "sum":
            col[ok] = sums[a.name][at[ok]]
        else:
            n = counts[a.count_column]
            ok &= n > 0
            col[ok] = sums[a.name][at[ok]] / n[ok]
        columns[a.name] = col
    columns["withheld"] = withheld
    columns["suppressed_on"] = np.asarray(suppressed_on, dtype=np.int64)
    return pd.DataFrame(columns)


# --- running the query on a pod's source --------------------------------------------------------------------------

_AGGREGATE_OPCODES = {"AggStep", "AggStep1", "AggFinal", "AggValue", "AggInverse", "Count"}


@dataclass
class QueryPolicy:
    """A pod's ``query`` policy (agent-config.md): modellers, tables → allowed columns ("*" = all), minimum rows per
    group, time limit and maximum cells."""

    modellers: list[str] = field(default_factory=list)
    tables: dict[str, list[str]] = field(default_factory=dict)
    min_rows_per_group: int = 0
    time_limit_seconds: float = 60.0
    max_cells: int = 100_000

    @classmethod
    def from_config(cls, d: Mapping[str, Any] | None) -> "QueryPolicy":
        """From the agent configuration's ``query`` section (camelCase keys)."""
        d = d or {}
        return cls(list(_get(d, "modellers") or []), {k: list(v or []) for k, v in (_get(d, "tables") or {}).items()},
                   int(_get(d, "minRowsPerGroup", 0) or 0), float(_get(d, "timeLimitSeconds", 60) or 60),
                   int(_get(d, "maxCells", 100_000) or 100_000))

    def columns_of(self, table: str) -> list[str] | None:
        """The allowed columns of a table (ignoring case), or None when the table is not allowed."""
        for name, cols in self.tables.items():
            if name.lower() == table.lower():
                return cols
        return None


def single_statement(sql: str) -> str:
    """The text as one SELECT or WITH statement (SQLite dialect), without its trailing ';'; QueryRefused otherwise."""
    end = -1
    i, n = 0, len(sql)

    def unterminated() -> QueryRefused:
        return QueryRefused("the query text is incomplete: a string, quoted name or comment is not closed")

    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else "\0"
        if end >= 0 and not c.isspace() and not (c == "-" and nxt == "-") and not (c == "/" and nxt == "*") and c != ";":
            raise QueryRefused("the query must be a single SQL statement (text follows the ';')")
        if c in "'\"`":
            j = i + 1
            while True:
                if j >= n:
                    raise unterminated()
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif c == "[":
            j = sql.find("]", i + 1)
            if j < 0:
                raise unterminated()
            i = j + 1
        elif c == "-" and nxt == "-":
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "/" and nxt == "*":
            j = sql.find("*/", i + 2)
            if j < 0:
                raise unterminated()
            i = j + 2
        elif c == ";":
            if end < 0:
                end = i
            i += 1
        else:
            i += 1
    statement = (sql[:end] if end >= 0 else sql).strip()
    body = re.sub(r"^(\s|--[^\n]*(\n|$)|/\*.*?\*/)*", "", statement, flags=re.S)
    m = re.match(r"[A-Za-z0-9_$]+", body)
    first = m.group(0) if m else (body[:1] if body else "")
    if first.upper() not in ("SELECT", "WITH"):
        raise QueryRefused(f"the query must be a SELECT statement, not {first.upper() if first else 'empty'}")
    return statement


def _sqlite_type(values: Sequence[Any]) -> str:
    kind = "INTEGER"
    for v in values:
        if v is None or v == "":
            continue
        if kind == "INTEGER" and re.fullmatch(r"[+-]?[0-9]+", v) and _LONG_MIN <= int(v) <= _LONG_MAX:
            continue
        try:
            f = float(v)
            kind = "REAL" if math.isfinite(f) and re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", v) else "TEXT"
        except ValueError:
            kind = "TEXT"
        if kind == "TEXT":
            break
    return kind


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def load_csv_table(conn: sqlite3.Connection, table: str, path: str | Path) -> None:
    """Loads a CSV file (header row) into a table: INTEGER when every non-empty value is a 64-bit integer, REAL when
    every one is a number, otherwise TEXT; an empty field is NULL (the .NET agent's CsvTableLoader)."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"csv {path}: the file has no header row") from None
        rows = [r for r in reader if r]
    seen: set[str] = set()
    for c in header:
        if c == "":
            raise ValueError(f"csv {path}: the header has an empty column name.")
        if c.lower() in seen:
            raise ValueError(f"csv {path}: the header names column '{c}' twice (names are compared ignoring case).")
        seen.add(c.lower())
    for r in rows:
        if len(r) != len(header):
            raise ValueError(f"csv {path}: a row has {len(r)} fields, the header {len(header)}")
    types = [_sqlite_type([r[i] for r in rows]) for i in range(len(header))]
    conn.execute(f"CREATE TABLE {_quote(table)} ({', '.join(f'{_quote(c)} {t}' for c, t in zip(header, types))})")

    def convert(v: str, t: str) -> Any:
        if v == "":
            return None
        return int(v) if t == "INTEGER" else float(v) if t == "REAL" else v

    conn.executemany(f"INSERT INTO {_quote(table)} VALUES ({', '.join('?' * len(header))})",
                     ([convert(v, t) for v, t in zip(r, types)] for r in rows))


def load_dataframe_table(conn: sqlite3.Connection, table: str, df: Any) -> None:
    """Loads a pandas DataFrame into a table (integers and booleans INTEGER, floats REAL, dates ISO TEXT, else TEXT;
    missing values NULL)."""
    import pandas as pd

    columns = [str(c) for c in df.columns]
    seen: set[str] = set()
    for c in columns:
        if c.lower() in seen:
            raise ValueError(f"DataFrame source '{table}': column '{c}' appears twice (names are compared ignoring case)")
        seen.add(c.lower())
    types, converters = [], []
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            types.append("INTEGER"); converters.append(lambda v: None if pd.isna(v) else int(v))
        elif pd.api.types.is_float_dtype(s):
            types.append("REAL"); converters.append(lambda v: None if pd.isna(v) else float(v))
        elif pd.api.types.is_datetime64_any_dtype(s):
            types.append("TEXT"); converters.append(lambda v: None if pd.isna(v) else key_text(v.to_pydatetime()))
        else:
            types.append("TEXT"); converters.append(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else key_text(v) if not isinstance(v, str) else v)
    conn.execute(f"CREATE TABLE {_quote(table)} ({', '.join(f'{_quote(c)} {t}' for c, t in zip(columns, types))})")
    conn.executemany(f"INSERT INTO {_quote(table)} VALUES ({', '.join('?' * len(columns))})",
                     ([conv(v) for conv, v in zip(converters, row)] for row in df.itertuples(index=False, name=None)))


def _authorizer(policy: QueryPolicy, denial: list[str]) -> Any:
    def deny(reason: str) -> int:
        if not denial:
            denial.append(reason)
        return sqlite3.SQLITE_DENY

    def authorize(action: int, p0: str | None, p1: str | None, database: str | None, _view: str | None) -> int:
        if action == sqlite3.SQLITE_SELECT:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (p1 or "").lower() != "load_extension":
                return sqlite3.SQLITE_OK
            return deny(f"the query calls {p1}, which this pod does not allow")
        if action == sqlite3.SQLITE_READ:
            table, column = p0 or "", p1 or ""
            allowed = policy.columns_of(table)
            if allowed is not None and (column == "" or database == "main"):
                if column == "" or any(c == "*" or c.lower() == column.lower() for c in allowed):
                    return sqlite3.SQLITE_OK
                return deny(f"the query reads column {table}.{column}, which this pod's policy does not allow")
            return deny(f"the query reads table {table}, which this pod's policy does not allow")
        if action == sqlite3.SQLITE_RECURSIVE:
            denial[:] = ["the query uses a recursive common table expression, which this pod does not run"]
            return sqlite3.SQLITE_DENY
        names = {sqlite3.SQLITE_INSERT: "INSERT", sqlite3.SQLITE_UPDATE: "UPDATE", sqlite3.SQLITE_DELETE: "DELETE",
                 sqlite3.SQLITE_PRAGMA: "PRAGMA", sqlite3.SQLITE_ATTACH: "ATTACH", sqlite3.SQLITE_DETACH: "DETACH",
                 sqlite3.SQLITE_TRANSACTION: "TRANSACTION", sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
                 sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE", sqlite3.SQLITE_CREATE_TEMP_TABLE: "CREATE TABLE",
                 sqlite3.SQLITE_CREATE_VIEW: "CREATE VIEW", sqlite3.SQLITE_CREATE_TEMP_VIEW: "CREATE VIEW",
                 sqlite3.SQLITE_DROP_TABLE: "DROP TABLE", sqlite3.SQLITE_DROP_TEMP_TABLE: "DROP TABLE"}
        return deny(f"the query is not a plain SELECT (it needs SQLite permission for action {names.get(action, str(action))})")

    return authorize


def _run_sqlite(conn: sqlite3.Connection, statement: str, policy: QueryPolicy, acc: QueryAccumulator) -> None:
    denial: list[str] = []
    deadline = time.monotonic() + policy.time_limit_seconds
    timed_out = [False]

    def progress() -> int:
        if time.monotonic() <= deadline:
            return 0
        timed_out[0] = True
        return 1

    conn.set_authorizer(_authorizer(policy, denial))
    conn.set_progress_handler(progress, 1000)
    running = False
    try:
        program = conn.execute("EXPLAIN " + statement)
        opcode = [d[0] for d in program.description].index("opcode")
        if not any(r[opcode] in _AGGREGATE_OPCODES for r in program.fetchall()):
            raise QueryRefused("the query is not an aggregate query (it must compute COUNT/SUM/AVG-style aggregates, "
                               "e.g. with GROUP BY); row-level results are refused")
        running = True
        cursor = conn.execute(statement)
        acc.bind([d[0] for d in cursor.description])
        for row in cursor:
            acc.add(row)
    except sqlite3.Error as e:
        if denial:
            reason = denial[0]
            # SQLite stops at the first denial, the read of the recursive table's own name (the .NET agent's SQLite
            # goes on to report the recursion): name the better reason as it does.
            if reason.startswith("the query reads table ") and re.search(r"\bWITH\s+RECURSIVE\b", statement, re.I):
                reason = "the query uses a recursive common table expression, which this pod does not run"
            raise QueryRefused(reason) from e
        if timed_out[0]:
            reason = f"the query exceeded this pod's time limit of {policy.time_limit_seconds:g} s"
            raise QueryRefused(reason) from e
        # Compiling reads no data, so its errors are safe to share; a runtime error might quote a value.
        shareable = f"SQLite error while running it" if running else str(e)
        raise QueryRefused(f"the query failed on this pod's database: {shareable}",
                           f"the query failed on this pod's database: {e}") from e
    finally:
        conn.set_progress_handler(None, 0)
        conn.set_authorizer(None)


def run_query(shape: QueryShape, source_name: str, source: Any, policy: QueryPolicy, base_dir: str | Path = ".") -> PodQueryResult:
    """Runs the query on a pod's source and returns its per-cell contribution.

    ``source``: a pandas DataFrame, or a dict like the .NET agent's record source (``{"kind": "sqlite"|"csv", "path"}``),
    or a path (``.csv`` = CSV, anything else = a SQLite file). A CSV file or DataFrame is queried as a table named after
    the source. Raises QueryRefused (the pod declines with its reason) or ValueError/OSError (the source cannot be read).
    """
    if shape.cell_count > policy.max_cells:
        raise QueryRefused(f"the query declares {shape.cell_count} cells; this pod's policy allows at most {policy.max_cells}")
    if not policy.tables:
        raise QueryRefused("this pod's policy allows no table to be queried")
    if not 0 < policy.time_limit_seconds <= 86_400:
        raise ValueError("Pod query policy: timeLimitSeconds must be positive and at most 86400 (a day).")
    statement = single_statement(_get(shape.spec, "sql"))
    acc = QueryAccumulator(shape)
    kind, path = _source_kind(source, base_dir)
    if kind in ("csv", "dataframe"):
        if not _IDENTIFIER.match(source_name):
            raise ValueError(f"Record source '{source_name}': a {kind} source is queried as a table of that name, so the name must be an identifier.")
        conn = sqlite3.connect(":memory:")
        try:
            if kind == "csv":
                load_csv_table(conn, source_name, path)
            else:
                load_dataframe_table(conn, source_name, source)
            conn.commit()
            _run_sqlite(conn, statement, policy, acc)
        finally:
            conn.close()
    elif kind == "sqlite":
        if not Path(path).is_file():
            raise ValueError(f"sqlite {path}: the database file does not exist.")
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            _run_sqlite(conn, statement, policy, acc)
        finally:
            conn.close()
    else:
        raise ValueError(f"Unknown record source kind '{kind}' (use csv, sqlite or a pandas DataFrame).")
    return acc.finish(policy.min_rows_per_group)


def _source_kind(source: Any, base_dir: str | Path) -> tuple[str, Path | None]:
    if hasattr(source, "itertuples") and hasattr(source, "columns"):
        return "dataframe", None
    if isinstance(source, Mapping):
        kind = str(_get(source, "kind", "")).strip().lower()
        path = _get(source, "path")
        return kind, (Path(base_dir) / path) if path else None
    if isinstance(source, (str, Path)):
        p = Path(base_dir) / source
        return ("csv" if p.suffix.lower() == ".csv" else "sqlite"), p
    raise ValueError(f"a query source is a DataFrame, a {{kind, path}} record source or a path, not {type(source).__name__}")
