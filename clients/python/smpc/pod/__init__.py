"""The pod: serves secure aggregation, PSI and federated sessions next to its data, under its own policy and pins.

``Pod(PodConfig.load("agent.json")).run()`` runs the .NET agent's configuration; in Python, build a :class:`PodConfig`
with numpy arrays, pandas DataFrames, CSV/.npy files or SQLite queries as inputs. Protocol handlers are imported only
when a session needs them.
"""

from .config import ConfigError, InputSpec, PodConfig, PsiPolicy, QueryPolicy, SecureAggregationPolicy, SourceSpec, SqliteInput, TrainingPolicy
from .context import PodContext
from .refusal import DeclineCategories, PodRefusal
from .runner import HandlerMissingError, Pod, PodIdentityMismatchError

__all__ = [
    "Pod", "PodConfig", "PodContext", "PodRefusal", "DeclineCategories", "InputSpec", "SqliteInput", "SourceSpec",
    "SecureAggregationPolicy", "PsiPolicy", "QueryPolicy", "TrainingPolicy", "ConfigError", "HandlerMissingError",
    "PodIdentityMismatchError",
]
