"""A transfer (贵阳 → 杭州) that does not end as asked, on a phone: the receiving agency cannot receive the archive,
the current agency cannot send it, the receiving agency returns it (and the current agency confirms the return),
or the person withdraws it before it is accepted. Each agency's step is taken by a clerk in the sandbox's console;
the person's application page shows, live, the outcome, the clerk's reason and what to do next.
Screenshots land in test-artifacts/screens/exception-*.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from e2e.conftest import SCREENS, screenshot
from e2e.transfers import LIVE, clerk_clicks, console_row, open_console, start_transfer
from tests.support.stack import Stack

CURRENT, CURRENT_PHONE = "贵阳市人才服务中心", "0851-87981234"
RECEIVING, RECEIVING_PHONE = "杭州市人才服务中心", "0571-87006666"
WITHDRAWN_ADVICE = "申请已撤回，存档机构不会再办理。如需办理，可以重新申请。"
STATUS_COLUMN = 8  # the console's 「状态」 cell


@pytest.fixture
def console(chromium: Browser) -> Iterator[Page]:
    page = open_console(chromium)
    yield page
    page.context.close()


def current_step(page: Page) -> Locator:
    """The newest line of the timeline (the page lists it first and marks it aria-current)."""
    return page.locator('li[aria-current="step"]')


def shows_outcome(page: Page, status: str, title: str, reason: str | None, advice: str, *, by: str) -> Locator:
    """The application ended with ``status``: the status tag, the newest timeline line (``status``, taken ``by``),
    the outcome card (title, the clerk's reason, the advice, 重新申请), no step awaited any more and no 撤回.
    Returns the outcome card."""
    card = page.get_by_test_id("outcome")
    expect(card.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=LIVE)
    expect(page.get_by_role("region", name="档案转递").get_by_text(status, exact=True)).to_be_visible()
    expect(current_step(page).get_by_text(status, exact=True)).to_be_visible()
    expect(current_step(page).get_by_text(by, exact=True)).to_be_visible()
    if reason is not None:
        expect(card.get_by_text(f"原因：{reason}", exact=True)).to_be_visible()
        expect(page.get_by_text(reason)).to_have_count(1)  # said once, not again under its step in the timeline
    expect(card.get_by_text(advice, exact=True)).to_be_visible()
    expect(card.get_by_role("button", name="重新申请")).to_be_visible()
    expect(page.get_by_test_id("next-step")).to_have_count(0)
    expect(page.get_by_role("button", name="撤回申请")).to_have_count(0)
    return card


def console_shows(console: Page, stack: Stack, reference_no: str, status: str) -> Locator:
    row = console_row(console, stack, reference_no)
    expect(row.locator("td").nth(STATUS_COLUMN)).to_have_text(status)
    return row


def letter_issued(page: Page, console: Page, stack: Stack) -> str:
    """A transfer the receiving agency has accepted and sent its letter for; the page waits for the archive."""
    reference_no = start_transfer(page, stack)
    clerk_clicks(console, stack, reference_no, "受理")
    expect(page.get_by_text("拟接收机构出具调档函")).to_be_visible(timeout=LIVE)
    clerk_clicks(console, stack, reference_no, "出具调档函")
    expect(page.get_by_text("原存档机构转出档案")).to_be_visible(timeout=LIVE)
    return reference_no


def test_the_receiving_agency_cannot_receive_the_archive(e2e_stack: Stack, person: BrowserContext,
                                                         console: Page) -> None:
    stack = e2e_stack
    page = person.new_page()
    reference_no = start_transfer(page, stack)
    expect(page.get_by_role("button", name="撤回申请")).to_be_visible()  # not accepted yet

    reason = "本中心不接收个人委托存档，请改为单位委托后申请"
    clerk_clicks(console, stack, reference_no, "无法接收", 无法接收原因=reason)

    shows_outcome(page, "档案无法接收", "档案无法接收", reason,
                  "档案仍由原存档机构保管。您可以按上面的原因准备后重新申请转递，"
                  f"或先联系拟接收机构（电话 {RECEIVING_PHONE}）了解接收条件。", by=RECEIVING)
    expect(page.get_by_text("存档机构受理申请")).to_have_count(0)
    # the agency's number in the advice is one piece that a tap calls
    expect(page.get_by_test_id("outcome").get_by_role("link", name=RECEIVING_PHONE)).to_have_attribute(
        "href", "tel:057187006666")
    # it ended as the agency decided: the person may rate the service
    expect(page.get_by_role("heading", name="评价服务")).to_be_visible()
    expect(page.get_by_role("button", name="提交评价")).to_be_visible()
    screenshot(page, "exception-01-cannot-receive")

    row = console_shows(console, stack, reference_no, "档案无法接收")
    expect(row.get_by_role("button")).to_have_count(0)
    expect(row.get_by_text(f"原因：{reason}").first).to_be_visible()


def test_the_current_agency_cannot_send_the_archive(e2e_stack: Stack, person: BrowserContext,
                                                    console: Page) -> None:
    stack = e2e_stack
    page = person.new_page()
    reference_no = letter_issued(page, console, stack)

    reason = "档案正在借阅中，暂时无法转出"
    clerk_clicks(console, stack, reference_no, "无法转出", 无法转出原因=reason)

    shows_outcome(page, "档案无法转出", "档案无法转出", reason,
                  f"档案仍由原存档机构保管。请联系原存档机构（电话 {CURRENT_PHONE}）了解详情，"
                  "问题解决后可以重新申请转递。", by=CURRENT)
    expect(page.get_by_text("调函已发出", exact=True)).to_be_visible()  # the earlier steps stay on the timeline
    expect(page.get_by_text("原存档机构转出档案")).to_have_count(0)
    expect(page.get_by_role("heading", name="评价服务")).to_be_visible()
    screenshot(page, "exception-02-cannot-send")

    row = console_shows(console, stack, reference_no, "档案无法转出")
    expect(row.get_by_role("button")).to_have_count(0)


def test_the_receiving_agency_returns_the_archive_and_the_return_is_confirmed(
        e2e_stack: Stack, person: BrowserContext, console: Page) -> None:
    stack = e2e_stack
    page = person.new_page()
    reference_no = letter_issued(page, console, stack)
    clerk_clicks(console, stack, reference_no, "转出", 转递方式="快递", **{"机要编号/邮件号": "SF1234567890"})
    expect(page.get_by_text("邮件号：SF1234567890")).to_be_visible(timeout=LIVE)
    clerk_clicks(console, stack, reference_no, "已收到")
    expect(page.get_by_text("拟接收机构办理入库")).to_be_visible(timeout=LIVE)

    reason = "档案材料缺少2019年度考核登记表"
    clerk_clicks(console, stack, reference_no, "退档", 退档原因=reason)

    # what comes next is the current agency's 退档确认 (a step with no time limit: no due date to show)
    shows_outcome(page, "档案已退档", "档案已退档", reason,
                  "拟接收机构已把档案退回原存档机构，待原存档机构确认。"
                  f"您可以联系拟接收机构（电话 {RECEIVING_PHONE}）了解原因，问题解决后可以重新申请转递。",
                  by=RECEIVING)
    expect(page.get_by_text("拟接收机构办理入库")).to_have_count(0)
    expect(page.get_by_role("heading", name="评价服务")).to_be_visible()
    screenshot(page, "exception-03-returned")

    row = console_shows(console, stack, reference_no, "档案已退档")
    expect(row.get_by_role("button")).to_have_text(["退档确认"])  # the current agency's step, and no other
    clerk_clicks(console, stack, reference_no, "退档确认")

    shows_outcome(page, "退档已确认", "档案已退回原存档机构", reason,
                  "原存档机构已确认档案退回，档案由其继续保管。如仍需转递，可以重新申请。", by=CURRENT)
    expect(page.get_by_text("档案已退档", exact=True)).to_be_visible()  # the return stays on the timeline
    expect(page.get_by_role("heading", name="评价服务")).to_be_visible()
    screenshot(page, "exception-04-return-confirmed")
    row = console_shows(console, stack, reference_no, "退档已确认")
    expect(row.get_by_role("button")).to_have_count(0)


def test_the_person_withdraws_before_the_agency_accepts(e2e_stack: Stack, person: BrowserContext,
                                                        console: Page) -> None:
    stack = e2e_stack
    page = person.new_page()
    reference_no = start_transfer(page, stack)
    row = console_shows(console, stack, reference_no, "已提交")
    expect(row.get_by_role("button", name="受理", exact=True)).to_be_visible()  # at the agency, not accepted

    withdraw = page.get_by_role("button", name="撤回申请")
    expect(page.get_by_text("存档机构受理前可以撤回。")).to_be_visible()
    withdraw.click()
    dialog = page.get_by_role("dialog", name="撤回申请")
    expect(dialog.get_by_text("撤回后存档机构将不再办理，确定撤回？")).to_be_visible()
    dialog.get_by_role("button", name="暂不撤回").click()  # changes nothing
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("region", name="档案转递").get_by_text("已提交", exact=True)).to_be_visible()

    withdraw.click()
    expect(dialog).to_be_visible()
    SCREENS.mkdir(parents=True, exist_ok=True)  # what the phone's screen shows, the dialog's fade-in finished
    page.screenshot(path=str(SCREENS / "exception-05-withdraw-confirm.png"), animations="disabled")
    dialog.get_by_role("button", name="确定撤回").click()
    expect(dialog).to_be_hidden()

    card = shows_outcome(page, "已撤回", "已撤回", None, WITHDRAWN_ADVICE, by="本人")
    expect(card.get_by_text("原因：")).to_have_count(0)
    expect(current_step(page).get_by_role("img", name="已结束")).to_be_visible()  # not 「当前进度」: it is over
    expect(page.get_by_text("存档机构受理申请")).to_have_count(0)
    expect(page.get_by_role("heading", name="评价服务")).to_have_count(0)  # nothing was done to rate
    page.evaluate("window.scrollTo(0, 0)")  # scrolled down to 撤回 before: the page from its top
    screenshot(page, "exception-06-withdrawn")

    row = console_shows(console, stack, reference_no, "已撤回")
    expect(row.get_by_role("button")).to_have_count(0)  # no 受理 (nor anything else) for the clerk any more
    # loaded afresh, the page reads the same: one 「已撤回」 line, even once the provincial feed reports it too
    page.reload()
    shows_outcome(page, "已撤回", "已撤回", None, WITHDRAWN_ADVICE, by="本人")
    expect(page.get_by_text("已撤回", exact=True)).to_have_count(3)  # the tag, the card's title, one timeline line
