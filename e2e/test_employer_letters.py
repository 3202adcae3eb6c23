"""Two employees ask their employer for the 单位介绍信 their certificate needs; the unit's HR opens one link (and
signs in on the way), then uploads ONE letter for both from the unit's home; both applications go on to the
provincial system. Screenshots land in test-artifacts/screens/letters-*.png."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.conftest import phone, screenshot
from tests.support.stack import Stack

UNIT = "杭州云栖科技有限公司"
USCC = "91330106MA27QK3B27"


def sign_in(page: Page, stack: Stack, username: str) -> None:
    """A person signs in through the sandbox SSO page."""
    page.goto(stack.portal + "/")
    page.get_by_role("button", name="个人登录").click()
    page.wait_for_url(f"{stack.sso}/**")
    page.locator(f'button[data-username="{username}"]').click()
    page.wait_for_url(f"{stack.portal}/**")
    expect(page.get_by_role("heading", name="我的档案")).to_be_visible()


def sign_in_unit(page: Page, stack: Stack, username: str = "yunqi-hr", *, here: bool = False) -> None:
    """A unit's HR signs in with the unit's account through the sandbox SSO page, from the portal's front page
    (or, ``here``, from the page already shown)."""
    if not here:
        page.goto(stack.portal + "/")
    page.get_by_role("button", name="单位经办人登录").click()
    page.wait_for_url(f"{stack.sso}/**")
    page.locator(f'button[data-username="{username}"]').click()
    page.wait_for_url(f"{stack.portal}/unit**")


def letter_pdf(path: Path) -> Path:
    """A one-page 单位介绍信 as a unit would scan or export it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("STSong-Light", 22)
    c.drawCentredString(A4[0] / 2, A4[1] - 120, "单位介绍信")
    c.setFont("STSong-Light", 13)
    lines = ["杭州市人才服务中心：", "兹介绍我单位员工李娜、陈晨前来办理存档证明，请予接洽。",
             f"单位：{UNIT}", f"统一社会信用代码：{USCC}", "2025年6月1日"]
    for i, line in enumerate(lines):
        c.drawString(72, A4[1] - 190 - i * 28, line)
    c.showPage()
    c.save()
    return path


def apply_asking_the_unit(page: Page, shot: str) -> tuple[str, str, str]:
    """Applies for a 存档证明, choosing 「请单位上传」; returns (application id, request code, link)."""
    page.get_by_role("button", name="申请存档证明").click()
    page.get_by_label("证明用途").fill("办理落户")
    page.get_by_label("联系电话").fill("13800138000")
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", name="所需材料")).to_be_visible()
    expect(page.get_by_text("本项业务需提交：现存档单位的单位介绍信")).to_be_visible()
    page.get_by_role("radio", name="请单位上传").check()
    expect(page.get_by_label("单位名称")).to_have_value(UNIT)
    expect(page.get_by_label("统一社会信用代码")).to_have_value(USCC)
    screenshot(page, f"{shot}-materials")

    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_text("请核对申请信息")).to_be_visible()
    expect(page.get_by_text(f"请单位上传：{UNIT}")).to_be_visible()
    screenshot(page, f"{shot}-check")

    page.get_by_role("button", name="确认提交").click()
    expect(page.get_by_role("heading", name="申请已提交")).to_be_visible()
    code = page.get_by_test_id("request-code").inner_text().strip()
    link = page.get_by_test_id("request-link").get_attribute("href") or ""
    assert re.fullmatch(r"[0-9A-Z]{8}", code), code
    assert link.endswith(f"/unit/requests/{code}"), link
    expect(page.get_by_role("button", name="复制请求码")).to_be_visible()
    expect(page.get_by_text("链接7天内有效")).to_be_visible()
    screenshot(page, f"{shot}-request-code")

    page.get_by_role("button", name="查看申请详情").click()
    page.wait_for_url(re.compile(r".*/applications/[0-9a-f-]{36}$"))
    material = page.locator('[data-state="requested"]')
    expect(material.get_by_text("等待单位上传")).to_be_visible()
    expect(material.get_by_test_id("request-code")).to_have_text(code)
    expect(page.get_by_text("已请单位上传介绍信").first).to_be_visible()
    screenshot(page, f"{shot}-waiting")
    return page.url.rsplit("/", 1)[1], code, link


