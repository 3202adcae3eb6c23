"""The rules of SPEC §6 that a certificate application must meet; each failure names its field."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Final

from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError

from sandbox.common import region_name
from sandbox.provincial.errors import ApiError
from sandbox.provincial.schemas import ApplicationIn
from sandbox.seed import Person, SeedArchive, agency_by_code, person_by_id

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
    if region_name(app.archive_no[:6]) is None:
        raise invalid("archive_no", "存档编号的前 6 位不是有效的行政区划代码")
    if agency_by_code(app.agency_code) is None:
        raise invalid("agency_code", "机构编号不在机构目录中")
    if not app.purpose.strip() or len(app.purpose) > 200:
        raise invalid("purpose", "请填写用途，且不能超过 200 个字")
    try:
        submitted = dt.datetime.fromisoformat(app.submitted_at)
    except ValueError as exc:
        raise invalid("submitted_at", "提交时间应为 ISO 8601 格式") from exc
    if submitted.tzinfo is None:
        raise invalid("submitted_at", "提交时间须带时区偏移，如 +08:00")


def validate_application(app: ApplicationIn) -> tuple[Person, SeedArchive]:
    """Check every field, then that the application matches the person's archive of record."""
    _check_fields(app)
    person = person_by_id(app.applicant.id_type, app.applicant.id_number)
    if person is None or person.archive is None:
        raise invalid("archive_no", "该证件号码名下没有存档信息，无法出具存档证明")
    archive = person.archive
    if app.archive_no != archive.archive_no:
        raise invalid("archive_no", "存档编号与本人的存档信息不一致")
    if app.applicant.name != person.name:
        raise invalid("applicant.name", "姓名与证件号码登记的姓名不一致")
    if app.agency_code != archive.agency_code:
        raise invalid("agency_code", "机构编号不是本人现存档机构的编号")
    return person, archive
