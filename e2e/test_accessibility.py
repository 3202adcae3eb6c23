"""The PWA on a phone for everyone: axe-core finds nothing on the main screens, in the standard look and in
长辈模式 (larger text, 48px touch targets, stronger contrast); 长辈模式 is switched on from the header, kept on the
device across sign-out and applied before the first paint; and at 200% zoom (a 390px phone shows 195 CSS
pixels) nothing scrolls sideways and no control is cut off.

axe-core comes from ``web/node_modules`` (a dev dependency of the PWA); the portal's CSP allows no injected
script, so these contexts bypass it (only here: the page itself is unchanged). Screenshots land in
test-artifacts/screens/a11y-*.png."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from e2e.conftest import screenshot
from e2e.test_employer_letters import sign_in, sign_in_unit
from tests.support.stack import REPO, Stack

AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
PERSON = "wangfang"
UNIT_HR = "jinling-hr"
ELDER_KEY = "portal.elder"
REPORTS = REPO / "test-artifacts" / "a11y"


def context(chromium: Browser, *, elder: bool = False, zoom: bool = False) -> BrowserContext:
    """A phone (390×844 at 2×), or the same phone at 200% zoom: 195 CSS pixels wide at 4 device pixels each."""
    size: ViewportSize = {"width": 195, "height": 422} if zoom else {"width": 390, "height": 844}
    ctx = chromium.new_context(viewport=size, device_scale_factor=4 if zoom else 2, is_mobile=True, has_touch=True,
                               locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True)
    if elder:
        ctx.add_init_script(f"try {{ localStorage.setItem({json.dumps(ELDER_KEY)}, '1') }} catch (e) {{}}")
    return ctx


def settled(page: Page) -> None:
    """The screen has its heading and nothing is still loading (skeletons, spinners, transitions)."""
    expect(page.get_by_role("heading").first).to_be_visible(timeout=15000)
    expect(page.locator(".van-skeleton")).to_have_count(0, timeout=15000)
    expect(page.locator(".boot")).to_have_count(0)
    page.wait_for_timeout(400)  # Vant's transitions (300 ms)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })) }));
    }""")
    return list(result)


SMALL_TARGETS = """(min) => {
    const out = [];
    const controls = document.querySelectorAll(
        'button, a[href], input:not([type=hidden]), select, textarea, [role=button], [role=switch], [role=tab], '
        + '[role=checkbox], [role=radio], .van-cell--clickable, .van-tabbar-item');
    for (const el of controls) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
        // an input inside its label counts with the label (the whole choice is the target), a field with its row
        const around = el.closest('label') || (el.matches('.van-field__control') && el.closest('.van-field'));
        const box = around ? around.getBoundingClientRect() : r;
        // links inside a sentence are exempt (WCAG 2.5.8), as the sentence sets their size
        if (el.tagName === 'A' && getComputedStyle(el).display === 'inline') continue;
        if (box.height < min - 0.5 || box.width < min - 0.5) {
            const text = (el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 30);
            const what = `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${text}"`;
            out.push(`${what} ${Math.round(box.width)}x${Math.round(box.height)}`);
        }
    }
    return out;
}"""

OVERFLOW = """() => {
    const doc = document.documentElement;
    const out = [];
    if (doc.scrollWidth > doc.clientWidth) out.push(`document ${doc.scrollWidth} > ${doc.clientWidth}`);
    const width = doc.clientWidth;
    const controls = document.querySelectorAll(
        'button, a[href], input:not([type=hidden]):not([type=file]), select, textarea, [role=switch], '
        + '.van-tabbar-item');
    for (const el of controls) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        const text = (el.innerText || el.getAttribute('aria-label') || el.value || '').trim().slice(0, 20);
        const name = `${el.tagName.toLowerCase()} "${text}"`;
        const edges = `[${Math.round(r.left)}, ${Math.round(r.right)}]`;
        if (r.left < -1 || r.right > width + 1) out.push(`${name} outside ${edges}`);
        if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
            out.push(`${name} clipped ${el.scrollWidth} > ${el.clientWidth}`);
        }
    }
    // text cut off at the screen's edge (a container clipping it keeps the document from scrolling)
    for (const el of document.body.querySelectorAll('*')) {
        if (el.childElementCount || !el.textContent.trim()) continue;
        const r = el.getBoundingClientRect();
        if (r.width <= 1 || r.height <= 1) continue;  // .sr-only
        if (r.left < -1 || r.right > width + 1) {
            const edges = `[${Math.round(r.left)}, ${Math.round(r.right)}]`;
            out.push(`text "${el.textContent.trim().slice(0, 20)}" outside ${edges}`);
        }
    }
    return out;
}"""


