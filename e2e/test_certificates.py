"""The certificate kinds on a phone. 张伟 applies for a 亲属关系证明 (his father 张建国) by post: a bad postcode is
told under its field, the address is picked 省 → 市 → 区县; the clerk completes it, the e-certificate downloads,
and 补发 replaces it with a new number. The unit's HR applies for an employee's 存档证明 (a refusal for someone
whose archive the unit does not hold first); the employee sees it in his own list.
Screenshots land in test-artifacts/screens/cert-*.png."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.conftest import SCREENS, phone, screenshot
from e2e.test_employer_letters import UNIT, letter_pdf, sign_in, sign_in_unit
from tests.support.stack import Stack, wait_until


def screenshot_path(name: str) -> Path:
    """A viewport-sized shot (a bottom sheet is drawn over the visible part of the page only)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS / f"{name}.png"


LIVE = 30_000  # ms: a clerk's step reaches the person's page through the poller and the event stream


def pick_region(page: Page, *names: str, shot: str | None = None) -> None:
    """省 → 市 → 区县 in the region sheet (each level's list replaces the one before)."""
    page.get_by_role("button", name=re.compile("所在地区")).click()
    sheet = page.get_by_role("dialog", name="选择所在地区")
    expect(sheet.get_by_role("menuitemradio", name=names[0], exact=True)).to_be_visible()
    if shot:
        page.wait_for_timeout(400)  # the sheet slides up
        page.screenshot(path=str(screenshot_path(shot)))
    for name in names:
        sheet.get_by_role("menuitemradio", name=name, exact=True).click()  # the earlier levels are aria-hidden
    expect(sheet).to_be_hidden()


def test_kinship_certificate_by_post_then_reissued(e2e_stack: Stack, person: BrowserContext,
                                                   tmp_path: Path) -> None:
    stack = e2e_stack
    page = person.new_page()
    sign_in(page, stack, "zhangwei")
    entries = ("申请存档证明", "申请经历证明", "申请亲属关系证明", "申请无犯罪记录证明", "申请政审材料", "申请档案转递")
    for entry in entries:
        expect(page.get_by_role("button", name=entry)).to_be_visible()
    screenshot(page, "cert-00-my-archive")
    page.get_by_role("button", name="申请亲属关系证明").click()
    page.wait_for_url(re.compile(r".*/apply/certificate\?kind=kinship_certificate$"))
    expect(page.get_by_role("heading", name="申请亲属关系证明")).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("^亲属关系证明"))).to_be_checked()
    screenshot(page, "cert-01-form")

    page.get_by_label("证明用途").fill("办理父亲随迁落户")
    page.get_by_text("父亲", exact=True).click()
    page.get_by_label("亲属姓名").fill("张建国")
    page.get_by_label("联系电话").fill("13800138000")
    page.get_by_role("radio", name=re.compile("邮寄纸质证明")).check()
    page.get_by_label("收件人", exact=True).fill("张伟")
    page.get_by_label("收件人手机号码").fill("13800138000")
    pick_region(page, "浙江省", "杭州市", "临平区", shot="cert-02a-region-sheet")  # a district since 2021
    expect(page.get_by_role("button", name=re.compile("浙江省杭州市临平区"))).to_be_visible()
    page.get_by_label("详细地址").fill("世纪大道88号3单元501室")
    page.get_by_label("邮政编码").fill("31110")
    page.get_by_role("button", name="下一步").click()
    postcode = page.locator(".van-field", has=page.get_by_label("邮政编码"))
    expect(postcode.get_by_text("邮政编码应为6位数字")).to_be_visible()
    expect(page.get_by_text("请核对申请信息")).to_have_count(0)
    screenshot(page, "cert-02-postcode-error")

    page.get_by_label("邮政编码").fill("311100")
    expect(page.get_by_text("邮政编码应为6位数字")).to_have_count(0)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_text("请核对申请信息")).to_be_visible()
    expect(page.get_by_text("父亲：张建国")).to_be_visible()
    expect(page.get_by_text("邮寄纸质证明（邮费自付）")).to_be_visible()
    expect(page.get_by_text("浙江省杭州市临平区 世纪大道88号3单元501室")).to_be_visible()
    screenshot(page, "cert-03-check")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url(re.compile(rf"{re.escape(stack.portal)}/applications/[0-9a-f-]{{36}}$"))
    app_id = page.url.rsplit("/", 1)[1]
    facts = page.get_by_test_id("application-facts")
    expect(facts.get_by_text("张建国")).to_be_visible()
    expect(facts.get_by_text("邮寄地址")).to_be_visible()
    assert "世纪大道88号3单元501室" not in facts.inner_text()  # the address is shown masked

    wait_until(lambda: stack.sandbox_application(app_id), timeout=30)
    stack.clerk(app_id, "accept")
    stack.clerk(app_id, "complete")
    card = page.get_by_test_id("certificate")
    expect(card).to_be_visible(timeout=LIVE)
    expect(card.get_by_text("有效", exact=True)).to_be_visible()
    number = card.get_by_test_id("certificate-no").inner_text().strip()
    screenshot(page, "cert-04-issued")

    with page.expect_download() as download:
        card.get_by_role("link", name="下载电子证明").or_(card.get_by_role("button", name="下载电子证明")).click()
    saved = tmp_path / "亲属关系证明.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    card.get_by_role("button", name="申请补发").click()
    dialog = page.get_by_role("dialog", name="申请补发电子证明？")
    expect(dialog.get_by_text(f"原证明（{number}）将作废")).to_be_visible()
    page.wait_for_timeout(400)  # the dialog fades in
    page.screenshot(path=str(screenshot_path("cert-05-reissue-confirm")))
    dialog.get_by_role("button", name="确定补发").click()
    expect(card.get_by_test_id("certificate-no")).not_to_have_text(number, timeout=LIVE)
    expect(dialog).to_be_hidden()
    reissued = card.get_by_test_id("certificate-no").inner_text().strip()
    assert reissued != number and reissued.endswith("-1"), (number, reissued)
    expect(card.get_by_text("已补发，原证明已作废。")).to_be_visible()
    screenshot(page, "cert-06-reissued")


