"""The real service and the real .NET parties for the Python SDK's tests.

`EmbeddedService` starts an embedded silo (SQLite, REST co-hosted) from the .NET build output on free loopback ports
with a throw-away data directory. `World` creates a tenant with pods and modellers (identity key files usable by both
the Python SDK and the .NET CLI), writes .NET agent configurations, starts `smpc pod run` processes and runs `smpc`
commands as the .NET modeller. Nothing here is a mock: every request crosses real HTTP to the real service.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[3]


def build_root() -> Path:
    """The repository whose .NET build output the tests run: `$SMPC_DOTNET_BUILD`, else this repository."""
    return Path(os.environ.get("SMPC_DOTNET_BUILD") or REPO)


def silo_dll() -> Path:
    return build_root() / "Silo" / "bin" / "Debug" / "net10.0" / "Smpc.Silo.dll"


def cli_dll() -> Path:
    return build_root() / "Cli" / "bin" / "Debug" / "net10.0" / "smpc.dll"


def dotnet_built() -> str | None:
    """None when the silo and the CLI are built, else why not (the service tests need `dotnet build` first)."""
    missing = [str(p) for p in (silo_dll(), cli_dll()) if not p.exists()]
    if shutil.which("dotnet") is None:
        return "dotnet is not on PATH"
    return f"not built: {', '.join(missing)} (run `dotnet build Smpc.Orleans.sln`)" if missing else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Polls `condition` until it returns something truthy (returned) or `timeout` seconds pass (a guard against hangs,
    never a pass condition)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _dotnet_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DOTNET_CLI_TELEMETRY_OPTOUT": "1", "DOTNET_NOLOGO": "1",
        "DOTNET_ENVIRONMENT": "Production", "ASPNETCORE_ENVIRONMENT": "Production",
        "Logging__LogLevel__Default": "Warning", "Logging__LogLevel__Smpc": "Information",
    })
    if extra:
        env.update(extra)
    return env


class EmbeddedService:
    """A real embedded silo process serving REST on a loopback port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.operator_key = "smpc_op_" + secrets.token_urlsafe(32)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log_path = directory / "silo.log"

    def start(self, timeout: float = 120.0) -> "EmbeddedService":
        reason = dotnet_built()
        if reason:
            raise RuntimeError(reason)
        for attempt in range(1, 6):
            http, silo, gateway = free_port(), free_port(), free_port()
            self.url = f"http://127.0.0.1:{http}"
            data = self.directory / f"data-{attempt}"
            data.mkdir(parents=True, exist_ok=True)
            env = _dotnet_env({
                "ASPNETCORE_URLS": self.url,
                "Smpc__SiloPort": str(silo), "Smpc__GatewayPort": str(gateway),
                "Smpc__DataDirectory": str(data),
                "Smpc__Gateway__OperatorKeySha256": hashlib.sha256(self.operator_key.encode()).hexdigest(),
            })
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(["dotnet", str(silo_dll())], cwd=str(silo_dll().parent), env=env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            try:
                wait_until(self._ready, timeout, f"the silo at {self.url} to be ready")
                return self
            except RuntimeError:
                output = self.output()
                if "address already in use" in output.lower() and attempt < 5:
                    continue  # a port was taken between the pick and the bind: pick again
                raise
            except TimeoutError as error:
                self.stop()
                raise TimeoutError(f"{error}\n{self.output()[-4000:]}") from None
        raise RuntimeError("could not start the silo")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the silo exited with {self.process.returncode}:\n{self.output()[-4000:]}")
        try:
            with urllib.request.urlopen(self.url + "/health/ready", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)


@dataclass
class Identity:
    """An Ed25519 identity key written in the .NET identity file format (`smpc identity new`)."""

    path: Path
    private_key: Ed25519PrivateKey
    public_key: bytes

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode()

    @property
    def fingerprint(self) -> str:
        return "sha256:" + hashlib.sha256(self.public_key).hexdigest()

    @staticmethod
    def create(path: Path) -> "Identity":
        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"privateKey": base64.b64encode(seed).decode(), "publicKey": base64.b64encode(public).decode(),
               "fingerprint": "sha256:" + hashlib.sha256(public).hexdigest()}
        path.write_text(json.dumps(doc, indent=2))
        os.chmod(path, 0o600)
        return Identity(path, key, public)


@dataclass
class Member:
    """A registered pod or modeller: its id, API key and identity."""

    id: str
    api_key: str
    identity: Identity


@dataclass
class CliResult:
    """A finished `smpc` command."""

    args: list[str]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def check(self) -> "CliResult":
        if self.code != 0:
            raise AssertionError(f"smpc {' '.join(self.args)} exited {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}")
        return self


class AgentProcess:
    """A running .NET pod agent (`smpc pod run --config …`)."""

    def __init__(self, pod: str, config_path: Path, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.pod = pod
        self.config_path = config_path
        self.process = process
        self.log_path = log_path

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGINT)  # Ctrl+C: the agent finishes cleanly
            self.process.wait(timeout=15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)


