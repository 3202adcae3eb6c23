"""The seed data is valid by the national rules (SPEC §6), checked with python-stdnum."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from stdnum.cn import ric, uscc

import sandbox.seed as seed
from bff.lib import divisions
from sandbox.seed import AGENCIES, LEGAL_ENTITIES, PERSONS, agency_by_code


@pytest.mark.parametrize("person", PERSONS, ids=lambda p: p.username)
def test_person_id_number_is_valid_and_consistent(person: seed.Person) -> None:
    assert person.id_type == "01"
    assert ric.validate(person.id_number) == person.id_number
    assert ric.get_birth_date(person.id_number).strftime("%Y%m%d") == person.birth_date
    assert int(person.id_number[16]) % 2 == (1 if person.sex == "1" else 0)
    assert divisions.name(person.id_number[:6]) is not None
    assert re.fullmatch(r"1[3-9]\d{9}", person.phone)


@pytest.mark.parametrize("person", [p for p in PERSONS if p.archive], ids=lambda p: p.username)
def test_archive_is_consistent(person: seed.Person) -> None:
    archive = person.archive
    assert archive is not None
    assert re.fullmatch(r"\d{14}", archive.archive_no)
    agency = agency_by_code(archive.agency_code)
    assert agency is not None
    assert archive.archive_no[:6] == agency.region_code
    assert archive.nature in seed.NATURE_NAMES
    assert (archive.unit is not None) == (archive.nature == "1")


def test_the_required_identities_exist() -> None:
    natures = {p.username: (p.archive.nature if p.archive else None) for p in PERSONS}
    assert natures["zhangwei"] == "2"
    assert natures["lina"] == "1"
    assert natures["wangfang"] == "3"
    assert natures["liuyang"] is None
    provinces = {
        p.username: agency_by_code(p.archive.agency_code).province  # type: ignore[union-attr]
        for p in PERSONS
        if p.archive
    }
    assert provinces["zhangwei"] == "北京市"
    assert provinces["lina"] == "浙江省"
    assert provinces["wangfang"] == "江苏省"
    lina = seed.person_by_username("lina")
    assert lina is not None and lina.archive is not None and lina.archive.unit is not None
    assert lina.archive.unit.name == "杭州云栖科技有限公司"
    assert {e.username for e in LEGAL_ENTITIES} >= {"yunqi-hr", "jinling-hr"}


def test_the_uploads_and_employer_identities_exist() -> None:
    chenchen = seed.person_by_username("chenchen")
    assert chenchen is not None and chenchen.sex == "2" and chenchen.archive is not None
    assert chenchen.archive.nature == "1" and chenchen.archive.agency_code == "33010001"
    assert chenchen.archive.unit == seed.YUNQI
    assert chenchen.archive.archive_no.startswith("330100")
    assert ric.get_birth_place(chenchen.id_number)["province"] == "浙江省"
    assert divisions.name(chenchen.id_number[:6]) is not None and chenchen.id_number.startswith("3301")
    # the new hire: an archive to transfer from, none in 浙江
    sunhao = seed.person_by_username("sunhao")
    assert sunhao is not None and sunhao.archive is not None
    assert sunhao.archive.nature == "2" and sunhao.archive.agency_code == "52010001"
    in_zhejiang = [
        p.username
        for p in PERSONS
        if p.archive and agency_by_code(p.archive.agency_code).province == "浙江省"  # type: ignore[union-attr]
    ]
    assert "sunhao" not in in_zhejiang and {"lina", "chenchen"} <= set(in_zhejiang)
    ids = [p.id_number for p in PERSONS]
    archives = [p.archive.archive_no for p in PERSONS if p.archive]
    assert len(set(ids)) == len(ids) and len(set(archives)) == len(archives)
    assert len({p.phone for p in PERSONS}) == len(PERSONS)


@pytest.mark.parametrize("entity", LEGAL_ENTITIES, ids=lambda e: e.username)
def test_uscc_is_valid(entity: seed.LegalEntity) -> None:
    code = entity.unit.uscc
    assert uscc.validate(code) == code
    assert divisions.name(code[2:8]) is not None
    # GB 11714 check digit of the organisation code (characters 9-17)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(alphabet.index(c) * w for c, w in zip(code[8:16], weights, strict=True)) % 11
    assert code[16] == {10: "X", 11: "0"}.get(check, str(check))


def test_agencies() -> None:
    codes = [a.code for a in AGENCIES]
    assert len(codes) == len(set(codes))
    per_province = Counter(a.province for a in AGENCIES)
    assert {"北京市", "浙江省", "江苏省", "贵州省"} <= set(per_province)
    assert all(n >= 3 for n in per_province.values())
    for agency in AGENCIES:
        assert re.fullmatch(r"\d{8}", agency.code)
        assert agency.code[:6] == agency.region_code
        assert divisions.name(agency.region_code) is not None, agency.code
        assert agency.name and agency.address.startswith(agency.province)
        assert re.fullmatch(r"0\d{2,3}-\d{7,8}", agency.phone)


def test_docstring_lists_every_identity() -> None:
    doc = seed.__doc__ or ""
    for person in PERSONS:
        assert person.username in doc and person.id_number in doc and person.name in doc
    for entity in LEGAL_ENTITIES:
        assert entity.username in doc and entity.unit.uscc in doc and entity.agent_name in doc


def test_subjects_are_stable_and_distinct() -> None:
    subs = [i.sub for i in (*PERSONS, *LEGAL_ENTITIES)]
    assert len(set(subs)) == len(subs)
    assert seed.subject_of("zhangwei") == PERSONS[0].sub
