"""Request and response bodies of the provincial API (docs/provincial-api.md), as msgspec structs."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, Struct

from sandbox.seed import Agency, Unit

Status = Literal[
    "submitted",
    "accepted",
    "completed",
    "refused",
    "letter_issued",
    "cannot_receive",
    "sent",
    "cannot_send",
    "received",
    "returned",
    "return_confirmed",
    "withdrawn",
    "revoked",
]
Kind = Literal[
    "archive_certificate", "experience_certificate", "kinship_certificate", "no_criminal_record", "political_review",
    "archive_transfer",
]
CERTIFICATE_KINDS: Final = frozenset({
    "archive_certificate", "experience_certificate", "kinship_certificate", "no_criminal_record", "political_review",
})
ReviewPurpose = Literal["party", "military", "employment", "abroad"]
Origin = Literal["portal", "window"]
Actor = Literal["receiving_agency", "current_agency", "applicant"]
Delivery = Literal["electronic", "pickup", "post"]
Material = Literal["unit_letter", "review_letter"]
TargetNature = Literal["1", "2"]
Initiator = Literal["person", "unit", "window"]
Flow = Literal["1", "2", "3"]
DispatchMethod = Literal["confidential", "courier"]
ReminderStep = Literal["letter", "dispatch", "filing", "result"]
FaultMode = Literal["none", "down", "slow", "error", "timeout_after_commit"]

STATUS_NAMES: Final = {
    "submitted": "已提交",
    "accepted": "申请已受理",
    "completed": "已办结",
    "refused": "不予办理",
    "letter_issued": "调函已发出",
    "cannot_receive": "档案无法接收",
    "sent": "档案已转出",
    "cannot_send": "档案无法转出",
    "received": "档案已收到",
    "returned": "档案已退档",
    "return_confirmed": "退档已确认",
    "withdrawn": "已撤回",
    "revoked": "证明已撤销",
}
KIND_NAMES: Final = {
    "archive_certificate": "存档证明", "experience_certificate": "经历证明", "kinship_certificate": "亲属关系证明",
    "no_criminal_record": "无犯罪记录证明", "political_review": "政审材料", "archive_transfer": "档案转递",
}
REVIEW_PURPOSE_NAMES: Final = {"party": "入党", "military": "参军", "employment": "录(聘)用", "abroad": "出国(境)"}
# GB/T 4761-2008 家庭关系代码: the relations a 亲属关系证明 can state
RELATION_NAMES: Final = {"10": "配偶", "20": "子", "30": "女", "51": "父亲", "52": "母亲", "71": "兄", "73": "弟",
                         "75": "姐姐", "77": "妹妹"}
DELIVERY_NAMES: Final = {"electronic": "电子证明", "pickup": "窗口领取纸质证明", "post": "邮寄纸质证明"}
MATERIAL_NAMES: Final = {"unit_letter": "单位介绍信", "review_letter": "政审函"}
INITIATOR_NAMES: Final = {"person": "本人", "unit": "单位", "window": "接收机构窗口"}
FLOW_NAMES: Final = {"1": "地市内", "2": "省内", "3": "省外"}
DISPATCH_METHOD_NAMES: Final = {"confidential": "机要通信", "courier": "快递"}
ACTOR_NAMES: Final = {"receiving_agency": "拟接收机构", "current_agency": "现存档机构", "applicant": "申请人"}
ORIGIN_NAMES: Final = {"portal": "网上申请", "window": "窗口受理"}


def status_name(kind: str, status: str) -> str:
    """The status as the person sees it; a transfer's 办结 means the archive is filed (入库)."""
    if kind == "archive_transfer" and status == "completed":
        return "申请已办结（档案已入库）"
    return STATUS_NAMES.get(status, status)


class ErrorBody(Struct):
    code: str
    message: str
    field: str | None = None


class Applicant(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(description="姓名 AAC003, at most 150 characters")]
    id_type: Annotated[str, Meta(description="证件类型 AAC043 (01 居民身份证)")]
    id_number: Annotated[str, Meta(description="证件号码 AAC044; for 01 a valid 18-character number")]
    phone: Annotated[str, Meta(description="手机号码 AAC067, 11 digits")]


