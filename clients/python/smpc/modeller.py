"""The modeller: a client, a tenant, a modeller id and its Ed25519 identity; protocol runs delegate to their modules.

Every session the modeller creates is signed (:meth:`Modeller.create_session`): the statement of its own request
(docs/protocols/signatures.md) is signed with the identity, and the session the service answers with must give the very
same statement (:func:`smpc.verify.require_same`), or the session is refused with
:class:`smpc.verify.SessionMismatchError`.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Mapping, Optional, Union

from .errors import SmpcError
from .identity import IdentityKey
from .pins import PinStore
from .statements import StatementError, cancel_statement, request_statement
from .verify import require_same

__all__ = ["Modeller", "ProtocolModuleMissingError"]

PathLike = Union[str, os.PathLike]


class ProtocolModuleMissingError(SmpcError, ImportError):
    """The protocol's module (secure aggregation, PSI, federated) is not part of this installation."""


def _protocol(module: str, function: str) -> Any:
    try:
        m = importlib.import_module(module)
    except ImportError as e:
        raise ProtocolModuleMissingError(f"{module} cannot be imported ({e}); this installation of smpc lacks that protocol") from e
    try:
        return getattr(m, function)
    except AttributeError:
        raise ProtocolModuleMissingError(f"{module} has no {function}(); this installation of smpc lacks that protocol") from None


class Modeller:
    """
    A modeller of ``tenant`` acting through ``client`` (an :class:`smpc.Client` with the modeller's API key), signing with
    ``identity``. ``pins`` (optional) holds the pods' identities for protocols that seal to pods (secure aggregation,
    federated); the protocol modules use it.
    """

    def __init__(self, client: Any, tenant: str, modeller_id: str, identity: IdentityKey, pins: Optional[PinStore] = None) -> None:
        if not isinstance(identity, IdentityKey):
            raise TypeError("identity must be an smpc.identity.IdentityKey (IdentityKey.load(path))")
        self.client = client
        self.tenant = tenant
        self.id = modeller_id
        self.identity = identity
        self.pins = pins if pins is not None else PinStore(None)

    @property
    def modeller_id(self) -> str:
        """The modeller's id (same as :attr:`id`)."""
        return self.id

    @classmethod
    def connect(cls, url: str, api_key: str, tenant: str, modeller_id: str, identity_file: PathLike,
                pins_file: Optional[PathLike] = None, trust_on_first_use: bool = True) -> "Modeller":
        """A modeller with its own :class:`smpc.Client`, its identity key file and (optionally) a pins file shared with the CLI."""
        from .client import Client

        pins = PinStore(pins_file, trust_on_first_use=trust_on_first_use) if pins_file is not None else None
        return cls(Client(url, api_key), tenant, modeller_id, IdentityKey.load(identity_file), pins)

    # ---- signed requests ----

    def sign(self, statement: bytes) -> str:
        """Signs a statement with the modeller's identity; the base64 signature as it travels."""
        return self.identity.sign_base64(statement)

    def session_statement(self, request: Mapping[str, Any], canonical_p: Optional[bytes] = None) -> bytes:
        """The statement of a create request (``canonical_p``: secure aggregation's P, computed from the request if None)."""
        return request_statement(self.tenant, request, canonical_p)

    def create_session(self, request: Mapping[str, Any], canonical_p: Optional[bytes] = None) -> dict:
        """
        Signs ``request`` (a ``CreateSessionRequest`` dict with the wire's keys; ``modellerId`` defaults to this modeller),
        creates the session, and checks the service's answer gives the same statement. Returns the session as served.
        """
        body = dict(request)
        body.setdefault("modellerId", self.id)
        if body["modellerId"] != self.id:
            raise ValueError(f"the request names modeller {body['modellerId']}, this is modeller {self.id}")
        statement = self.session_statement(body, canonical_p)
        body["modellerSignature"] = self.sign(statement)
        served = self.client.create_session(self.tenant, body)
        require_same(statement, served)
        return served

    def check_session(self, request: Mapping[str, Any], served: Mapping[str, Any], canonical_p: Optional[bytes] = None) -> None:
        """Checks a later copy of a session against the modeller's own request (e.g. before unmasking)."""
        body = dict(request)
        body.setdefault("modellerId", self.id)
        require_same(self.session_statement(body, canonical_p), served)

    def cancel(self, session_id: str, reason: Optional[str] = None) -> Any:
        """Cancels a session with a signed cancel (pods log that the modeller, not the service, ended it)."""
        return self.client.cancel_session(self.tenant, session_id, reason, self.sign(cancel_statement(self.tenant, session_id, reason)))

    # ---- protocol runs ----

    def aggregate(self, *args: Any, **kwargs: Any) -> Any:
        """Secure aggregation (sum, mean, weighted mean): :func:`smpc.secagg.modeller.aggregate`."""
        return _protocol("smpc.secagg.modeller", "aggregate")(self, *args, **kwargs)

    def psi(self, *args: Any, **kwargs: Any) -> Any:
        """Private set intersection with one pod: :func:`smpc.psi.modeller.psi`."""
        return _protocol("smpc.psi.modeller", "psi")(self, *args, **kwargs)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        """A federated SQL query: :func:`smpc.federated.modeller.query`."""
        return _protocol("smpc.federated.modeller", "query")(self, *args, **kwargs)

    def train(self, *args: Any, **kwargs: Any) -> Any:
        """Federated training: :func:`smpc.federated.modeller.train`."""
        return _protocol("smpc.federated.modeller", "train")(self, *args, **kwargs)

    def __repr__(self) -> str:
        return f"Modeller({self.tenant}/{self.id}, identity {self.identity.fingerprint})"


# StatementError is re-exported for callers that catch a request that cannot be signed.
__all__.append("StatementError")
