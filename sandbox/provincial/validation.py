"""The rules of SPEC §5 and §6 that an application must meet; each failure names its field."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Final

from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError

from bff.lib import divisions
from sandbox.provincial.errors import ApiError
from sandbox.provincial.schemas import (
    CERTIFICATE_KINDS,
    DISPATCH_METHOD_NAMES,
    FLOW_NAMES,
    KIND_NAMES,
    MATERIAL_NAMES,
    RELATION_NAMES,
    ApplicationIn,
    TransferIn,
    WindowTransferIn,
)
from sandbox.provincial.store import FileRecord
from sandbox.seed import Agency, Person, SeedArchive, agency_by_code, person_by_id

# 证件类型 AAC043 (000 四、代码表)
ID_TYPES: Final = frozenset(
    {
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
        "08",
        "09",
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "90",
        "99",
    }
)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_ARCHIVE_NO = re.compile(r"\d{14}")
_REFERENCE_NO = re.compile(r"[A-Z0-9]{1,32}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_FILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_TRACKING_NO = re.compile(r"[A-Z0-9]{6,30}")
_LETTER_NO = re.compile(r"[A-Za-z0-9-]{1,32}")
MAX_REASON: Final = 200
# what each step's reason is called (the console's labels say the same)
REASON_NAMES: Final = {
    "refuse": "不予办理原因",
    "cannot_receive": "无法接收原因",
    "cannot_send": "无法转出原因",
    "return": "退档原因",
    "revoke": "撤销原因",
}


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", message, field)


def check_id(id_type: str, id_number: str, prefix: str = "") -> None:
    """证件类型 in the code table; 证件号码 at most 22 characters, and a valid GB 11643 number for 01."""
    if id_type not in ID_TYPES:
        raise invalid(prefix + "id_type", "证件类型不在代码表中")
    if not id_number or len(id_number) > 22:
        raise invalid(prefix + "id_number", "证件号码不能为空，且不能超过 22 位")
    if id_type != "01":
        return
    try:
        ric.validate(id_number)
    except InvalidLength as exc:
        raise invalid(prefix + "id_number", "居民身份证号码应为 18 位") from exc
    except InvalidChecksum as exc:
        raise invalid(prefix + "id_number", "居民身份证号码的校验位不正确") from exc
    except InvalidComponent as exc:
        raise invalid(prefix + "id_number", "居民身份证号码中的地区码或出生日期不正确") from exc
    except ValidationError as exc:
        raise invalid(prefix + "id_number", "居民身份证号码格式不正确") from exc


def check_uscc(code: str, field: str) -> None:
    """统一社会信用代码 AAB998: 18 characters with a valid GB 32100 check character."""
    try:
        uscc.validate(code)
    except InvalidLength as exc:
        raise invalid(field, "统一社会信用代码应为 18 位") from exc
    except InvalidChecksum as exc:
        raise invalid(field, "统一社会信用代码的校验码不正确，请核对") from exc
    except ValidationError as exc:
        raise invalid(field, "统一社会信用代码格式不正确") from exc
    if code != code.strip().upper():
        raise invalid(field, "统一社会信用代码应为 18 位大写字母或数字，不含空格")


def check_file_path_ids(application_id: str, file_id: str) -> None:
    """The ids of a file PUT: they name where its bytes are kept, so only safe characters."""
    if not _UUID.fullmatch(application_id):
        raise invalid("application_id", "申请标识应为 UUID")
    if not _FILE_ID.fullmatch(file_id):
        raise invalid("file_id", "文件标识应为 1 至 64 位字母、数字、下划线或连字符")


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))


def _check_fields(app: ApplicationIn) -> None:
    try:
        uuid.UUID(app.application_id)
    except ValueError as exc:
        raise invalid("application_id", "申请标识应为 UUID") from exc
    if not _REFERENCE_NO.fullmatch(app.reference_no):
        raise invalid("reference_no", "申请编号应为 1 至 32 位大写字母或数字")
    name = app.applicant.name
    if not name.strip() or len(name) > 150:
        raise invalid("applicant.name", "姓名不能为空，且不能超过 150 个字")
    check_id(app.applicant.id_type, app.applicant.id_number, "applicant.")
    if not _MOBILE.fullmatch(app.applicant.phone):
        raise invalid("applicant.phone", "手机号码应为 11 位数字的手机号")
    if not _ARCHIVE_NO.fullmatch(app.archive_no):
        raise invalid("archive_no", "存档编号应为 14 位数字：6 位行政区划代码加 8 位流水号")
    if not divisions.ever_recorded(app.archive_no[:6]):
        raise invalid("archive_no", "存档编号的前 6 位不是有效的行政区划代码")
    if agency_by_code(app.agency_code) is None:
        raise invalid("agency_code", "机构编号不在机构目录中")
    purpose = app.purpose or ""
    if len(purpose) > 200:
        raise invalid("purpose", "用途不能超过 200 个字")
    if app.kind in CERTIFICATE_KINDS:
        if not purpose.strip() and app.kind != "political_review":
            raise invalid("purpose", "请填写用途，且不能超过 200 个字")
        if app.delivery is None:
            raise invalid("delivery", "请选择证明的领取方式")
    _check_certificate_fields(app)
    try:
        submitted = dt.datetime.fromisoformat(app.submitted_at)
    except ValueError as exc:
        raise invalid("submitted_at", "提交时间应为 ISO 8601 格式") from exc
    if submitted.tzinfo is None:
        raise invalid("submitted_at", "提交时间须带时区偏移，如 +08:00")


def _check_certificate_fields(app: ApplicationIn) -> None:
    """The objects only some kinds carry: the post address, the relative, the review, the applying unit."""
    if app.delivery == "post":
        if app.post_address is None:
            raise invalid("post_address", "邮寄纸质证明须填写邮寄地址")
        post = app.post_address
        if not post.recipient.strip() or len(post.recipient) > 50:
            raise invalid("post_address.recipient", "收件人不能为空，且不能超过 50 个字")
        if not _MOBILE.fullmatch(post.phone):
            raise invalid("post_address.phone", "收件人电话应为 11 位数字的手机号")
        if not re.fullmatch(r"[0-9]{6}", post.region_code) or divisions.name(post.region_code) is None:
            raise invalid("post_address.region_code", "所在地区不是有效的行政区划代码")
        if not post.address.strip() or len(post.address) > 200:
            raise invalid("post_address.address", "详细地址不能为空，且不能超过 200 个字")
        if not re.fullmatch(r"[0-9]{6}", post.postcode):
            raise invalid("post_address.postcode", "邮政编码应为 6 位数字")
    elif app.post_address is not None:
        raise invalid("post_address", "只有邮寄纸质证明才填写邮寄地址")
    if (app.kind == "kinship_certificate") != (app.relative is not None):
        raise invalid("relative", "亲属关系证明须填写亲属，其他申请不填")
    if app.relative is not None:
        if app.relative.relation not in RELATION_NAMES:
            raise invalid("relative.relation", "亲属关系不在 GB/T 4761 家庭关系代码中")
        if not app.relative.name.strip() or len(app.relative.name) > 150:
            raise invalid("relative.name", "亲属姓名不能为空，且不能超过 150 个字")
    if (app.kind == "political_review") != (app.review is not None):
        raise invalid("review", "政审材料须填写政审单位，其他申请不填")
    if app.review is not None:
        if not app.review.unit.name.strip() or len(app.review.unit.name) > 300:
            raise invalid("review.unit.name", "政审单位名称不能为空，且不能超过 300 个字")
        check_uscc(app.review.unit.uscc, "review.unit.uscc")
        if not app.review.contact_name.strip() or len(app.review.contact_name) > 50:
            raise invalid("review.contact_name", "联系人不能为空，且不能超过 50 个字")
        if not re.fullmatch(r"1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}", app.review.contact_phone):
            raise invalid("review.contact_phone", "联系电话应为手机号或带区号的固定电话")
    if app.applied_by_unit is not None:
        if app.kind not in CERTIFICATE_KINDS:
            raise invalid("applied_by_unit", "单位代办只适用于证明和政审材料")
        check_uscc(app.applied_by_unit.uscc, "applied_by_unit.uscc")


def transfer_flow(from_region: str, to_region: str) -> str:
    """接转流向 ACC74D: 1 地市内 (same first 4 digits of the region codes), 2 省内 (first 2), 3 省外."""
    if from_region[:4] == to_region[:4]:
        return "1"
    if from_region[:2] == to_region[:2]:
        return "2"
    return "3"


def _check_flow(app: ApplicationIn, transfer: TransferIn, target: Agency) -> None:
    current = agency_by_code(app.agency_code)
    if current is None:  # checked before; the directory is fixed
        raise invalid("agency_code", "机构编号不在机构目录中")
    expected = transfer_flow(current.region_code, target.region_code)
    meaning = f"{current.name}转入{target.name}为「{FLOW_NAMES[expected]}」，接转流向应为 {expected}"
    if transfer.flow is None:
        raise invalid("transfer.flow", f"请填写接转流向（1 地市内、2 省内、3 省外）：{meaning}")
    if not isinstance(transfer.flow, str) or transfer.flow not in FLOW_NAMES:
        raise invalid("transfer.flow", "接转流向应为代码表中的 \"1\"（地市内）、\"2\"（省内）或 \"3\"（省外）")
    if transfer.flow != expected:
        raise invalid("transfer.flow", f"接转流向不正确：{meaning}")


def _check_transfer(app: ApplicationIn) -> TransferIn | None:
    transfer = app.transfer
    if app.kind != "archive_transfer":
        if transfer is not None:
            raise invalid("transfer", "只有档案转递申请才填写转递信息")
        return None
    if transfer is None:
        raise invalid("transfer", "档案转递申请须填写转递信息：转入机构、拟存档性质、发起方")
    target = agency_by_code(transfer.target_agency_code)
    if target is None:
        raise invalid("transfer.target_agency_code", "转入机构编号不在机构目录中")
    _check_flow(app, transfer, target)
    if transfer.target_nature == "1":
        if transfer.unit is None:
            raise invalid("transfer.unit", "拟存档性质为单位委托时，须填写新单位的名称和统一社会信用代码")
        name = transfer.unit.name
        if not name.strip() or len(name) > 300:
            raise invalid("transfer.unit.name", "单位名称不能为空，且不能超过 300 个字")
        check_uscc(transfer.unit.uscc, "transfer.unit.uscc")
    elif transfer.unit is not None:
        raise invalid("transfer.unit", "拟存档性质为个人委托时不填写单位")
    if transfer.initiated_by == "window":
        raise invalid("transfer.initiated_by", "发起方为 window 的只能是接收机构窗口受理的申请，网上申请应为本人或单位")
    if transfer.initiated_by == "unit" and transfer.target_nature != "1":
        raise invalid("transfer.initiated_by", "由单位发起的档案转递，拟存档性质应为单位委托")
    return transfer


def _check_material_refs(app: ApplicationIn, files: dict[str, FileRecord]) -> None:
    """Each listed file was PUT under this application id, with this checksum and this kind of material."""
    seen: set[str] = set()
    for i, ref in enumerate(app.materials):
        prefix = f"materials[{i}]."
        if ref.file_id in seen:
            raise invalid(prefix + "file_id", "同一个文件在材料中列了两次")
        seen.add(ref.file_id)
        if not is_sha256(ref.sha256):
            raise invalid(prefix + "sha256", "文件校验值应为 64 位十六进制的 SHA-256")
        stored = files.get(ref.file_id)
        if stored is None:
            raise invalid(prefix + "file_id", "材料文件尚未上传到本申请下，请先上传文件再提交申请")
        if stored.sha256 != ref.sha256.lower():
            raise invalid(prefix + "file_id", "材料文件的校验值与已上传的文件不一致，请重新上传")
        if stored.material != ref.material:
            name = MATERIAL_NAMES.get(stored.material, stored.material)
            raise invalid(prefix + "material", f"该文件上传时登记为「{name}」，与申请中填写的材料类型不一致")


def letters_needed(app: ApplicationIn, archive: SeedArchive) -> list[str]:
    """The units whose 单位介绍信 the application needs (SPEC §5), described in Chinese; one letter each."""
    units: dict[str, str] = {}  # uscc -> description; a unit that is both old and new employer writes one letter
    if app.kind == "archive_transfer" and app.transfer is not None:
        if archive.nature == "1" and archive.unit is not None:
            units.setdefault(archive.unit.uscc, f"现存档单位（{archive.unit.name}）")
        if app.transfer.target_nature == "1" and app.transfer.unit is not None:
            unit = app.transfer.unit
            units.setdefault(unit.uscc, f"新单位（{unit.name}）")
    elif archive.nature == "1" and archive.unit is not None:
        units[archive.unit.uscc] = f"存档单位（{archive.unit.name}）"
    return list(units.values())


def _service_name(kind: str) -> str:
    return "档案转递" if kind == "archive_transfer" else f"出具{KIND_NAMES.get(kind, '证明')}"


def _check_materials_complete(app: ApplicationIn, archive: SeedArchive) -> None:
    """What SPEC §5 asks for, told all at once (一次性告知): the letters, and the 政审函 for a political review."""
    needed = letters_needed(app, archive)
    have = sum(1 for ref in app.materials if ref.material == "unit_letter")
    missing: list[str] = []
    if have < len(needed):
        if len(needed) == 1:
            wanted = f"{needed[0]}出具的单位介绍信"
        else:
            wanted = f"{len(needed)} 份单位介绍信：{'、'.join(needed)}各一份"
        missing.append(f"{wanted}（已提交 {have} 份）")
    if app.kind == "political_review" and not any(ref.material == "review_letter" for ref in app.materials):
        missing.append("政审单位出具的政审函")
    if not missing:
        return
    reason = "存档性质为单位委托，" if app.kind in CERTIFICATE_KINDS and needed else ""
    raise invalid("materials", f"{reason}{_service_name(app.kind)}需要{'，以及'.join(missing)}，请补齐后再提交")


def validate_application(app: ApplicationIn, files: list[FileRecord]) -> tuple[Person, SeedArchive]:
    """Check every field, then the application against the person's archive of record and the files PUT."""
    _check_fields(app)
    transfer = _check_transfer(app)
    _check_material_refs(app, {f.file_id: f for f in files})
    person = person_by_id(app.applicant.id_type, app.applicant.id_number)
    if person is None or person.archive is None:
        raise invalid("archive_no", f"该证件号码名下没有存档信息，无法{_service_name(app.kind)}")
    archive = person.archive
    if app.archive_no != archive.archive_no:
        raise invalid("archive_no", "存档编号与本人的存档信息不一致")
    if app.applicant.name != person.name:
        raise invalid("applicant.name", "姓名与证件号码登记的姓名不一致")
    if app.agency_code != archive.agency_code:
        raise invalid("agency_code", "机构编号不是本人现存档机构的编号")
    if transfer is not None and transfer.target_agency_code == archive.agency_code:
        raise invalid("transfer.target_agency_code", "转入机构与现存档机构相同，无需转递")
    if app.applied_by_unit is not None and (archive.nature != "1" or archive.unit is None
                                            or archive.unit.uscc != app.applied_by_unit.uscc):
        raise invalid("applied_by_unit", "该员工的档案不是由本单位委托存档，单位不能代为申请")
    _check_materials_complete(app, archive)
    return person, archive


