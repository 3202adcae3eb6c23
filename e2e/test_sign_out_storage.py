"""A person on a shared phone signs out: what the next user of the browser could read of them afterwards.

赵磊 signs in, opens 我的档案, applies, opens 我的申请 and the application's detail, and signs out. Before signing
out, the test puts his name, ID number and phone into every store a page can keep (localStorage,
sessionStorage, IndexedDB, a Cache Storage cache), as a saved draft might, besides the app's own offline copy of
我的申请: sign-out must clear all of it, as well as whatever the app itself kept. Afterwards none of the
browser's stores or cookies hold his ID number, phone or name, whole or masked, and the Back button shows
none of it. The service worker never answers or keeps an ``/api/`` request, in the browser and in the built
worker it is given."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import BrowserContext, Page, Response, expect

from e2e.conftest import screenshot
from e2e.test_employer_letters import sign_in
from tests.support.stack import Stack

USERNAME, NAME, ID_NUMBER, PHONE = "zhaolei", "赵磊", "520102199607040051", "15885123456"
MASKED_ID, MASKED_PHONE = "520102********0051", "158****3456"
# served by the BFF, never by the app shell (web/vite.config.ts BFF_PATHS)
BFF_PATHS = ("/api", "/auth", "/v", "/V", "/verify", "/status", "/s", "/.well-known", "/healthz", "/schema")
PRECACHE = "workbox-precache"
SESSION_COOKIE = "__Host-portal_session"
OFFLINE_DB = "portal-offline"

DUMP_STORAGE = """async () => {
    const out = { localStorage: {}, sessionStorage: {}, indexedDB: {}, caches: {} };
    for (const [name, store] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
        for (let i = 0; i < store.length; i++) out[name][store.key(i)] = store.getItem(store.key(i));
    }
    const request = (r) => new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
    });
    for (const info of await indexedDB.databases()) {
        const db = await request(indexedDB.open(info.name));
        const stores = {};
        for (const name of db.objectStoreNames) {
            const store = db.transaction(name).objectStore(name);
            stores[name] = { keys: await request(store.getAllKeys()), values: await request(store.getAll()) };
        }
        db.close();
        out.indexedDB[info.name] = stores;
    }
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        out.caches[name] = {};
        for (const key of await cache.keys()) {
            const answer = await cache.match(key);
            out.caches[name][key.url] = answer ? await answer.text() : null;
        }
    }
    return out;
}"""

# What an offline copy of 我的申请 or a saved draft would keep, in each store a page has.
PLANT = """async (record) => {
    sessionStorage.setItem('portal.draft', record);
    localStorage.setItem('portal.recent', record);
    localStorage.setItem('portal.locale', 'zh-CN');
    await new Promise((resolve, reject) => {
        const open = indexedDB.open('portal-offline', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('applications');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
            const db = open.result;
            const tx = db.transaction('applications', 'readwrite');
            tx.objectStore('applications').put(record, 'list');
            tx.oncomplete = () => { db.close(); resolve(); };
            tx.onerror = () => reject(tx.error);
        };
    });
    const cache = await caches.open('portal-applications-offline');
    await cache.put('/offline/applications', new Response(record, { headers: { 'content-type': 'application/json' } }));
}"""


def personal(text: str) -> list[str]:
    """Which of 赵磊's data ``text`` holds, whole or as the portal masks it."""
    return [label for label, value in (("ID number", ID_NUMBER), ("masked ID number", MASKED_ID),
                                       ("phone", PHONE), ("masked phone", MASKED_PHONE), ("name", NAME))
            if value in text]


def is_bff_path(url: str) -> bool:
    path = re.sub(r"^https?://[^/]+", "", url)
    return any(path == p or path.startswith((p + "/", p + "?")) for p in BFF_PATHS)


def storage(page: Page) -> dict[str, Any]:
    return dict(page.evaluate(DUMP_STORAGE))


