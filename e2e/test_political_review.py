"""李娜 (单位委托 at 杭州云栖) applies for 政审材料 from her phone: what cannot be done online first, then the
purpose, the reviewing unit, the 政审函 and her employer's 单位介绍信, "check your answers". The clerk accepts and
completes; the 政审回复函 goes to the reviewing unit only: a share link and an access code, no download for her.
A stranger's browser with a wrong code is refused, with the right one gets the PDF; 李娜 herself is refused.
Screenshots land in test-artifacts/screens/review-*.png."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.conftest import phone, screenshot
from e2e.test_employer_letters import letter_pdf, sign_in
from tests.support.stack import Stack, wait_until

LIVE = 30_000  # ms: a clerk's step reaches the person's page through the poller and the event stream
REVIEW_UNIT = "中共杭州云栖科技有限公司委员会"
REVIEW_USCC = "91330106MA27QK3B27"
NOTICE = ("如政审单位要求使用其固定格式的表格，或需要在政审单位自备的材料上加盖公章，请携带材料到存档机构窗口办理，"
          "不能在网上办理。")


def review_letter_pdf(path: Path) -> Path:
    """A one-page 政审函 from the reviewing unit."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("STSong-Light", 22)
    c.drawCentredString(A4[0] / 2, A4[1] - 120, "政审函")
    c.setFont("STSong-Light", 13)
    lines = ["杭州市人才服务中心：", "李娜同志申请加入中国共产党，请协助提供其档案中的政治表现等情况。",
             f"单位：{REVIEW_UNIT}", f"统一社会信用代码：{REVIEW_USCC}", "联系人：陈静 0571-87006666"]
    for i, line in enumerate(lines):
        c.drawString(72, A4[1] - 190 - i * 28, line)
    c.showPage()
    c.save()
    return path


def on_portal(stack: Stack, url: str) -> str:
    """The share link as the stack serves it (the BFF may name another host in PUBLIC_BASE_URL)."""
    parts = urlsplit(url)
    return stack.portal + parts.path + (f"?{parts.query}" if parts.query else "")


def open_share(page: Page, url: str, code: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="政审回复函")).to_be_visible()
    page.get_by_label("访问码").fill(code)


