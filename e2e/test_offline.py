"""The PWA installed on a phone: its manifest is fit for installation and its service worker controls the page;
with the network gone it still opens (the app shell from the service worker), says so in Chinese and shows the
list of applications as last synced — kept by the app in IndexedDB (kind, status, reference number, dates; no
name, ID number, phone or address), never an ``/api/`` answer cached by the worker — and sign-out or a 401
deletes that copy. Screenshots: test-artifacts/screens/offline-*.png."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any
from urllib.parse import urljoin

from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from e2e.conftest import screenshot
from e2e.test_employer_letters import sign_in
from e2e.test_sign_out_storage import DUMP_STORAGE, is_bff_path
from tests.support.stack import Stack, wait_until

USERNAME, NAME, ID_NUMBER, MASKED_ID = "sunhao", "孙浩", "52010319940922071X", "520103********071X"
PHONE, SSO_PHONE = "13800138000", "18685123071"
OFFLINE_DB = "portal-offline"


def storage(page: Page) -> dict[str, Any]:
    return dict(page.evaluate(DUMP_STORAGE))


def of_the_person(text: str) -> list[str]:
    values = [("name", NAME), ("ID number", ID_NUMBER), ("masked ID", MASKED_ID)]
    for phone in (PHONE, SSO_PHONE):
        values += [("phone", phone), ("masked phone", phone[:3] + "****" + phone[-4:])]
    return [label for label, value in values if value in text]


def submit(page: Page, stack: Stack) -> str:
    answer = page.request.post(f"{stack.portal}/api/applications", headers={
        "Idempotency-Key": str(uuid.uuid4()), "Origin": stack.portal},
        data={"kind": "archive_certificate", "purpose": "办理落户", "phone": PHONE, "delivery": "electronic"})
    assert answer.ok, answer.text()
    return str(answer.json()["reference_no"])


def under_worker(page: Page) -> None:
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.active !== null)")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null"), "the page is not under its service worker"


def test_the_manifest_and_the_worker_make_it_installable(e2e_stack: Stack, person: BrowserContext) -> None:
    page = person.new_page()
    page.goto(e2e_stack.portal + "/")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href, "no <link rel=manifest>"
    answer = page.request.get(urljoin(page.url, href))
    assert answer.ok and "manifest+json" in (answer.headers.get("content-type") or ""), answer.headers
    manifest = answer.json()
    assert manifest["name"] == "档案服务" and manifest["short_name"]
    assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["display"] == "standalone"
    assert manifest["lang"] == "zh-CN" and manifest["theme_color"] and manifest["background_color"]
    sizes: dict[tuple[str, str], str] = {}
    for icon in manifest["icons"]:
        image = page.request.get(urljoin(page.url, icon["src"]))
        assert image.ok, icon
        with Image.open(io.BytesIO(image.body())) as png:
            assert png.format == "PNG" and f"{png.width}x{png.height}" == icon["sizes"], icon
        sizes[(icon["sizes"], icon.get("purpose", "any"))] = icon["src"]
    assert ("192x192", "any") in sizes and ("512x512", "any") in sizes and ("512x512", "maskable") in sizes

    under_worker(page)
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == e2e_stack.portal + "/"


def test_offline_the_app_shows_the_last_synced_list(e2e_stack: Stack, person: BrowserContext) -> None:
    stack = e2e_stack
    page = person.new_page()
    answers: list[str] = []
    page.on("response", lambda r: answers.append(r.url) if r.from_service_worker and is_bff_path(r.url) else None)
    sign_in(page, stack, USERNAME)
    reference_no = submit(page, stack)
    under_worker(page)

    page.get_by_text("我的申请").first.click()
    expect(page.get_by_text(reference_no)).to_be_visible()
    kept = wait_until(lambda: storage(page)["indexedDB"].get(OFFLINE_DB, {}).get("applications", {}).get("values"))
    listed = kept[0]
    assert reference_no in [item["reference_no"] for item in listed["items"]]
    assert set(listed["items"][0]) == {"kind_name", "status", "status_label", "reference_no", "submitted_at",
                                       "updated_at", "next_due_on", "overdue"}
    assert of_the_person(json.dumps(storage(page), ensure_ascii=False)) == []

    # The network goes; the app opens from the worker's app shell, says so, and shows the list as last synced.
    person.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="当前处于离线状态")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("当前处于离线状态")
    expect(page.get_by_text("下面是上次同步时的申请列表")).to_be_visible()
    expect(page.get_by_text("上次同步：")).to_be_visible()
    expect(page.get_by_text(reference_no)).to_be_visible()
    expect(page.get_by_text("存档证明").first).to_be_visible()
    assert of_the_person(page.content()) == [], "the offline screen shows the person"
    screenshot(page, "offline-01-list")

    # Back online, the signed-in app comes back by itself (重新连接 does the same by hand).
    person.set_offline(False)
    expect(page.get_by_role("heading", name="我的申请")).to_be_visible()
    expect(page.locator("a.application-card").first).to_be_visible()

    # Signing out deletes the copy: offline now, there is nothing to show.
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="个人登录")).to_be_visible(timeout=15000)
    after = storage(page)
    assert after["indexedDB"] == {}, after["indexedDB"]
    person.set_offline(True)
    page.reload()
    # the browser knows it is signed out (lib/sessionHint.ts): the sign-in screen, with nothing of the list
    expect(page.get_by_role("button", name="个人登录")).to_be_visible()
    expect(page.get_by_text(reference_no)).to_have_count(0)
    assert of_the_person(page.content()) == []
    screenshot(page, "offline-02-nothing-kept")
    person.set_offline(False)
    assert answers == [], f"answered by the service worker: {answers}"


def test_a_lost_session_deletes_the_offline_copy(e2e_stack: Stack, person: BrowserContext) -> None:
    """The session ends on the server (idle, elsewhere): the next answer is 401 and the copy goes with it."""
    stack = e2e_stack
    page = person.new_page()
    sign_in(page, stack, USERNAME)
    under_worker(page)
    # offline before the list was ever fetched on this phone: said so, and nothing to show
    person.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="当前处于离线状态")).to_be_visible()
    expect(page.get_by_text("这部手机上没有保存的申请列表，联网后即可查看。")).to_be_visible()
    person.set_offline(False)
    expect(page.get_by_role("heading", name="我的档案")).to_be_visible()

    page.get_by_text("我的申请").first.click()
    expect(page.locator("a.application-card").first).to_be_visible()
    wait_until(lambda: OFFLINE_DB in storage(page)["indexedDB"])

    person.clear_cookies()  # as if the session had expired
    page.reload()
    expect(page.get_by_role("button", name="个人登录")).to_be_visible(timeout=15000)
    wait_until(lambda: storage(page)["indexedDB"] == {})
