"""Reads a pod's named secure-aggregation input into a flat float64 vector (row-major), and its weight for weighted means.

Like the .NET ``InputLoader``: a number, inline values, a ``.json`` (nested arrays flatten row-major), ``.csv`` (every
numeric cell row by row; a first line that is not all numbers is a header) or ``.npy`` file; in Python also numpy
arrays, pandas DataFrames/Series and SQLite queries.
"""

from __future__ import annotations

import json
import pathlib
import sqlite3
from typing import Any, Callable, List

import numpy as np

from .config import InputSpec, SqliteInput

__all__ = ["load_values", "load_weight", "InputError", "csv_values", "csv_rows"]


class InputError(ValueError):
    """The input cannot be read (missing file, unsupported type, a non-numeric cell); the pod declines with input-missing."""


def load_values(spec: InputSpec, resolve: Callable[[Any], pathlib.Path] = pathlib.Path) -> np.ndarray:
    """The input as a flat float64 vector; ``resolve`` turns a configured path into a file path."""
    if spec.value is not None:
        return np.asarray([float(spec.value)], dtype=np.float64)
    if spec.values is not None:
        return _array(spec.values)
    if spec.sqlite is not None:
        return _sqlite(spec.sqlite, resolve)
    path = resolve(spec.file)
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return _json_values(json.loads(path.read_text(encoding="utf-8")))
        if suffix == ".csv":
            return csv_values(path.read_text(encoding="utf-8").splitlines())
        if suffix == ".npy":
            return _npy(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: {e}") from None
    raise InputError(f"Unsupported input file type '{suffix}' (use .json, .csv or .npy).")


def load_weight(spec: InputSpec, resolve: Callable[[Any], pathlib.Path] = pathlib.Path) -> float:
    """
    The pod's weight for a weighted mean: ``weight``, or the row count of ``weight_rows_of`` (CSV data rows after an
    optional header, .npy first dimension, JSON top-level array length, or a DataFrame's/array's length).
    """
    if spec.weight is not None:
        return float(spec.weight)
    w = spec.weight_rows_of
    if w is None:
        raise InputError("a weighted mean needs this pod's weight: set weight (a number) or weightRowsOf (a file whose rows are the samples); "
                         "x stays plain, the pod forms w·x")
    if not isinstance(w, (str, pathlib.PurePath)):
        try:
            return float(len(w))
        except TypeError:
            raise InputError(f"weightRowsOf: cannot count the rows of a {type(w).__name__}") from None
    path = resolve(w)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return float(csv_rows(path.read_text(encoding="utf-8").splitlines()))
        if suffix == ".npy":
            a = np.load(path, mmap_mode="r", allow_pickle=False)
            return float(1 if a.ndim == 0 else a.shape[0])
        if suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, list):
                raise InputError("weightRowsOf: a JSON file must hold a top-level array of rows")
            return float(len(doc))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError) as e:
        raise InputError(f"weightRowsOf {path}: {e}") from None
    raise InputError(f"weightRowsOf: unsupported file type '{suffix}' (use .csv, .npy or .json)")


def _array(values: Any) -> np.ndarray:
    if hasattr(values, "to_numpy"):  # pandas DataFrame or Series
        try:
            values = values.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(f"the DataFrame holds non-numeric values ({e})") from None
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"the input is not numeric ({e})") from None
    return np.ascontiguousarray(a).reshape(-1)


def _json_values(doc: Any) -> np.ndarray:
    out: List[float] = []

    def flatten(e: Any) -> None:
        if isinstance(e, bool) or not isinstance(e, (int, float, list)):
            raise InputError(f"JSON inputs hold numbers or arrays of numbers, not {type(e).__name__}.")
        if isinstance(e, list):
            for item in e:
                flatten(item)
        else:
            out.append(float(e))

    flatten(doc)
    return np.asarray(out, dtype=np.float64)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def csv_values(lines: List[str]) -> np.ndarray:
    """Every numeric cell, row by row; a first row that is not all numbers is taken as a header."""
    values: List[float] = []
    first = True
    for line in lines:
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        parsed = [_number(c) for c in cells]
        if first and any(p is None for p in parsed):
            first = False
            continue
        first = False
        if any(p is None for p in parsed):
            raise InputError(f"Non-numeric CSV cell in line '{line}'.")
        values.extend(parsed)  # type: ignore[arg-type]
    return np.asarray(values, dtype=np.float64)


def csv_rows(lines: List[str]) -> int:
    """Data rows of a CSV: non-blank lines, less a first line that is not all numbers (a header)."""
    rows = [line for line in lines if line.strip()]
    header = bool(rows) and any(_number(c.strip()) is None for c in rows[0].split(","))
    return len(rows) - (1 if header else 0)


def _npy(path: pathlib.Path) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise InputError(f"{path}: not a .npy file of numbers ({e})") from None
    if a.dtype.kind not in "fiu":
        raise InputError(f"Unsupported .npy dtype '{a.dtype.str}' (use <f8, <f4, <i8 or <i4).")
    return np.ascontiguousarray(a, dtype=np.float64).reshape(-1)


def _sqlite(spec: SqliteInput, resolve: Callable[[Any], pathlib.Path]) -> np.ndarray:
    path = resolve(spec.path)
    if not path.exists():
        raise InputError(f"{path}: no such SQLite database")
    try:
        with sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True) as db:
            rows = db.execute(spec.query).fetchall()
    except sqlite3.Error as e:
        raise InputError(f"SQLite {path}: {e}") from None
    values: List[float] = []
    for row in rows:
        for cell in row:
            if isinstance(cell, bool) or not isinstance(cell, (int, float)):
                raise InputError(f"SQLite {path}: the query returns a non-numeric value (type {type(cell).__name__})")
            values.append(float(cell))
    return np.asarray(values, dtype=np.float64)
