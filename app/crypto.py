"""Keyed hashes for lookups and AES-GCM field encryption with rotatable key ids.

Personal data is encrypted here, before it reaches the database; equality lookups (API keys,
dedup on phone and email, suppression) use HMAC-SHA256 under the secret key instead.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import PLACEHOLDER, Settings, get_settings

_NONCE = 12


class FieldCipher:
    """Blob layout: 1 byte key-id length, key id, 12-byte nonce, ciphertext+tag."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._current_id = keys[0][0]
        self._aead = {kid: AESGCM(key) for kid, key in keys}

    def encrypt(self, plaintext: str | bytes, context: str) -> bytes:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(_NONCE)
        kid = self._current_id.encode()
        sealed = self._aead[self._current_id].encrypt(nonce, data, context.encode())
        return bytes([len(kid)]) + kid + nonce + sealed

    def decrypt(self, blob: bytes, context: str) -> bytes:
        n = blob[0]
        kid = blob[1 : 1 + n].decode()
        nonce = blob[1 + n : 1 + n + _NONCE]
        return self._aead[kid].decrypt(nonce, blob[1 + n + _NONCE :], context.encode())

    def encrypt_opt(self, value: str | None, context: str) -> bytes | None:
        return None if value is None else self.encrypt(value, context)


# Published here, so it protects nothing: what the placeholder means in development and
# tests only (Settings refuses the placeholder elsewhere).
DEVELOPMENT_KEY = ("dev", hashlib.sha256(b"lead-router development key").digest())


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    if spec == PLACEHOLDER:
        return [DEVELOPMENT_KEY]
    keys = []
    for part in spec.split(","):
        kid, _, b64 = part.strip().partition(":")
        key = base64.b64decode(b64)
        if not kid or len(key) not in (16, 24, 32):
            raise ValueError("encryption key entries must be `id:base64(16|24|32 bytes)`")
        keys.append((kid, key))
    return keys


@functools.lru_cache
def _cipher_for(spec: str) -> FieldCipher:
    return FieldCipher(parse_keys(spec))


def cipher(settings: Settings | None = None) -> FieldCipher:
    return _cipher_for((settings or get_settings()).encryption_keys)


def keyed_hash(kind: str, value: str, settings: Settings | None = None) -> str:
    secret = (settings or get_settings()).secret_key.encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def new_key_material() -> str:
    """A fresh `id:base64` entry for LEAD_ROUTER_ENCRYPTION_KEYS."""
    return f"k{os.urandom(3).hex()}:" + base64.b64encode(os.urandom(32)).decode()


def new_secret_key() -> str:
    """A fresh LEAD_ROUTER_SECRET_KEY."""
    return base64.urlsafe_b64encode(os.urandom(48)).decode()


def development_key_entry() -> str:
    """The development key as a LEAD_ROUTER_ENCRYPTION_KEYS entry: listed after a real key,
    data written under it stays readable while everything new is written under the real one."""
    kid, key = DEVELOPMENT_KEY
    return f"{kid}:" + base64.b64encode(key).decode()