class MaterialRef(Struct, forbid_unknown_fields=True):
    """A file the application relies on; it must have been PUT under the same application id first."""

    file_id: Annotated[str, Meta(description="the file_id it was PUT under")]
    material: Annotated[Material, Meta(description="unit_letter 单位介绍信 | review_letter 政审函")]
    sha256: Annotated[str, Meta(description="hex SHA-256 of the file, as PUT")]


class UnitIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(description="单位名称 AAB004, at most 300 characters")]
    uscc: Annotated[str, Meta(description="统一社会信用代码 AAB998: 18 characters, valid GB 32100 check character")]


class RelativeIn(Struct, forbid_unknown_fields=True):
    """The relative a 亲属关系证明 names."""

    relation: Annotated[
        str, Meta(description="家庭关系 GB/T 4761-2008: 10 配偶, 20 子, 30 女, 51 父亲, 52 母亲, 71/73/75/77")
    ]
    name: Annotated[str, Meta(description="the relative's name, at most 150 characters")]


class ReviewIn(Struct, forbid_unknown_fields=True, kw_only=True):
    """政审: what for, and the reviewing unit the 政审回复函 is addressed to."""

    purpose: Annotated[
        ReviewPurpose, Meta(description="party 入党 | military 参军 | employment 录(聘)用 | abroad 出国(境)")
    ]
    unit: UnitIn
    contact_name: Annotated[str, Meta(description="the reviewing unit's contact person, at most 50 characters")]
    contact_phone: Annotated[str, Meta(description="the contact's phone: a mobile or a landline with area code")]


class PostAddressIn(Struct, forbid_unknown_fields=True, kw_only=True):
    """Where a paper certificate is posted (at the applicant's cost)."""

    recipient: Annotated[str, Meta(description="收件人, at most 50 characters")]
    phone: Annotated[str, Meta(description="11-digit mobile")]
    region_code: Annotated[str, Meta(description="行政区划代码 GB/T 2260, 6 digits")]
    address: Annotated[str, Meta(description="详细地址, at most 200 characters")]
    postcode: Annotated[str, Meta(description="邮政编码, 6 digits")]


class TransferIn(Struct, forbid_unknown_fields=True, kw_only=True):
    """Where the archive goes (档案转递)."""

    target_agency_code: Annotated[str, Meta(description="机构编号 AAF001 of the receiving agency (in the directory)")]
    target_nature: Annotated[TargetNature, Meta(description="拟存档性质 ACC749: 1 单位委托, 2 个人委托")]
    unit: Annotated[UnitIn | None, Meta(description="the new employer; required when target_nature is 1")] = None
    initiated_by: Annotated[
        Initiator,
        Meta(description="who started it: person (本人) or unit (单位经办人); window only for window applications"),
    ]
    flow: Annotated[
        str | int | None,
        Meta(description="接转流向 ACC74D: 1 地市内, 2 省内, 3 省外 (from the two agencies' region codes); required"),
    ] = None


class ApplicationIn(Struct, forbid_unknown_fields=True, kw_only=True):
    application_id: Annotated[str, Meta(description="UUID; equals the Idempotency-Key header")]
    reference_no: Annotated[str, Meta(description="the portal's reference number, e.g. SQ20261121ABCD2345")]
    kind: Kind
    applicant: Applicant
    archive_no: Annotated[str, Meta(description="存档编号 ACC741 of the archive now: 6-digit region + 8-digit serial")]
    agency_code: Annotated[str, Meta(description="机构编号 AAF001 of the agency holding the archive now")]
    delivery: Annotated[
        Delivery | None, Meta(description="how the certificate is delivered; required for certificates")
    ] = "electronic"
    purpose: Annotated[
        str | None, Meta(description="what the certificate is for, at most 200 characters; required for certificates")
    ] = ""
    submitted_at: Annotated[str, Meta(description="ISO 8601 instant with offset")]
    materials: Annotated[list[MaterialRef], Meta(description="files PUT beforehand that the application relies on")] = (
        msgspec.field(default_factory=list)
    )
    transfer: Annotated[
        TransferIn | None, Meta(description="required when kind is archive_transfer, forbidden otherwise")
    ] = None
    post_address: Annotated[PostAddressIn | None, Meta(description="required when delivery is post")] = None
    relative: Annotated[
        RelativeIn | None, Meta(description="required for kinship_certificate, forbidden otherwise")
    ] = None
    review: Annotated[ReviewIn | None, Meta(description="required for political_review, forbidden otherwise")] = None
    applied_by_unit: Annotated[
        UnitIn | None, Meta(description="the unit holding the archive in collective storage, when its HR applied")
    ] = None


