"""A person starts a transfer on their phone; a clerk takes each step in the sandbox's console (the texts of its
buttons and fields are listed at the top of sandbox/provincial/console.py). Shared by test_transfer_journey.py
(the normal path) and test_transfer_exceptions.py (each exception, and withdrawal)."""

from __future__ import annotations

import contextlib
import re

from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from e2e.conftest import phone, screenshot
from e2e.test_employer_letters import sign_in
from tests.support.stack import Stack

LIVE = 20_000  # ms: a step reaches the person's page through the poller and the event stream
REFERENCE_NO = re.compile(r"SQ\d{8}[A-Z0-9]{8}")
# 吴静 keeps her own archive (个人委托) at 贵阳市人才服务中心; a person may have several transfers open at once
PERSON, PERSON_PHONE = "wujing", "13985112233"


def start_transfer(page: Page, stack: Stack, person_login: str = PERSON, *, mobile: str = PERSON_PHONE,
                   shots: str | None = None) -> str:
    """Signs in, applies for a transfer (from 贵阳) to 杭州市人才服务中心 as 个人委托 and submits it; returns the
    申请编号 once the detail page waits for the agency to accept it. ``shots``: a prefix for screenshots of the
    form and of the check page."""
    sign_in(page, stack, person_login)
    page.get_by_role("link", name="申请档案转递").or_(page.get_by_role("button", name="申请档案转递")).first.click()
    page.wait_for_url(f"{stack.portal}/apply/archive-transfer")
    expect(page.get_by_role("heading", name="申请档案转递")).to_be_visible()

    page.get_by_role("button", name=re.compile("转入存档机构")).click()
    picker = page.get_by_role("dialog", name="选择存档机构")
    picker.get_by_role("button", name="浙江省", exact=True).click()
    picker.get_by_label("按名称搜索存档机构").fill("杭州市人才")
    picker.get_by_role("button", name=re.compile("^杭州市人才服务中心")).click()
    expect(picker).to_be_hidden()
    expect(page.get_by_text("从 贵阳市人才服务中心 转至 杭州市人才服务中心")).to_be_visible()
    expect(page.get_by_text("省外转移").first).to_be_visible()
    page.get_by_text("个人委托", exact=True).click()
    page.get_by_label("手机号码").fill(mobile)
    if shots:
        screenshot(page, f"{shots}-01-form")
    page.get_by_role("button", name="下一步").click()
    check = page.get_by_text("请核对申请信息")
    for _ in range(40):  # the material step (which says nothing is needed) may show first, or be skipped
        if check.is_visible():
            break
        step = page.get_by_role("button", name="下一步")
        if step.is_visible():
            with contextlib.suppress(PlaywrightTimeoutError):  # the page moved on meanwhile
                step.click(timeout=1000)
        page.wait_for_timeout(250)
    expect(check).to_be_visible()
    expect(page.get_by_text("省外转移").first).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-02-check")
    page.get_by_role("button", name="确认提交").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(stack.portal)}/applications/[0-9a-f-]{{36}}$"), timeout=LIVE)
    expect(page.get_by_text("存档机构受理申请")).to_be_visible(timeout=LIVE)  # forwarded: at the agency now
    found = REFERENCE_NO.search(page.content())
    assert found, "no 申请编号 on the application's page"
    return found.group(0)


def open_console(chromium: Browser) -> Page:
    """The sandbox's clerk console, on a desktop-sized window."""
    console = phone(chromium).new_page()
    console.set_viewport_size({"width": 1400, "height": 900})
    return console


def console_row(console: Page, stack: Stack, reference_no: str) -> Locator:
    """The application's row in a freshly loaded console."""
    console.goto(stack.provincial + "/")
    return console.locator("tr", has=console.get_by_text(reference_no, exact=True))


def clerk_clicks(console: Page, stack: Stack, reference_no: str, button: str, **fields: str) -> None:
    """A clerk fills the action's fields (by their label) and presses its button; the console takes it."""
    row = console_row(console, stack, reference_no)
    for label, value in fields.items():
        field = row.get_by_label(label)
        if label == "转递方式":
            field.select_option(label=value)
        else:
            field.fill(value)
    row.get_by_role("button", name=button, exact=True).click()
    # the form posted and came back with a banner: 「已受理」 and the like, or (role=alert) why it was refused
    expect(console).to_have_url(re.compile(r"/\?(notice|error)="))
    banner = console.get_by_role("status").or_(console.get_by_role("alert"))
    expect(banner).to_be_visible()
    refused = console.get_by_role("alert")
    assert refused.count() == 0, f"「{button}」 refused: {refused.inner_text()}"
