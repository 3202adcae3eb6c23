"""Every certificate kind, rendered with realistic data, as poppler sees it.

Writes ``test-artifacts/certificates/<kind>.pdf`` and ``<kind>.png`` (pdftoppm, 100 dpi) for a
person to look at, and checks what a machine can: the text (pdftotext), embedded fonts (pdffonts),
one A4 page (pdfinfo), every word inside the margins and clear of the QR code and the footer rule.
"""

from __future__ import annotations

import html
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bff.domain.certificates.qr import QUIET_ZONE_MODULES, qr_matrix
from bff.domain.certificates.render import (
    CertificateContent,
    Template,
    add_qr,
    current_version,
    load_template,
    read_qr_url,
    render_certificate,
)
from tests.certificates.helpers import (
    KINDS,
    LONG_AGENCY,
    LONG_UNIT,
    VERIFY_ADDRESS,
    fake_url,
    make_content,
    pdftotext,
    to_png,
    tool,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "certificates"
MM = 72 / 25.4
A4 = (595.2756, 841.8898)

COMMON = [
    "证明编号：CZ2026112100000123",
    LONG_AGENCY,
    "2026年11月21日",
    "扫码核验",
    "核验说明",
    f"核验地址：{VERIFY_ADDRESS}",
    "核验码：VBUM-MB7U-QYIC-ZDHX",
    "电子证明专用章",
    "沙箱",
]
PERIOD_LINES = [
    "2012年7月至2015年6月北京云帆信息技术有限公司软件开发工程师",
    f"2015年7月至2019年2月{LONG_UNIT}高级工程师",
    "2019年3月至今北京星河数据科技股份有限公司技术经理",
]
EXPECTED: dict[str, list[str]] = {
    "archive_certificate": [
        "存档证明",
        *COMMON,
        "兹证明张伟（公民身份号码：110105199805120017）的人事档案自2020年7月15日起由我机构保管，"
        "存档性质为个人委托，存档编号11010500001234。",
        "特此证明。",
        "本证明自出具之日起90日内有效。",
    ],
    "experience_certificate": [
        "经历证明",
        *COMMON,
        "兹证明张伟（公民身份号码：110105199805120017）的人事档案由我机构保管（存档编号11010500001234）。"
        "据其档案记载，其工作经历如下：",
        *PERIOD_LINES,
        "特此证明。",
        "本证明自出具之日起90日内有效。",
    ],
    "kinship_certificate": [
        "亲属关系证明",
        *COMMON,
        "兹证明张伟（公民身份号码：110105199805120017）与张建国系父子关系。",
        "以上情况依据张伟在我机构保管的人事档案（存档编号11010500001234）的记载出具。",
        "特此证明。",
        "本证明自出具之日起90日内有效。",
    ],
    "no_criminal_record": [
        "无犯罪记录证明",
        *COMMON,
        "经查阅张伟（公民身份号码：110105199805120017）在我机构保管的人事档案（存档编号11010500001234），"
        "截至2026年11月21日，其档案中未见受到刑事处罚的记录。",
        "本证明仅反映人事档案的记载情况。",
        "特此证明。",
        "本证明自出具之日起90日内有效。",
    ],
    "political_review": [
        "政审回复函",
        *[c.replace("证明编号", "编号") for c in COMMON],
        "中共北京市海淀区中关村科学城管理委员会机关委员会：",
        "贵单位关于张伟同志（公民身份号码：110105199805120017）入党政治审查的来函收悉。"
        "经查阅其在我机构保管的人事档案（存档编号11010500001234），现将有关情况函复如下：",
        "一、政治面貌：中国共产主义青年团团员。",
        "二、学历：大学本科（北京理工大学计算机科学与技术专业，2012年7月毕业），工学学士学位。",
        "三、工作经历：2012年7月至2015年6月在北京云帆信息技术有限公司任软件开发工程师；"
        f"2015年7月至2019年2月在{LONG_UNIT}任高级工程师；2019年3月至今在北京星河数据科技股份有限公司任技术经理。",
        "四、奖惩情况：2018年获评北京星河数据科技股份有限公司年度优秀员工；档案中未见受处分的记录。",
        "特此函复。",
        "（此件仅供中共北京市海淀区中关村科学城管理委员会机关委员会政治审查使用）",
        "本函自出具之日起90日内有效。",
    ],
}


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def run(*args: str) -> str:
    return subprocess.run([tool(args[0]), *args[1:]], check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    x0: float
    y0: float  # from the top, in points
    x1: float
    y1: float


def words(pdf: Path) -> list[Word]:
    out = run("pdftotext", "-bbox", "-enc", "UTF-8", str(pdf), "-")
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [
        Word(html.unescape(m[4]), float(m[0]), float(m[1]), float(m[2]), float(m[3])) for m in re.findall(pattern, out)
    ]


def sample(kind: str) -> CertificateContent:
    return make_content(kind, agency_name=LONG_AGENCY)


@pytest.fixture(scope="module", params=KINDS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, Path, Template]:
    kind: str = request.param
    pdf = add_qr(render_certificate(sample(kind)), fake_url())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{kind}.pdf"
    path.write_bytes(pdf)
    to_png(path, 100, ARTIFACTS / kind)
    return kind, path, load_template(kind, current_version(kind))


def test_every_string_is_on_the_page(rendered: tuple[str, Path, Template]) -> None:
    kind, path, _ = rendered
    text = squeeze(pdftotext(path))
    raw = squeeze(run("pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"))
    for expected in EXPECTED[kind]:
        assert squeeze(expected) in text or squeeze(expected) in raw, expected


def test_fonts_are_embedded(rendered: tuple[str, Path, Template]) -> None:
    _, path, _ = rendered
    rows = run("pdffonts", str(path)).splitlines()[2:]
    assert rows
    for row in rows:
        emb, sub = row.split()[-5:-3]
        assert (emb, sub) == ("yes", "yes"), row


def test_one_a4_page(rendered: tuple[str, Path, Template]) -> None:
    _, path, _ = rendered
    info = run("pdfinfo", str(path))
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert re.search(r"^Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info, re.M)


def test_the_qr_link_is_readable(rendered: tuple[str, Path, Template]) -> None:
    _, path, _ = rendered
    assert read_qr_url(path.read_bytes()) == fake_url()


def test_layout_margins_qr_and_footer(rendered: tuple[str, Path, Template]) -> None:
    """No word past the margins, on the footer rule, in the QR code's quiet zone or too low."""
    kind, path, tpl = rendered
    lay = tpl.layout
    left, right = lay.margin_left * MM, A4[0] - lay.margin_right * MM
    rule = lay.footer_rule_top * MM
    x0, y0, x1, y1 = tpl.qr_rect
    quiet = (x1 - x0) / qr_matrix(fake_url()).size * QUIET_ZONE_MODULES
    qr_box = (x0 - quiet, A4[1] - y1 - quiet, x1 + quiet, A4[1] - y0 + quiet)  # from the top
    found = words(path)
    assert found
    for w in found:
        assert left - 1 <= w.x0 and w.x1 <= right + 1, (kind, w)
        assert not (w.y0 < rule < w.y1), (kind, "on the footer rule", w)
        assert w.y1 <= lay.footer_bottom * MM + 4, (kind, "below the bottom margin", w)
        overlaps_qr = w.x0 < qr_box[2] and w.x1 > qr_box[0] and w.y0 < qr_box[3] and w.y1 > qr_box[1]
        assert not overlaps_qr, (kind, "in the QR code's quiet zone", w)
    body = [w for w in found if w.y1 < rule]
    footer = [w for w in found if w.y0 > rule]
    assert body and footer
    assert max(w.y1 for w in body) <= lay.body_bottom * MM + 4  # the body and signature end above the rule
