"""Stand-in OpenAI-compatible servers on 127.0.0.1 (real HTTP servers in a thread) that
record every request and answer as each test scripts it: chat (whole or streamed as
server-sent events) and the model list. A server can be stopped and started
again on the same port (the centre going away and coming back)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Reply = Callable[[dict[str, Any]], tuple[int, Any, float]]
"""reply(request_body) -> (status, body (dict or str), delay_s)"""


def _completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": body.get("model", "stand-in"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@dataclass
class StandIn:
    url: str = ""
    name: str = "stand-in"
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def say(self, text: str, *, delay: float = 0.0) -> None:
        """Every later request gets ``text`` as the assistant message."""
        self.replies = [lambda body: (200, _completion(text, body), delay)]

    def echo(self) -> None:
        """Every later request gets its last message back, prefixed with the server's name."""
        self.replies = [
            lambda body: (
                200,
                _completion(f"{self.name}: {body['messages'][-1]['content']}", body),
                0.0,
            )
        ]

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    @staticmethod
    def completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
        return _completion(text, body)

    def seen(self) -> str:
        """Everything this server received, as one string (for "never saw X" checks)."""
        return json.dumps(self.requests, ensure_ascii=False)

    def start(self) -> None:
        state = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so a stopped server really is gone
            # (no kept-alive connection still served by an old handler thread)

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, data: bytes, ctype: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def do_GET(self) -> None:
                body = {"object": "list", "data": [{"id": state.name, "object": "model"}]}
                self._send(200, json.dumps(body).encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                state.requests.append({"path": self.path, **body})
                state.headers.append(dict(self.headers))
                reply = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
                status, payload, delay = reply(body)
                if delay:
                    time.sleep(delay)
                if body.get("stream") and status == 200 and isinstance(payload, dict):
                    self._stream(payload)
                    return
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                self._send(status, data)

            def _stream(self, payload: dict[str, Any]) -> None:
                text = payload["choices"][0]["message"]["content"]
                pieces = [text[i : i + 3] for i in range(0, len(text), 3)] or [""]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for p in pieces:
                        chunk = {
                            "id": "chatcmpl-test",
                            "object": "chat.completion.chunk",
                            "model": payload["model"],
                            "choices": [{"index": 0, "delta": {"content": p}}],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def idempotency_keys(self) -> list[str]:
        return [h.get("Idempotency-Key", "") for h in self.headers]


def _serve(name: str) -> Iterator[StandIn]:
    state = StandIn(name=name)
    state.start()
    state.say("ok")
    try:
        yield state
    finally:
        state.stop()


@pytest.fixture
def llm_server() -> Iterator[StandIn]:
    yield from _serve("stand-in")


@pytest.fixture
def edge_server() -> Iterator[StandIn]:
    yield from _serve("edge")


@pytest.fixture
def central_server() -> Iterator[StandIn]:
    yield from _serve("central")