@dataclass
class Findings:
    """Everything found on every screen, reported at once."""

    name: str
    problems: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, screen: str, kind: str, found: list[Any]) -> None:
        if found:
            self.problems[f"{screen} [{kind}]"] = found

    def assert_none(self) -> None:
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / f"{self.name}.json").write_text(json.dumps(self.problems, ensure_ascii=False, indent=1))
        assert not self.problems, json.dumps(self.problems, ensure_ascii=False, indent=1)


def submitted(page: Page, stack: Stack) -> str:
    """An application of the signed-in person (made through the API, as the form would), for its detail."""
    answer = page.request.post(f"{stack.portal}/api/applications", headers={
        "Idempotency-Key": str(uuid.uuid4()), "Origin": stack.portal},
        data={"kind": "archive_certificate", "purpose": "办理落户", "phone": "13800138000", "delivery": "electronic"})
    assert answer.ok, answer.text()
    return str(answer.json()["id"])


Check = Callable[[str, Page], None]


def visit(page: Page, url: str, screen: str, check: Check) -> None:
    page.goto(url)
    settled(page)
    check(screen, page)


def person_screens(page: Page, stack: Stack, check: Check) -> None:
    """Signed out, then as a person: every screen of the person's side, each checked once ready."""
    page.goto(stack.portal + "/")
    expect(page.get_by_role("button", name="个人登录")).to_be_visible()
    settled(page)
    check("sign-in", page)
    visit(page, stack.portal + "/unit/requests/ABCD2345", "unit-request-signed-out", check)
    visit(page, stack.portal + "/verify", "verify", check)

    sign_in(page, stack, PERSON)
    settled(page)
    check("home", page)
    app_id = submitted(page, stack)
    page.goto(stack.portal + "/applications")
    expect(page.locator("a.application-card").first).to_be_visible()
    settled(page)
    check("applications", page)
    page.goto(f"{stack.portal}/applications/{app_id}")
    expect(page.get_by_text("申请编号").first).to_be_visible()
    settled(page)
    check("detail", page)

    visit(page, stack.portal + "/apply/certificate?kind=archive_certificate", "apply-certificate", check)
    page.get_by_label("证明用途").fill("办理落户")
    page.get_by_label("联系电话").fill("13800138000")
    page.get_by_role("button", name="下一步").click()
    next_step = page.get_by_role("button", name="确认提交").or_(page.get_by_role("heading", name="所需材料"))
    expect(next_step).to_be_visible()
    settled(page)
    check("apply-certificate-next", page)
    visit(page, stack.portal + "/apply/political-review", "apply-political-review", check)
    visit(page, stack.portal + "/apply/archive-transfer", "apply-archive-transfer", check)


def unit_screens(page: Page, stack: Stack, check: Check) -> None:
    sign_in_unit(page, stack, UNIT_HR)
    settled(page)
    check("unit-home", page)
    visit(page, stack.portal + "/unit/apply", "unit-apply", check)
    visit(page, stack.portal + "/unit/transfer", "unit-transfer", check)