class StoredFile(Struct):
    """A file PUT under an application id (the answer of PUT and of the list)."""

    file_id: str
    material: Material
    sha256: str
    size: int
    content_type: str
    received_at: str


class FileList(Struct):
    files: list[StoredFile]


class SandboxFile(StoredFile):
    """A stored file with how many times it was PUT (what the exactly-once tests read)."""

    put_count: int


class SandboxFileList(Struct):
    files: list[SandboxFile]


class ApplicationState(Struct):
    application_id: str
    case_no: str
    status: Status
    received_at: str


class TransferOut(Struct):
    """A transfer's ``transfer`` object as it was submitted (``initiated_by`` ``window`` for a window one)."""

    target_agency_code: str
    target_nature: str
    unit: UnitIn | None
    initiated_by: str
    flow: str | None = None


class ApplicationDetail(ApplicationState):
    """``GET /api/applications/{id}`` and the withdraw answer: the state plus what the application is."""

    kind: Kind
    origin: Origin
    reference_no: str
    applicant: Applicant
    archive_no: str
    agency_code: str
    transfer: TransferOut | None


class Dispatch(Struct):
    """档案转出信息: how the archive travels and its 机要编号 / 邮件号."""

    method: DispatchMethod
    method_name: str
    tracking_no: str


class StatusChange(Struct):
    seq: int
    application_id: str
    case_no: str
    kind: Kind
    status: Status
    actor: Actor
    agency_code: str | None
    reason: str | None
    dispatch: Dispatch | None
    letter_no: str | None
    occurred_at: str


class StatusChanges(Struct):
    changes: list[StatusChange]
    last_seq: int


class Reminder(Struct):
    """One step past its time limit (业务未办理提醒)."""

    application_id: str
    case_no: str
    kind: Kind
    step: ReminderStep
    agency_code: str
    started_on: str
    due_on: str
    overdue_days: int
    message: str


class Reminders(Struct):
    reminders: list[Reminder]
    as_of: str


class Holder(Struct):
    name: str
    id_type: str
    id_number: str


class CertificateResult(Struct):
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
    facts: Annotated[dict[str, Any], Meta(description="what the kind states beyond the archive (see the API doc)")] = (
        msgspec.field(default_factory=dict)
    )


class ArchiveLookup(Struct, forbid_unknown_fields=True):
    id_type: str
    id_number: str


class Archive(Struct):
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
    unit: Unit | None


class AgencyList(Struct):
    agencies: list[Agency]


class Faults(Struct, forbid_unknown_fields=True):
    mode: FaultMode = "none"
    delay_seconds: Annotated[float, Meta(ge=0, le=600)] = 0.0


class Load(Struct):
    """How many ``/api/`` calls are being served now, and the most at once since the last reset."""

    in_flight: int
    max_in_flight: int
    served: int


class ActionIn(Struct, forbid_unknown_fields=True):
    """What a clerk's step may carry (all optional; each action checks what it needs)."""

    reason: str | None = None
    method: str | None = None
    tracking_no: str | None = None
    letter_no: str | None = None
    occurred_at: str | None = None


class WindowTransferIn(Struct, forbid_unknown_fields=True, kw_only=True):
    """A transfer taken at the receiving agency's window for a seeded person (sandbox only)."""

    id_type: str = "01"
    id_number: str
    target_agency_code: str
    target_nature: str
    unit: UnitIn | None = None
    phone: str | None = None
    occurred_at: Annotated[
        str | None, Meta(description="back-dates the window acceptance (ISO 8601 with offset, not in the future)")
    ] = None


class AutoAdvanceIn(Struct, forbid_unknown_fields=True):
    enabled: bool
    interval_seconds: float | None = None


class AutoAdvanceState(Struct):
    enabled: bool
    interval_seconds: float


class SandboxApplication(Struct):
    """Everything the sandbox holds about one application."""

    application_id: str
    case_no: str
    reference_no: str
    kind: str
    origin: Origin
    status: Status
    status_name: str
    reason: str | None
    received_at: str
    updated_at: str
    status_since: str
    submit_count: int
    certificate_no: str | None
    issued_on: str | None
    application: dict[str, Any]
    history: list[StatusChange]
    files: list[SandboxFile]


def to_json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()
