"""Field checks before anything is forwarded to the provincial system (SPEC §6, seed 000 附件2 CY01–CY04).

Each check returns the normalised value or raises ``FieldProblem`` with a Chinese message that names the field.
``Checks`` (or ``collect()``) runs several and raises one ``ApiError`` listing every problem, so a form is told
everything at once (一次性告知) rather than one field per submission.

Identity numbers and credit codes are checked by ``python-stdnum`` (``stdnum.cn.ric``, ``stdnum.cn.uscc``), and
division codes against the table the PWA's picker offers (``bff.lib.divisions``), not by hand-written rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from types import TracebackType
from typing import ParamSpec

from stdnum.cn import ric
from stdnum.cn import uscc as uscc_number
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

from bff.lib import divisions
from bff.lib.codes import AAC043, FEMALE, ID_CARD, MALE
from bff.lib.errors import ApiError, FieldError

P = ParamSpec("P")

# Chinese names of fields, by the last part of the field's name in the API (``unit.uscc`` -> ``uscc``), and the
# defaults each check falls back to.
LABELS: dict[str, str] = {
    "id_type": "证件类型",
    "id_number": "证件号码",
    "id_card": "身份证号码",
    "name": "姓名",
    "sex": "性别",
    "birth_date": "出生日期",
    "phone": "手机号码",
    "mobile": "手机号码",
    "landline": "固定电话",
    "contact_phone": "联系电话",
    "postcode": "邮政编码",
    "uscc": "统一社会信用代码",
    "unit_uscc": "统一社会信用代码",
    "unit_name": "单位名称",
    "region_code": "行政区划代码",
    "hukou_region_code": "户口所在地址行政区划代码",
    "residence_region_code": "常住地址行政区划代码",
    "archive_no": "存档编号",
    "agency_code": "机构编号",
    "target_agency_code": "转入机构编号",
    "nature": "存档性质",
    "target_nature": "存档性质",
    "flow": "接转流向",
    "transfer_type": "接转类型",
    "out_reason": "转出原因",
    "in_reason": "转入原因",
    "purpose": "证明用途",
    "address": "地址",
    "date": "日期",
    "code": "代码",
    "text": "内容",
}

ID_MAX_LEN = 22  # AAC044, seed 000 附件2 1-5
LANDLINE_MAX_LEN = 20  # AAC307 / AAE005, seed 000 附件2 1-11, 2-14

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_DIGITS = re.compile(r"[0-9]+")
_LANDLINE = re.compile(r"[0-9-]+")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_SPACES = re.compile(r"\s+")
_INDEX = re.compile(r"\[[0-9]*\]$")


class FieldProblem(Exception):
    """One field is wrong: the field's API name and a Chinese message naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message

    def as_field_error(self) -> FieldError:
        return FieldError(self.field, self.message)

    def as_api_error(self) -> ApiError:
        return problems_error({self.field: self.message})


def problems_error(problems: Mapping[str, str]) -> ApiError:
    """One 422 answer for several fields: every field's message, joined with "；"."""
    return ApiError(422, "validation_error", "；".join(problems.values()),
                    [FieldError(field, message) for field, message in problems.items()])


class Checks:
    """Gathers problems across a form and raises them together.

    ``name = checks(text, body.name, "name", "姓名", 150)`` returns the normalised value, or ``""`` after noting the
    problem; ``checks.raise_if_any()`` (or leaving ``with Checks() as checks:``) raises one ``ApiError`` for all
    of them, one message per field (the first found). A ``FieldProblem`` raised inside the ``with`` block joins the
    others.
    """

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}

    def __call__(self, check: Callable[P, str], /, *args: P.args, **kwargs: P.kwargs) -> str:
        try:
            return check(*args, **kwargs)
        except FieldProblem as problem:
            self.add(problem.field, problem.message)
            return ""

    def add(self, field: str, message: str) -> None:
        """A problem found by a rule of the caller's own (e.g. one field required when another has a value)."""
        self.problems.setdefault(field, message)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_any(self) -> None:
        if self.problems:
            raise problems_error(self.problems)

    def __enter__(self) -> Checks:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if isinstance(exc, FieldProblem):
            self.add(exc.field, exc.message)
            raise problems_error(self.problems) from None
        if exc is None:
            self.raise_if_any()


def collect() -> Checks:
    """A new ``Checks``: ``with collect() as checks: ...``."""
    return Checks()


def label_of(field: str, default: str) -> str:
    """The Chinese name of a field: by the last part of its API name, else the check's own default."""
    leaf = _INDEX.sub("", field.rsplit(".", 1)[-1])
    return LABELS.get(leaf, LABELS.get(default, default))


