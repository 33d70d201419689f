"""The API documentation pages (/docs, /redoc) of the edge node and the hub render with the
network cut off: every asset they reference is served by the app itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient

from plantmind.central.service import CentralService, default_db_url
from plantmind.edge.api import create_app
from plantmind.edge.node import EdgeNode


class _Assets(HTMLParser):
    """The URLs a page loads: <script src>, <link href>, <img src>, and the spec URL that
    Swagger UI and ReDoc are given in their inline script / element."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href", "spec-url"):
            if a.get(key):
                self.urls.append(a[key] or "")

    def handle_data(self, data: str) -> None:
        self.scripts.append(data)


def _referenced(html: str) -> list[str]:
    p = _Assets()
    p.feed(html)
    inline = "\n".join(p.scripts)
    # Swagger UI's inline config: url: '/openapi.json', oauth2RedirectUrl: ...
    p.urls += re.findall(r"""(?:url|oauth2RedirectUrl)['"]?\s*:\s*['"]([^'"]+)['"]""", inline)
    return p.urls


@pytest.fixture
def apps(tmp_path, plant):
    node = EdgeNode(plant, tmp_path / "edge", restore=False)
    hub = CentralService(default_db_url(tmp_path / "hub"), tmp_path / "hub")
    yield {"edge": create_app(node), "hub": hub.app()}
    hub.close()
    node.close()


@pytest.mark.parametrize("which", ["edge", "hub"])
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_app(apps, which, page):
    with TestClient(apps[which], base_url="http://plantmind.local") as c:
        res = c.get(page)
        assert res.status_code == 200 and "text/html" in res.headers["content-type"]
        urls = _referenced(res.text)
        scripts = [u for u in urls if u.endswith(".js")]
        assert scripts, f"{page} references no script: {urls}"  # the page is the JS app
        for url in urls:
            absolute = urljoin(str(c.base_url) + page, url)
            assert absolute.startswith("http://plantmind.local/"), f"{page} loads {url}"
            got = c.get(absolute)
            assert got.status_code == 200 and got.content, f"{url}: {got.status_code}"
        assert any(u.endswith("openapi.json") for u in urls)
