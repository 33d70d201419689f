"""The hub's model files in an fsspec filesystem (``memory://`` here; ``s3://`` with s3fs in
production): stored by hash, served with HTTP Range to a resuming agent, exported into a
bundle, and a tampered object refused at the site."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
from _models_builders import check_empty_ranges, check_ranges, make_version

from plantmind.bench.rollout import HubThread
from plantmind.models.agent import EdgeAgent, SiteModels
from plantmind.models.bundle import export_bundle, import_bundle
from plantmind.models.client import HubClient
from plantmind.models.manifest import FileEntry
from plantmind.models.registry import Registry
from plantmind.models.signing import TrustError
from plantmind.models.store import ContentStore, FsspecBlobStore, open_blob_store

fsspec = pytest.importorskip(
    "fsspec", reason="fsspec is not installed (extra [s3]): the URL blob store is not tested"
)

NAME = "line1-detector"


def _url() -> str:
    return f"memory://plantmind-test-{uuid.uuid4().hex[:8]}/models"


def test_the_fsspec_store_keeps_files_by_hash(tmp_path):
    url = _url()
    store = open_blob_store(url, tmp_path / "partial")
    assert isinstance(store, FsspecBlobStore)
    assert isinstance(open_blob_store(str(tmp_path / "local"), tmp_path / "p"), ContentStore)
    data = b"weights " * 1000
    sha = store.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.has(sha) and store.size(sha) == len(data) and store.read_bytes(sha) == data
    assert store.local_path(sha) is None
    fs = fsspec.filesystem("memory")
    assert fs.exists(store.key(sha)) and store.key(sha).endswith(f"/sha256/{sha[:2]}/{sha}")
    with store.open(sha) as f:
        f.seek(8)
        assert f.read(8) == b"weights "
    # a stream of another hash than promised is refused, and nothing is stored
    other = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(ValueError, match="SHA-256"):
        store.put_chunks([b"not ", b"other"], expect=other)
    assert not store.has(other) and not store.has(hashlib.sha256(b"not other").hexdigest())
    assert list((tmp_path / "partial").iterdir()) == []  # staged uploads are cleaned up
    store.copy_out(sha, tmp_path / "out" / "w.bin")
    assert (tmp_path / "out" / "w.bin").read_bytes() == data
    store.remove(sha)
    assert not store.has(sha)
    with pytest.raises(ValueError, match="not a SHA-256"):
        store.has("../../etc/passwd")


def test_a_hub_with_blobs_at_a_url_serves_ranges_and_bundles(tmp_path, keys):
    url = _url()
    # the blob location is chosen once, kept in the registry's config.json
    Registry(tmp_path / "hub" / "models", keys.root_env, blobs=url)
    hub = HubThread(tmp_path / "hub", keys.root_env, tick_s=0)
    try:
        assert isinstance(hub.registry.blobs, FsspecBlobStore)
        env, files, rb = make_version(keys, tmp_path / "pub", 1, [0.5, 0.5])
        with HubClient(hub.url, hub.token("engineer")) as c:
            c.publish(env, files, rb)
        entries = [FileEntry(**f) for f in env["signed"]["files"]]
        # the files are in the filesystem at the URL, not on the hub's disk
        assert not any((tmp_path / "hub" / "models" / "blobs").glob("sha256/*/*"))
        fs = fsspec.filesystem("memory")
        for e in entries:
            assert fs.cat_file(hub.registry.blobs.key(e.sha256)) == files[e.path].read_bytes()

        hub.registry.set_alias("default", NAME, champion=1)
        token = hub.token("operator", "s1")
        big = max(entries, key=lambda e: e.size)
        whole = files[big.path].read_bytes()
        with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}) as c:
            r = c.get(f"/api/models/blobs/{big.sha256}")
            assert r.status_code == 200 and r.content == whole
            part = c.get(f"/api/models/blobs/{big.sha256}", headers={"Range": "bytes=10-"})
            assert part.status_code == 206 and part.content == whole[10:]
            assert part.headers["content-range"] == f"bytes 10-{len(whole) - 1}/{len(whole)}"
            mid = c.get(f"/api/models/blobs/{big.sha256}", headers={"Range": "bytes=2-5"})
            assert mid.status_code == 206 and mid.content == whole[2:6]
            bad = c.get(f"/api/models/blobs/{big.sha256}", headers={"Range": "bytes=99999-"})
            assert bad.status_code == 416
            assert c.get("/api/models/blobs/" + "0" * 64).status_code == 404

        # an agent resumes a cut download from the URL store (Range), then runs the version
        agent = EdgeAgent(hub.url, "s1", token, tmp_path / "s1", root=keys.root_env,
                          heartbeat_s=0.0, healthy_after_s=0.0)  # fmt: skip
        try:
            part_file = agent.blobs.partial / f"{big.sha256}.part"
            part_file.write_bytes(whole[:7])
            agent.fetch(big)
            assert agent.blobs.path(big.sha256).read_bytes() == whole
            agent.sync_once()
            assert agent.slots[NAME].current is not None
            assert agent.slots[NAME].current.version == 1
        finally:
            agent.close()

        bundle = export_bundle(hub.registry, tmp_path / "b.tar", [(NAME, 1)])
        site = SiteModels(tmp_path / "site", root=keys.root_env)
        assert import_bundle(bundle, site)[0]["ok"]

        # one byte changed in the object store: the site refuses the download
        settings = next(e for e in entries if e.path == "settings.json")
        key = hub.registry.blobs.key(settings.sha256)
        data = bytearray(fs.cat_file(key))
        data[3] ^= 0x01
        fs.pipe_file(key, bytes(data))
        other = EdgeAgent(hub.url, "s2", hub.token("operator", "s2"), tmp_path / "s2",
                          root=keys.root_env, heartbeat_s=0.0)  # fmt: skip
        try:
            with pytest.raises(TrustError) as exc:
                other.fetch(settings)
            assert exc.value.reason == "bad-hash"
            assert not other.blobs.has(settings.sha256)
        finally:
            other.close()
    finally:
        hub.close()


def test_models_init_keeps_the_blob_url(tmp_path, keys):
    import json

    from typer.testing import CliRunner

    from plantmind.cli import app

    (tmp_path / "root.json").write_text(json.dumps(keys.root_env))
    url = _url()
    args = ["models", "init", "--root", str(tmp_path / "root.json"), "--home", str(tmp_path)]
    r = CliRunner().invoke(app, [*args, "--blobs", url])
    assert r.exit_code == 0, r.output
    assert f"files in {url}" in r.output
    reg = Registry(tmp_path / "models")  # reopened: the location comes from config.json
    assert isinstance(reg.blobs, FsspecBlobStore) and reg.blobs.url == url
    assert json.loads((tmp_path / "models" / "config.json").read_text())["blobs"] == url


def test_a_url_store_answers_every_range_like_a_local_folder(tmp_path, keys):
    """``Range: bytes=--5`` once gave a negative Content-Length and a dropped connection;
    now every Range is 206, 416 (``bytes */size``) or the whole file (the same table as the
    local folder's test)."""
    Registry(tmp_path / "hub" / "models", keys.root_env, blobs=_url())
    hub = HubThread(tmp_path / "hub", keys.root_env, tick_s=0)
    try:
        whole = bytes(range(256)) * 4
        sha = hub.registry.blobs.put_bytes(whole)
        empty = hub.registry.blobs.put_bytes(b"")
        assert hub.registry.blobs.local_path(sha) is None
        token = hub.token("viewer")
        with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}) as c:
            check_ranges(c, sha, whole)
            check_empty_ranges(c, empty)
    finally:
        hub.close()


