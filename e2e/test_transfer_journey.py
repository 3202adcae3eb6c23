"""A cross-province transfer (贵阳 → 杭州) on a phone, through all six steps, each taken by a clerk in the
sandbox's console for the agency concerned; the person's page follows live, then the person rates the service.
Screenshots land in test-artifacts/screens/journey-*.png (the finished timeline is also kept in docs/)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, expect

from e2e.conftest import screenshot
from e2e.transfers import LIVE, clerk_clicks, open_console, start_transfer
from tests.support.stack import Stack


def test_a_cross_province_transfer_through_every_step(e2e_stack: Stack, chromium: Browser,
                                                       person: BrowserContext) -> None:
    stack = e2e_stack
    page = person.new_page()
    reference_no = start_transfer(page, stack, "wujing", shots="journey")

    console = open_console(chromium)
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
