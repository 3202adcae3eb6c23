from __future__ import annotations

from typing import Literal

import msgspec

from bff.domain.materials.schemas import MaterialChoice, MaterialState, UnitRef

ApplicationKind = Literal["archive_certificate", "experience_certificate", "kinship_certificate",
                          "no_criminal_record", "political_review", "archive_transfer"]
CertificateKind = Literal["archive_certificate", "experience_certificate", "kinship_certificate",
                          "no_criminal_record", "political_review"]
Delivery = Literal["electronic", "post", "pickup"]
TargetNature = Literal["1", "2"]
ReviewPurpose = Literal["party", "military", "employment", "abroad"]

KIND_NAMES = {"archive_certificate": "存档证明", "experience_certificate": "经历证明",
              "kinship_certificate": "亲属关系证明", "no_criminal_record": "无犯罪记录证明",
              "political_review": "政审材料", "archive_transfer": "档案转递"}
CERTIFICATE_KINDS = frozenset(KIND_NAMES) - {"archive_transfer"}
DELIVERY_NAMES = {"electronic": "电子证明（在线下载）", "post": "邮寄纸质证明（邮费自付）",
                  "pickup": "到存档机构窗口领取"}
REVIEW_PURPOSE_NAMES = {"party": "入党", "military": "参军", "employment": "录(聘)用", "abroad": "出国(境)"}
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
    "certificate_reissued": "已补发电子证明",
    # timeline-only steps
    "letter_requested": "已请单位上传介绍信",
    "material_attached": "材料已上传",
    "letter_declined": "单位未同意出具介绍信",
    "confirmed": "本人已确认",
    "started_by_unit": "单位已发起",
    "needs_material": "需补充材料",
    # a transfer's steps (SPEC §3)
    "letter_issued": "调函已发出",
    "sent": "档案已转出",
    "received": "档案已收到",
    "cannot_receive": "档案无法接收",
    "cannot_send": "档案无法转出",
    "returned": "档案已退档",
    "return_confirmed": "退档已确认",
    "withdrawn": "已撤回",
    "revoked": "证明已被撤销",
}
# where a kind's wording differs from the common label
KIND_STATUS_LABELS = {("archive_transfer", "completed"): "申请已办结",
                      ("political_review", "certificate_issued"): "政审回复函已出具"}


class TransferCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Where the archive goes: the receiving agency (机构编号) and the storage there (拟存档性质)."""

    target_agency_code: str
    target_nature: TargetNature
    unit: UnitRef | None = None  # the new employer, when target_nature is 1 (单位委托)


class PostAddress(msgspec.Struct, forbid_unknown_fields=True):
    """Where a paper certificate is posted (at the applicant's cost)."""

    recipient: str
    phone: str
    region_code: str  # GB/T 2260, the county-level code
    address: str
    postcode: str


class RelativeCreate(msgspec.Struct, forbid_unknown_fields=True):
    """The relative a 亲属关系证明 names: the relation (GB/T 4761) and their name."""

    relation: str
    name: str


class ReviewCreate(msgspec.Struct, forbid_unknown_fields=True):
    """政审: what for, and the reviewing unit the 政审回复函 is addressed to."""

    purpose: ReviewPurpose
    unit: UnitRef
    contact_name: str
    contact_phone: str


class ApplicationCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: ApplicationKind
    phone: str
    purpose: str = ""
    delivery: Delivery = "electronic"
    materials: list[MaterialChoice] = []
    transfer: TransferCreate | None = None
    post_address: PostAddress | None = None
    relative: RelativeCreate | None = None
    review: ReviewCreate | None = None


class TransferRoute(msgspec.Struct):
    """From the agency holding the archive to the one chosen, and the 接转流向 (ACC74D) between them."""

    from_agency_code: str
    from_agency_name: str
    to_agency_code: str
    to_agency_name: str
    to_agency_address: str
    to_agency_phone: str
    flow: str
    flow_name: str


class RatingCreate(msgspec.Struct, forbid_unknown_fields=True):
    score: int
    comment: str = ""


class RatingRead(msgspec.Struct):
    score: int
    comment: str
    rated_at: str


class Confirmation(msgspec.Struct, forbid_unknown_fields=True):
    """The holder agrees to a transfer their new employer started, providing any material still needed."""

    materials: list[MaterialChoice] = []


class TransferInfo(msgspec.Struct):
    target_agency_name: str
    target_agency_address: str | None
    target_agency_phone: str | None
    from_agency_name: str | None
    from_agency_phone: str | None
    flow_name: str | None
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
    next_due_on: str | None  # YYYY-MM-DD: when the step now awaited is due
    overdue: bool


class ApplicationList(msgspec.Struct):
    items: list[ApplicationSummary]


class TimelineEntry(msgspec.Struct):
    status: str
    label: str
    note: str | None
    at: str
    actor_name: str | None  # who acted: an agency's name, 本人, the unit, or 档案服务平台
    lines: list[str]  # what the step carries: 转递方式, 机要编号, 调档函编号


class NextStep(msgspec.Struct):
    """The step the application now waits for, who takes it, and by when (working days, SPEC §3)."""

    label: str
    actor_name: str
    due_on: str | None  # YYYY-MM-DD
    overdue: bool


class ReminderInfo(msgspec.Struct):
    """The provincial system's 业务未办理提醒 about this application."""

    message: str
    due_on: str  # YYYY-MM-DD
    overdue_days: int


class Outcome(msgspec.Struct):
    """How an application ended when it did not end as asked, and what the person can do next."""

    status: str
    title: str
    reason: str | None
    advice: str


class CertificateInfo(msgspec.Struct):
    """The e-certificate issued for the application (the newest, after a reissue)."""

    certificate_no: str
    issued_on: str
    expires_on: str
    state: Literal["valid", "expired", "revoked"]
    state_label: str
    revoked_reason: str | None
    download_url: str | None  # None for a 政审回复函: the person cannot open it (SPEC §8)
    can_reissue: bool
    reissued: bool  # an earlier certificate of this application was replaced


class ReviewReply(msgspec.Struct):
    """The 政审回复函: issued to the reviewing unit; the person passes on the link and the access code."""

    unit_name: str
    share_url: str
    access_code: str
    expires_on: str
    opened: bool


class ApplicationDetail(ApplicationSummary):
    purpose: str
    delivery: str
    delivery_name: str
    phone_masked: str
    agency_name: str | None
    notice: str | None
    timeline: list[TimelineEntry]
    certificate: CertificateInfo | None
    review_reply: ReviewReply | None
    relative_name: str | None  # a 亲属关系证明's relative, with the relation
    review_unit_name: str | None
    post_address_masked: str | None
    started_by_unit: str | None  # the unit whose HR applied for the holder
    materials: list[MaterialState]
    transfer: TransferInfo | None
    can_confirm: bool
    next_step: NextStep | None
    upcoming: list[str]  # the later steps of the normal path, in order
    reminder: ReminderInfo | None
    outcome: Outcome | None
    can_withdraw: bool
    can_rate: bool
    rating: RatingRead | None
