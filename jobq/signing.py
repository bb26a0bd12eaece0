"""Optional HMAC-SHA256 signing of envelopes, so a worker runs only jobs made by a key holder.

A signed envelope stays one JSON object: the MAC is spliced in as the first member, ``m``,
in front of the exact text it covers::

    signed text   {"id":"…","t":"…","a":[…],"e":…}
    stored text   {"m":"<64 hex digits>","id":"…","t":"…","a":[…],"e":…}

Verifying cuts the fixed-width ``{"m":"<hex>",`` head off, puts ``{`` back, and compares
the HMAC of the result with ``hmac.compare_digest``; the envelope is then parsed from the
verified text, never from the stored one. Readers without the key (``jobq dlq list``,
``jobq job show``, Lua scripts that read the job id) see a normal JSON object with one
extra member and need no change.

Signing proves who made an envelope, not when: anyone who can write to Redis can still
replay a signed envelope they have seen. It does not hide the arguments either.
"""

from __future__ import annotations

import hashlib
import hmac

MAC_FIELD = "m"
_HEAD = '{"' + MAC_FIELD + '":"'
_MAC_HEX_LEN = 64  # SHA-256
_SPLICE = '",'
_SIGNED_PREFIX_LEN = len(_HEAD) + _MAC_HEX_LEN + len(_SPLICE)


class BadSignature(ValueError):
    """The stored text is not signed, or its MAC does not match the key."""


def as_key(key: str | bytes | None) -> bytes | None:
    """The key as bytes (str is UTF-8 encoded); None when signing is off (None or empty)."""
    if key is None:
        return None
    raw = key.encode() if isinstance(key, str) else bytes(key)
    return raw or None


def mac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def sign(text: str, key: bytes) -> str:
    """The stored form of `text`, a JSON object with at least one member."""
    if not text.startswith("{") or text.startswith("{}"):
        raise ValueError("only a non-empty JSON object can be signed")
    return _HEAD + mac_hex(key, text) + _SPLICE + text[1:]


def verified(stored: str, key: bytes) -> str:
    """The signed text inside `stored` if its MAC matches `key`; BadSignature if not."""
    mac = stored[len(_HEAD) : len(_HEAD) + _MAC_HEX_LEN]
    tail = stored[_SIGNED_PREFIX_LEN:]
    if (
        not stored.startswith(_HEAD)
        or stored[len(_HEAD) + _MAC_HEX_LEN : _SIGNED_PREFIX_LEN] != _SPLICE
        or len(mac) != _MAC_HEX_LEN
        or not tail
    ):
        raise BadSignature("entry is not signed")
    text = "{" + tail
    if not hmac.compare_digest(mac.encode(), mac_hex(key, text).encode()):
        raise BadSignature("MAC does not match (tampered, or signed with another key)")
    return text