@pytest.fixture(params=["standard", "elder"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_axe_finds_nothing_on_the_main_screens(e2e_stack: Stack, chromium: Browser, mode: str) -> None:
    findings = Findings(f"axe-{mode}")
    elder = mode == "elder"

    def check(screen: str, page: Page) -> None:
        assert page.evaluate("document.documentElement.classList.contains('elder')") is elder or screen == "verify"
        findings.add(screen, "axe", axe_violations(page))
        if elder and screen != "verify":  # the verification pages are the BFF's own, outside 长辈模式
            findings.add(screen, "targets < 48px", page.evaluate(SMALL_TARGETS, 48))
        screenshot(page, f"a11y-{mode}-{screen}")

    for screens in (person_screens, unit_screens):
        ctx = context(chromium, elder=elder)
        try:
            screens(ctx.new_page(), e2e_stack, check)
        finally:
            ctx.close()
    findings.assert_none()


def test_nothing_scrolls_sideways_at_200_percent_zoom(e2e_stack: Stack, chromium: Browser, mode: str) -> None:
    findings = Findings(f"zoom-{mode}")

    def check(screen: str, page: Page) -> None:
        findings.add(screen, "overflow", page.evaluate(OVERFLOW))
        screenshot(page, f"zoom-{mode}-{screen}")

    for screens in (person_screens, unit_screens):
        ctx = context(chromium, elder=mode == "elder", zoom=True)
        try:
            screens(ctx.new_page(), e2e_stack, check)
        finally:
            ctx.close()
    findings.assert_none()


FIRST_RENDER = """(() => {
    window.elderAtFirstRender = null;
    new MutationObserver((_, observer) => {
        const app = document.getElementById('app');
        if (app && app.childElementCount > 0) {
            window.elderAtFirstRender = document.documentElement.classList.contains('elder');
            observer.disconnect();
        }
    }).observe(document, { childList: true, subtree: true });
})();"""


@pytest.fixture
def plain_phone(chromium: Browser) -> Iterator[BrowserContext]:
    ctx = context(chromium)
    yield ctx
    ctx.close()


def test_elder_mode_is_a_switch_kept_on_the_device(e2e_stack: Stack, plain_phone: BrowserContext) -> None:
    stack = e2e_stack
    page = plain_phone.new_page()
    plain_phone.add_init_script(FIRST_RENDER)
    page.goto(stack.portal + "/")
    switch = page.get_by_role("switch", name="长辈模式")
    expect(switch).to_have_attribute("aria-checked", "false")
    standard = page.get_by_role("button", name="个人登录").bounding_box()
    switch.click()  # on the sign-in screen already
    expect(switch).to_have_attribute("aria-checked", "true")
    elder = page.get_by_role("button", name="个人登录").bounding_box()
    assert standard and elder and elder["height"] > standard["height"] and elder["height"] >= 48
    assert page.evaluate("localStorage.getItem('portal.elder')") == "1"

    sign_in(page, stack, PERSON)  # a full page load after the SSO: on before the first paint
    assert page.evaluate("window.elderAtFirstRender") is True
    expect(page.get_by_role("switch", name="长辈模式")).to_have_attribute("aria-checked", "true")
    expect(page.locator(".van-cell").first).to_be_visible()
    sizes = page.evaluate("""() => ({ title: parseFloat(getComputedStyle(document.querySelector('h1')).fontSize),
        cell: parseFloat(getComputedStyle(document.querySelector('.van-cell')).fontSize) })""")
    assert sizes["title"] >= 27 and sizes["cell"] >= 18, sizes
    screenshot(page, "elder-01-home")

    # sign-out forgets the person, not how this phone is read
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="个人登录")).to_be_visible(timeout=15000)
    assert page.evaluate("localStorage.getItem('portal.elder')") == "1"
    expect(page.get_by_role("switch", name="长辈模式")).to_have_attribute("aria-checked", "true")
    page.get_by_role("switch", name="长辈模式").click()
    expect(page.get_by_role("switch", name="长辈模式")).to_have_attribute("aria-checked", "false")
    assert page.evaluate("localStorage.getItem('portal.elder')") is None
    assert page.evaluate("document.documentElement.classList.contains('elder')") is False
