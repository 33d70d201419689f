"""An edge agent killed (SIGKILL) in the middle of a download and in the middle of a swap:
after a restart it runs the old or the new version, every file checked, never a mix; the cut
download resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _models_builders import Keys, detector_files

from plantmind.bench.rollout import HubThread
from plantmind.models.client import HubClient
from plantmind.models.manifest import Manifest, build_manifest, build_rollback, check_files

NAME = "line1-detector"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def _version(keys: Keys, folder: Path, version: int, big: int = 0) -> tuple[dict, dict]:
    files = detector_files(folder / f"v{version}", [0.1 * version] * 4)
    if big:
        blob = folder / f"v{version}" / "weights.bin"
        blob.write_bytes(os.urandom(big))
        files["weights.bin"] = blob
    env = build_manifest(NAME, "detector", version, files, [keys.targets],
                         golden={"path": "golden.json", "tolerance": 1e-9})  # fmt: skip
    return env, files


def _agent_cmd(hub: HubThread, home: Path, token: str, root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "plantmind.models.agent", "--hub", hub.url, "--site", "s1",
            "--home", str(home), "--token", token, "--root", str(root), *extra]  # fmt: skip


def _state(cmd: list[str]) -> dict:
    out = subprocess.run([*cmd, "--restore-only"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _assert_whole(home: Path, state: dict, envs: dict[int, dict]) -> int:
    """The one running version, its digest that of its manifest, every file as signed."""
    (m,) = state["models"]
    v = m["version"]
    man = Manifest.from_signed(envs[v]["signed"])
    assert m["digest"] == man.digest
    d = home / "installed" / NAME / str(v)
    check_files(man, {f.path: d / f.path for f in man.files})
    assert json.loads((home / "current.json").read_text())[NAME]["version"] == v
    return int(v)


def _kill_when(proc: subprocess.Popen, cond, timeout_s: float = 30.0) -> None:
    t0 = time.time()
    while not cond():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "agent exited"
        assert time.time() - t0 < timeout_s, "the agent never reached the point to kill it at"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_sigkill_mid_download_and_mid_swap(tmp_path, keys):
    hub = HubThread(tmp_path / "hub", keys.root_env, tick_s=0)
    root = tmp_path / "root.json"
    root.write_text(json.dumps(keys.root_env))
    home = tmp_path / "site"
    envs: dict[int, dict] = {}
    try:
        eng = HubClient(hub.url, hub.token("engineer"))
        cmd = _agent_cmd(hub, home, hub.token("operator", "s1"), root)
        for v, big in ((1, 0), (2, 3 * 2**20), (3, 0)):
            env, files = _version(keys, tmp_path / "pub", v, big)
            eng.publish(env, files, build_rollback(NAME, v, 1, [keys.targets]))
            envs[v] = env
        hub.registry.set_alias("default", NAME, champion=1)
        out = subprocess.run([*cmd, "--once"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert _assert_whole(home, _state(cmd), envs) == 1

        # mid-download: v2's 3 MiB file arrives slowly; kill once part of it is on disk
        hub.registry.set_alias("default", NAME, champion=2)
        big_sha = next(
            f["sha256"] for f in envs[2]["signed"]["files"] if f["path"] == "weights.bin"
        )
        part = home / "blobs" / "partial" / f"{big_sha}.part"
        slow = [*cmd, "--interval", "0.2", "--chunk-bytes", "16384", "--chunk-pause", "0.01"]
        proc = subprocess.Popen(slow, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _kill_when(proc, lambda: part.exists() and part.stat().st_size > 256 * 1024)
        cut_at = part.stat().st_size
        assert 0 < cut_at < 3 * 2**20
        assert _assert_whole(home, _state(cmd), envs) == 1  # the old one, whole

        # restart: the download resumes from the partial file and v2 goes in
        out = subprocess.run([*cmd, "--once"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert _assert_whole(home, _state(cmd), envs) == 2

        # mid-swap: v3 is installed and loaded, the agent is killed before/at the commit
        hub.registry.set_alias("default", NAME, champion=3)
        marker = home / "swapping"
        proc = subprocess.Popen([*cmd, "--interval", "0.2", "--pause-before-commit", "5"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        _kill_when(proc, marker.exists)
        assert _assert_whole(home, _state(cmd), envs) in (2, 3)
        # and once it runs again, it finishes the swap: v3, whole, v2 kept beside it
        marker.unlink()
        out = subprocess.run([*cmd, "--once"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert _assert_whole(home, _state(cmd), envs) == 3
        kept = sorted(p.name for p in (home / "installed" / NAME).iterdir())
        assert kept == ["2", "3"]
        eng.close()
    finally:
        hub.close()