def test_one_letter_for_two_employees(e2e_stack: Stack, chromium: Browser, person: BrowserContext,
                                      tmp_path: Path) -> None:
    stack = e2e_stack
    lina = person.new_page()
    sign_in(lina, stack, "lina")
    expect(lina.get_by_text("单位委托").first).to_be_visible()
    lina_app, lina_code, lina_link = apply_asking_the_unit(lina, "letters-01-lina")

    chen_context = phone(chromium)
    chen = chen_context.new_page()
    sign_in(chen, stack, "chenchen")
    chen_app, chen_code, _ = apply_asking_the_unit(chen, "letters-02-chenchen")
    assert lina_code != chen_code

    # The unit's HR opens the link from WeChat: not signed in yet, the page explains and signs in as the unit.
    hr_context = phone(chromium)
    hr = hr_context.new_page()
    assert lina_link == f"{stack.portal}/unit/requests/{lina_code}", lina_link
    hr.goto(lina_link)
    expect(hr.get_by_text("请使用单位法人账号登录后处理此请求")).to_be_visible()
    expect(hr.get_by_text(lina_code)).to_be_visible()
    screenshot(hr, "letters-03-link-signed-out")
    sign_in_unit(hr, stack, here=True)
    hr.wait_for_url(f"{stack.portal}/unit/requests/{lina_code}")
    expect(hr.get_by_role("heading", name=re.compile("李娜"))).to_be_visible()
    expect(hr.get_by_text("330106********0024")).to_be_visible()
    assert "330106199503080024" not in hr.content()
    expect(hr.get_by_text("可返回单位首页勾选后一次上传同一份介绍信")).to_be_visible()
    screenshot(hr, "letters-04-request-page")

    # From the unit's home: both requests, one letter.
    hr.get_by_role("button", name="返回").click()
    hr.wait_for_url(f"{stack.portal}/unit")
    expect(hr.get_by_role("heading", name=UNIT)).to_be_visible()
    lina_box = hr.get_by_role("checkbox", name=f"选择李娜的请求（{lina_code}）")
    chen_box = hr.get_by_role("checkbox", name=f"选择陈晨的请求（{chen_code}）")
    expect(lina_box).to_be_visible()
    expect(chen_box).to_be_visible()
    expect(hr.get_by_text("330108********0822")).to_be_visible()
    lina_box.check()
    chen_box.check()
    expect(hr.get_by_text("已选2项")).to_be_visible()
    screenshot(hr, "letters-05-unit-home")

    hr.get_by_role("button", name="为选中的申请上传介绍信").click()
    sheet = hr.get_by_role("dialog", name="上传单位介绍信")
    expect(sheet.get_by_text("这份介绍信将用于2个申请")).to_be_visible()
    sheet.get_by_test_id("file-input").set_input_files(str(letter_pdf(tmp_path / "单位介绍信.pdf")))
    expect(sheet.get_by_text("已上传，共1页")).to_be_visible(timeout=15000)
    expect(sheet.get_by_text("单位介绍信.pdf")).to_be_visible()
    screenshot(hr, "letters-06-letter-uploaded")
    sheet.get_by_role("button", name="提交介绍信").click()
    expect(hr.get_by_text("介绍信已上传")).to_be_visible()
    expect(sheet).to_be_hidden()
    expect(lina_box).to_have_count(0)
    expect(chen_box).to_have_count(0)
    handled = hr.locator("section", has=hr.get_by_role("heading", name="已处理的请求"))
    expect(handled.get_by_text("单位已上传")).to_have_count(2)
    screenshot(hr, "letters-07-unit-home-done")

    # Both applicants see the letter attached, and their applications move on to the provincial system.
    for page, shot in ((lina, "letters-08-lina-attached"), (chen, "letters-09-chenchen-attached")):
        material = page.locator('[data-state="attached"]')
        expect(material).to_be_visible(timeout=15000)
        expect(material.get_by_text("已上传")).to_be_visible()
        expect(material.get_by_role("link", name=re.compile(r"单位介绍信.*\.pdf"))).to_be_visible()
        expect(page.get_by_text("已转送至存档机构").first).to_be_visible(timeout=30000)
        screenshot(page, shot)

    for page, app_id in ((lina, lina_app), (chen, chen_app)):
        detail = page.request.get(f"{stack.portal}/api/applications/{app_id}").json()
        assert detail["materials"][0]["state"] == "attached"
        assert detail["materials"][0]["request"]["state"] == "fulfilled"
        assert "forwarded" in [entry["status"] for entry in detail["timeline"]], detail["timeline"]

    chen_context.close()
    hr_context.close()


