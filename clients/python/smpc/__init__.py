"""Python SDK for Smpc.Orleans: REST client, modeller and pod, written from docs/protocols.

- ``smpc.Client(url, api_key)``: every REST route, RFC 9457 problems as typed exceptions (``smpc.errors``).
- ``smpc.Modeller``: runs sessions (``aggregate``, ``psi``, ``query``, ``train``) and computes results locally.
- ``smpc.Pod`` / ``smpc.PodConfig``: serves sessions next to the data, under its own policy and pins.
"""

from .errors import ProblemError, SmpcError
from .client import Client
from .identity import IdentityKey
from .pins import PinMismatchError, PinStore
from .modeller import Modeller
from .pod import Pod, PodConfig, SqliteInput

__all__ = ["Client", "IdentityKey", "Modeller", "PinMismatchError", "PinStore", "Pod", "PodConfig", "ProblemError",
           "SmpcError", "SqliteInput"]
__version__ = "0.1.0"
