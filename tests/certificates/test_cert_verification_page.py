"""The public verification page: a clear verdict, escaped content, no script, phone-ready."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest

from bff.domain.verification.page import DEFAULT_REASON, VerificationView, render_verification_page

GENUINE = VerificationView(
    verdict="genuine",
    kind_name="存档证明",
    agency_name="北京市朝阳区人才服务中心",
    issued_on=dt.date(2026, 11, 21),
    holder_name_masked="*伟",
    holder_id_masked="110105********0017",
    certificate_no="CZ2026112100000123",
)


def assert_self_contained(html: str) -> None:
    assert html.startswith("<!doctype html>")
    assert '<html lang="zh-CN">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<script" not in html.lower()
    assert not re.search(r"<(link|img|iframe|object)\b", html, re.I)
    assert not re.search(r"\b(src|href)=", html, re.I)
    assert not re.search(r'action="(?!/)', html)  # forms post only to this site
    assert "<style>" in html


def test_genuine_page() -> None:
    html = render_verification_page(GENUINE)
    assert_self_contained(html)
    assert "证明真实有效" in html
    assert "未通过核验" not in html
    for value in (
        "存档证明",
        "北京市朝阳区人才服务中心",
        "2026年11月21日",
        "*伟",
        "110105********0017",
        "CZ2026112100000123",
    ):
        assert f"<dd>{value}</dd>" in html


def test_not_genuine_page() -> None:
    html = render_verification_page(VerificationView(verdict="forged"))
    assert_self_contained(html)
    assert "未通过核验" in html
    assert "证明真实有效" not in html
    assert DEFAULT_REASON in html
    assert "请勿采信" in html


@pytest.mark.parametrize(("verdict", "headline"), [
    ("expired", "证明已过有效期"), ("revoked", "证明已被撤销"), ("superseded", "已被新证明替代"),
    ("altered", "文件已被改动"), ("forged", "未通过核验"),
])
def test_each_verdict_has_its_headline_and_no_other(verdict: str, headline: str) -> None:
    html = render_verification_page(VerificationView(verdict=verdict, kind_name="存档证明"))  # type: ignore[arg-type]
    assert_self_contained(html)
    assert f"<h1>{headline}</h1>" in html and "证明真实有效" not in html


def test_reason_is_shown_escaped() -> None:
    html = render_verification_page(VerificationView(verdict="revoked", reason="撤销原因：<b>材料有误</b>"))
    assert "撤销原因：&lt;b&gt;材料有误&lt;/b&gt;" in html
    assert "<b>" not in html


def test_everything_is_escaped() -> None:
    evil = '"><script>alert(1)</script>&'
    view = VerificationView(
        verdict="genuine",
        kind_name=evil,
        agency_name=evil,
        issued_on=dt.date(2026, 1, 2),
        holder_name_masked=evil,
        holder_id_masked=evil,
        certificate_no=evil,
        id_check_action="/v/" + evil,
    )
    html = render_verification_page(view, site_name=evil)
    assert "<script" not in html
    assert "&lt;script&gt;" in html and "&quot;&gt;" in html and "&amp;" in html


def test_checked_at_is_shown() -> None:
    view = VerificationView(verdict="forged", checked_at=dt.datetime(2026, 11, 22, 9, 5))
    assert "核验时间：2026年11月22日 09:05" in render_verification_page(view)


def test_the_id_check_answers_only_match_or_not() -> None:
    form = render_verification_page(replace(GENUINE, id_check_action="/v/TOKEN/id"))
    assert '<form method="post" action="/v/TOKEN/id">' in form and 'name="id_number"' in form
    assert "证件号码与证明记载一致" in render_verification_page(replace(GENUINE, id_check_action="/v/T/id",
                                                                       id_check="match"))
    assert "不一致" in render_verification_page(replace(GENUINE, id_check_action="/v/T/id", id_check="mismatch"))
    assert "<form" not in render_verification_page(VerificationView(verdict="revoked"))
