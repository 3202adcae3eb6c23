"""A person on a phone: sign in, see the archive, apply, watch the clerk's decisions arrive, download the
certificate; a stranger scans its QR code. Screenshots land in test-artifacts/screens/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.conftest import phone, screenshot
from tests.support.stack import Stack


def sign_in(page: Page, stack: Stack, name: str) -> None:
    page.goto(stack.portal + "/")
    expect(page.get_by_role("button", name="个人登录")).to_be_visible()
    screenshot(page, "00-sign-in")
    page.get_by_role("button", name="个人登录").click()
    page.wait_for_url(f"{stack.sso}/**")
    screenshot(page, "01-sso-login")
    page.get_by_text(name, exact=False).first.click()
    page.wait_for_url(f"{stack.portal}/**")


def apply_for_certificate(page: Page) -> str:
    page.get_by_role("button", name="申请存档证明").click()
    page.get_by_label("证明用途").fill("办理落户")
    page.get_by_label("联系电话").fill("13800138000")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_text("请核对申请信息")).to_be_visible()
    expect(page.get_by_text("办理落户")).to_be_visible()
    screenshot(page, "04-check-answers")
    page.get_by_role("button", name="确认提交").click()
    expect(page.get_by_text("申请编号").first).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[1]


def reference_number(page: Page) -> str:
    """The 申请编号 shown on the detail page (SQ + date + 8 characters)."""
    match = re.search(r"SQ\d{8}[0-9A-Z]{8}", page.content())
    assert match, "no reference number on the page"
    return match.group(0)


def clerk_does(chromium: Browser, stack: Stack, reference_no: str, button: str, reason: str | None = None) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    console = context.new_page()
    console.goto(stack.provincial + "/")
    row = console.locator("tr", has_text=reference_no)
    if reason:
        row.get_by_label("不予办理原因").fill(reason)
    row.get_by_role("button", name=button).click()
    console.wait_for_load_state()
    screenshot(console, f"clerk-{button}")
    context.close()


def qr_from_pdf(pdf: Path) -> str:
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(pdf.with_suffix(""))], check=True)
    png = pdf.with_suffix(".png")
    shots = Path("test-artifacts/screens")
    shots.mkdir(parents=True, exist_ok=True)
    (shots / "certificate.png").write_bytes(png.read_bytes())
    codes = zxingcpp.read_barcodes(Image.open(png))
    assert codes, "no QR code on the certificate"
    return str(codes[0].text)


def test_person_gets_a_certificate_a_stranger_can_verify(e2e_stack: Stack, chromium: Browser,
                                                         person: BrowserContext, tmp_path: Path) -> None:
    stack = e2e_stack
    page = person.new_page()
    sign_in(page, stack, "张伟")
    page.get_by_role("tab", name="我的档案").or_(page.get_by_text("我的档案").first).first.click()
    expect(page.get_by_text("北京市朝阳区人才服务中心").first).to_be_visible()
    expect(page.get_by_text("个人委托").first).to_be_visible()
    expect(page.get_by_text("110105********0012").first).to_be_visible()
    assert "110105199805120012" not in page.content()
    screenshot(page, "02-my-archive")

    app_id = apply_for_certificate(page)
    expect(page.get_by_text("已提交").first).to_be_visible()
    reference_no = reference_number(page)
    assert app_id in page.url
    expect(page.get_by_text("已转送至存档机构").first).to_be_visible(timeout=15000)
    screenshot(page, "05-submitted")

    clerk_does(chromium, stack, reference_no, "受理")
    expect(page.get_by_text("申请已受理").first).to_be_visible(timeout=15000)  # no reload
    clerk_does(chromium, stack, reference_no, "办结")
    expect(page.get_by_text("已办结").first).to_be_visible(timeout=15000)
    download_button = page.get_by_text("下载电子证明")
    expect(download_button).to_be_visible(timeout=30000)
    screenshot(page, "06-completed")

    with page.expect_download() as info:
        download_button.click()
    pdf = tmp_path / "certificate.pdf"
    info.value.save_as(pdf)
    url = qr_from_pdf(pdf)

    stranger = phone(chromium)  # a verifier's phone: no session, no cookies
    verifier = stranger.new_page()
    verifier.goto(url)
    expect(verifier.get_by_text("证明真实有效")).to_be_visible()
    expect(verifier.get_by_text("北京市朝阳区人才服务中心").first).to_be_visible()
    expect(verifier.get_by_text("110105********0012")).to_be_visible()
    screenshot(verifier, "07-verified")

    token = url.rsplit("/", 1)[1]
    tail = "AAAAAAAA" if not token.endswith("AAAAAAAA") else "BBBBBBBB"
    verifier.goto(url.rsplit("/", 1)[0] + "/" + token[:-8] + tail)
    expect(verifier.get_by_text("未通过核验")).to_be_visible()
    screenshot(verifier, "08-not-genuine")
    stranger.close()

    cached = page.evaluate("""async () => {
        await navigator.serviceWorker.ready;
        const urls = [];
        for (const name of await caches.keys()) {
            for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
        }
        return urls;
    }""")
    assert cached, "the service worker cached no app shell"
    assert not [u for u in cached if "/api/" in u or "/auth/" in u or "/v/" in u], cached

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="个人登录")).to_be_visible(timeout=15000)
    assert page.request.get(f"{stack.portal}/api/me").status == 401


def test_refusal_reason_reaches_the_person(e2e_stack: Stack, chromium: Browser, person: BrowserContext) -> None:
    stack = e2e_stack
    page = person.new_page()
    sign_in(page, stack, "王芳")
    expect(page.get_by_text("南京市玄武区人才服务中心").first).to_be_visible()
    apply_for_certificate(page)
    reference_no = reference_number(page)
    expect(page.get_by_text("已转送至存档机构").first).to_be_visible(timeout=15000)
    clerk_does(chromium, stack, reference_no, "不予办理", reason="档案中无相关记载")
    expect(page.get_by_text("不予办理").first).to_be_visible(timeout=15000)
    expect(page.get_by_text("档案中无相关记载")).to_be_visible()
    screenshot(page, "09-refused")
