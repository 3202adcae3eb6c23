"""The public verification pages on a stranger's phone, one per verdict: genuine (and the ID-number check), expired,
revoked, superseded by a reissue, altered (an uploaded PDF), forged; and the 核验码 / upload start page."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bff.domain.certificates.render import read_qr_url
from e2e.conftest import phone, screenshot
from tests.support.flows import detail, download, issued, post, signed_in, submit
from tests.support.stack import Stack, wait_until


def issued_pdf(stack: Stack, who: str = "zhangwei", **changes: Any) -> tuple[Any, str, bytes]:
    browser = signed_in(stack, who)
    app_id = submit(stack, browser, **changes).json()["id"]
    return browser, app_id, download(stack, browser, issued(stack, browser, app_id))


def url_of(pdf: bytes) -> str:
    url = read_qr_url(pdf)
    assert url is not None
    return url


def expire(stack: Stack) -> None:
    """Back-date the newest certificate's expiry in the database, as if its 90 days had passed."""
    async def run() -> None:
        engine = create_async_engine(str(stack.database_url))
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE certificates SET expires_on = '2026-01-01' WHERE id = ("
                                    "SELECT id FROM certificates ORDER BY created_at DESC LIMIT 1)"))
        await engine.dispose()
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(asyncio.run, run()).result()


def opened(chromium: Browser, url: str) -> Page:
    page = phone(chromium).new_page()
    page.goto(url)
    return page


def test_each_verdict_on_a_phone(e2e_stack: Stack, chromium: Browser, tmp_path: Path) -> None:
    stack = e2e_stack
    _, _, pdf = issued_pdf(stack)
    page = opened(chromium, url_of(pdf))
    expect(page.get_by_role("heading", name="证明真实有效")).to_be_visible()
    expect(page.get_by_text("110105********0012")).to_be_visible()
    screenshot(page, "verify-01-genuine")
    page.get_by_label("证件号码").fill("110105199805120012")
    page.get_by_role("button", name="核对").click()
    expect(page.get_by_text("证件号码与证明记载一致")).to_be_visible()
    screenshot(page, "verify-02-id-matches")
    page.get_by_label("证件号码").fill("110105199805120039")
    page.get_by_role("button", name="核对").click()
    expect(page.get_by_text("不一致，请核对持证人身份")).to_be_visible()
    screenshot(page, "verify-03-id-differs")

    flipped = page.url.split("/id")[0]
    token = flipped.rsplit("/", 1)[1]
    page.goto(flipped.rsplit("/", 1)[0] + "/" + token[:50] + ("A" if token[50] != "A" else "B") + token[51:])
    expect(page.get_by_role("heading", name="未通过核验")).to_be_visible()
    screenshot(page, "verify-04-forged")

    page.goto(f"{stack.portal}/verify")
    expect(page.get_by_label("核验码")).to_be_visible()
    screenshot(page, "verify-05-start")
    changed = IncrementalPdfFileWriter(io.BytesIO(pdf))
    changed.root["/PageMode"] = generic.NameObject("/UseNone")
    changed.update_root()
    out = io.BytesIO()
    changed.write(out)
    (tmp_path / "changed.pdf").write_bytes(out.getvalue())
    page.get_by_label("PDF 文件（不超过 10 MB）").set_input_files(str(tmp_path / "changed.pdf"))
    page.get_by_role("button", name="检查文件").click()
    expect(page.get_by_role("heading", name="文件已被改动")).to_be_visible()
    screenshot(page, "verify-06-altered")

    browser, app_id, pdf = issued_pdf(stack)
    old = url_of(pdf)
    assert post(stack, browser, f"/api/applications/{app_id}/reissue", {}).status_code == 200
    page.goto(old)
    expect(page.get_by_role("heading", name="已被新证明替代")).to_be_visible()
    screenshot(page, "verify-07-superseded")

    stack.clerk(app_id, "revoke", reason="证明内容有误，已重新出具")
    wait_until(lambda: detail(stack, browser, app_id)["status"] == "revoked")
    page.goto(old)
    expect(page.get_by_role("heading", name="证明已被撤销")).to_be_visible()
    expect(page.get_by_text("撤销原因：证明内容有误，已重新出具")).to_be_visible()
    screenshot(page, "verify-08-revoked")

    _, _, pdf = issued_pdf(stack)
    expire(stack)
    page.goto(url_of(pdf))
    expect(page.get_by_role("heading", name="证明已过有效期")).to_be_visible()
    screenshot(page, "verify-09-expired")
