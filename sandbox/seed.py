"""Seed data shared by the sandbox SSO provider and the sandbox provincial system.

Every identity below is invented. ID numbers carry a correct GB 11643 check digit and agree with the
region, birth date and sex they encode; 统一社会信用代码 carry a correct GB 32100 check character (and a
correct GB 11714 check digit in the organisation-code part). ``tests/sandbox/test_seed.py`` checks all of
this with ``python-stdnum``.

Persons (``identity_type`` = ``person``; ``login_hint`` = the username):

========  ====  ==================  ===========  ===========  ========  ==============
username  name  id_number           phone        nature       agency    archive_no
========  ====  ==================  ===========  ===========  ========  ==============
zhangwei  张伟  110105199805120012  13800138000  2 个人委托   11010501  11010500001234
lina      李娜  330106199503080024  13905712345  1 单位委托   33010001  33010000004321
wangfang  王芳  32010219921120004X  13813845678  3 单纯存档   32010201  32010200000568
zhaolei   赵磊  520102199607040051  15885123456  2 个人委托   52010001  52010000000789
liuyang   刘洋  52010220000101003X  13985012345  (none)       —         —
chenchen  陈晨  330108199706150822  13758120622  1 单位委托   33010001  33010000005678
sunhao    孙浩  52010319940922071X  18685123071  2 个人委托   52010001  52010000000912
zhoujie   周杰  33010619990101003X  13606712003  1 单位委托   33010001  33010000006789
wujing    吴静  520102199303150024  13985112233  2 个人委托   52010001  52010000001024
========  ====  ==================  ===========  ===========  ========  ==============

The agencies: 11010501 北京市朝阳区人才服务中心, 33010001 杭州市人才服务中心,
32010201 南京市玄武区人才服务中心, 52010001 贵阳市人才服务中心. 李娜's, 陈晨's and 周杰's archives are
entrusted by their employer 杭州云栖科技有限公司 (so a certificate or a transfer needs its 单位介绍信);
刘洋 has no archive anywhere (lookup answers 404). 孙浩 has no archive in 浙江: he keeps his own archive
in 贵阳 and is 杭州云栖科技有限公司's new hire, so he (or the unit's HR) can ask for it to be transferred
into unit-entrusted storage in 杭州.

Legal entities (``identity_type`` = ``legal_entity``):

==========  ======================  ==================  ====================
username    unit (单位名称)          uscc                agent (经办人)
==========  ======================  ==================  ====================
yunqi-hr    杭州云栖科技有限公司    91330106MA27QK3B27  陈静
jinling-hr  南京金陵软件有限公司    91320102MA1MBP6W7H  周敏
==========  ======================  ==================  ====================

Agencies: 16, four in each of 北京, 浙江, 江苏 and 贵州 (a provincial centre, a city centre and district
centres); see ``AGENCIES``.
"""

from __future__ import annotations

import uuid
from typing import Final, Literal

import msgspec

IdentityType = Literal["person", "legal_entity"]

NATURE_NAMES: Final = {"1": "单位委托", "2": "个人委托", "3": "单纯存档"}
ARCHIVE_STATUS_NAMES: Final = {"1": "在库", "2": "不在库"}

_SUB_NAMESPACE: Final = uuid.UUID("6f0f2f1e-6c1a-5b7e-9d55-2a9a0c1e7b10")


class Agency(msgspec.Struct, frozen=True, kw_only=True):
    """An agency of the directory (机构, 000 附件4 辅助接口2); the shape of the provincial API's Agency."""

    code: str
    region_code: str
    name: str
    province: str
    city: str
    address: str
    phone: str


class Unit(msgspec.Struct, frozen=True, kw_only=True):
    """An employer (单位) as the provincial system records it."""

    name: str
    uscc: str


class SeedArchive(msgspec.Struct, frozen=True, kw_only=True):
    """The storage record (CY03) of one person."""

    archive_no: str
    nature: str
    status: str
    stored_since: str
    agency_code: str
    unit: Unit | None = None


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """A person who can sign in at the SSO provider."""

    username: str
    name: str
    id_type: str
    id_number: str
    sex: str  # GB/T 2261.1: 1 男, 2 女
    birth_date: str  # YYYYMMDD
    phone: str
    archive: SeedArchive | None

    @property
    def sub(self) -> str:
        return subject_of(self.username)


