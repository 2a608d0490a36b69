"""What every example shares: a service to talk to (a URL with an operator key, or the embedded .NET service started
from this repository's build), a fresh tenant, and parties with new identity keys that pin one another.

In real life each party makes its own identity key, registers through the tenant admin and compares fingerprints out
of band; the examples do it all in one process so they run with one command.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the SDK from this checkout, installed or not

import smpc  # noqa: E402
from smpc.identity import IdentityKey  # noqa: E402
from smpc.pins import PinStore  # noqa: E402
from smpc.pod import Pod, PodConfig  # noqa: E402


def arguments(description: str) -> argparse.ArgumentParser:
    """The options every example takes: --url and --operator-key, or --embedded."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", help="the service's base URL, e.g. http://127.0.0.1:5080")
    parser.add_argument("--operator-key", help="an operator API key (the example creates a fresh tenant with it)")
    parser.add_argument("--embedded", action="store_true",
                        help="start the embedded service from the repository's .NET build (dotnet build Smpc.Orleans.sln)")
    return parser


@dataclass
class World:
    """A fresh tenant with registered pods and a modeller; `close()` stops the pods (and the embedded service)."""

    url: str
    tenant: str
    work: Path
    admin: smpc.Client
    identities: dict[str, IdentityKey] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    service: Any = None

    def pod(self, name: str, **settings: Any) -> Pod:
        """Starts a Python pod `name` in this process; it pins every other party of the world."""
        others = {p: k.fingerprint for p, k in self.identities.items() if p != name and p != self.modeller_id}
        config = PodConfig(tenant=self.tenant, pod=name, identity_key_file=self.work / f"{name}.identity.json",
                           url=self.url, api_key=self.keys[name], state_directory=self.work / "state" / name,
                           pins=others, modeller_pins={self.modeller_id: self.identities[self.modeller_id].fingerprint},
                           **settings)
        pod = Pod(config).start()
        self.pods.append(pod)
        return pod

    modeller_id: str = "alice"

    def modeller(self) -> smpc.Modeller:
        """The modeller, with every pod pinned."""
        pins = PinStore(self.work / f"{self.modeller_id}.pins.json")
        for name, key in self.identities.items():
            if name != self.modeller_id:
                pins.add(self.tenant, "pod", name, key.fingerprint)
        return smpc.Modeller(smpc.Client(self.url, self.keys[self.modeller_id]), self.tenant, self.modeller_id,
                             self.identities[self.modeller_id], pins)

    def close(self) -> None:
        for pod in self.pods:
            pod.stop()
        if self.service is not None:
            self.service.stop()


def world(args: argparse.Namespace, parser: argparse.ArgumentParser, prefix: str, pods: list[str],
          modeller: str = "alice") -> World:
    """Connects (or starts the embedded service), creates a tenant and registers `pods` and `modeller`."""
    work = Path(tempfile.mkdtemp(prefix=f"smpc-{prefix}-"))
    service = None
    if args.embedded:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from service import EmbeddedService  # the test suite's embedded-service launcher

        service = EmbeddedService(work / "service").start()
        url, operator_key = service.url, service.operator_key
    elif args.url and args.operator_key:
        url, operator_key = args.url, args.operator_key
    else:
        parser.error("give --embedded, or --url and --operator-key")
    tenant = f"{prefix}-{secrets.token_hex(3)}"
    created = smpc.Client(url, operator_key).create_tenant(tenant, f"{prefix} example")
    admin = smpc.Client(url, created["adminKey"]["apiKey"])
    w = World(url, tenant, work, admin, service=service, modeller_id=modeller)
    for name in [*pods, modeller]:
        key = IdentityKey.generate()
        key.save(work / f"{name}.identity.json")
        w.identities[name] = key
        register = admin.register_modeller if name == modeller else admin.register_pod
        w.keys[name] = register(tenant, name, name, key.public_key)["apiKey"]["apiKey"]
    return w
