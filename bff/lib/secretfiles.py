"""Development keys written once to ``DATA_DIR``: mode 0600, and race-free across processes sharing the directory
(each writes a private temporary file and links it into place; the first link wins, the others read it)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def create_secret_file(path: Path, content: bytes) -> bool:
    """Writes ``content`` to ``path`` unless it exists; True when this call made it."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content)
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
