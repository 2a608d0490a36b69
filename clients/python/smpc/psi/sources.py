"""Record sources for PSI: CSV files (RFC 4180 with a header row), SQLite (a table or a query) and, from Python,
pandas DataFrames and lists of dict rows. A source yields its header and its rows; values are text or None (null)."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

Row = Sequence[Any]


def _get(spec: Any, key: str, default: Any = None) -> Any:
    if isinstance(spec, Mapping):
        return spec.get(key, default)
    return getattr(spec, key, default)


def _path(spec: Any, base: Path | None) -> Path:
    raw = _get(spec, "path")
    if not raw:
        raise ValueError("the source needs a path")
    p = Path(raw)
    return p if p.is_absolute() or base is None else base / p


def _sql_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        raise ValueError("a BLOB column cannot be a PSI key column")
    return value  # numbers: the record encoder writes them as .NET's invariant "R" format does


class RecordTable:
    """Opened rows with their header (column names)."""

    def __init__(self, header: list[str], rows: Iterator[Row]) -> None:
        self.header = header
        self.rows = rows

    def select(self, names: Sequence[str]) -> Iterator[list[Any]]:
        """The named columns of each row, in that order; a missing column is refused with the names it has."""
        if not self.header:  # no rows given, so no header either: an empty table
            return
        index = {n: i for i, n in enumerate(self.header)}
        missing = [n for n in names if n not in index]
        if missing:
            raise ValueError(f"no column(s) {', '.join(missing)} (the source has {', '.join(self.header)})")
        picks = [index[n] for n in names]
        for row in self.rows:
            yield [row[i] if i < len(row) else None for i in picks]


def open_source(spec: Any, base: Path | None = None) -> RecordTable:
    """Opens a source: a config dict (``kind`` csv|sqlite with ``path``, ``table``/``query``, ``delimiter``, as in
    docs/agent-config.md), or Python data (a DataFrame, or a list of dict rows) given directly or as ``data``."""
    data = _get(spec, "data") if isinstance(spec, Mapping) or hasattr(spec, "data") else None
    if data is None and not isinstance(spec, Mapping) and not hasattr(spec, "kind"):
        data = spec
    if data is not None:
        return from_data(data)
    kind = _get(spec, "kind", "csv") or "csv"
    if kind == "dataframe":  # smpc.pod.config.SourceSpec of a DataFrame
        return from_data(_get(spec, "dataframe"))
    if kind == "csv":
        path = _path(spec, base)
        delimiter = _get(spec, "delimiter", ",") or ","
        handle = open(path, newline="", encoding="utf-8-sig")
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            handle.close()
            return RecordTable([], iter(()))

        def rows() -> Iterator[Row]:
            with handle:
                yield from reader
        return RecordTable(header, rows())
    if kind == "sqlite":
        path = _path(spec, base)
        table, query = _get(spec, "table"), _get(spec, "query")
        if bool(table) == bool(query):
            raise ValueError("a sqlite source needs a table or a query (not both)")
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        if table:
            quoted = ".".join('"' + part.replace('"', '""') + '"' for part in str(table).split("."))
            cursor = connection.execute(f"SELECT * FROM {quoted}")
        else:
            cursor = connection.execute(query)
        header = [d[0] for d in cursor.description]

        def sql_rows() -> Iterator[Row]:
            try:
                for row in cursor:
                    yield [_sql_text(v) for v in row]
            finally:
                connection.close()
        return RecordTable(header, sql_rows())
    raise ValueError(f"unsupported source kind '{kind}' (csv, sqlite, or Python data)")


def from_data(data: Any) -> RecordTable:
    """A DataFrame or a list of dict rows as a table."""
    if hasattr(data, "columns") and hasattr(data, "itertuples"):
        return RecordTable([str(c) for c in data.columns], (list(r) for r in data.itertuples(index=False, name=None)))
    rows = list(data)
    header: list[str] = []
    for r in rows:
        if not isinstance(r, Mapping):
            raise ValueError("rows must be dicts (column name -> value)")
        for k in r:
            if k not in header:
                header.append(k)
    return RecordTable(header, ([r.get(k) for k in header] for r in rows))
