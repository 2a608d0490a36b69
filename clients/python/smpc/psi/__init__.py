"""Private set intersection (docs/protocols/psi.md): canonical records, RSA blind signatures with certified keys, the
RFC 9497 OPRF (``smpc.psi.oprf``), and the modeller's and pod's session flows.

``psi(modeller, pod, data, columns, protocol=..., mode=..., source=...)`` is the modeller's entry point
(also ``smpc.modeller.Modeller.psi``); ``smpc.psi.pod.serve`` is the pod's.
"""

from .errors import CountWithheld, ProtocolViolation, PsiError, PsiFailed, RecordRefused, RsaKeyRefused
from .records import Column, RecordEncoder, encode_rows

__all__ = ["Column", "CountWithheld", "ProtocolViolation", "PsiError", "PsiFailed", "RecordEncoder", "RecordRefused",
           "RsaKeyRefused", "encode_rows", "psi"]


def psi(*args, **kwargs):  # noqa: ANN002, ANN003 - forwards to smpc.psi.modeller.psi
    """Runs a PSI session as a modeller: see :func:`smpc.psi.modeller.psi`."""
    from .modeller import psi as run_psi
    return run_psi(*args, **kwargs)
