"""Why a pod will not take part in a session: a decline category (secure aggregation) or a reason text (PSI, federated)."""

from __future__ import annotations

from typing import Optional

from ..errors import SmpcError

__all__ = ["PodRefusal", "DeclineCategories"]


class DeclineCategories:
    """The stable wire names a pod declines a secure-aggregation session with (.NET ``DeclineCategories``): never a value."""

    POLICY = "policy"
    INPUT_OUT_OF_BOUNDS = "input-out-of-bounds"
    INPUT_NOT_FINITE = "input-not-finite"
    INPUT_MISSING = "input-missing"
    SHAPE_MISMATCH = "shape-mismatch"
    INTERNAL = "internal"
    UNVERIFIED_MODELLER = "unverified-modeller"
    ALL = (POLICY, INPUT_OUT_OF_BOUNDS, INPUT_NOT_FINITE, INPUT_MISSING, SHAPE_MISMATCH, INTERNAL, UNVERIFIED_MODELLER)


class PodRefusal(SmpcError):
    """
    A handler (or the pod's policy) refuses a session. ``category`` is what the session is told: for secure aggregation a
    :class:`DeclineCategories` value (None: nothing to tell, e.g. the session has ended); PSI and federated sessions are
    declined with ``message`` as the reason text the modeller sees (so it must name no private value). ``message`` is
    always logged by the pod.
    """

    def __init__(self, category: Optional[str], message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message
