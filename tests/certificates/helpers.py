"""Helpers for the e-certificate tests."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bff.domain.certificates.render import CertificateContent

DEBIAN_PACKAGE = {
    "pdftoppm": "poppler-utils",
    "pdfsig": "poppler-utils",
    "pdffonts": "poppler-utils",
    "certutil": "libnss3-tools",
}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Debian package {DEBIAN_PACKAGE.get(name, '?')})")
    return path


def make_content(verify_url: str, /, **changes: object) -> CertificateContent:
    values: dict[str, object] = {
        "certificate_no": "CZ2026112100000123",
        "kind": "archive_certificate",
        "kind_name": "存档证明",
        "holder_name": "张伟",
        "holder_id_type": "01",
        "holder_id_number": "110105199805120017",
        "archive_no": "11010500001234",
        "nature_name": "个人委托",
        "stored_since": dt.date(2020, 7, 15),
        "agency_name": "北京市朝阳区人才服务中心",
        "agency_code": "11010501",
        "issued_on": dt.date(2026, 11, 21),
        "verify_url": verify_url,
    }
    values.update(changes)
    return CertificateContent(**values)  # type: ignore[arg-type]


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path
