"""What each server answers to each framing case (tests/framing/framing_cases.py), as a table.

    .venv-actions/bin/python bench/http_framing_table.py       # starts the three servers of this checkout
    # servers already running (e.g. of an older checkout), or HAProxy in front of them:
    .venv-actions/bin/python bench/http_framing_table.py --rasa 127.0.0.1:5005 --actions 127.0.0.1:5055 \
        --backoffice 127.0.0.1:8080
    .venv-actions/bin/python bench/http_framing_table.py --balancer 127.0.0.1:8000

For each case, sent alone: the status codes read and whether the connection was closed, within 2 s, and
whether the server still answered a valid request afterwards. A server that stops answering ends its column
("stopped": the remaining cases are not tried).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.framing.framing_cases import BAD
from tests.framing.framing_probe import send_raw
from tests.framing.servers import Server, running_servers

VALID = {
    "rasa": b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "actions": b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "backoffice": b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "balancer": b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
}


def address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


@contextlib.contextmanager
def targets(args: argparse.Namespace) -> Iterator[dict[str, tuple[str, int]]]:
    given = {name: address(v) for name in VALID if (v := getattr(args, name))}
    if given:
        yield given
        return
    with running_servers() as servers:
        yield {name: ("127.0.0.1", server.port) for name, server in servers.items() if isinstance(server, Server)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in VALID:
        parser.add_argument(f"--{name}", help="host:port of a running server")
    parser.add_argument("--skip", action="append", default=[], help="leave out the case of that name")
    args = parser.parse_args()
    with targets(args) as found:
        names = list(found)
        results: dict[str, list[str]] = {name: [] for name in names}
        stopped: set[str] = set()
        cases = [case for case in BAD if case.name not in args.skip]
        for case in cases:
            for name in names:
                if name in stopped:
                    results[name].append("(stopped)")
                    continue
                host, port = found[name]
                try:
                    outcome = send_raw(host, port, case.raw)
                    cell = outcome.describe()
                except OSError as exc:
                    cell = f"connect failed: {exc}"
                try:
                    alive = send_raw(host, port, VALID[name], wait=5.0).statuses[:1] == (200,)
                except OSError:
                    alive = False
                if not alive:
                    stopped.add(name)
                    cell += "; server STOPPED answering"
                results[name].append(cell)
        print("| case | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for i, case in enumerate(cases):
            print(f"| {case.name} | " + " | ".join(results[name][i] for name in names) + " |")


if __name__ == "__main__":
    main()
