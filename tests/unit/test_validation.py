"""Field checks: examples for each, and properties against python-stdnum's own checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import stdnum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from bff.lib import codes, divisions
from bff.lib import validation as v
from bff.lib.errors import ApiError
from bff.lib.validation import Checks, FieldProblem, collect

FEMALE_ID = "11010519491231002X"  # GB 11643's example: Beijing 朝阳区, born 1949-12-31, 17th digit 2 (even)
USCC = "91110000600037341L"  # python-stdnum's example


def male_id() -> str:
    body = "44030519900101123"  # Shenzhen 南山区, born 1990-01-01, 17th digit 3 (odd)
    return body + ric.calc_check_digit(body + "0")


def problem(call: object, *args: object, **kwargs: object) -> FieldProblem:
    assert callable(call)
    with pytest.raises(FieldProblem) as caught:
        call(*args, **kwargs)
    return caught.value


def _division_codes() -> tuple[list[str], list[str]]:
    """Every code in python-stdnum's GB/T 2260 table, split by whether the portal's division table has it now."""
    current: list[str] = []
    ended: list[str] = []
    province = ""
    for line in (Path(stdnum.__file__).parent / "cn" / "loc.dat").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
            continue
        code = province + line.split()[0]
        (current if divisions.name(code) else ended).append(code)
    return current, ended


CURRENT_DIVISIONS, ENDED_DIVISIONS = _division_codes()


# -- id_number ---------------------------------------------------------------------------------------------------


def test_a_valid_id_card_number_is_normalised() -> None:
    assert v.id_number(FEMALE_ID) == FEMALE_ID
    assert v.id_number(" 11010519491231002x ") == FEMALE_ID
    assert v.id_number("110105 19491231 002X") == FEMALE_ID
    assert v.id_number("１１０１０５１９４９１２３１００２Ｘ") == FEMALE_ID  # full-width input


@pytest.mark.parametrize(("value", "message"), [
    ("", "请填写身份证号码"),
    ("110105194912310", "身份证号码应为18位，当前为15位"),
    ("11010519491231002XX", "身份证号码应为18位，当前为19位"),
    ("11010519491231002A", "身份证号码格式不正确：前17位应为数字，最后一位为数字或X"),
    ("1101051949123100X2", "身份证号码格式不正确：前17位应为数字，最后一位为数字或X"),
    ("110105194912310021", "身份证号码的校验位不正确，请核对"),
])
def test_id_card_problems(value: str, message: str) -> None:
    found = problem(v.id_number, value, "id_number")
    assert (found.field, found.message) == ("id_number", message)


def test_id_card_with_an_impossible_birth_date() -> None:
    body = "11010519491331002"
    found = problem(v.id_number, body + ric.calc_check_digit(body + "0"))
    assert found.message == "身份证号码中的出生日期不正确，请核对"


def test_id_card_with_an_unknown_region() -> None:
    body = "99010519491231002"
    found = problem(v.id_number, body + ric.calc_check_digit(body + "0"))
    assert found.message == "身份证号码中的地区码不正确，请核对"


def test_id_card_with_a_province_but_no_such_county() -> None:
    body = "11000110000101000"
    number = body + ric.calc_check_digit(body + "0")
    with pytest.raises(KeyError):  # python-stdnum 2.2 trips over it; the portal must not
        ric.is_valid(number)
    assert problem(v.id_number, number).message == "身份证号码中的地区码不正确，请核对"


def test_id_card_agrees_with_sex_and_birth_date() -> None:
    assert v.id_number(FEMALE_ID, sex="2", birth="19491231") == FEMALE_ID
    assert v.id_number(FEMALE_ID, sex="2", birth=date(1949, 12, 31)) == FEMALE_ID
    assert v.id_number(male_id(), sex="1", birth="1990-01-01") == male_id()
    assert problem(v.id_number, FEMALE_ID, sex="1").message == "身份证号码与性别不一致"
    assert problem(v.id_number, male_id(), sex="2").message == "身份证号码与性别不一致"
    assert problem(v.id_number, male_id(), sex="9").message == "身份证号码与性别不一致"
    assert problem(v.id_number, FEMALE_ID, birth="19491230").message == "身份证号码与出生日期不一致"
    assert problem(v.id_number, FEMALE_ID, birth=date(1950, 12, 31)).message == "身份证号码与出生日期不一致"


def test_an_unreadable_birth_date_is_left_to_the_birth_date_field() -> None:
    assert v.id_number(FEMALE_ID, birth="not a date") == FEMALE_ID


def test_other_id_types_only_have_a_length_limit() -> None:
    assert v.id_number(" E12345678 ", id_type="08") == "E12345678"
    assert v.id_number("X" * 22, id_type="99", sex="1", birth="20000101") == "X" * 22
    assert problem(v.id_number, "X" * 23, id_type="99").message == "证件号码不能超过22位"
    assert problem(v.id_number, " ", id_type="08").message == "请填写证件号码"
    assert problem(v.id_number, "E123\x00", id_type="08").message == "证件号码含有无法识别的字符"


def test_an_unknown_id_type_is_blamed_on_the_type_field() -> None:
    found = problem(v.id_number, FEMALE_ID, "applicant.id_number", "00", id_type_field="applicant.id_type")
    assert (found.field, found.message) == ("applicant.id_type", "证件类型不在代码表中，请重新选择")


# -- uscc ------------------------------------------------------------------------------------------------------


def test_uscc_is_upper_cased_and_stripped() -> None:
    assert v.uscc(USCC, "unit.uscc") == USCC
    assert v.uscc(" 91110000600037341l ", "unit.uscc") == USCC
    assert v.uscc("9111 0000 6000 3734 1L", "unit.uscc") == USCC
    assert v.uscc("", "unit.uscc", required=False) == ""


@pytest.mark.parametrize(("value", "message"), [
    ("", "请填写统一社会信用代码"),
    ("91110000600037341", "统一社会信用代码应为18位，当前为17位"),
    ("91110000600037341M", "统一社会信用代码的校验位不正确，请核对"),
    ("A1110000600037341L", "统一社会信用代码格式不正确：前8位应为数字，其余为数字或大写字母（不含I、O、Z、S、V）"),
    ("9111000060003734IL", "统一社会信用代码格式不正确：前8位应为数字，其余为数字或大写字母（不含I、O、Z、S、V）"),
])
def test_uscc_problems(value: str, message: str) -> None:
    found = problem(v.uscc, value, "unit.uscc")
    assert (found.field, found.message) == ("unit.uscc", message)


# -- contact ----------------------------------------------------------------------------------------------------


def test_mobile() -> None:
    assert v.mobile("13812345678", "phone") == "13812345678"
    assert v.mobile(" 138 1234 5678 ", "phone") == "13812345678"
    assert v.mobile("138-1234-5678", "phone") == "13812345678"
    assert v.mobile("１３８１２３４５６７８", "phone") == "13812345678"
    assert v.mobile("", "phone", required=False) == ""
    assert problem(v.mobile, "", "phone").message == "请填写手机号码"
    assert problem(v.mobile, "1381234567", "phone").message == "手机号码应为11位数字"
    assert problem(v.mobile, "1381234567a", "phone").message == "手机号码应为11位数字"
    assert problem(v.mobile, "12812345678", "phone").message == "手机号码不正确：应以13至19开头，请核对"
    assert problem(v.mobile, "٠١٢٣٤٥٦٧٨٩٠", "phone").message == "手机号码应为11位数字"  # Arabic-Indic digits


def test_postcode() -> None:
    assert v.postcode(" 100020 ", "postcode") == "100020"
    assert v.postcode("", "postcode", required=False) == ""
    assert problem(v.postcode, "10002", "postcode").message == "邮政编码应为6位数字"
    assert problem(v.postcode, "10002a", "postcode").message == "邮政编码应为6位数字"


def test_landline() -> None:
    assert v.landline("010-12345678", "landline") == "010-12345678"
    assert v.landline("010 1234 5678", "landline") == "01012345678"
    assert v.landline("0" * 20, "landline") == "0" * 20
    assert problem(v.landline, "0" * 21, "landline").message == "固定电话不能超过20位"
    assert problem(v.landline, "010-1234 ext 5", "landline").message == "固定电话只能包含数字和“-”"
    assert problem(v.landline, "abc", "contact_phone").message == "联系电话只能包含数字和“-”"


# -- dates, text, codes -----------------------------------------------------------------------------------------


def test_dates() -> None:
    assert v.date_yyyymmdd("20240229", "birth_date") == "20240229"
    assert v.date_yyyymmdd("2024-01-05", "birth_date") == "20240105"
    assert v.date_yyyymmdd("", "join_date", required=False) == ""
    assert problem(v.date_yyyymmdd, "20230229", "birth_date").message == "出生日期不是有效的日期，请核对"
    assert problem(v.date_yyyymmdd, "2023-13-01", "birth_date").message == "出生日期不是有效的日期，请核对"
    assert problem(v.date_yyyymmdd, "2024/01/05", "birth_date").message == "出生日期应为8位日期，如20240105"
    assert problem(v.date_yyyymmdd, "", "birth_date").message == "请填写出生日期"
    found = problem(v.date_yyyymmdd, "20261122", "birth_date", not_after=date(2026, 11, 21))
    assert found.message == "出生日期不能晚于2026年11月21日"
    assert v.date_yyyymmdd("20261121", "birth_date", not_after=date(2026, 11, 21)) == "20261121"
    found = problem(v.date_yyyymmdd, "2024", "work_date", label="参加工作日期")
    assert found.message == "参加工作日期应为8位日期，如20240105"


def test_text_counts_characters_not_bytes() -> None:
    assert v.text("  张伟  ", "name", "姓名", 150) == "张伟"
    assert v.text("张" * 150, "name", "姓名", 150) == "张" * 150
    assert problem(v.text, "张" * 151, "name", "姓名", 150).message == "姓名不能超过150个字，当前为151个字"
    assert problem(v.text, "   ", "name", "姓名", 150).message == "请填写姓名"
    assert v.text("", "address", "地址", 150, required=False) == ""
    assert problem(v.text, "张\x07伟", "name", "姓名", 150).message == "姓名含有无法识别的字符"
    assert problem(v.text, "张\ud800", "name", "姓名", 150).message == "姓名含有无法识别的字符"
    assert v.text("第一行\n第二行", "purpose", "证明用途", 100) == "第一行\n第二行"


def test_codes() -> None:
    assert v.code(" 01 ", codes.AAC043, "id_type") == "01"
    assert v.code("1", codes.ACC749, "nature") == "1"
    assert problem(v.code, "00", codes.AAC043, "id_type").message == "证件类型不在代码表中，请重新选择"
    assert problem(v.code, "", codes.ACC749, "nature").message == "请选择存档性质"
    assert problem(v.code, "3", codes.GB_T_2261_1, "applicant.sex").message == "性别不在代码表中，请重新选择"
    assert v.code("", codes.ACCA19, "out_reason", required=False) == ""
    assert problem(v.code, "x", {"a": "b"}, "whatever", label="婚姻状况").message == "婚姻状况不在代码表中，请重新选择"


# -- divisions and archive numbers ------------------------------------------------------------------------------


def test_region_codes() -> None:
    assert v.region_code("110105", "region_code") == "110105"
    assert v.region_code("440305", "region_code") == "440305"  # 南山区, renamed in 1990, still current
    assert v.region_code("500000", "region_code") == "500000"
    assert v.region_code("", "residence_region_code", required=False) == ""
    abolished = problem(v.region_code, "110103", "region_code")  # 崇文区, merged into 东城区 in 2010
    assert abolished.message == "行政区划代码不是有效的行政区划代码，请核对"
    assert problem(v.region_code, "999999", "hukou_region_code").message == (
        "户口所在地址行政区划代码不是有效的行政区划代码，请核对")
    assert problem(v.region_code, "11010", "region_code").message == "行政区划代码应为6位数字"
    assert divisions.name("110105") == "朝阳区"
    assert divisions.name("110103") is None


def test_archive_numbers() -> None:
    assert v.archive_no("11010500000001") == "11010500000001"
    assert v.archive_no(" 11010300000001 ") == "11010300000001"  # numbered when 崇文区 still existed
    assert problem(v.archive_no, "").message == "请填写存档编号"
    assert problem(v.archive_no, "1101050000001").message == "存档编号应为14位数字（6位行政区划代码加8位流水号）"
    assert problem(v.archive_no, "99999900000001").message == "存档编号的前6位不是有效的行政区划代码，请核对"


# -- code tables -----------------------------------------------------------------------------------------------


def test_code_tables_from_seed_000() -> None:
    assert len(codes.AAC043) == 17 and codes.AAC043["01"] == "居民身份证(户口簿)"
    assert codes.ACC749 == {"1": "单位委托", "2": "个人委托", "3": "单纯存档"}
    assert set(codes.ACCA19) == {"01", "02", "03", "04", "05"}
    assert set(codes.ACCA15) == {"01", "02", "03", "04"}
    assert codes.GB_T_2261_1["1"] == "男" and codes.GB_T_2261_1["2"] == "女"


@pytest.mark.parametrize(("a", "b", "flow"), [
    ("440305", "440306", "1"),
    ("440305", "440104", "2"),
    ("440305", "110105", "3"),
    ("110105", "110105", "1"),
])
def test_flow_between(a: str, b: str, flow: str) -> None:
    assert codes.flow_between(a, b) == flow
    assert codes.ACC74D[flow].endswith("转移")


def test_flow_between_refuses_non_codes() -> None:
    with pytest.raises(ValueError):
        codes.flow_between("4403", "440306")


# -- Checks -----------------------------------------------------------------------------------------------------


def test_checks_tell_everything_at_once() -> None:
    with pytest.raises(ApiError) as caught, collect() as checks:
        name = checks(v.text, "", "name", "姓名", 150)
        phone = checks(v.mobile, "123", "phone")
        checks(v.uscc, "91110000600037341M", "unit.uscc")
        checks(v.uscc, "", "unit.uscc")  # a second problem on the same field is not repeated
        assert (name, phone) == ("", "")
    error = caught.value
    assert (error.status, error.code) == (422, "validation_error")
    assert error.message == "请填写姓名；手机号码应为11位数字；统一社会信用代码的校验位不正确，请核对"
    assert error.fields is not None
    assert [(f.field, f.message) for f in error.fields] == [
        ("name", "请填写姓名"),
        ("phone", "手机号码应为11位数字"),
        ("unit.uscc", "统一社会信用代码的校验位不正确，请核对"),
    ]


def test_checks_return_values_and_raise_nothing_when_all_is_well() -> None:
    with Checks() as checks:
        assert checks(v.mobile, "13812345678", "phone") == "13812345678"
        assert checks(v.id_number, FEMALE_ID, "id_number", "01", sex="2") == FEMALE_ID
    assert checks.ok


def test_a_problem_raised_inside_the_block_joins_the_others() -> None:
    with pytest.raises(ApiError) as caught, Checks() as checks:
        checks(v.postcode, "1", "postcode")
        checks.add("party_date", "党员须填写参加组织日期")
        v.mobile("1", "phone")
    assert caught.value.message == "邮政编码应为6位数字；党员须填写参加组织日期；手机号码应为11位数字"


def test_other_exceptions_pass_through_checks() -> None:
    with pytest.raises(KeyError), Checks() as checks:
        checks(v.postcode, "1", "postcode")
        raise KeyError("boom")


def test_raise_if_any_and_a_single_problem_as_an_api_error() -> None:
    checks = Checks()
    checks.raise_if_any()
    error = FieldProblem("phone", "手机号码应为11位数字").as_api_error()
    assert error.message == "手机号码应为11位数字"
    assert error.fields is not None and error.fields[0].field == "phone"


# -- properties -------------------------------------------------------------------------------------------------


def stdnum_ric_valid(number: str) -> bool:
    """``ric.is_valid``, except that it raises KeyError for a province prefix with no such county (stdnum 2.2)."""
    try:
        return ric.is_valid(number)
    except KeyError:
        return False


DIVISIONS = st.sampled_from(CURRENT_DIVISIONS + ENDED_DIVISIONS)
BIRTHS = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))
SERIALS = st.integers(0, 999).map(lambda n: f"{n:03d}")


@given(region=DIVISIONS, born=BIRTHS, serial=SERIALS)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_id_number_accepts_exactly_what_stdnum_accepts(region: str, born: date, serial: str) -> None:
    body = region + born.strftime("%Y%m%d") + serial
    right = ric.calc_check_digit(body + "0")
    accepted: list[str] = []
    for check in "0123456789X":
        number = body + check
        try:
            assert v.id_number(number) == number
            ok = True
        except FieldProblem as found:
            ok = False
            assert found.field == "id_number"
            assert found.message.startswith("身份证号码")
        assert ok == stdnum_ric_valid(number), number
        if ok:
            accepted.append(check)
    assert accepted in ([right], [])


@given(body=st.text("0123456789", min_size=17, max_size=17))
def test_id_number_agrees_with_stdnum_on_any_digits(body: str) -> None:
    for check in "0123456789X":
        number = body + check
        try:
            v.id_number(number)
            ok = True
        except FieldProblem:
            ok = False
        assert ok == stdnum_ric_valid(number)


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@given(head=st.text("0123456789", min_size=8, max_size=8),
       tail=st.text(USCC_ALPHABET + "IOZSV", min_size=9, max_size=9))
def test_uscc_accepts_exactly_what_stdnum_accepts(head: str, tail: str) -> None:
    body = head + tail
    well_formed = all(c in USCC_ALPHABET for c in tail)
    right = stdnum_uscc.calc_check_digit(body) if well_formed else None
    accepted: list[str] = []
    for check in USCC_ALPHABET + "IOZSV":
        code = body + check
        try:
            assert v.uscc(code, "uscc") == code
            ok = True
        except FieldProblem as found:
            ok = False
            assert found.message.startswith("统一社会信用代码")
        assert ok == stdnum_uscc.is_valid(code), code
        if ok:
            accepted.append(check)
    assert accepted == ([right] if right else [])


@given(region=st.sampled_from(CURRENT_DIVISIONS), born=BIRTHS, serial=SERIALS)
def test_sex_and_birth_agreement(region: str, born: date, serial: str) -> None:
    body = region + born.strftime("%Y%m%d") + serial
    number = body + ric.calc_check_digit(body + "0")
    if not stdnum_ric_valid(number):  # the division did not exist yet in the year of birth
        return
    sex = codes.MALE if int(serial[-1]) % 2 else codes.FEMALE
    assert v.id_number(number, sex=sex, birth=born) == number
    assert v.id_number(number, sex=sex, birth=born.strftime("%Y%m%d")) == number
    for other in set(codes.GB_T_2261_1) - {sex}:
        assert problem(v.id_number, number, sex=other).message == "身份证号码与性别不一致"
    other_day = date(born.year - 1, 6, 1)
    assert problem(v.id_number, number, birth=other_day).message == "身份证号码与出生日期不一致"


JUNK = (st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates too
        | st.text("0123456789Xx-　 ０１２", max_size=25))


@given(value=JUNK, other=JUNK)
@settings(max_examples=300)
def test_random_input_only_ever_raises_field_problems(value: str, other: str) -> None:
    calls: list[Callable[[], str]] = [
        lambda: v.id_number(value),
        lambda: v.id_number(value, id_type=other),
        lambda: v.id_number(value, id_type="08"),
        lambda: v.id_number(FEMALE_ID, sex=value, birth=other),
        lambda: v.id_number(value, sex=other, birth=other),
        lambda: v.uscc(value, "uscc"),
        lambda: v.mobile(value, "phone"),
        lambda: v.postcode(value, "postcode"),
        lambda: v.landline(value, "landline"),
        lambda: v.date_yyyymmdd(value, "birth_date", not_after=date(2026, 1, 1)),
        lambda: v.text(value, "name", "姓名", 5),
        lambda: v.code(value, codes.AAC043, "id_type"),
        lambda: v.region_code(value, "region_code"),
        lambda: v.archive_no(value),
    ]
    for call in calls:
        try:
            result = call()
        except FieldProblem as found:
            assert found.field and found.message
            continue
        assert isinstance(result, str)
