from __future__ import annotations

from typing import Literal

import msgspec

from bff.domain.uploads.schemas import DocumentRead, Material

Role = Literal["current_unit", "new_unit", "review_unit"]
ROLE_NAMES: dict[str, str] = {"current_unit": "现存档单位", "new_unit": "新就业单位", "review_unit": "政审单位"}
REQUEST_STATE_LABELS: dict[str, str] = {
    "open": "等待单位上传", "fulfilled": "单位已上传", "declined": "单位未同意出具", "expired": "请求已过期",
    "withdrawn": "已撤回",
}
MATERIAL_STATE_LABELS: dict[str, str] = {
    "attached": "已上传", "requested": "等待单位上传", "declined": "单位未同意出具",
    "expired": "请求已过期，请重新发起",
    "missing": "待上传",
}


class UnitRef(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    uscc: str


class MaterialChoice(msgspec.Struct, forbid_unknown_fields=True):
    """How one needed piece of material is provided: a document the applicant uploaded, or a request to a unit."""

    material: Material
    role: Role
    document_id: str | None = None
    ask_unit: UnitRef | None = None


class MaterialNeed(msgspec.Struct):
    material: str
    material_name: str
    role: str
    role_name: str
    unit: UnitRef | None
    hint: str


class Requirements(msgspec.Struct):
    """Everything the application needs, told at once (一次性告知)."""

    materials: list[MaterialNeed]
    notice: str


class LetterRequestInfo(msgspec.Struct):
    code: str
    link: str
    unit_name: str
    uscc: str
    state: Literal["open", "fulfilled", "declined", "expired", "withdrawn"]
    state_label: str
    reason: str | None
    requested_at: str
    expires_at: str


class MaterialState(msgspec.Struct):
    material: str
    material_name: str
    role: str
    role_name: str
    state: Literal["attached", "requested", "declined", "expired", "missing"]
    state_label: str
    document: DocumentRead | None
    request: LetterRequestInfo | None


class MaterialsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Provide what is still missing (after a unit declined, a request expired, or to upload instead)."""

    materials: list[MaterialChoice]