# --- the records a clerk's step carries ----------------------------------------------------------------------


def check_reason(action: str, reason: str | None) -> str:
    """A reason of 1–200 characters (surrounding blanks do not count)."""
    name = REASON_NAMES.get(action, "原因")
    text = (reason or "").strip()
    if not text:
        raise invalid("reason", f"请填写{name}（1 至 {MAX_REASON} 个字）")
    if len(text) > MAX_REASON:
        raise invalid("reason", f"{name}不能超过 {MAX_REASON} 个字，现有 {len(text)} 个字")
    return text


def check_dispatch(method: str | None, tracking_no: str | None) -> dict[str, str]:
    """档案转出信息: 转递方式 in the code table and a 机要编号 / 邮件号 of 6–30 upper-case letters or digits."""
    chosen = (method or "").strip()
    if chosen not in DISPATCH_METHOD_NAMES:
        raise invalid("method", "请选择转递方式：confidential（机要通信）或 courier（快递）")
    number = (tracking_no or "").strip()
    if not number:
        raise invalid("tracking_no", "请填写机要编号或邮件号")
    if not _TRACKING_NO.fullmatch(number):
        raise invalid(
            "tracking_no", f"机要编号/邮件号「{number[:40]}」不正确：应为 6 至 30 位大写字母或数字，不含空格和符号"
        )
    return {"method": chosen, "method_name": DISPATCH_METHOD_NAMES[chosen], "tracking_no": number}


