"""A unit's HR starts a transfer into the unit's storage for a new hire (孙浩, whose archive is in 贵阳): the
agency is chosen from the directory, the unit's letter uploaded; 孙浩 sees it in 我的申请 and confirms it.
Screenshots land in test-artifacts/screens/transfer-*.png."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, expect

from e2e.conftest import phone, screenshot
from e2e.test_employer_letters import letter_pdf, sign_in, sign_in_unit
from tests.support.stack import Stack


def test_unit_starts_a_transfer_the_hire_confirms(e2e_stack: Stack, chromium: Browser, person: BrowserContext,
                                                  tmp_path: Path) -> None:
    stack = e2e_stack
    hr_context = phone(chromium)
    hr = hr_context.new_page()
    sign_in_unit(hr, stack)
    hr.wait_for_url(f"{stack.portal}/unit")

    hr.get_by_role("link", name="为新员工办理转入").or_(hr.get_by_role("button", name="为新员工办理转入")).click()
    hr.wait_for_url(f"{stack.portal}/unit/transfer")
    expect(hr.get_by_role("heading", name="为新员工办理转入")).to_be_visible()
    hr.get_by_role("button", name="下一步").click()
    expect(hr.get_by_text("请填写正确的18位居民身份证号码")).to_be_visible()
    expect(hr.get_by_text("请从机构目录中选择转入的存档机构")).to_be_visible()
    screenshot(hr, "transfer-01-form-errors")

    hr.get_by_label("姓名").fill("孙浩")
    hr.get_by_label("居民身份证号码").fill("52010319940922071x")
    hr.get_by_role("button", name=re.compile("转入存档机构")).click()
    picker = hr.get_by_role("dialog", name="选择存档机构")
    picker.get_by_role("button", name="浙江省", exact=True).click()
    picker.get_by_label("按名称搜索存档机构").fill("杭州市人才")
    choice = picker.get_by_role("button", name=re.compile("^杭州市人才服务中心"))
    expect(choice).to_be_visible()
    expect(picker.get_by_role("button", name=re.compile("宁波市人才服务中心"))).to_have_count(0)
    expect(choice.get_by_text("0571-87006666", exact=False)).to_be_visible()
    screenshot(hr, "transfer-02-agency-picker")
    choice.click()
    expect(picker).to_be_hidden()
    chosen = hr.get_by_role("button", name=re.compile("转入存档机构"))
    expect(chosen.get_by_text("杭州市人才服务中心")).to_be_visible()
    expect(chosen.get_by_text("浙江省杭州市上城区解放东路 18 号")).to_be_visible()
    hr.get_by_test_id("file-input").set_input_files(str(letter_pdf(tmp_path / "介绍信-孙浩.pdf")))
    expect(hr.get_by_text("已上传，共1页")).to_be_visible(timeout=15000)
    screenshot(hr, "transfer-03-form")

    hr.get_by_role("button", name="下一步").click()
    expect(hr.get_by_text("请核对申请信息")).to_be_visible()
    expect(hr.get_by_text("520103********071X")).to_be_visible()
    expect(hr.get_by_text("单位委托").first).to_be_visible()
    screenshot(hr, "transfer-04-check")
    hr.get_by_role("button", name="确认提交").click()
    expect(hr.get_by_role("heading", name="已发起转入申请")).to_be_visible()
    expect(hr.get_by_text("在“我的申请”中确认")).to_be_visible()
    screenshot(hr, "transfer-05-started")
    hr.get_by_role("link", name="返回单位首页").or_(hr.get_by_role("button", name="返回单位首页")).click()
    started = hr.locator("section", has=hr.get_by_role("heading", name="本单位发起的申请"))
    expect(started.get_by_text("孙浩")).to_be_visible()
    expect(started.get_by_text("等待本人确认")).to_be_visible()

    # The hire sees it in 我的申请 and confirms.
    page = person.new_page()
    sign_in(page, stack, "sunhao")
    page.get_by_text("我的申请").first.click()
    card = page.get_by_role("link", name=re.compile("档案转递"))
    expect(card.get_by_text("等待本人确认")).to_be_visible()
    card.click()
    expect(page.get_by_role("heading", name="请确认档案转递")).to_be_visible()
    expect(page.get_by_text("杭州云栖科技有限公司").first).to_be_visible()
    expect(page.get_by_text("杭州市人才服务中心").first).to_be_visible()
    screenshot(page, "transfer-06-hire-confirms")
    page.get_by_role("button", name="确认转递").click()
    expect(page.get_by_role("heading", name="请确认档案转递")).to_have_count(0)
    expect(page.get_by_text("本人已确认").first).to_be_visible()
    expect(page.get_by_text("已转送至存档机构").first).to_be_visible(timeout=30000)
    screenshot(page, "transfer-07-confirmed")
    expect(started.get_by_text("等待本人确认")).to_have_count(0, timeout=15000)
    hr_context.close()