class LegalEntity(msgspec.Struct, frozen=True, kw_only=True):
    """A unit's legal-entity account, signed in by its HR contact (经办人)."""

    username: str
    unit: Unit
    agent_name: str

    @property
    def name(self) -> str:
        return self.unit.name

    @property
    def sub(self) -> str:
        return subject_of(self.username)


def subject_of(username: str) -> str:
    """A stable, opaque ``sub`` for a seeded identity (the same across restarts)."""
    return str(uuid.uuid5(_SUB_NAMESPACE, username))


YUNQI: Final = Unit(name="杭州云栖科技有限公司", uscc="91330106MA27QK3B27")
JINLING: Final = Unit(name="南京金陵软件有限公司", uscc="91320102MA1MBP6W7H")


def _agency(code: str, name: str, province: str, city: str, address: str, phone: str) -> Agency:
    return Agency(
        code=code, region_code=code[:6], name=name, province=province, city=city, address=address, phone=phone
    )


AGENCIES: Final[tuple[Agency, ...]] = (
    _agency("11000001", "北京市人才服务中心", "北京市", "北京市", "北京市东城区东四十条 68 号", "010-64001234"),
    _agency(
        "11010101", "北京市东城区人才服务中心", "北京市", "东城区", "北京市东城区朝阳门内大街 192 号", "010-65132288"
    ),
    _agency("11010501", "北京市朝阳区人才服务中心", "北京市", "朝阳区", "北京市朝阳区朝阳北路 101 号", "010-65099999"),
    _agency("11010801", "北京市海淀区人才服务中心", "北京市", "海淀区", "北京市海淀区中关村大街 32 号", "010-82561188"),
    _agency("33000001", "浙江省人才服务中心", "浙江省", "杭州市", "浙江省杭州市拱墅区环城北路 208 号", "0571-85101234"),
    _agency("33010001", "杭州市人才服务中心", "浙江省", "杭州市", "浙江省杭州市上城区解放东路 18 号", "0571-87006666"),
    _agency(
        "33010601", "杭州市西湖区人才服务中心", "浙江省", "杭州市", "浙江省杭州市西湖区文三路 90 号", "0571-88801234"
    ),
    _agency("33020001", "宁波市人才服务中心", "浙江省", "宁波市", "浙江省宁波市鄞州区宁穿路 2001 号", "0574-87181234"),
    _agency(
        "32000001", "江苏省人才流动服务中心", "江苏省", "南京市", "江苏省南京市鼓楼区汉中门大街 145 号", "025-83279999"
    ),
    _agency("32010001", "南京市人才服务中心", "江苏省", "南京市", "江苏省南京市建邺区江东中路 265 号", "025-84201234"),
    _agency(
        "32010201", "南京市玄武区人才服务中心", "江苏省", "南京市", "江苏省南京市玄武区北京东路 41 号", "025-84401234"
    ),
    _agency("32050001", "苏州市人才服务中心", "江苏省", "苏州市", "江苏省苏州市姑苏区三香路 1199 号", "0512-68601234"),
    _agency(
        "52000001", "贵州省人才交流服务中心", "贵州省", "贵阳市", "贵州省贵阳市云岩区北京路 17 号", "0851-86821234"
    ),
    _agency(
        "52010001", "贵阳市人才服务中心", "贵州省", "贵阳市", "贵州省贵阳市观山湖区长岭北路 55 号", "0851-87981234"
    ),
    _agency(
        "52010201", "贵阳市南明区人才服务中心", "贵州省", "贵阳市", "贵州省贵阳市南明区市府路 8 号", "0851-85781234"
    ),
    _agency("52030001", "遵义市人才服务中心", "贵州省", "遵义市", "贵州省遵义市汇川区南京路 66 号", "0851-28221234"),
)

