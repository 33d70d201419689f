"""The light HTTP client of ``plantmind bench api`` (the one whose latencies are the
headline): every reply is read whole, a connection the server closes (``Connection: close``
or an idle keep-alive that times out) is opened again without an error, and a reply it cannot
frame, or a status other than 200, is counted as an error rather than hanging or passing."""

from __future__ import annotations

import asyncio

from plantmind.bench.api import _raw_burst

_BODY = b'{"ok":' + b"1" * 5000 + b"}"  # larger than one read


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            assert b"\r\nAuthorization: Bearer tok\r\n" in head
            path = head.split(b" ", 2)[1]
            if path == b"/nolen":  # no Content-Length: the client cannot tell where it ends
                writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + _BODY)
                break
            status = b"404 Not Found" if path == b"/missing" else b"200 OK"
            extra = b"Connection: close\r\n" if path == b"/close" else b""
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + extra
                + b"Content-Length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
            )  # fmt: skip
            await writer.drain()
            if path in (b"/close", b"/drop"):  # /drop: closed with no word, as an idle timeout
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _burst(paths: list[str], concurrency: int) -> dict:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await asyncio.wait_for(
            _raw_burst(f"http://127.0.0.1:{port}", "tok", paths, concurrency), 30
        )
    finally:
        server.close()
        await server.wait_closed()


def test_every_reply_is_read_and_closed_connections_are_opened_again():
    paths = ["/ok", "/close", "/ok", "/drop", "/ok"] * 40
    r = asyncio.run(_burst(paths, 4))
    assert r["errors"] == []
    assert len(r["latencies_ms"]) == len(paths) and all(ms > 0 for ms in r["latencies_ms"])
    assert r["end"] >= r["start"] and r["cpu_s"] >= 0


def test_errors_are_counted_not_hidden():
    r = asyncio.run(_burst(["/ok", "/missing", "/nolen", "/ok"], 1))
    assert r["errors"][0] == "/missing: HTTP 404"
    assert len(r["errors"]) == 2 and r["errors"][1].startswith("/nolen: ConnectionError(")
