"""A recording proxy between a Rasa server and its action server: it forwards each request unchanged and keeps
what Rasa asked for (the action, the size of the request body, whether it carried the domain). Tests count
the action-server round trips a user message costs with it; benchmarks measure the payloads."""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORWARDED_HEADERS = ("Authorization", "Content-Type", "Content-Encoding")


@dataclass(frozen=True)
class ActionCall:
    action: str | None
    sender: str | None
    request_bytes: int
    tracker_bytes: int
    domain_bytes: int  # 0: Rasa sent no domain
    seconds: float = 0.0  # the action server's round trip as the proxy saw it (profiles, not tests)


@dataclass
class ActionProxy:
    upstream: str  # e.g. http://127.0.0.1:5055
    calls: list[ActionCall] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the proxy first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def calls_for(self, sender: str) -> list[ActionCall]:
        """The calls of one conversation; Rasa's id may carry the channel's prefix ("rest:<sender>")."""
        return [c for c in list(self.calls) if c.sender == sender or (c.sender or "").endswith(f":{sender}")]

    def _record(self, body: bytes, encoding: str | None, seconds: float) -> None:
        try:
            data = json.loads(gzip.decompress(body) if encoding == "gzip" else body)
        except (ValueError, OSError):
            return
        if not isinstance(data, dict):
            return
        self.calls.append(
            ActionCall(
                action=data.get("next_action"),
                sender=data.get("sender_id"),
                request_bytes=len(body),
                tracker_bytes=len(json.dumps(data.get("tracker"))),
                domain_bytes=len(json.dumps(data["domain"])) if "domain" in data else 0,
                seconds=seconds,
            )
        )

    def start(self) -> ActionProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as between Rasa and the action server
            # Headers and body leave in two writes: with Nagle's algorithm the body would wait for Rasa's
            # delayed ACK (40 ms on Linux), which timings through the proxy would count as Rasa's.
            disable_nagle_algorithm = True

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {h: v for h in FORWARDED_HEADERS if (v := self.headers.get(h))}
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body or None, headers=headers, method=self.command
                )
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:
                        status, content, kind = response.status, response.read(), response.headers.get("Content-Type")
                except urllib.error.HTTPError as error:
                    status, content, kind = error.code, error.read(), error.headers.get("Content-Type")
                if self.command == "POST":
                    proxy._record(body, self.headers.get("Content-Encoding"), time.perf_counter() - started)
                self.send_response(status)
                self.send_header("Content-Type", kind or "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _forward

            def log_message(self, *_: object) -> None:  # the recorded calls are the log
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