PERSONS: Final[tuple[Person, ...]] = (
    Person(
        username="zhangwei",
        name="张伟",
        id_type="01",
        id_number="110105199805120012",
        sex="1",
        birth_date="19980512",
        phone="13800138000",
        archive=SeedArchive(
            archive_no="11010500001234", nature="2", status="1", stored_since="20200715", agency_code="11010501"
        ),
    ),
    Person(
        username="lina",
        name="李娜",
        id_type="01",
        id_number="330106199503080024",
        sex="2",
        birth_date="19950308",
        phone="13905712345",
        archive=SeedArchive(
            archive_no="33010000004321",
            nature="1",
            status="1",
            stored_since="20210301",
            agency_code="33010001",
            unit=YUNQI,
        ),
    ),
    Person(
        username="wangfang",
        name="王芳",
        id_type="01",
        id_number="32010219921120004X",
        sex="2",
        birth_date="19921120",
        phone="13813845678",
        archive=SeedArchive(
            archive_no="32010200000568", nature="3", status="1", stored_since="20190910", agency_code="32010201"
        ),
    ),
    Person(
        username="zhaolei",
        name="赵磊",
        id_type="01",
        id_number="520102199607040051",
        sex="1",
        birth_date="19960704",
        phone="15885123456",
        archive=SeedArchive(
            archive_no="52010000000789", nature="2", status="1", stored_since="20220601", agency_code="52010001"
        ),
    ),
    Person(
        username="liuyang",
        name="刘洋",
        id_type="01",
        id_number="52010220000101003X",
        sex="1",
        birth_date="20000101",
        phone="13985012345",
        archive=None,
    ),
    Person(
        username="chenchen",
        name="陈晨",
        id_type="01",
        id_number="330108199706150822",
        sex="2",
        birth_date="19970615",
        phone="13758120622",
        archive=SeedArchive(
            archive_no="33010000005678",
            nature="1",
            status="1",
            stored_since="20230415",
            agency_code="33010001",
            unit=YUNQI,
        ),
    ),
    Person(
        username="zhoujie",
        name="周杰",
        id_type="01",
        id_number="33010619990101003X",
        sex="1",
        birth_date="19990101",
        phone="13606712003",
        archive=SeedArchive(
            archive_no="33010000006789",
            nature="1",
            status="1",
            stored_since="20240301",
            agency_code="33010001",
            unit=YUNQI,
        ),
    ),
    Person(
        username="sunhao",
        name="孙浩",
        id_type="01",
        id_number="52010319940922071X",
        sex="1",
        birth_date="19940922",
        phone="18685123071",
        archive=SeedArchive(
            archive_no="52010000000912", nature="2", status="1", stored_since="20180905", agency_code="52010001"
        ),
    ),
    Person(
        username="wujing",
        name="吴静",
        id_type="01",
        id_number="520102199303150024",
        sex="2",
        birth_date="19930315",
        phone="13985112233",
        archive=SeedArchive(
            archive_no="52010000001024", nature="2", status="1", stored_since="20210310", agency_code="52010001"
        ),
    ),
)

LEGAL_ENTITIES: Final[tuple[LegalEntity, ...]] = (
    LegalEntity(username="yunqi-hr", unit=YUNQI, agent_name="陈静"),
    LegalEntity(username="jinling-hr", unit=JINLING, agent_name="周敏"),
)

_AGENCY_BY_CODE: Final = {a.code: a for a in AGENCIES}
_PERSON_BY_USERNAME: Final = {p.username: p for p in PERSONS}
_ENTITY_BY_USERNAME: Final = {e.username: e for e in LEGAL_ENTITIES}
_PERSON_BY_ID: Final = {(p.id_type, p.id_number): p for p in PERSONS}


def agency_by_code(code: str) -> Agency | None:
    return _AGENCY_BY_CODE.get(code)


def person_by_username(username: str) -> Person | None:
    return _PERSON_BY_USERNAME.get(username)


def legal_entity_by_username(username: str) -> LegalEntity | None:
    return _ENTITY_BY_USERNAME.get(username)


def identity_by_username(username: str) -> Person | LegalEntity | None:
    """The seeded person or legal entity a ``login_hint`` names."""
    return _PERSON_BY_USERNAME.get(username) or _ENTITY_BY_USERNAME.get(username)


def person_by_id(id_type: str, id_number: str) -> Person | None:
    """The seeded person holding this 证件 (the ID number compared upper-case, as ``x`` is written ``X``)."""
    return _PERSON_BY_ID.get((id_type, id_number.upper()))


