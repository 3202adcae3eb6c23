from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from bff.domain.applications.schemas import CertificateKind, Delivery, PostAddress, RelativeCreate, ReviewCreate
from bff.domain.uploads.schemas import DocumentRead


class UnitRequest(msgspec.Struct):
    """A letter request as the unit's HR sees it: only what HR needs."""

    code: str
    applicant_name: str
    applicant_id_masked: str
    service: str
    material_name: str
    role_name: str
    requested_at: str
    expires_at: str
    state: Literal["open", "fulfilled", "declined", "expired", "withdrawn"]
    state_label: str
    reason: str | None
    document: DocumentRead | None


class UnitRequestList(msgspec.Struct):
    items: list[UnitRequest]


class Fulfilment(msgspec.Struct, forbid_unknown_fields=True):
    """One letter for one or several requests."""

    document_id: str
    codes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=50)]


class Refusal(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class NewHireTransfer(msgspec.Struct, forbid_unknown_fields=True):
    """A transfer into the unit's collective storage (拟存档性质 单位委托) for a new hire."""

    name: str
    id_number: str
    target_agency_code: str
    document_id: str
    id_type: Literal["01"] = "01"


class UnitCertificateApplication(msgspec.Struct, forbid_unknown_fields=True):
    """HR applies for an employee whose archive the unit holds in collective storage (单位委托): a certificate or
    政审材料, with the unit's 单位介绍信 (and the 政审函) attached at once."""

    kind: CertificateKind
    name: str
    id_number: str
    phone: str  # the employee's mobile, for the provincial record and the notices
    letter_document_id: str
    purpose: str = ""
    delivery: Delivery = "electronic"
    post_address: PostAddress | None = None
    relative: RelativeCreate | None = None
    review: ReviewCreate | None = None
    review_letter_document_id: str | None = None
    id_type: Literal["01"] = "01"


class UnitApplication(msgspec.Struct):
    id: str
    reference_no: str
    kind_name: str
    status: str
    status_label: str
    holder_name: str
    holder_id_masked: str
    target_agency_name: str | None
    submitted_at: str
    updated_at: str


class UnitApplicationList(msgspec.Struct):
    items: list[UnitApplication]
