"""The pod's secure-aggregation policy, checked before it joins (the .NET agent's ``Assess``), in the same order:

1. the modeller is allowed (``policy.modellers``: ids or fingerprints, matched against the verified signer);
2. the operation is allowed (``policy.operations``; empty: all);
3. the pod has the named input (``input-missing``) and can read it (``input-missing``);
4. its length is the session's total field length (``shape-mismatch``);
5. every value is finite (``input-not-finite``) and within its field's bounds (``input-out-of-bounds``); for a weighted
   mean the weight too, and a multiple of 1/p_w (weights are never rounded);
6. the differencing guard: at least ``minPods`` pods and a pod set far enough from earlier ones (``policy``); a session
   that passes is recorded in the ledger.

A refusal is a :class:`PodRefusal` with the category the session is told; the message stays in the pod's log.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Optional

import numpy as np

from ..verify import VerifiedModeller
from .config import PodConfig
from .inputs import InputError, load_values, load_weight
from .ledger import DifferencingLedger, DifferencingRule, LedgerError, input_ledger_key
from .refusal import DeclineCategories, PodRefusal

__all__ = ["Admitted", "assess", "check_bounds"]


@dataclasses.dataclass
class Admitted:
    """What the pod contributes to an admitted session: x (float64), its weight (weighted means), and the ledger entry."""

    values: np.ndarray
    weight: Optional[float]
    ledger_key: str
    rule: DifferencingRule


def assess(session: Mapping[str, Any], config: PodConfig, ledger: DifferencingLedger, modeller: Optional[VerifiedModeller]) -> Admitted:
    """Checks a (verified) secure-aggregation session against the pod's policy and input; raises :class:`PodRefusal`."""
    a = session.get("aggregation")
    if session.get("kind") != "secure-aggregation" or not a:
        raise PodRefusal(None, "not a secure-aggregation session")
    policy = config.policy
    modeller_id = session.get("modellerId")
    allowed = modeller.is_allowed_by(policy.modellers) if modeller is not None else (not policy.modellers or modeller_id in policy.modellers)
    if not allowed:
        raise PodRefusal(DeclineCategories.POLICY, f"modeller {modeller_id} is not allowed")
    operation = a.get("operation")
    if policy.operations and operation not in policy.operations:
        raise PodRefusal(DeclineCategories.POLICY, f"operation {operation} is not allowed")
    name = a.get("input")
    spec = config.inputs.get(name)
    if spec is None:
        raise PodRefusal(DeclineCategories.INPUT_MISSING, f"no input named '{name}'")
    try:
        values = load_values(spec, config.resolve)
    except (InputError, OSError, ValueError) as e:
        raise PodRefusal(DeclineCategories.INPUT_MISSING, f"input '{name}' cannot be read: {e}") from None
    fields = a.get("fields") or []
    expected = sum(int(f["length"]) for f in fields)
    weighted = a.get("weight") is not None
    if values.size != expected:
        hint = (f"; for a weighted mean give x alone and the weight as inputs.{name}.weight or weightRowsOf (the pod forms w·x)"
                if weighted and values.size == expected + 1 else "")
        raise PodRefusal(DeclineCategories.SHAPE_MISMATCH, f"input '{name}' has {values.size} values, the session expects {expected}{hint}")
    weight: Optional[float] = None
    if weighted:
        try:
            weight = load_weight(spec, config.resolve)
        except (InputError, OSError, ValueError) as e:
            raise PodRefusal(DeclineCategories.INPUT_MISSING, f"input '{name}': {e}") from None
    check_bounds(values, fields, a.get("weight"), weight, name)
    key = input_ledger_key(name)
    try:
        rule = DifferencingRule.for_input(policy, spec)
        reason = ledger.admit(key, session["id"], list(session.get("podIds") or []), rule)
    except (LedgerError, OSError) as e:
        raise PodRefusal(DeclineCategories.POLICY, f"differencing guard: the ledger cannot be used ({e})") from None
    if reason is not None:
        raise PodRefusal(DeclineCategories.POLICY, f"differencing guard: {reason}")
    return Admitted(values, weight, key, rule)


def check_bounds(values: np.ndarray, fields: Any, weight_spec: Optional[Mapping[str, Any]], weight: Optional[float], name: str = "x") -> None:
    """
    Refuses NaN/±inf (``input-not-finite``) and values outside each field's [min, max] (``input-out-of-bounds``), naming
    the field, never the value. As the .NET codec: a weighted mean's weight first (finite, within its bounds, a multiple
    of 1/p_w), then the values in layout order, the first offending element deciding.
    """
    if weight_spec is not None:
        _check_weight(weight_spec, weight, name)
    offset = 0
    for f in fields:
        length = int(f["length"])
        chunk = values[offset: offset + length]
        lo, hi = float(f["min"]), float(f["max"])
        bad = ~((chunk >= lo) & (chunk <= hi))  # NaN compares false: caught here too
        if bad.any():
            first = chunk[int(np.argmax(bad))]
            if np.isfinite(first):
                raise PodRefusal(DeclineCategories.INPUT_OUT_OF_BOUNDS, f"input '{name}': field '{f['name']}': a value is outside its declared bounds [{lo!r}, {hi!r}]")
            raise PodRefusal(DeclineCategories.INPUT_NOT_FINITE, f"input '{name}': field '{f['name']}': a value is not a finite number")
        offset += length


def _check_weight(weight_spec: Mapping[str, Any], weight: Optional[float], name: str) -> None:
    w = float(weight) if weight is not None else float("nan")
    if not np.isfinite(w):
        raise PodRefusal(DeclineCategories.INPUT_NOT_FINITE, f"input '{name}': the weight is not a finite number")
    w_min, w_max = float(weight_spec["min"]), float(weight_spec["max"])
    precision = int(weight_spec.get("precision") or 1)
    if not (w_min <= w <= w_max):
        raise PodRefusal(DeclineCategories.INPUT_OUT_OF_BOUNDS, f"input '{name}': the weight is outside its declared bounds [{w_min!r}, {w_max!r}]")
    scaled = w * precision
    if abs(scaled - round(scaled)) > 1e-9 * max(1.0, abs(round(scaled))):
        raise PodRefusal(DeclineCategories.INPUT_OUT_OF_BOUNDS,
                         f"input '{name}': the weight is not a multiple of 1/{precision} (its declared precision); weights are never rounded")


Resolve = Callable[[Any], Any]