def test_sign_out_leaves_nothing_of_the_person_in_the_browser(e2e_stack: Stack, person: BrowserContext) -> None:
    stack = e2e_stack
    page = person.new_page()
    api_answers: list[Response] = []
    page.on("response", lambda r: api_answers.append(r) if "/api/" in r.url else None)

    sign_in(page, stack, USERNAME)
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the service worker, as on every later visit
    assert page.evaluate("navigator.serviceWorker.controller !== null"), "the app shell is not under its worker"

    expect(page.get_by_role("heading", name="我的档案")).to_be_visible()
    expect(page.get_by_text(MASKED_ID).first).to_be_visible()
    expect(page.get_by_text(NAME).first).to_be_visible()

    page.get_by_role("button", name="申请存档证明").click()
    page.get_by_label("证明用途").fill("办理落户")
    page.get_by_label("联系电话").fill(PHONE)
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("button", name="确认提交").click()
    expect(page.get_by_text("申请编号").first).to_be_visible()

    page.get_by_text("我的申请").first.click()
    expect(page.get_by_role("heading", name="我的申请")).to_be_visible()
    page.locator("a.application-card").first.click()
    expect(page.get_by_text("申请编号").first).to_be_visible()
    screenshot(page, "sign-out-00-detail")

    # the service worker holds the app shell and nothing the BFF answers
    before = storage(page)
    assert any(name.startswith(PRECACHE) for name in before["caches"]), before["caches"].keys()
    cached_urls = [url for entries in before["caches"].values() for url in entries]
    assert cached_urls and not [u for u in cached_urls if is_bff_path(u)], cached_urls
    left = personal(json.dumps(before, ensure_ascii=False))
    assert left == [], f"kept by the app while signed in: {left}"
    # the app's own offline copy of 我的申请 (web/src/lib/offlineApplications.ts), with his reference number only
    offline = before["indexedDB"].get(OFFLINE_DB, {}).get("applications", {}).get("values", [])
    assert offline and offline[0]["items"], before["indexedDB"].keys()

    record = json.dumps({"name": NAME, "id_number": ID_NUMBER, "phone": PHONE}, ensure_ascii=False)
    page.evaluate(PLANT, record)
    planted = storage(page)
    for store in ("localStorage", "sessionStorage", "indexedDB", "caches"):
        kept = personal(json.dumps(planted[store], ensure_ascii=False))
        assert kept == ["ID number", "phone", "name"], f"the stand-in was not kept in {store}: {kept}"
    assert any(c["name"] == SESSION_COOKIE for c in person.cookies())

    # The form alone clears the stores (a provider need not send the browser back to the app): its request is
    # answered here by an inert page of the portal's origin, in the same tab, and the stores are read there.
    detail_url = page.url
    page.route("**/auth/logout", lambda route: route.fulfill(status=200, content_type="text/html",
                                                             body="<!doctype html><title>held</title>"), times=1)
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/auth/logout")
    as_it_left = storage(page)
    assert list(as_it_left["localStorage"]) == ["portal.locale"]  # the language choice is no personal data
    left = personal(json.dumps(as_it_left, ensure_ascii=False))
    assert left == [], f"still kept when the sign-out request left: {left}"

    # The real sign-out, with everything kept again.
    page.goto(detail_url)
    expect(page.get_by_text("申请编号").first).to_be_visible()
    page.evaluate(PLANT, record)
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="个人登录")).to_be_visible(timeout=15000)
    screenshot(page, "sign-out-01-signed-out")
    assert page.request.get(f"{stack.portal}/api/me").status == 401

    after = storage(page)
    left = personal(json.dumps(after, ensure_ascii=False))
    assert left == [], f"kept after sign-out: {left}"
    assert list(after["localStorage"]) == ["portal.locale"]  # the language choice is no personal data
    assert after["sessionStorage"] == {} and after["indexedDB"] == {}
    assert [name for name in after["caches"] if not name.startswith(PRECACHE)] == []
    cookies = person.cookies()
    left = personal(json.dumps(cookies, ensure_ascii=False))
    assert left == [], f"in a cookie after sign-out: {left}"
    assert SESSION_COOKIE not in [c["name"] for c in cookies]

    # Back, as the next user of the phone would: the sign-in screen, nothing of 赵磊
    page.go_back()
    expect(page.get_by_role("button", name="个人登录")).to_be_visible(timeout=15000)
    left = personal(page.content())
    assert left == [], f"shown on Back after sign-out: {left}"

    # every answer of the BFF came from the network, and told the browser's HTTP cache not to keep it
    assert api_answers
    assert not [r.url for r in api_answers if r.from_service_worker]
    assert not [r.url for r in api_answers if "no-store" not in (r.headers.get("cache-control") or "")]
    direct = page.goto(stack.portal + "/api/me")
    assert direct is not None and direct.status == 401 and not direct.from_service_worker


