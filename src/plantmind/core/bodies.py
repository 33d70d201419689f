"""Request bodies read with a size limit that holds: the one reader every upload route of
the edge node and the hub uses."""

from __future__ import annotations

from fastapi import HTTPException, Request

__all__ = ["read_body_limited"]


async def read_body_limited(request: Request, limit: int, what: str) -> bytes:
    """The request body, counted as it streams: 413 naming ``what`` as soon as more than
    ``limit`` bytes have arrived (a declared Content-Length over it is refused before reading
    anything). A chunked body has no length to check up front, so reading it whole first
    would let one request hold any amount of memory; here at most ``limit`` bytes are held."""
    too_large = HTTPException(413, f"{what} larger than {limit // 2**20} MiB")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
