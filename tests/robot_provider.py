"""A local HTTP server that answers like the WeCom and DingTalk robot webhooks (tests only).

It keeps every request it receives (method, path, query, JSON body) and answers each with the
next scripted body, by default the providers' documented success {"errcode":0,"errmsg":"ok"}.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OK = {"errcode": 0, "errmsg": "ok"}
# Error bodies as the providers document them.
WECOM_TOO_FAST = {"errcode": 45009, "errmsg": "api freq out of limit"}
WECOM_INVALID_KEY = {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc]"}
DINGTALK_TOO_FAST = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
DINGTALK_SIGN = {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}


@dataclass
class Received:
    """One request as the provider would see it."""

    path: str
    query: dict[str, str]
    raw_query: str
    body: dict


class RobotProvider:
    """The server, its received requests and the answers still to give."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[tuple[int, dict | str]] = []
        self.lock = threading.Lock()
        # Requests being answered right now, and the most there ever were at once.
        self.in_flight = 0
        self.most_in_flight = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                parts = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                with provider.lock:
                    provider.in_flight += 1
                    provider.most_in_flight = max(provider.most_in_flight, provider.in_flight)
                    provider.received.append(Received(parts.path, query, parts.query, body))
                    status, answer = provider.answers.pop(0) if provider.answers else (200, OK)
                data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with provider.lock:
                    provider.in_flight -= 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, *bodies: dict | str, status: int = 200) -> None:
        """Script the next answers."""
        self.answers.extend((status, body) for body in bodies)

    def start(self) -> RobotProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
