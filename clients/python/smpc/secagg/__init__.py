"""Secure aggregation (docs/protocols/secure-aggregation.md): parameters, messages, the pod party, the modeller.

* :func:`smpc.secagg.modeller.aggregate` — the modeller's round (``smpc.Modeller.aggregate`` delegates here).
* :func:`smpc.secagg.pod.run_party` — one pod's part of a session against the service (the pod runner calls it).
* :class:`smpc.secagg.party.Party`, :class:`smpc.secagg.unmasker.Unmasker` — the pure state machines.
"""
