"""What a verifier does with a PDF: trust a CA in an NSS database and ask poppler's pdfsig."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def nss_db(directory: Path, ca_pem: Path | None = None) -> str:
    """An NSS database (for pdfsig) that trusts ``ca_pem``, or nothing when it is None."""
    certutil = shutil.which("certutil") or "certutil"
    directory.mkdir(parents=True, exist_ok=True)
    db = f"sql:{directory}"
    subprocess.run([certutil, "-N", "--empty-password", "-d", db], check=True, capture_output=True)
    if ca_pem is not None:
        subprocess.run([certutil, "-A", "-n", "ca", "-t", "CT,C,C", "-i", str(ca_pem), "-d", db], check=True,
                       capture_output=True)
    return db


def pdfsig(pdf: Path, db: str) -> str:
    done = subprocess.run(["pdfsig", "-nssdir", db, str(pdf)], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr
