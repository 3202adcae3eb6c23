"""A cross-province transfer (贵阳 → 杭州) on a phone, through all six steps, each taken by a clerk in the
sandbox's console for the agency concerned; the person's page follows live, then the person rates the service.
Screenshots land in test-artifacts/screens/journey-*.png (the finished timeline is also kept in docs/)."""

from __future__ import annotations

import contextlib
import re

from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from e2e.conftest import phone, screenshot
from e2e.test_employer_letters import sign_in
from tests.support.stack import Stack

LIVE = 20_000  # ms: a step reaches the person's page through the poller and the event stream


def console_row(console: Page, stack: Stack, reference_no: str) -> object:
    console.goto(stack.provincial + "/")
    return console.locator("tr", has=console.get_by_text(reference_no, exact=True))


def clerk_clicks(console: Page, stack: Stack, reference_no: str, button: str, **fields: str) -> None:
    row = console_row(console, stack, reference_no)
    for label, value in fields.items():
        field = row.get_by_label(label)  # type: ignore[attr-defined]
        if label == "转递方式":
            field.select_option(label=value)
        else:
            field.fill(value)
    row.get_by_role("button", name=button, exact=True).click()  # type: ignore[attr-defined]
    expect(console.get_by_role("alert")).to_have_count(0)


def test_a_cross_province_transfer_through_every_step(e2e_stack: Stack, chromium: Browser,
                                                       person: BrowserContext) -> None:
    stack = e2e_stack
    page = person.new_page()
    sign_in(page, stack, "wujing")
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
    page.get_by_label("手机号码").fill("13985112233")
    screenshot(page, "journey-01-form")
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
    screenshot(page, "journey-02-check")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url(re.compile(rf"{re.escape(stack.portal)}/applications/[0-9a-f-]{{36}}$"))
    expect(page.get_by_text("存档机构受理申请")).to_be_visible(timeout=LIVE)
    reference_no = re.search(r"SQ\d{8}[A-Z0-9]{8}", page.content()).group(0)  # type: ignore[union-attr]

    console = phone(chromium).new_page()
    console.set_viewport_size({"width": 1400, "height": 900})
    clerk_clicks(console, stack, reference_no, "受理")
    expect(page.get_by_text("拟接收机构出具调档函")).to_be_visible(timeout=LIVE)
    expect(page.get_by_text(re.compile(r"应于 \d{4}年\d{1,2}月\d{1,2}日前办理"))).to_be_visible()
    screenshot(page, "journey-03-accepted")

    clerk_clicks(console, stack, reference_no, "出具调档函")
    expect(page.get_by_text("原存档机构转出档案")).to_be_visible(timeout=LIVE)
    dispatch = {"转递方式": "机要通信", "机要编号/邮件号": "JY5201202611210001"}
    clerk_clicks(console, stack, reference_no, "转出", **dispatch)
    expect(page.get_by_text("机要编号：JY5201202611210001")).to_be_visible(timeout=LIVE)
    expect(page.get_by_text("转递方式：机要通信")).to_be_visible()
    screenshot(page, "journey-04-sent")
    clerk_clicks(console, stack, reference_no, "已收到")
    expect(page.get_by_text("拟接收机构办理入库")).to_be_visible(timeout=LIVE)
    clerk_clicks(console, stack, reference_no, "入库办结")
    expect(page.get_by_role("heading", name="评价服务")).to_be_visible(timeout=LIVE)
    for label in ("已提交", "申请已受理", "调函已发出", "档案已转出", "档案已收到", "申请已办结"):
        expect(page.get_by_text(label, exact=True).first).to_be_visible()
    expect(page.get_by_text("撤回申请")).to_have_count(0)
    screenshot(page, "journey-05-completed")

    page.get_by_role("radio", name="5星：非常满意").check()
    page.get_by_label("评价内容（选填）").fill("全程在手机上办理，进度清楚")
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_text("您的评价")).to_be_visible()
    expect(page.get_by_role("button", name="提交评价")).to_have_count(0)
    screenshot(page, "journey-06-rated")
    console.context.close()