def check_letter_no(letter_no: str | None) -> str | None:
    """调档函编号: optional (the system numbers the letter when it is left out), else 1–32 letters, digits or -."""
    number = (letter_no or "").strip()
    if not number:
        return None
    if not _LETTER_NO.fullmatch(number):
        raise invalid("letter_no", "调档函编号应为 1 至 32 位字母、数字或连字符（-）")
    return number


def check_occurred_at(value: str | None, field: str = "occurred_at") -> dt.datetime | None:
    """When a step happened, to back-date it: ISO 8601 with an offset, not in the future."""
    if value is None or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise invalid(field, "发生时间应为 ISO 8601 格式，如 2026-11-21T10:00:00+08:00") from exc
    if moment.tzinfo is None:
        raise invalid(field, "发生时间须带时区偏移，如 +08:00")
    if moment > dt.datetime.now(moment.tzinfo):
        raise invalid(field, "发生时间不能晚于现在")
    return moment


def check_window_transfer(data: WindowTransferIn) -> tuple[Person, SeedArchive, Agency, Agency]:
    """A transfer taken at the receiving agency's window: a seeded person with an archive held elsewhere."""
    check_id(data.id_type, data.id_number)
    if data.phone is not None and data.phone.strip() and not _MOBILE.fullmatch(data.phone.strip()):
        raise invalid("phone", "手机号码应为 11 位数字的手机号")
    person = person_by_id(data.id_type, data.id_number)
    if person is None:
        raise invalid("id_number", "没有查到该证件号码的存档人员")
    archive = person.archive
    if archive is None:
        raise invalid("id_number", f"{person.name}名下没有存档信息，无法办理档案转递")
    target = agency_by_code(data.target_agency_code)
    if target is None:
        raise invalid("target_agency_code", "拟接收机构编号不在机构目录中")
    if data.target_agency_code == archive.agency_code:
        raise invalid("target_agency_code", f"{person.name}的档案已存放在{target.name}，无需转递")
    current = agency_by_code(archive.agency_code)
    if current is None:  # the seed is broken; never happens with the shipped data
        raise ApiError(500, "internal_error", "机构目录中缺少该机构")
    if data.target_nature not in ("1", "2"):
        raise invalid("target_nature", "拟存档性质应为 1（单位委托）或 2（个人委托）")
    if data.target_nature == "1":
        if data.unit is None:
            raise invalid("unit", "拟存档性质为单位委托时，须填写新单位的名称和统一社会信用代码")
        name = data.unit.name
        if not name.strip() or len(name) > 300:
            raise invalid("unit.name", "单位名称不能为空，且不能超过 300 个字")
        check_uscc(data.unit.uscc, "unit.uscc")
    elif data.unit is not None:
        raise invalid("unit", "拟存档性质为个人委托时不填写单位")
    return person, archive, current, target