def test_unit_declines_and_the_employee_asks_again(e2e_stack: Stack, chromium: Browser,
                                                   person: BrowserContext) -> None:
    stack = e2e_stack
    chen = person.new_page()
    sign_in(chen, stack, "chenchen")
    _, code, link = apply_asking_the_unit(chen, "decline-01-chenchen")

    # A person who opens the unit's link is told a unit account is needed.
    chen.goto(link)
    expect(chen.get_by_text("此请求需由单位经办人处理，请使用单位法人账号登录")).to_be_visible()
    screenshot(chen, "decline-02-person-opens-unit-link")
    chen.go_back()

    hr_context = phone(chromium)
    hr = hr_context.new_page()
    sign_in_unit(hr, stack)
    hr.wait_for_url(f"{stack.portal}/unit")

    # a code that names no request of this unit
    hr.get_by_label("输入请求码").fill("ZZZZ2222")
    hr.get_by_role("button", name="查看", exact=True).click()
    expect(hr.get_by_text("未找到该请求，或该请求不属于贵单位")).to_be_visible()
    screenshot(hr, "decline-03-unknown-code")
    hr.get_by_role("button", name="返回单位首页").click()

    hr.get_by_role("button", name="不予出具陈晨的介绍信").click()
    dialog = hr.get_by_role("dialog", name="不予出具介绍信")
    dialog.get_by_role("button", name="确认不予出具").click()
    expect(dialog.get_by_text("请填写不出具介绍信的原因（2至200个字）")).to_be_visible()
    dialog.get_by_label("不予出具原因").fill("该员工已于上月离职，请向现单位申请")
    screenshot(hr, "decline-04-reason")
    dialog.get_by_role("button", name="确认不予出具").click()
    expect(hr.get_by_text("已告知陈晨：不予出具介绍信。")).to_be_visible()
    expect(hr.get_by_role("checkbox", name=f"选择陈晨的请求（{code}）")).to_have_count(0)
    screenshot(hr, "decline-05-unit-home")

    # The employee reads the reason, and asks again (the unit's name and code are prefilled).
    material = chen.locator('[data-state="declined"]')
    expect(material).to_be_visible(timeout=15000)
    expect(material.get_by_text("该员工已于上月离职，请向现单位申请")).to_be_visible()
    expect(chen.get_by_text("待补充材料").first).to_be_visible()
    screenshot(chen, "decline-06-employee-sees-reason")
    material.get_by_role("button", name="再次请单位上传").click()
    expect(material.get_by_label("单位名称")).to_have_value(UNIT)
    material.get_by_label("统一社会信用代码").fill("91330106MA27QK3B28")
    material.get_by_role("button", name="提交材料").click()
    expect(material.get_by_text("统一社会信用代码校验位不正确，请核对后重新填写")).to_be_visible()
    material.get_by_label("统一社会信用代码").fill(USCC)
    material.get_by_role("button", name="提交材料").click()
    again = chen.locator('[data-state="requested"]')
    expect(again.get_by_test_id("request-code")).to_be_visible()
    assert again.get_by_test_id("request-code").inner_text().strip() != code
    expect(chen.get_by_text("等待单位上传介绍信").first).to_be_visible()
    screenshot(chen, "decline-07-asked-again")
    hr_context.close()
