"""Invitation tokens: random, single-use, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    """A URL-safe token for an invitation link (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored and looked up: the token itself never reaches the database."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
