"""The hub's fleet page at ``/``: one self-contained HTML file
(``plantmind/web/templates/hub.html``: inline CSS, JS and SVG, nothing fetched from elsewhere)
that reads the fleet routes (:mod:`plantmind.central.fleet_api`) with the viewer's token.

The page itself holds no data, so it is served without a token; the token comes in the URL
fragment (``/#token=pm_...``, never sent to a server) or the sign-in form, and is kept in the
tab's sessionStorage, as on the edge page. A Content-Security-Policy header lets the page talk
to this hub only.
"""

from __future__ import annotations

import functools
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["CSP", "hub_page", "page_router"]

#: The page may load and ask nothing but this hub (and its own inline script and style).
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

page_router = APIRouter()


@functools.cache
def hub_page() -> str:
    """The page's HTML (read once from the package)."""
    return resources.files("plantmind.web").joinpath("templates/hub.html").read_text("utf-8")


@page_router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def fleet_page() -> HTMLResponse:
    """The fleet page (no token needed: it holds no data)."""
    return HTMLResponse(
        hub_page(),
        headers={
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