def test_political_review_reply_goes_to_the_reviewing_unit_only(e2e_stack: Stack, chromium: Browser,
                                                                 person: BrowserContext, tmp_path: Path) -> None:
    stack = e2e_stack
    page = person.new_page()
    sign_in(page, stack, "lina")
    page.get_by_role("button", name="申请政审材料").click()
    page.wait_for_url(f"{stack.portal}/apply/political-review")

    # First what cannot be done online.
    expect(page.get_by_role("heading", name="申请政审材料")).to_be_visible()
    expect(page.get_by_test_id("review-notice")).to_have_text(NOTICE)
    screenshot(page, "review-01-notice")
    page.get_by_role("button", name="继续网上申请").click()

    # The form: everything missing is told at once.
    expect(page.get_by_role("heading", name="政审用途")).to_be_visible()
    expect(page.get_by_text("本项业务需提交：政审单位的政审函、现存档单位的单位介绍信")).to_be_visible()
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_text("请选择政审用途")).to_be_visible()
    expect(page.get_by_text("请填写政审单位名称")).to_be_visible()
    expect(page.get_by_text("请先上传政审函")).to_be_visible()
    screenshot(page, "review-02-form-errors")

    page.get_by_role("radio", name="入党").check()
    page.get_by_label("政审单位名称").fill(REVIEW_UNIT)
    page.get_by_label("统一社会信用代码").fill(REVIEW_USCC.lower())
    page.get_by_label("联系人", exact=True).fill("陈静")
    page.get_by_label("联系人电话").fill("0571-87006666")
    page.get_by_label("从相册或文件中选择政审函").set_input_files(str(review_letter_pdf(tmp_path / "政审函.pdf")))
    page.get_by_role("radio", name=re.compile("自行上传")).check()
    page.get_by_label("从相册或文件中选择单位介绍信").set_input_files(str(letter_pdf(tmp_path / "单位介绍信.pdf")))
    expect(page.get_by_text("已上传，共1页")).to_have_count(2, timeout=15_000)
    expect(page.get_by_text("请先上传政审函")).to_have_count(0)  # the messages go once the letters are there
    expect(page.get_by_text("请选择政审用途")).to_have_count(0)
    page.get_by_label("本人手机号码").fill("13905712345")
    screenshot(page, "review-03-form")

    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_text("请核对申请信息")).to_be_visible()
    expect(page.get_by_text("入党", exact=True)).to_be_visible()
    expect(page.get_by_text(REVIEW_UNIT)).to_be_visible()
    expect(page.get_by_text(REVIEW_USCC)).to_be_visible()
    expect(page.get_by_text("联系人：陈静")).to_be_visible()
    screenshot(page, "review-04-check")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url(re.compile(rf"{re.escape(stack.portal)}/applications/[0-9a-f-]{{36}}$"))
    app_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name="政审材料")).to_be_visible()
    expect(page.get_by_text(REVIEW_UNIT).first).to_be_visible()
    screenshot(page, "review-05-submitted")

    # The clerk accepts and completes at the sandbox.
    wait_until(lambda: stack.sandbox_application(app_id), timeout=30)
    stack.clerk(app_id, "accept")
    stack.clerk(app_id, "complete")
    reply = page.get_by_test_id("review-reply")
    expect(page.get_by_role("heading", name="政审回复函已出具")).to_be_visible(timeout=LIVE)
    expect(reply.get_by_text(f"政审回复函只发给政审单位，本人不能查看。请把链接和访问码转交给{REVIEW_UNIT}。")).to_be_visible()
    expect(page.get_by_role("button", name="下载电子证明")).to_have_count(0)
    expect(page.get_by_role("link", name="下载电子证明")).to_have_count(0)
    expect(page.locator('a[href*="/certificate"]')).to_have_count(0)
    expect(reply.get_by_role("button", name="复制链接")).to_be_visible()
    expect(reply.get_by_role("button", name="复制访问码")).to_be_visible()
    expect(reply.get_by_text("政审单位尚未打开")).to_be_visible()
    share_url = reply.get_by_test_id("share-url").inner_text().strip()
    code = reply.get_by_test_id("access-code").inner_text().strip()
    assert re.match(r"https?://[^/]+/s/\S+$", share_url), share_url
    assert code, "no access code"
    screenshot(page, "review-06-reply-issued")
    url = on_portal(stack, share_url)

    # The reviewing unit, in a browser of its own: a wrong code is refused, the right one gives the PDF.
    unit_context = phone(chromium)
    unit = unit_context.new_page()
    open_share(unit, url, "WRONG000")
    unit.get_by_role("button", name="下载").click()
    expect(unit.get_by_text("访问码不正确")).to_be_visible()
    screenshot(unit, "review-07-wrong-code")
    open_share(unit, url, code)
    with unit.expect_download() as download:
        unit.get_by_role("button", name="下载").click()
    saved = tmp_path / "政审回复函.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF"), saved.read_bytes()[:20]
    unit_context.close()

    # 李娜 herself, signed in (her browser's cookies), posting the right code: refused. (In her browser the PWA's
    # service worker answers navigations itself, so the form is posted the way the share page posts it.)
    answer = person.request.post(url, form={"access_code": code}, fail_on_status_code=False)
    assert answer.status == 403, answer.status
    assert answer.headers["content-type"].startswith("text/html")
    assert "本人不能查看" in answer.text()
    own_context = phone(chromium)
    own = own_context.new_page()
    own.set_content(answer.text())
    expect(own.get_by_role("alert")).to_contain_text("本人不能查看")
    screenshot(own, "review-08-holder-refused")
    own_context.close()

    page.reload()
    expect(page.get_by_test_id("review-reply").get_by_text("政审单位已打开")).to_be_visible(timeout=LIVE)
    screenshot(page, "review-09-opened")