def test_an_upload_checks_the_url_store_off_the_event_loop(tmp_path, keys, monkeypatch):
    """``has()`` is a network round trip with s3fs: the upload route runs it in the thread
    pool, so the hub goes on answering while the store is slow."""
    import threading

    Registry(tmp_path / "hub" / "models", keys.root_env, blobs=_url())
    hub = HubThread(tmp_path / "hub", keys.root_env, tick_s=0)
    try:
        data = b"weights " * 100
        sha = hashlib.sha256(data).hexdigest()
        store = hub.registry.blobs
        loop_threads: list[bool] = []
        real_has = store.has

        def slow_has(s: str) -> bool:
            loop_threads.append(threading.current_thread() is hub.thread)
            return real_has(s)

        monkeypatch.setattr(store, "has", slow_has)
        token = hub.token("engineer")
        with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.put(f"/api/models/blobs/{sha}", content=data).status_code == 201
            again = c.put(f"/api/models/blobs/{sha}", content=data)
            assert again.status_code == 201 and again.json()["stored"] == "already"
        assert loop_threads and not any(loop_threads)  # never on the hub's event loop
        assert real_has(sha)
    finally:
        hub.close()


def test_models_init_refuses_a_url_store_that_lacks_the_local_files(tmp_path, keys):
    """The local ``<home>/models/blobs/sha256`` holds files: ``init --blobs URL`` is refused
    (naming the folder) until they are in the store, and the registry stays as it was."""
    import json

    from typer.testing import CliRunner

    from plantmind.cli import app

    (tmp_path / "root.json").write_text(json.dumps(keys.root_env))
    args = ["models", "init", "--root", str(tmp_path / "root.json"), "--home", str(tmp_path)]
    assert CliRunner().invoke(app, args).exit_code == 0
    data = b"weights " * 100
    sha = Registry(tmp_path / "models").blobs.put_bytes(data)
    url = _url()
    r = CliRunner().invoke(app, [*args, "--blobs", url])
    assert r.exit_code == 2, r.output
    folder = tmp_path / "models" / "blobs" / "sha256"
    assert str(folder) in r.output and url in r.output and "Copy" in r.output
    assert not (tmp_path / "models" / "config.json").exists()  # the location is unchanged
    assert isinstance(Registry(tmp_path / "models").blobs, ContentStore)
    # copied over: the move goes on, and the same URL again is no move
    FsspecBlobStore(url, tmp_path / "partial").put_bytes(data)
    for _ in range(2):
        r = CliRunner().invoke(app, [*args, "--blobs", url])
        assert r.exit_code == 0, r.output
    reg = Registry(tmp_path / "models")
    assert isinstance(reg.blobs, FsspecBlobStore) and reg.blobs.has(sha)
