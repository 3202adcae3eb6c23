from __future__ import annotations

from typing import Literal

import msgspec

from bff.domain.materials.schemas import MaterialChoice, MaterialState

ApplicationKind = Literal["archive_certificate"]
Delivery = Literal["electronic"]

KIND_NAMES = {"archive_certificate": "存档证明", "archive_transfer": "档案转递"}
DELIVERY_NAMES = {"electronic": "电子证明（在线下载）"}
STATUS_LABELS = {
    "awaiting_confirmation": "等待本人确认",
    "awaiting_unit": "等待单位上传介绍信",
    "awaiting_material": "待补充材料",
    "cancelled": "已取消",
    "submitted": "已提交",
    "forwarded": "已转送至存档机构",
    "accepted": "申请已受理",
    "completed": "已办结",
    "refused": "不予办理",
    "certificate_issued": "电子证明已签发",
    # timeline-only steps
    "letter_requested": "已请单位上传介绍信",
    "material_attached": "材料已上传",
    "letter_declined": "单位未同意出具介绍信",
    "confirmed": "本人已确认",
    "started_by_unit": "单位已发起",
    "needs_material": "需补充材料",
}


class ApplicationCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: ApplicationKind
    purpose: str
    phone: str
    delivery: Delivery = "electronic"
    materials: list[MaterialChoice] = []


class Confirmation(msgspec.Struct, forbid_unknown_fields=True):
    """The holder agrees to a transfer their new employer started, providing any material still needed."""

    materials: list[MaterialChoice] = []


class TransferInfo(msgspec.Struct):
    target_agency_name: str
    target_nature_name: str
    unit_name: str | None
    started_by: str | None


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
    materials: list[MaterialState]
    transfer: TransferInfo | None
    can_confirm: bool
