"""One real path through every part, over real HTTP: sign in → archive → apply → forwarded → the clerk acts →
the status comes back → a signed certificate → public verification. Runs on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from bff.domain.verification.tokens import TokenKeys
from tests.support.flows import detail, signed_in, submit, timeline
from tests.support.pdf import nss_db, pdfsig
from tests.support.portal_client import Browser, same_origin
from tests.support.stack import Stack, wait_until


def qr_url_from_pdf(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(tmp_path / "page")], check=True)
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    assert codes, "no QR code found on the rendered certificate"
    return str(codes[0].text)


def test_archive_shows_where_it_is_held_with_the_id_masked(stack: Stack) -> None:
    browser = signed_in(stack)
    r = browser.get(f"{stack.portal}/api/archive")
    assert r.status_code == 200, r.text
    archive = r.json()
    assert archive["agency"]["name"] == "北京市朝阳区人才服务中心"
    assert archive["nature_name"] == "个人委托"
    assert archive["stored_since"].count("-") == 2
    assert archive["id_number_masked"] == "110105********0012"
    assert "110105199805120012" not in r.text


def test_person_without_archive_is_told_in_chinese(stack: Stack) -> None:
    r = signed_in(stack, "liuyang").get(f"{stack.portal}/api/archive")
    assert r.status_code == 404
    assert r.json()["code"] == "archive_not_found"
    assert "未查询到" in r.json()["message"]


def test_whole_path_to_a_verified_certificate(stack: Stack, tmp_path: Path) -> None:
    browser = signed_in(stack)
    r = submit(stack, browser)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["status_label"] == "已提交"
    assert app["reference_no"].startswith("SQ")
    app_id = app["id"]
    wait_until(lambda: "已转送至存档机构" in timeline(stack, browser, app_id))
    held = stack.sandbox_application(app_id)
    assert held is not None and held["submit_count"] == 1

    stack.clerk(app_id, "accept")
    wait_until(lambda: "申请已受理" in timeline(stack, browser, app_id))
    stack.clerk(app_id, "complete")
    wait_until(lambda: detail(stack, browser, app_id)["certificate"] is not None, timeout=30)
    shown = detail(stack, browser, app_id)
    assert shown["status_label"] == "已办结"
    assert [e["label"] for e in shown["timeline"]] == [
        "已提交", "已转送至存档机构", "申请已受理", "已办结", "电子证明已签发"]

    pdf = browser.get(f"{stack.portal}{shown['certificate']['download_url']}")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"].startswith("application/pdf")
    assert "attachment" in pdf.headers["content-disposition"]
    (tmp_path / "downloaded.pdf").write_bytes(pdf.content)
    verdict = pdfsig(tmp_path / "downloaded.pdf", nss_db(tmp_path / "nss", stack.base / "pki" / "ca.pem"))
    assert "Signature is Valid." in verdict and "Certificate is Trusted." in verdict, verdict
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == 1
    assert "存档证明" in reader.pages[0].extract_text()

    url = qr_url_from_pdf(pdf.content, tmp_path)
    assert url.upper().startswith(stack.portal.upper() + "/V/")
    page = httpx.get(url, timeout=10)  # a stranger's phone: no cookies
    assert page.status_code == 200
    assert "证明真实有效" in page.text
    assert "北京市朝阳区人才服务中心" in page.text
    assert "110105********0012" in page.text
    assert "110105199805120012" not in page.text

    token = url.rsplit("/", 1)[1]
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    forged = httpx.get(url.rsplit("/", 1)[0] + "/" + flipped, timeout=10)
    assert "未通过核验" in forged.text
    assert "证明真实有效" not in forged.text

    logs = stack.log("bff")
    for personal in ("110105199805120012", "13800138000", "张伟"):
        assert personal not in logs, f"personal data in the BFF's log: {personal}"

    claims = TokenKeys.load(stack.base / "bff" / "token-keys").verify(token)
    assert claims.kind == "archive_certificate" and len(claims.name_hash) == 8  # hashes only: no personal data
    other_key = TokenKeys.load_or_create(tmp_path / "other-keys").issue(
        dataclasses.replace(claims, issued_at=datetime.now(UTC).replace(microsecond=0)))
    foreign = httpx.get(url.rsplit("/", 1)[0] + "/" + other_key, timeout=10)
    assert "未通过核验" in foreign.text and "证明真实有效" not in foreign.text


def test_refusal_carries_the_reason(stack: Stack) -> None:
    browser = signed_in(stack)
    app_id = submit(stack, browser).json()["id"]
    wait_until(lambda: stack.sandbox_application(app_id) is not None)
    stack.clerk(app_id, "refuse", reason="档案中无相关记载")
    wait_until(lambda: "不予办理" in timeline(stack, browser, app_id))
    entry = next(e for e in detail(stack, browser, app_id)["timeline"] if e["label"] == "不予办理")
    assert entry["note"] == "档案中无相关记载"


def test_another_person_sees_nothing(stack: Stack) -> None:
    owner = signed_in(stack)
    app_id = submit(stack, owner).json()["id"]
    other = signed_in(stack, "wangfang")
    for path in (f"/api/applications/{app_id}", f"/api/applications/{app_id}/certificate"):
        r = other.get(stack.portal + path)
        assert r.status_code == 404
        assert r.json() == {"code": "not_found", "message": "未找到相关内容"}
    assert app_id not in other.get(f"{stack.portal}/api/applications").text


def test_double_submit_makes_one_application(stack: Stack) -> None:
    browser = signed_in(stack)
    key = str(uuid.uuid4())
    first = submit(stack, browser, key)
    second = submit(stack, browser, key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    changed = submit(stack, browser, key, purpose="入职")
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_mismatch"


@pytest.mark.parametrize(("changes", "field"), [({"phone": "12345"}, "phone"), ({"purpose": "  "}, "purpose")])
def test_bad_input_is_named_in_chinese(stack: Stack, changes: dict[str, str], field: str) -> None:
    r = submit(stack, signed_in(stack), **changes)
    assert r.status_code == 422
    assert r.json()["fields"][0]["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["message"])


def test_unknown_field_or_malformed_body_is_a_4xx(stack: Stack) -> None:
    browser = signed_in(stack)
    r = submit(stack, browser, status="completed")
    assert r.status_code == 400
    assert "status" in r.json()["message"]
    raw = browser.post(f"{stack.portal}/api/applications", content=b"{not json",
                       headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json",
                                **same_origin(stack.portal)})
    assert raw.status_code == 400
    assert raw.json()["code"] == "bad_request"


def test_cross_site_post_is_refused(stack: Stack) -> None:
    browser = signed_in(stack)
    r = browser.post(f"{stack.portal}/api/applications", json={},
                     headers={"Origin": "https://evil.example", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 403


def test_outage_then_forwarded_exactly_once(stack: Stack) -> None:
    browser = signed_in(stack)
    browser.get(f"{stack.portal}/api/archive")
    stack.set_fault("down")
    try:
        r = submit(stack, browser)
        assert r.status_code == 201
        app_id = r.json()["id"]
        wait_until(lambda: detail(stack, browser, app_id)["notice"] == "省级系统暂时无法连接，恢复后将自动转送")
        assert detail(stack, browser, app_id)["status_label"] == "已提交"
        health = httpx.get(f"{stack.portal}/healthz", timeout=10).json()
        assert health["status"] == "degraded" and health["checks"]["provincial"] == "down"
    finally:
        stack.set_fault("none")
    wait_until(lambda: "已转送至存档机构" in timeline(stack, browser, app_id), timeout=20)
    held = stack.sandbox_application(app_id)
    assert held is not None and held["submit_count"] == 1
    assert detail(stack, browser, app_id)["notice"] is None


def test_forged_callback_is_refused(stack: Stack) -> None:
    browser = Browser()
    start = browser.get(f"{stack.portal}/auth/login", params={"login_hint": "zhangwei"})
    assert start.status_code == 302
    to_provider = browser.get(start.headers["location"])
    callback = to_provider.headers["location"]
    wrong_state = browser.get(callback.replace("state=", "state=x"))
    assert wrong_state.status_code == 400
    assert "登录未完成" in wrong_state.text
    assert browser.session_cookie() is None
    assert browser.get(f"{stack.portal}/api/me").status_code == 401


def test_planted_session_id_is_not_adopted(stack: Stack) -> None:
    browser = Browser()
    browser.cookies["__Host-portal_session"] = "planted-by-an-attacker"
    browser.sign_in(stack.portal, "zhangwei")
    assert browser.session_cookie() not in (None, "planted-by-an-attacker")
    assert browser.get(f"{stack.portal}/api/me").status_code == 200


def test_sign_out_ends_portal_and_provider_sessions(stack: Stack) -> None:
    browser = signed_in(stack)
    old = browser.session_cookie()
    out = browser.post(f"{stack.portal}/auth/logout", headers=same_origin(stack.portal))
    assert out.status_code == 303
    assert out.headers["location"].startswith(f"{stack.sso}/logout")
    assert out.headers["clear-site-data"] == '"cache"'
    assert "id_token_hint" not in out.headers["location"]  # the ID token carries the whole 证件号码
    home = browser.follow(out)
    assert home.url.path == "/"
    assert "sso_session" not in browser.cookies
    replay = Browser()
    replay.cookies["__Host-portal_session"] = str(old)
    assert replay.get(f"{stack.portal}/api/me").status_code == 401
    again = browser.get(f"{stack.portal}/auth/login")  # no login_hint: the provider must ask again
    shown = browser.get(again.headers["location"])
    assert shown.status_code == 200 and "登录" in shown.text


def test_health_and_openapi_are_public(stack: Stack) -> None:
    health = httpx.get(f"{stack.portal}/healthz", timeout=10).json()
    assert health["checks"]["database"] == "ok" and health["checks"]["store"] == "ok"
    schema = httpx.get(f"{stack.portal}/schema/openapi.json", timeout=10)
    assert schema.status_code == 200 and "/api/applications" in schema.json()["paths"]
    jwks = httpx.get(f"{stack.portal}/.well-known/jwks.json", timeout=10).json()
    assert jwks["keys"] and all("d" not in k for k in jwks["keys"])


def test_two_instances_send_each_application_once_and_apply_each_change_once(stack: Stack) -> None:
    stack.start_second_bff()
    try:
        browser = signed_in(stack)
        ids = [submit(stack, browser).json()["id"] for _ in range(10)]
        wait_until(lambda: all(stack.sandbox_application(i) for i in ids), timeout=30)
        for app_id in ids:
            stack.clerk(app_id, "accept")
            stack.clerk(app_id, "complete")
        wait_until(lambda: all(detail(stack, browser, i)["certificate"] for i in ids), timeout=60)
        for app_id in ids:
            held = stack.sandbox_application(app_id)
            assert held is not None and held["submit_count"] == 1
            assert timeline(stack, browser, app_id) == [
                "已提交", "已转送至存档机构", "申请已受理", "已办结", "电子证明已签发"]
    finally:
        stack.stop("bff2")


def test_same_key_while_the_first_is_still_being_written_is_409(stack: Stack) -> None:
    browser = signed_in(stack, "zhaolei")  # used nowhere else: no archive cached, so submit asks the province
    key = str(uuid.uuid4())
    stack.set_fault("slow", delay_seconds=2)
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(submit, stack, browser, key)
            time.sleep(0.7)
            second = submit(stack, browser, key)
            assert second.status_code == 409, second.text
            assert second.json()["code"] == "in_progress"
            assert first.result().status_code == 201
    finally:
        stack.set_fault("none")
    again = submit(stack, browser, key)
    assert again.status_code == 200 and again.json()["id"] == first.result().json()["id"]


def test_person_without_archive_cannot_apply_and_is_told_why(stack: Stack) -> None:
    r = submit(stack, signed_in(stack, "liuyang"))
    assert r.status_code == 404
    assert r.json()["code"] == "archive_not_found" and "未查询到" in r.json()["message"]


def test_employer_signs_in_as_a_unit_and_cannot_use_person_routes(stack: Stack) -> None:
    hr = Browser()
    assert hr.sign_in(stack.portal, "yunqi-hr", role="employer").status_code == 303
    me = hr.get(f"{stack.portal}/api/me").json()
    assert me == {"role": "employer", "name": "陈静", "id_number_masked": None, "unit_name": "杭州云栖科技有限公司"}
    for path in ("/api/archive", "/api/applications"):
        r = hr.get(stack.portal + path)
        assert r.status_code == 403 and r.json()["message"] == "没有权限进行此操作"


def test_pwa_shell_is_served_for_app_routes_but_not_for_unknown_api(stack: Stack) -> None:
    shell = httpx.get(f"{stack.portal}/applications/some-id", timeout=10)
    assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
    assert httpx.get(f"{stack.portal}/api/nothing-here", timeout=10).json()["code"] == "not_found"
    assert httpx.get(f"{stack.portal}/../../etc/passwd", timeout=10).status_code in (200, 404)
    assert "root:" not in httpx.get(f"{stack.portal}/..%2f..%2fetc%2fpasswd", timeout=10).text
