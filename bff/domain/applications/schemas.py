from __future__ import annotations

from typing import Literal

import msgspec

ApplicationKind = Literal["archive_certificate"]
Delivery = Literal["electronic"]

KIND_NAMES = {"archive_certificate": "存档证明"}
DELIVERY_NAMES = {"electronic": "电子证明（在线下载）"}
STATUS_LABELS = {
    "submitted": "已提交",
    "forwarded": "已转送至存档机构",
    "accepted": "申请已受理",
    "completed": "已办结",
    "refused": "不予办理",
    "certificate_issued": "电子证明已签发",
}


class ApplicationCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: ApplicationKind
    purpose: str
    phone: str
    delivery: Delivery = "electronic"


class ApplicationSummary(msgspec.Struct):
    id: str
    reference_no: str
    kind: str
    kind_name: str
    status: str
    status_label: str
    submitted_at: str
    updated_at: str


class ApplicationList(msgspec.Struct):
    items: list[ApplicationSummary]


class TimelineEntry(msgspec.Struct):
    status: str
    label: str
    note: str | None
    at: str


class CertificateInfo(msgspec.Struct):
    certificate_no: str
    issued_on: str
    download_url: str


class ApplicationDetail(ApplicationSummary):
    purpose: str
    delivery: str
    delivery_name: str
    phone_masked: str
    agency_name: str | None
    notice: str | None
    timeline: list[TimelineEntry]
    certificate: CertificateInfo | None