def _compact(value: str) -> str:
    """Full-width characters from Chinese input methods to ASCII, and no whitespace anywhere."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", value))


def _ascii_digits(value: str, length: int | None = None) -> bool:
    return value.isascii() and _DIGITS.fullmatch(value) is not None and (length is None or len(value) == length)


def _readable(value: str) -> bool:
    """No control characters (line breaks and tabs aside) and no lone surrogates, which cannot be forwarded."""
    return not any(unicodedata.category(c) in {"Cc", "Cs"} and c not in "\t\n\r" for c in value)


def _parse_date(value: str) -> date | None:
    """``YYYYMMDD`` or ``YYYY-MM-DD`` as a real date, else None."""
    match = _ISO_DATE.fullmatch(value)
    text = "".join(match.groups()) if match else value
    if not _ascii_digits(text, 8):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# -- identity ---------------------------------------------------------------------------------------------------


def id_number(value: str, field: str = "id_number", id_type: str = ID_CARD, sex: str | None = None,
              birth: str | date | None = None, *, id_type_field: str = "id_type") -> str:
    """证件号码 AAC044 for a 证件类型 AAC043: at most 22 characters; for 01 居民身份证 an 18-character GB 11643
    number whose check digit, birth date and region are right and which agrees with ``sex`` (GB/T 2261.1) and
    ``birth`` when they are given (the 17th digit is odd for men)."""
    kind = id_type.strip()
    if kind not in AAC043:
        raise FieldProblem(id_type_field, f"{label_of(id_type_field, 'id_type')}不在代码表中，请重新选择")
    if kind != ID_CARD:
        return _other_id(value, field)
    label = LABELS["id_card"]
    number = _compact(value).upper()
    if not number:
        raise FieldProblem(field, f"请填写{label}")
    if len(number) != 18:
        raise FieldProblem(field, f"{label}应为18位，当前为{len(number)}位")
    if not _ascii_digits(number[:17]) or number[17] not in "0123456789X":
        raise FieldProblem(field, f"{label}格式不正确：前17位应为数字，最后一位为数字或X")
    try:
        number = ric.validate(number)
    except InvalidChecksum:
        raise FieldProblem(field, f"{label}的校验位不正确，请核对") from None
    except InvalidComponent:
        try:
            ric.get_birth_date(number)
        except ValidationError:
            raise FieldProblem(field, f"{label}中的出生日期不正确，请核对") from None
        raise FieldProblem(field, f"{label}中的地区码不正确，请核对") from None
    except KeyError:
        # python-stdnum 2.2 fails this way for a province prefix with no such county (e.g. 110001)
        raise FieldProblem(field, f"{label}中的地区码不正确，请核对") from None
    except ValidationError:
        raise FieldProblem(field, f"{label}格式不正确，请核对") from None
    if sex is not None:
        expected = MALE if int(number[16]) % 2 else FEMALE
        if sex.strip() != expected:
            raise FieldProblem(field, f"{label}与性别不一致")
    if birth is not None:
        born = birth if isinstance(birth, date) else _parse_date(_compact(birth))
        if born is not None and born != ric.get_birth_date(number):
            raise FieldProblem(field, f"{label}与出生日期不一致")
    return number


def _other_id(value: str, field: str) -> str:
    label = label_of(field, "id_number")
    number = value.strip()
    if not number:
        raise FieldProblem(field, f"请填写{label}")
    if not number.isprintable():
        raise FieldProblem(field, f"{label}含有无法识别的字符")
    if len(number) > ID_MAX_LEN:
        raise FieldProblem(field, f"{label}不能超过{ID_MAX_LEN}位")
    return number


def uscc(value: str, field: str = "uscc", *, required: bool = True) -> str:
    """统一社会信用代码 AAB998: 18 characters with a valid GB 32100 check character; upper-cased, spaces removed."""
    label = LABELS["uscc"]
    code = _compact(value).upper()
    if not code:
        if required:
            raise FieldProblem(field, f"请填写{label}")
        return ""
    try:
        return uscc_number.validate(code)
    except InvalidLength:
        raise FieldProblem(field, f"{label}应为18位，当前为{len(code)}位") from None
    except InvalidChecksum:
        raise FieldProblem(field, f"{label}的校验位不正确，请核对") from None
    except (InvalidFormat, ValidationError):
        raise FieldProblem(field, f"{label}格式不正确：前8位应为数字，其余为数字或大写字母（不含I、O、Z、S、V）"
                           ) from None


# -- contact ----------------------------------------------------------------------------------------------------


def mobile(value: str, field: str = "phone", *, required: bool = True) -> str:
    """手机号码 AAC067: an 11-digit mainland mobile number, 1 then 3–9."""
    label = label_of(field, "mobile")
    number = _compact(value).replace("-", "")
    if not number:
        if required:
            raise FieldProblem(field, f"请填写{label}")
        return ""
    if not _ascii_digits(number, 11):
        raise FieldProblem(field, f"{label}应为11位数字")
    if not _MOBILE.fullmatch(number):
        raise FieldProblem(field, f"{label}不正确：应以13至19开头，请核对")
    return number


def postcode(value: str, field: str = "postcode", *, required: bool = True) -> str:
    """邮政编码 AAE007: 6 digits."""
    label = label_of(field, "postcode")
    code = _compact(value)
    if not code:
        if required:
            raise FieldProblem(field, f"请填写{label}")
        return ""
    if not _ascii_digits(code, 6):
        raise FieldProblem(field, f"{label}应为6位数字")
    return code


def landline(value: str, field: str = "landline", *, required: bool = True) -> str:
    """固定电话 AAC307 / 联系电话 AAE005: digits and "-" only, at most 20."""
    label = label_of(field, "landline")
    number = _compact(value)
    if not number:
        if required:
            raise FieldProblem(field, f"请填写{label}")
        return ""
    if not number.isascii() or not _LANDLINE.fullmatch(number):
        raise FieldProblem(field, f"{label}只能包含数字和“-”")
    if len(number) > LANDLINE_MAX_LEN:
        raise FieldProblem(field, f"{label}不能超过{LANDLINE_MAX_LEN}位")
    return number


# -- dates, text, codes -----------------------------------------------------------------------------------------


def date_yyyymmdd(value: str, field: str = "date", *, not_after: date | None = None, label: str | None = None,
                  required: bool = True) -> str:
    """A date as YYYYMMDD (YYYY-MM-DD is accepted too) that exists on the calendar, returned as YYYYMMDD."""
    name = label or label_of(field, "date")
    text = _compact(value)
    if not text:
        if required:
            raise FieldProblem(field, f"请填写{name}")
        return ""
    day = _parse_date(text)
    if day is None:
        if _ascii_digits(text, 8) or _ISO_DATE.fullmatch(text):
            raise FieldProblem(field, f"{name}不是有效的日期，请核对")
        raise FieldProblem(field, f"{name}应为8位日期，如20240105")
    if not_after is not None and day > not_after:
        raise FieldProblem(field, f"{name}不能晚于{_chinese_date(not_after)}")
    return day.strftime("%Y%m%d")


def text(value: str, field: str, label: str, max_len: int, required: bool = True) -> str:
    """Free text: surrounding spaces removed, at most ``max_len`` characters (not bytes)."""
    content = value.strip()
    if not content:
        if required:
            raise FieldProblem(field, f"请填写{label}")
        return ""
    if not _readable(content):
        raise FieldProblem(field, f"{label}含有无法识别的字符")
    if len(content) > max_len:
        raise FieldProblem(field, f"{label}不能超过{max_len}个字，当前为{len(content)}个字")
    return content


def code(value: str, table: Mapping[str, str], field: str, *, label: str | None = None,
         required: bool = True) -> str:
    """A value from a code table (``bff.lib.codes``)."""
    name = label or label_of(field, "code")
    key = value.strip()
    if not key:
        if required:
            raise FieldProblem(field, f"请选择{name}")
        return ""
    if key not in table:
        raise FieldProblem(field, f"{name}不在代码表中，请重新选择")
    return key


# -- divisions and archives -------------------------------------------------------------------------------------


def region_code(value: str, field: str = "region_code", *, required: bool = True) -> str:
    """行政区划代码 (AAB301, AAB299, AAB508): 6 digits, a current division (the table the PWA's picker offers)."""
    label = label_of(field, "region_code")
    code_ = _compact(value)
    if not code_:
        if required:
            raise FieldProblem(field, f"请填写{label}")
        return ""
    if not _ascii_digits(code_, 6):
        raise FieldProblem(field, f"{label}应为6位数字")
    if divisions.name(code_) is None:
        raise FieldProblem(field, f"{label}不是有效的行政区划代码，请核对")
    return code_


def archive_no(value: str, field: str = "archive_no") -> str:
    """存档编号 ACC741: 14 digits, the 6-digit division where the archive is kept and an 8-digit serial.

    The division part may be one GB/T 2260 has since abolished: the number was given when the code was current and
    stays the archive's number, so any code GB/T 2260 has ever recorded is accepted.
    """
    label = label_of(field, "archive_no")
    number = _compact(value)
    if not number:
        raise FieldProblem(field, f"请填写{label}")
    if not _ascii_digits(number, 14):
        raise FieldProblem(field, f"{label}应为14位数字（6位行政区划代码加8位流水号）")
    if not divisions.ever_recorded(number[:6]):
        raise FieldProblem(field, f"{label}的前6位不是有效的行政区划代码，请核对")
    return number
