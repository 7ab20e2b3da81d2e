"""Device MQTT credentials: generated secrets and Mosquitto-compatible password hashes.

The registry stores only the hash, in the format of Mosquitto's password file
(``$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>``), so the broker's password file is
written straight from the registry and no plaintext is ever kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# Mosquitto's own default (mosquitto_passwd). The secrets hashed here are 256-bit random tokens,
# not human passwords, so key stretching adds nothing against guessing; a higher count would
# only cost the broker CPU on every device reconnect.
PBKDF2_ITERATIONS = 101
_SALT_BYTES = 12  # Mosquitto's salt length
_SECRET_BYTES = 32


def new_secret() -> str:
    """A one-time MQTT password for a device (shown once, never stored)."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def hash_secret(secret: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_secret(secret: str, hashed: str) -> bool:
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    computed = hashlib.pbkdf2_hmac(
        "sha512", secret.encode("utf-8"), base64.b64decode(salt), int(iterations)
    )
    return hmac.compare_digest(computed, base64.b64decode(digest))
