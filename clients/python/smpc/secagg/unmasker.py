"""The modeller's side of secure aggregation (step 5): reconstructs the masks from ``t`` signed responses and unmasks the sum.

``Σ_{i∈U3} encode(x_i) = z − Σ_{i∈U3} PRG(b_i) − Σ_{i∈U3} Σ_{j∈U2\\U3} σ_ij · PRG(s_ij)``, ``σ_ij = +1`` if ``j > i`` else ``−1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..crypto import shamir
from ..crypto.errors import (Contradictory, Duplicate, InconsistentShares, InsufficientParties, Malformed, OutOfOrder,
                             UnknownParty)
from ..crypto.field import to_signed
from ..crypto.x25519 import KeyPair, check_peer_key
from .masking import apply_stream, pair_context, self_context
from .messages import (MASK_KEY_KIND, SELF_MASK_KIND, KeyBundle, UnmaskRequest, UnmaskResponse, check_request_shape,
                       open_unmask_response, pair_seed, validate_bundles)
from .params import SessionParameters


@dataclass
class UnmaskedSum:
    """The unmasked aggregate ``Σ_{i∈U3} encode(x_i)`` (exact field elements) and ``U3``."""

    parameters: SessionParameters
    field_sum: np.ndarray
    included_parties: list[int]
    signed: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.signed = to_signed(self.field_sum, self.parameters.q)

    def sum(self, name: str) -> np.ndarray:
        """Decoded sum of field ``name`` (``float64``)."""
        layout = self.parameters.layout
        f = layout.fields[layout.index_of(name)]
        return self.signed[layout.slice_of(name)] / float(f.precision)

    def sum_integer(self, name: str) -> np.ndarray:
        """Exact signed sum of field ``name`` in its fixed-point units (``int64``)."""
        return self.signed[self.parameters.layout.slice_of(name)].copy()

    def mean(self, name: str) -> np.ndarray:
        """Sum divided by the number of included parties."""
        return self.sum(name) / len(self.included_parties)


class Unmasker:
    """Collects the key bundles, the unmask request and the signed responses, then computes the aggregate once."""

    def __init__(self, parameters: SessionParameters, modeller_private: bytes, pins: Mapping[int, str]) -> None:
        if pins is None:
            raise ValueError("pins are required")
        self.p, self._private, self.pins = parameters, modeller_private, dict(pins)
        self.bundles: dict[int, KeyBundle] | None = None
        self.request: UnmaskRequest | None = None
        self.responses: dict[int, list[tuple[int, int, bytes]]] = {}
        self._finished = False

    def accept_key_bundles(self, bundles: Sequence[KeyBundle]) -> None:
        """``U1``: every bundle checked against the pins and the modeller's own parameters."""
        self.bundles = validate_bundles(self.p, bundles, self.pins)

    def accept_unmask_request(self, request: UnmaskRequest) -> None:
        """``(U2, U3)`` as sent to the survivors."""
        if self.bundles is None:
            raise OutOfOrder("key bundles first")
        check_request_shape(self.p, request)
        if not set(request.share_senders) <= set(self.bundles):
            raise UnknownParty("a share sender published no key bundle")
        self.request = request

    def accept_response(self, response: UnmaskResponse) -> None:
        """One survivor's response: opened, signature verified under its pinned identity, entries checked."""
        if self.request is None:
            raise OutOfOrder("the unmask request first")
        if response.party not in self.request.survivors:
            raise UnknownParty(f"party {response.party} is not a survivor")
        if response.party in self.responses:
            raise Duplicate(f"two unmask responses of party {response.party}")
        entries = open_unmask_response(self.p, self._private, self.request, response, self.bundles[response.party].identity_key)
        survivors = set(self.request.survivors)
        if [o for o, _, _ in entries] != list(self.request.share_senders):
            raise Contradictory(f"unmask response of party {response.party} does not answer exactly the share senders")
        for owner, kind, _ in entries:
            if kind != (SELF_MASK_KIND if owner in survivors else MASK_KEY_KIND):
                raise Contradictory(f"unmask response of party {response.party} carries the wrong share kind for party {owner}")
        self.responses[response.party] = entries

    def finish(self, masked_sum: np.ndarray) -> UnmaskedSum:
        """Reconstructs ``b_j`` (``j ∈ U3``) and ``s_j`` (``j ∈ U2 \\ U3``) from the responses and unmasks ``z``; once only."""
        if self._finished:
            raise OutOfOrder("the aggregate was already computed")
        if self.request is None:
            raise OutOfOrder("the unmask request first")
        if len(self.responses) < self.p.t:
            raise InsufficientParties(f"{len(self.responses)} unmask responses, threshold is {self.p.t}")
        z = np.array(masked_sum, dtype=np.uint64, copy=True).reshape(-1)
        if z.size != self.p.length or (z.size and int(z.max()) >= self.p.q):
            raise Malformed(f"masked sum must hold {self.p.length} canonical elements")
        survivors = list(self.request.survivors)
        dropped = [j for j in self.request.share_senders if j not in set(survivors)]
        shares: dict[int, dict[int, bytes]] = {j: {} for j in self.request.share_senders}
        for party, entries in self.responses.items():
            for owner, _, share in entries:
                shares[owner][party] = share
        for i in survivors:
            b_i = shamir.combine(shares[i], self.p.t)
            apply_stream(z, self.p, b_i, self_context(self.p, i), -1)
        for j in dropped:
            s_j = KeyPair(shamir.combine(shares[j], self.p.t))
            if s_j.public != self.bundles[j].mask_key:
                raise InconsistentShares(f"the reconstructed mask key of party {j} does not match its published key")
            for i in survivors:
                seed = pair_seed(self.p, s_j.private, j, i, self.bundles[j].mask_key, check_peer_key(self.bundles[i].mask_key))
                # y_i carried +PRG(s_ij) for j > i and −PRG(s_ij) for j < i: remove it.
                apply_stream(z, self.p, seed, pair_context(self.p, i, j), -1 if j > i else +1)
        self._finished = True
        self.responses.clear()
        return UnmaskedSum(self.p, z, survivors)
