"""Python SDK for Smpc.Orleans: REST client, modeller and pod, written from docs/protocols."""

from .errors import ProblemError, SmpcError
from .client import Client

__all__ = ["Client", "ProblemError", "SmpcError"]
__version__ = "0.1.0"
