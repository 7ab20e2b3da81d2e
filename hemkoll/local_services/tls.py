"""Throwaway TLS material for a local broker: a CA and a server certificate it signed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

# Long enough for any run that uses them, short enough that they are useless afterwards.
VALID_DAYS = "2"


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def tls_material(folder: Path) -> Tls:
    """A CA and a server certificate it signed, for localhost and 127.0.0.1, made by openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        folder / name for name in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = ["openssl", "req", *ec]
    sign = ["openssl", "x509", "-req"]
    subprocess.run(  # noqa: S603 (openssl with our own arguments)
        [
            *run,
            "-x509",
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            VALID_DAYS,
            "-subj",
            "/CN=hemkoll test CA",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(  # noqa: S603
        [*run, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        check=True,
        capture_output=True,
    )
    extensions = folder / "server.ext"
    extensions.write_text(
        "subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n"
    )
    subprocess.run(  # noqa: S603
        [*sign, "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", VALID_DAYS, "-extfile", extensions],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Tls(ca, cert, key)