# No push service is reachable here, so the browser's own subscription is stood in for (one already made, on the
# sandbox's push stand-in); what the BFF keeps of it is real.
STAND_IN_SUBSCRIPTION = """(endpoint) => {
    PushManager.prototype.getSubscription = async () => ({
        endpoint, unsubscribe: async () => { await window.pushUnsubscribed(); return true; } });
}"""


def push_devices(page: Page, stack: Stack) -> int:
    answer = page.request.get(f"{stack.portal}/api/notifications/settings")
    assert answer.ok, answer.text()
    return int(answer.json()["push_devices"])


def test_sign_out_stops_push_on_this_device(e2e_stack: Stack, person: BrowserContext) -> None:
    """A shared phone: after 吴静 signs out, it is not told of her applications any more."""
    from tests.notifications.helpers import Device

    stack = e2e_stack
    page = person.new_page()
    sign_in(page, stack, "wujing")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    device = Device(stack.provincial)
    saved = page.request.post(f"{stack.portal}/api/notifications/push-subscriptions", data=device.subscription(),
                              headers={"Origin": stack.portal})
    assert saved.ok, saved.text()
    assert push_devices(page, stack) == 1
    unsubscribed: list[bool] = []
    page.expose_function("pushUnsubscribed", lambda: unsubscribed.append(True))
    page.evaluate(STAND_IN_SUBSCRIPTION, device.endpoint)

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="个人登录")).to_be_visible(timeout=15000)
    assert unsubscribed == [True]  # the browser stopped receiving

    sign_in(page, stack, "wujing")
    assert push_devices(page, stack) == 0  # and the BFF sends this device nothing more


def test_the_built_service_worker_keeps_no_answer_of_the_bff(e2e_stack: Stack, person: BrowserContext) -> None:
    """What the portal gives browsers as /sw.js: it precaches the app shell and routes navigations to it, but
    never those to the BFF, and it has no runtime cache that could keep an answer."""
    request = person.request
    sw = request.get(f"{e2e_stack.portal}/sw.js")
    assert sw.ok
    worker = sw.text()
    precached = re.findall(r'\{url:"([^"]+)",revision:', worker)
    assert "index.html" in precached and len(precached) > 10, precached[:5]
    assert not [u for u in precached if is_bff_path("/" + u)], precached
    routes = re.findall(r"registerRoute\((.{0,40})", worker)
    assert len(routes) == 1 and "NavigationRoute" in routes[0], routes
    denylist = re.search(r"denylist:\[(.*?)\]\}", worker)
    assert denylist is not None
    for path in BFF_PATHS:
        assert "/^" + path.replace("/", "\\/").replace(".", "\\.") + "(" in denylist.group(1), path
    for strategy in ("CacheFirst", "NetworkFirst", "StaleWhileRevalidate", "CacheOnly", "NetworkOnly"):
        assert strategy not in worker, strategy
    for imported in re.findall(r'importScripts\("([^"]+)"\)', worker):
        script = request.get(e2e_stack.portal + imported)
        assert script.ok and "caches." not in script.text() and "indexedDB" not in script.text(), imported
