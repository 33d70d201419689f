"""Ed25519 signatures over canonical JSON, and the trust root that says which keys may sign.

This module owns the signed envelope (``{"signed": {...}, "signatures": [{"keyid", "sig"}]}``),
key files and the root metadata, modelled on The Update Framework (TUF):

* the **root** document (``type: root``) lists public keys and, per role (``root``,
  ``targets``), the key ids allowed to sign and how many signatures are needed (threshold);
  it has a version that only increases and an expiry;
* the **targets** role signs model manifests and rollback statements;
* **key rotation**: root version N+1 must carry a threshold of signatures of the keys that
  root N trusts for ``root`` *and* of its own root keys; a site walks the chain one version at
  a time (:meth:`TrustedRoot.update`), so a stolen targets key is revoked by a new root that
  no longer lists it, and a stolen old root key cannot make a new root on its own.

Canonical JSON: keys sorted, no whitespace, UTF-8, no NaN; the bytes signed are the
canonical form of ``signed``, so re-serialising a document never breaks its signature.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "SigningKey",
    "TrustError",
    "TrustedRoot",
    "canonical_json",
    "make_root",
    "sign_envelope",
    "verify_envelope",
]


class TrustError(ValueError):
    """A document refused: ``reason`` is a short fixed code (``bad-signature``,
    ``unknown-key``, ``expired``, ``rollback``, ...), the message says what was wrong."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {message}")


def _check_floats(obj: Any) -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError("canonical JSON has no NaN or infinity")
    if isinstance(obj, dict):
        for v in obj.values():
            _check_floats(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _check_floats(v)


def canonical_json(obj: Any) -> bytes:
    """The canonical bytes of ``obj``: sorted keys, no whitespace, UTF-8."""
    _check_floats(obj)
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def keyid_of(public_hex: str) -> str:
    """A key's id: the SHA-256 of its raw public bytes, hex (the first 16 characters)."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key with its id; saved as JSON (``{"keyid", "public", "private"}``)
    in a file only its owner can read."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_hex(self) -> str:
        return self.private.public_key().public_bytes_raw().hex()

    @property
    def keyid(self) -> str:
        return keyid_of(self.public_hex)

    def sign(self, data: bytes) -> str:
        return self.private.sign(data).hex()

    def save(self, path: Path) -> None:
        """Write the key to ``path`` (mode 0600), refusing to overwrite an existing key."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "keyid": self.keyid,
            "public": self.public_hex,
            "private": self.private.private_bytes_raw().hex(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        try:
            raw = bytes.fromhex(doc["private"])
        except (KeyError, ValueError, TypeError):
            raise ValueError(f"{path}: not a plantmind signing key") from None
        return cls(Ed25519PrivateKey.from_private_bytes(raw))


def sign_envelope(signed: dict[str, Any], keys: list[SigningKey]) -> dict[str, Any]:
    """``signed`` wrapped with one signature per key over its canonical JSON."""
    data = canonical_json(signed)
    return {"signed": signed, "signatures": [{"keyid": k.keyid, "sig": k.sign(data)} for k in keys]}


def verify_envelope(
    envelope: Any, keys: dict[str, str], keyids: list[str], threshold: int, what: str
) -> dict[str, Any]:
    """The ``signed`` part of ``envelope`` once ``threshold`` distinct keys of ``keyids``
    (public hex in ``keys``) have signed it; :class:`TrustError` otherwise, naming why."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signed"), dict):
        raise TrustError("malformed", f"{what} is not a signed document")
    sigs = envelope.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise TrustError("unsigned", f"{what} carries no signature")
    data = canonical_json(envelope["signed"])
    good: set[str] = set()
    unknown: list[str] = []
    bad: list[str] = []
    for s in sigs:
        if not isinstance(s, dict):
            continue
        kid, sig = str(s.get("keyid", "")), str(s.get("sig", ""))
        if kid not in keyids or kid not in keys:
            unknown.append(kid)
            continue
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(keys[kid])).verify(
                bytes.fromhex(sig), data
            )
            good.add(kid)
        except (InvalidSignature, ValueError):
            bad.append(kid)
    if len(good) >= threshold:
        return envelope["signed"]
    if bad:
        raise TrustError(
            "bad-signature",
            f"{what}: the signature of key {bad[0]} does not match its content "
            "(changed after signing)",
        )
    if unknown:
        raise TrustError("unknown-key", f"{what} is signed by key {unknown[0]!r}, not trusted")
    raise TrustError("threshold", f"{what}: {len(good)} of {threshold} signatures")


def make_root(
    root_keys: list[SigningKey],
    targets_public: list[str],
    *,
    version: int = 1,
    expires: float | None = None,
    root_threshold: int = 1,
    targets_threshold: int = 1,
    also_sign: list[SigningKey] | None = None,
) -> dict[str, Any]:
    """A signed root document trusting ``root_keys`` for root and ``targets_public`` (public
    hex) for targets. For a rotation, ``also_sign`` are the previous root's keys."""
    keys = {k.keyid: k.public_hex for k in root_keys}
    keys.update({keyid_of(p): p for p in targets_public})
    signed = {
        "type": "root",
        "version": int(version),
        "expires": float(expires if expires is not None else time.time() + 365 * 86400),
        "keys": keys,
        "roles": {
            "root": {"keyids": [k.keyid for k in root_keys], "threshold": root_threshold},
            "targets": {
                "keyids": [keyid_of(p) for p in targets_public],
                "threshold": targets_threshold,
            },
        },
    }
    signers = list(root_keys) + [k for k in (also_sign or []) if k.keyid not in keys]
    return sign_envelope(signed, signers)


class TrustedRoot:
    """The root a site trusts (its copy came with the site's installation, out of band)."""

    def __init__(self, envelope: dict[str, Any], *, now: float | None = None) -> None:
        signed = envelope.get("signed") if isinstance(envelope, dict) else None
        if not isinstance(signed, dict) or signed.get("type") != "root":
            raise TrustError("malformed", "not a root document")
        role = signed["roles"]["root"]
        verify_envelope(envelope, signed["keys"], role["keyids"], role["threshold"], "root")
        self.envelope = envelope
        self.signed: dict[str, Any] = signed

    @classmethod
    def load(cls, path: Path) -> TrustedRoot:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @property
    def version(self) -> int:
        return int(self.signed["version"])

    def role(self, name: str) -> tuple[list[str], int]:
        r = self.signed["roles"][name]
        return list(r["keyids"]), int(r["threshold"])

    def verify(self, envelope: Any, role: str, what: str) -> dict[str, Any]:
        """The signed part of ``envelope`` if ``role``'s keys signed it."""
        keyids, threshold = self.role(role)
        return verify_envelope(envelope, self.signed["keys"], keyids, threshold, what)

    def check_expiry(self, now: float | None = None) -> None:
        if float(self.signed["expires"]) < (time.time() if now is None else now):
            raise TrustError("expired", f"root version {self.version} has expired")

    def update(self, new: dict[str, Any]) -> TrustedRoot:
        """The next root, once signed by this root's root keys and by its own (rotation)."""
        signed = new.get("signed") if isinstance(new, dict) else None
        if not isinstance(signed, dict) or signed.get("type") != "root":
            raise TrustError("malformed", "not a root document")
        if int(signed.get("version", 0)) != self.version + 1:
            raise TrustError(
                "rollback",
                f"root version {signed.get('version')} offered after {self.version} "
                f"(only {self.version + 1} may follow)",
            )
        self.verify(new, "root", f"root v{signed['version']} (by the keys of v{self.version})")
        return TrustedRoot(new)