# --- what the archives record (the content certificates and 政审回复函 state) -----------------------------------


class WorkPeriod(msgspec.Struct, frozen=True, kw_only=True):
    start: str  # YYYYMMDD
    end: str | None  # YYYYMMDD; None = to date
    unit: str
    position: str


class Relative(msgspec.Struct, frozen=True, kw_only=True):
    relation: str  # GB/T 4761-2008 家庭关系代码
    name: str


class ArchiveRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of an archive's content the sandbox can certify (invented, like everything here)."""

    political_status: str  # GB/T 4762 政治面貌, as its name
    education: str
    periods: tuple[WorkPeriod, ...]
    family: tuple[Relative, ...]
    rewards_and_punishments: str = "无"
    criminal_record: bool = False


def _record(political_status: str, education: str, periods: tuple[WorkPeriod, ...], *family: Relative,
            criminal_record: bool = False) -> ArchiveRecord:
    return ArchiveRecord(political_status=political_status, education=education, periods=periods, family=family,
                         criminal_record=criminal_record)


ARCHIVE_RECORDS: Final[dict[str, ArchiveRecord]] = {
    "11010500001234": _record(
        "共青团员", "2020年7月毕业于北京工业大学计算机科学与技术专业，大学本科，工学学士",
        (WorkPeriod(start="20200801", end="20230630", unit="北京朝阳数智科技有限公司", position="软件工程师"),
         WorkPeriod(start="20230801", end=None, unit="北京望京云图信息技术有限公司", position="高级软件工程师")),
        Relative(relation="51", name="张建国"), Relative(relation="52", name="刘秀英"),
    ),
    "33010000004321": _record(
        "中共党员", "2017年6月毕业于浙江大学工商管理专业，大学本科，管理学学士",
        (WorkPeriod(start="20170701", end="20210228", unit="杭州西溪文化传媒有限公司", position="行政专员"),
         WorkPeriod(start="20210301", end=None, unit="杭州云栖科技有限公司", position="人力资源主管")),
        Relative(relation="51", name="李国强"), Relative(relation="10", name="王磊"),
    ),
    "32010200000568": _record(
        "群众", "2015年6月毕业于南京师范大学汉语言文学专业，大学本科，文学学士",
        (WorkPeriod(start="20150801", end="20190831", unit="南京玄武区金陵书局", position="编辑"),),
        Relative(relation="52", name="陈美华"),
    ),
    "52010000000789": _record(
        "共青团员", "2018年7月毕业于贵州大学土木工程专业，大学本科，工学学士",
        (WorkPeriod(start="20180801", end="20220531", unit="贵阳筑城建设工程有限公司", position="技术员"),),
        Relative(relation="51", name="赵德明"), criminal_record=True,
    ),
    "33010000005678": _record(
        "共青团员", "2019年6月毕业于浙江工业大学软件工程专业，大学本科，工学学士",
        (WorkPeriod(start="20190701", end="20230414", unit="杭州钱塘网络科技有限公司", position="测试工程师"),
         WorkPeriod(start="20230415", end=None, unit="杭州云栖科技有限公司", position="测试主管")),
        Relative(relation="52", name="周丽"),
    ),
    "33010000006789": _record(
        "中共预备党员", "2021年6月毕业于杭州电子科技大学通信工程专业，大学本科，工学学士",
        (WorkPeriod(start="20240301", end=None, unit="杭州云栖科技有限公司", position="通信工程师"),),
        Relative(relation="51", name="周永康"),
    ),
    "52010000000912": _record(
        "中共党员", "2016年7月毕业于贵州师范大学数学与应用数学专业，大学本科，理学学士",
        (WorkPeriod(start="20160801", end="20180831", unit="贵阳花溪第二中学", position="数学教师"),),
        Relative(relation="10", name="杨柳"),
    ),
    "52010000001024": _record(
        "群众", "2015年7月毕业于贵州财经大学会计学专业，大学本科，管理学学士",
        (WorkPeriod(start="20150801", end="20210228", unit="贵阳南明会计师事务所", position="审计助理"),),
        Relative(relation="52", name="吴红梅"),
    ),
}


def archive_record(archive_no: str) -> ArchiveRecord | None:
    return ARCHIVE_RECORDS.get(archive_no)