def test_unit_applies_for_an_employee(e2e_stack: Stack, chromium: Browser, person: BrowserContext,
                                      tmp_path: Path) -> None:
    stack = e2e_stack
    hr_context = phone(chromium)
    hr = hr_context.new_page()
    sign_in_unit(hr, stack)
    hr.wait_for_url(f"{stack.portal}/unit")
    screenshot(hr, "cert-unit-01-home")

    hr.get_by_role("button", name="为员工申请证明或政审材料").click()
    hr.wait_for_url(f"{stack.portal}/unit/apply")
    expect(hr.get_by_role("heading", name="为员工申请证明或政审材料")).to_be_visible()
    hr.get_by_role("button", name="下一步").click()
    expect(hr.get_by_text("请填写正确的18位居民身份证号码")).to_be_visible()
    expect(hr.get_by_text("请选择申请事项")).to_be_visible()
    expect(hr.get_by_text("请先上传单位介绍信")).to_be_visible()
    screenshot(hr, "cert-unit-02-errors")

    # First someone whose archive the unit does not hold (张伟, 个人委托 in 北京): refused, and said so.
    hr.get_by_label("员工姓名").fill("张伟")
    hr.get_by_label("居民身份证号码").fill("110105199805120012")
    hr.get_by_label("员工手机号码").fill("13800138000")
    hr.get_by_role("radio", name=re.compile("^政审材料")).check()  # its own fields: the reviewing unit, the 政审函
    expect(hr.get_by_label("政审单位名称")).to_be_visible()
    expect(hr.get_by_label("从相册或文件中选择政审函")).to_be_attached()
    expect(hr.get_by_label("证明用途")).to_have_count(0)
    screenshot(hr, "cert-unit-03a-review-kind")
    hr.get_by_role("radio", name=re.compile("^存档证明")).check()
    expect(hr.get_by_label("政审单位名称")).to_have_count(0)
    hr.get_by_label("证明用途").fill("入职")
    hr.get_by_label("从相册或文件中选择单位介绍信").set_input_files(str(letter_pdf(tmp_path / "单位介绍信.pdf")))
    expect(hr.get_by_text("已上传，共1页")).to_be_visible(timeout=15_000)
    screenshot(hr, "cert-unit-03-form")
    hr.get_by_role("button", name="下一步").click()
    expect(hr.get_by_text("请核对申请信息")).to_be_visible()
    hr.get_by_role("button", name="确认提交").click()
    expect(hr.get_by_role("alert")).to_contain_text("不是由本单位委托存档")
    expect(hr.get_by_text("请核对员工姓名和身份证号码。")).to_be_visible()
    screenshot(hr, "cert-unit-04-not-unit-archive")

    # Then 周杰, whose archive the unit holds (陈晨 and 李娜 are left to the letter tests, whose unit home must
    # show only their own requests).
    hr.get_by_role("button", name="核对员工信息").click()
    hr.get_by_label("员工姓名").fill("周杰")
    hr.get_by_label("居民身份证号码").fill("33010619990101003X")
    hr.get_by_label("员工手机号码").fill("13606712003")
    hr.get_by_role("button", name="下一步").click()
    expect(hr.get_by_text("330106********003X")).to_be_visible()
    screenshot(hr, "cert-unit-05-check")
    hr.get_by_role("button", name="确认提交").click()
    expect(hr.get_by_role("heading", name="已代员工提交申请")).to_be_visible()
    expect(hr.get_by_text("周杰可登录本人账号")).to_be_visible()
    screenshot(hr, "cert-unit-06-done")
    hr.get_by_role("link", name="返回单位首页").or_(hr.get_by_role("button", name="返回单位首页")).click()
    started = hr.locator("section", has=hr.get_by_role("heading", name="本单位发起的申请"))
    expect(started.get_by_text("周杰").first).to_be_visible()
    expect(started.get_by_text("存档证明").first).to_be_visible()
    hr_context.close()

    # 周杰 sees it in 我的申请, applied for by his employer.
    page = person.new_page()
    sign_in(page, stack, "zhoujie")
    page.get_by_text("我的申请").first.click()
    page.get_by_role("link", name=re.compile("存档证明")).first.click()
    expect(page.get_by_text(f"由{UNIT}代为申请")).to_be_visible()
    screenshot(page, "cert-unit-07-employee-sees-it")
