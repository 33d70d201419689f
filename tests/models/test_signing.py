"""Signatures, manifests and the refusals a site makes: one byte changed, an unknown key, an
expired manifest, an older version without a signed rollback, key rotation."""

from __future__ import annotations

import copy
import json
import time

import pytest
from _models_builders import make_version

from plantmind.models.manifest import build_rollback, check_files, check_manifest
from plantmind.models.signing import SigningKey, TrustedRoot, TrustError, canonical_json, make_root


def test_canonical_json_is_order_free_and_compact():
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1})
    assert canonical_json({"a": 1, "b": 2}) == b'{"a":1,"b":2}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_a_good_manifest_passes_and_names_its_digest(keys, tmp_path):
    env, files, _ = make_version(keys, tmp_path, 1, [0.5, 0.5])
    m = check_manifest(TrustedRoot(keys.root_env), env)
    assert (m.name, m.version, m.kind) == ("line1-detector", 1, "detector")
    check_files(m, files)
    assert len(m.digest) == 64


def test_one_byte_changed_in_the_manifest_is_refused(keys, tmp_path):
    env, _, _ = make_version(keys, tmp_path, 1, [0.5])
    bad = copy.deepcopy(env)
    bad["signed"]["files"][0]["size"] += 1
    with pytest.raises(TrustError, match="bad-signature") as exc:
        check_manifest(TrustedRoot(keys.root_env), bad)
    assert exc.value.reason == "bad-signature"


def test_one_byte_changed_in_a_file_is_refused(keys, tmp_path):
    env, files, _ = make_version(keys, tmp_path, 1, [0.5])
    m = check_manifest(TrustedRoot(keys.root_env), env)
    data = bytearray(files["settings.json"].read_bytes())
    data[3] ^= 0x01
    files["settings.json"].write_bytes(bytes(data))
    with pytest.raises(TrustError, match="bad-hash"):
        check_files(m, files)


def test_unknown_key_and_expired_are_refused(keys, tmp_path):
    root = TrustedRoot(keys.root_env)
    env, _, _ = make_version(keys, tmp_path, 1, [0.5], signer=SigningKey.generate())
    with pytest.raises(TrustError, match="unknown-key"):
        check_manifest(root, env)
    # the root key is not a targets key either: roles are separate
    env, _, _ = make_version(keys, tmp_path / "r", 1, [0.5], signer=keys.root)
    with pytest.raises(TrustError, match="unknown-key"):
        check_manifest(root, env)
    env, _, _ = make_version(keys, tmp_path / "e", 1, [0.5], expires_s=-1.0)
    with pytest.raises(TrustError, match="expired"):
        check_manifest(root, env)


def test_an_older_version_needs_a_signed_rollback(keys, tmp_path):
    root = TrustedRoot(keys.root_env)
    env1, _, _ = make_version(keys, tmp_path, 1, [0.5])
    _, _, rb2 = make_version(keys, tmp_path, 2, [0.6])
    with pytest.raises(TrustError, match="rollback") as exc:
        check_manifest(root, env1, high_water=2)
    assert "older than v2" in str(exc.value)
    assert check_manifest(root, env1, high_water=2, rollback=rb2).version == 1
    # a statement from v2 does not cover a site that has already seen v3
    with pytest.raises(TrustError, match="rollback"):
        check_manifest(root, env1, high_water=3, rollback=rb2)
    # an unsigned or forged statement is refused
    forged = copy.deepcopy(rb2)
    forged["signed"]["floor"] = 0
    with pytest.raises(TrustError, match="bad-signature"):
        check_manifest(root, env1, high_water=2, rollback=forged)
    other = build_rollback("line1-detector", 2, 1, [SigningKey.generate()])
    with pytest.raises(TrustError, match="unknown-key"):
        check_manifest(root, env1, high_water=2, rollback=other)


def test_key_rotation_revokes_the_old_targets_key(keys, tmp_path):
    root1 = TrustedRoot(keys.root_env)
    new_root_key, new_targets = SigningKey.generate(), SigningKey.generate()
    env2 = make_root([new_root_key], [new_targets.public_hex], version=2, also_sign=[keys.root])
    root2 = root1.update(env2)
    assert root2.version == 2
    old_signed, _, _ = make_version(keys, tmp_path, 1, [0.5])
    check_manifest(root1, old_signed)
    with pytest.raises(TrustError, match="unknown-key"):
        check_manifest(root2, old_signed)
    new_signed, _, _ = make_version(keys, tmp_path / "n", 1, [0.5], signer=new_targets)
    assert check_manifest(root2, new_signed).version == 1


def test_a_rotation_without_the_old_root_keys_or_out_of_order_is_refused(keys):
    root1 = TrustedRoot(keys.root_env)
    thief = SigningKey.generate()
    with pytest.raises(TrustError, match="unknown-key"):
        root1.update(make_root([thief], [thief.public_hex], version=2))
    with pytest.raises(TrustError, match="rollback"):
        root1.update(make_root([keys.root], [keys.targets.public_hex], version=3))
    with pytest.raises(TrustError, match="rollback"):
        root1.update(keys.root_env)  # the same version again


def test_keys_round_trip_through_a_private_file(tmp_path):
    k = SigningKey.generate()
    k.save(tmp_path / "k.json")
    assert SigningKey.load(tmp_path / "k.json").keyid == k.keyid
    assert (tmp_path / "k.json").stat().st_mode & 0o077 == 0
    with pytest.raises(FileExistsError):
        k.save(tmp_path / "k.json")
    assert json.loads((tmp_path / "k.json").read_text())["keyid"] == k.keyid
    assert time.time() > 0


@pytest.mark.parametrize("path", ["../x", "a/../../x", ".hidden", "manifest.json", "/abs"])
def test_file_paths_that_leave_the_version_folder_are_refused(keys, tmp_path, path):
    env, _, _ = make_version(keys, tmp_path, 1, [0.5])
    doc = copy.deepcopy(env["signed"])
    doc["files"][0]["path"] = path
    from plantmind.models.signing import sign_envelope

    with pytest.raises(TrustError, match="malformed"):
        check_manifest(TrustedRoot(keys.root_env), sign_envelope(doc, [keys.targets]))


def test_names_that_leave_the_folder_are_refused(keys, tmp_path):
    env, _, _ = make_version(keys, tmp_path, 1, [0.5])
    doc = copy.deepcopy(env["signed"])
    doc["name"] = ".."
    from plantmind.models.signing import sign_envelope

    with pytest.raises(TrustError, match="bad name"):
        check_manifest(TrustedRoot(keys.root_env), sign_envelope(doc, [keys.targets]))
