"""Helpers for the e-certificate tests: sample content for every kind, a stand-in QR URL, tools."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bff.domain.certificates.render import CertificateContent

DEBIAN_PACKAGE = {
    "pdftoppm": "poppler-utils",
    "pdftotext": "poppler-utils",
    "pdfsig": "poppler-utils",
    "pdffonts": "poppler-utils",
    "pdfinfo": "poppler-utils",
    "certutil": "libnss3-tools",
}

# Stand-in for the QR token (196 characters of upper-case base32) until the token module issues
# real ones; fixed so that renders are reproducible.
FAKE_TOKEN = base64.b32encode(hashlib.shake_256(b"stand-in QR token").digest(122)).decode().rstrip("=")
VERIFY_ADDRESS = "HTTPS://DANGAN.EXAMPLE.GOV.CN/V"
VERIFY_URL = f"{VERIFY_ADDRESS}/{FAKE_TOKEN}"
VERIFICATION_CODE = "VBUMMB7UQYICZDHX"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

LONG_AGENCY = "北京市西城区人力资源和社会保障局流动人员人事档案管理服务中心"
LONG_UNIT = "中国电子信息产业集团有限公司华北区域软件与信息技术服务研究院（北京）有限公司"
PERIODS: tuple[Mapping[str, Any], ...] = (
    {
        "start": dt.date(2012, 7, 1),
        "end": dt.date(2015, 6, 30),
        "unit": "北京云帆信息技术有限公司",
        "position": "软件开发工程师",
    },
    {"start": dt.date(2015, 7, 1), "end": dt.date(2019, 2, 28), "unit": LONG_UNIT, "position": "高级工程师"},
    {"start": dt.date(2019, 3, 1), "end": None, "unit": "北京星河数据科技股份有限公司", "position": "技术经理"},
)
SAMPLE_FACTS: Mapping[str, Mapping[str, Any]] = {
    "archive_certificate": {
        "archive_no": "11010500001234",
        "nature_name": "个人委托",
        "stored_since": dt.date(2020, 7, 15),
    },
    "experience_certificate": {"archive_no": "11010500001234", "periods": list(PERIODS)},
    "kinship_certificate": {"archive_no": "11010500001234", "relation_name": "父子", "relative_name": "张建国"},
    "no_criminal_record": {"archive_no": "11010500001234"},
    "political_review": {
        "archive_no": "11010500001234",
        "review_unit_name": "中共北京市海淀区中关村科学城管理委员会机关委员会",
        "purpose_name": "入党",
        "political_status": "中国共产主义青年团团员",
        "education": "大学本科（北京理工大学计算机科学与技术专业，2012年7月毕业），工学学士学位",
        "periods": list(PERIODS),
        "rewards_and_punishments": "2018年获评北京星河数据科技股份有限公司年度优秀员工；档案中未见受处分的记录",
    },
}
KINDS = tuple(SAMPLE_FACTS)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Debian package {DEBIAN_PACKAGE.get(name, '?')})")
    return path


def fake_url(length: int = 230) -> str:
    """An upper-case verification URL of exactly ``length`` characters (base32 after the address)."""
    prefix = f"{VERIFY_ADDRESS}/"
    body = (FAKE_TOKEN * (length // len(FAKE_TOKEN) + 1))[: length - len(prefix)]
    return prefix + body


def make_content(
    kind: str = "archive_certificate", /, *, facts: Mapping[str, Any] | None = None, **changes: object
) -> CertificateContent:
    """Sample content of ``kind``; ``facts`` are merged into the sample facts, ``changes`` replace fields."""
    values: dict[str, object] = {
        "certificate_no": "CZ2026112100000123",
        "kind": kind,
        "holder_name": "张伟",
        "holder_id_type": "01",
        "holder_id_number": "110105199805120017",
        "agency_name": "北京市朝阳区人才服务中心",
        "agency_code": "11010501",
        "issued_on": dt.date(2026, 11, 21),
        "verification_code": VERIFICATION_CODE,
        "verify_address": VERIFY_ADDRESS,
        "facts": {**SAMPLE_FACTS.get(kind, {}), **(facts or {})},
    }
    values.update(changes)
    return CertificateContent(**values)  # type: ignore[arg-type]


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def pdftotext(pdf: Path) -> str:
    return subprocess.run(
        [tool("pdftotext"), "-layout", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def to_png(pdf: Path, dpi: int, stem: Path) -> Path:
    """Render page 1 with pdftoppm; returns ``stem`` + ``.png``."""
    subprocess.run([tool("pdftoppm"), "-r", str(dpi), "-png", "-singlefile", str(pdf), str(stem)], check=True)
    return stem.with_name(stem.name + ".png")
