"""A stand-in OpenAI-compatible server on 127.0.0.1 (a real HTTP server in a thread) that
records every request and answers as each test scripts it."""

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


@dataclass
class StandIn:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def say(self, text: str, *, delay: float = 0.0) -> None:
        """Every later request gets ``text`` as the assistant message."""
        self.replies = [lambda body: (200, _completion(text, body), delay)]

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    @staticmethod
    def completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
        return _completion(text, body)


def _completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": body.get("model", "stand-in"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def llm_server() -> Iterator[StandIn]:
    state = StandIn(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append({"path": self.path, **body})
            state.headers.append(dict(self.headers))
            reply = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            status, payload, delay = reply(body)
            if delay:
                time.sleep(delay)
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    state.say("ok")
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