class World:
    """One tenant on the shared service, with pods and modellers, and helpers to run the .NET parties."""

    def __init__(self, service: EmbeddedService, directory: Path, tenant: str | None = None) -> None:
        import smpc  # the SDK under test: its REST client sets up the tenant

        self.service = service
        self.directory = directory
        self.tenant = tenant or ("t-" + secrets.token_hex(4))
        self.url = service.url
        operator = smpc.Client(service.url, service.operator_key)
        created = operator.create_tenant(self.tenant, f"Test tenant {self.tenant}")
        self.admin_key: str = created["adminKey"]["apiKey"]
        self.admin = smpc.Client(service.url, self.admin_key)
        self.pods: dict[str, Member] = {}
        self.modellers: dict[str, Member] = {}
        self._agents: list[AgentProcess] = []

    # -- members ---------------------------------------------------------------------------------------------------

    def add_pod(self, pod_id: str) -> Member:
        return self._add(pod_id, self.admin.register_pod, self.pods)

    def add_modeller(self, modeller_id: str) -> Member:
        return self._add(modeller_id, self.admin.register_modeller, self.modellers)

    def _add(self, member_id: str, register: Callable[..., dict], members: dict[str, Member]) -> Member:
        """Registers a member with a fresh identity key file (the .NET format)."""
        identity = Identity.create(self.directory / "identities" / f"{member_id}.identity.json")
        answer = register(self.tenant, member_id, member_id, identity.public_key_b64)
        members[member_id] = Member(member_id, answer["apiKey"]["apiKey"], identity)
        return members[member_id]

    def client(self, member: Member) -> Any:
        import smpc

        return smpc.Client(self.url, member.api_key)

    # -- the .NET CLI ----------------------------------------------------------------------------------------------

    def cli_env(self, key: str | None = None, identity: Path | None = None, pins: Path | None = None) -> dict[str, str]:
        env = _dotnet_env({"SMPC_URL": self.url, "SMPC_RETRY_SECONDS": "30"})
        env.pop("SMPC_KEY", None)
        env.pop("SMPC_IDENTITY", None)
        if key:
            env["SMPC_KEY"] = key
        if identity:
            env["SMPC_IDENTITY"] = str(identity)
        env["SMPC_PINS"] = str(pins or (self.directory / "pins" / f"cli-{secrets.token_hex(4)}.json"))
        return env

    def smpc(self, *args: str, key: str | None = None, identity: Path | None = None, pins: Path | None = None,
             timeout: float = 300.0, cwd: Path | None = None) -> CliResult:
        """Runs `smpc <args>` (the .NET CLI) to completion."""
        argv = [str(a) for a in args]
        done = subprocess.run(["dotnet", str(cli_dll()), *argv], env=self.cli_env(key, identity, pins),
                              cwd=str(cwd or self.directory), capture_output=True, timeout=timeout)
        return CliResult(argv, done.returncode, done.stdout.decode(errors="replace"),
                         done.stderr.decode(errors="replace"))

    def as_modeller(self, modeller: str | Member, *args: str, pins: Path | None = None,
                    timeout: float = 300.0) -> CliResult:
        """Runs an `smpc` modeller command (aggregate, psi, query, train) as a registered modeller, with its identity."""
        member = modeller if isinstance(modeller, Member) else self.modellers[modeller]
        return self.smpc(*args, "--tenant", self.tenant, "--modeller", member.id, key=member.api_key,
                         identity=member.identity.path, pins=pins, timeout=timeout)

    def agent_config(self, pod: str | Member, **settings: Any) -> Path:
        """Writes a .NET pod agent configuration for `pod` (keys of docs/agent-config.md; `settings` override or add,
        e.g. inputs=…, policy=…, psi=…, dataSources=…)."""
        member = pod if isinstance(pod, Member) else self.pods[pod]
        folder = self.directory / "agents" / member.id
        folder.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "url": self.url, "tenant": self.tenant, "pod": member.id,
            "identityKeyFile": str(member.identity.path), "stateDirectory": str(folder / "state"),
        }
        config.update(settings)
        path = folder / "agent.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def start_dotnet_pod(self, pod: str | Member, **settings: Any) -> AgentProcess:
        """Starts the .NET pod agent for `pod` with a configuration from `agent_config(pod, **settings)`."""
        member = pod if isinstance(pod, Member) else self.pods[pod]
        config = self.agent_config(member, **settings)
        log_path = config.parent / "agent.log"
        env = self.cli_env()
        env["SMPC_POD_KEY"] = member.api_key
        log = open(log_path, "ab")
        process = subprocess.Popen(["dotnet", str(cli_dll()), "pod", "run", "--config", str(config)], env=env,
                                   cwd=str(config.parent), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        agent = AgentProcess(member.id, config, process, log_path)
        self._agents.append(agent)
        # Ready once it logged that it polls (its identity checked against the registry).
        wait_until(lambda: "polling" in agent.output() or process.poll() is not None, 120,
                   f"the .NET agent of {member.id} to start")
        if process.poll() is not None:
            raise RuntimeError(f"the .NET agent of {member.id} exited {process.returncode}:\n{agent.output()}")
        return agent

    def close(self) -> None:
        for agent in self._agents:
            agent.stop()
        self._agents.clear()


def new_world(service: EmbeddedService, base: Path | None = None) -> World:
    """A fresh tenant on `service` in a fresh directory."""
    directory = Path(tempfile.mkdtemp(prefix="smpc-world-", dir=str(base) if base else None))
    return World(service, directory)


def poll_session(client: Any, tenant: str, session_id: str, done: Callable[[dict], bool], timeout: float = 120.0,
                 what: str = "the session") -> dict:
    """Long-polls a session until `done(session)`; returns it (a timeout is an error, never a pass)."""
    deadline = time.monotonic() + timeout
    session = client.get_session(tenant, session_id)
    while not done(session):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}: {json.dumps(session)[:2000]}")
        session = client.get_session(tenant, session_id, wait_for_version=session["version"], wait_seconds=5)
    return session


def ids(members: Iterable[Member]) -> list[str]:
    return [m.id for m in members]



