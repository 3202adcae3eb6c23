"""The provincial API's objects, as docs/provincial-api.md defines them."""

from __future__ import annotations

from typing import Any

import msgspec


class Agency(msgspec.Struct):
    code: str
    region_code: str
    name: str
    address: str
    phone: str
    province: str = ""
    city: str = ""


class Unit(msgspec.Struct):
    name: str
    uscc: str


class Archive(msgspec.Struct):
    archive_no: str
    name: str
    id_type: str
    id_number: str
    nature: str
    nature_name: str
    status: str
    status_name: str
    stored_since: str
    agency: Agency
    unit: Unit | None = None


class SubmitResult(msgspec.Struct):
    application_id: str
    case_no: str
    status: str
    received_at: str = ""


class Dispatch(msgspec.Struct):
    """档案转出信息: how the current agency sent the archive, and the 机要编号 or waybill number."""

    method: str
    method_name: str
    tracking_no: str


class StatusChange(msgspec.Struct):
    seq: int
    application_id: str
    status: str
    occurred_at: str
    case_no: str | None = None
    reason: str | None = None
    kind: str | None = None
    actor: str | None = None
    agency_code: str | None = None
    dispatch: Dispatch | None = None
    letter_no: str | None = None


class StatusChanges(msgspec.Struct):
    changes: list[StatusChange]
    last_seq: int


class Applicant(msgspec.Struct):
    name: str
    id_type: str
    id_number: str
    phone: str = ""


class ProvincialTransfer(msgspec.Struct):
    target_agency_code: str
    target_nature: str
    initiated_by: str
    unit: Unit | None = None
    flow: str | None = None


class ProvincialApplication(msgspec.Struct):
    """What the provincial system holds about an application (read for one started at an agency's window)."""

    application_id: str
    case_no: str
    status: str
    received_at: str = ""
    kind: str = ""
    origin: str = "portal"
    reference_no: str = ""
    applicant: Applicant | None = None
    archive_no: str = ""
    agency_code: str = ""
    transfer: ProvincialTransfer | None = None


class ProvincialReminder(msgspec.Struct):
    """业务未办理提醒: a step past its time limit."""

    application_id: str
    step: str
    due_on: str
    overdue_days: int
    message: str
    case_no: str = ""
    kind: str = ""
    agency_code: str | None = None
    started_on: str = ""


class ReminderList(msgspec.Struct):
    reminders: list[ProvincialReminder]
    as_of: str = ""


class Holder(msgspec.Struct):
    name: str
    id_type: str
    id_number: str


class CertificateResult(msgspec.Struct):
    application_id: str
    kind: str
    certificate_no: str
    issued_on: str
    holder: Holder
    archive_no: str
    nature: str
    nature_name: str
    stored_since: str
    agency: Agency
    facts: dict[str, Any] = msgspec.field(default_factory=dict)  # what the kind states (docs/provincial-api.md)


class AgencyList(msgspec.Struct):
    agencies: list[Agency]


class ProvincialFile(msgspec.Struct):
    """A material file the provincial system holds under an application id (PUT answer and list entry)."""

    file_id: str
    material: str
    sha256: str
    size: int
    content_type: str = "application/pdf"
    received_at: str = ""


class ProvincialFileList(msgspec.Struct):
    files: list[ProvincialFile]
