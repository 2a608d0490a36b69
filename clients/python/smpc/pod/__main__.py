"""``python3 -m smpc.pod --config agent.json``: the Python pod on the .NET agent's configuration (like ``smpc pod run``).

Exit codes as ``smpc pod run`` (docs/cli.md): 0 stopped cleanly; 3 an invalid configuration or identity key file, or an
identity key other than the one registered for the pod; 4 an API key that does not act as this pod.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import List, Optional

from ..errors import ProblemError
from ..identity import IdentityFileError
from .config import ConfigError, PodConfig
from .runner import Pod, PodIdentityMismatchError


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the pod until SIGINT/SIGTERM; ``--check`` validates the configuration, the key file and the API key, then exits."""
    parser = argparse.ArgumentParser(prog="python3 -m smpc.pod", description="Runs a pod with the .NET agent's configuration file.")
    parser.add_argument("--config", required=True, help="the agent configuration (docs/agent-config.md)")
    parser.add_argument("--url", help="the service's URL (overrides the file's url)")
    parser.add_argument("--key", help="the pod's API key (overrides apiKey and its environment variable)")
    parser.add_argument("--check", action="store_true", help="check the configuration, the identity key and the API key, then exit")
    parser.add_argument("--long-poll-seconds", type=int, default=20, help="how long one request for new work may wait (0: poll)")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = PodConfig.load(args.config, url=args.url, api_key=args.key)
        pod = Pod(config, long_poll_seconds=args.long_poll_seconds)
        me = pod.client.who_am_i()  # like the .NET agent: the key must act as this pod
        if me.get("role") != "Pod" or me.get("tenant") != config.tenant or me.get("subject") != config.pod:
            print(f"error: the API key acts as {me.get('role')} {me.get('tenant')}/{me.get('subject')}, not as pod {config.tenant}/{config.pod}: "
                  "give the pod's own key", file=sys.stderr)
            return 4
        if args.check:
            print(f"ok: pod {config.tenant}/{config.pod}, identity {pod.identity.fingerprint}")
            return 0
    except (ConfigError, IdentityFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except ProblemError as e:
        if e.status in (401, 403):
            print(f"error: {e}", file=sys.stderr)
            return 4
        raise
    stop = threading.Event()
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: stop.set())
    try:
        pod.run(stop)
    except PodIdentityMismatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
