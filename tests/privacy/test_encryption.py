"""Personal data encrypted at rest, over the whole stack on PostgreSQL: what someone reading the database sees,
what the person sees, holder lookups, key rotation with ``python -m bff reencrypt``, a missing key and an altered
value (both refused loudly, nothing served from them)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import httpx

from bff.lib.crypto import new_key_spec
from tests.privacy.conftest import K1, bff_command, restart_bff, sql
from tests.support.flows import detail, hr, post, signed_in, submit, uploaded
from tests.support.portal_client import Browser
from tests.support.servers import free_port
from tests.support.stack import REPO, Stack, wait_until
from tests.uploads import corpus

ID_NUMBER, PHONE, NAME, RELATIVE, STREET = "110105199805120012", "13800138000", "张伟", "张建国", "朝阳北路"
POSTED = {"kind": "kinship_certificate", "relative": {"relation": "51", "name": RELATIVE}, "delivery": "post",
          "post_address": {"recipient": NAME, "phone": PHONE, "region_code": "110105",
                           "address": f"北京市朝阳区{STREET} 101 号", "postcode": "100020"}}
ENCRYPTED = [("applications", "id", "details"), ("status_events", "id", "note"), ("status_events", "id", "extra"),
             ("letter_requests", "id", "reason"), ("letter_requests", "id", "decided_by"),
             ("ratings", "application_id", "comment"), ("document_files", "id", "name")]


def submitted(stack: Stack, browser: Browser, **changes: Any) -> str:
    r = submit(stack, browser, **{**POSTED, **changes})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def forwarded(stack: Stack, browser: Browser, app_id: str) -> None:
    wait_until(lambda: any(e["status"] == "forwarded" for e in detail(stack, browser, app_id)["timeline"]),
               timeout=30)


def raw_details(stack: Stack, app_id: str) -> str:
    [row] = sql(stack, "SELECT details::text AS v FROM applications WHERE id = $1", uuid.UUID(app_id))
    return str(row["v"])


def kids(stack: Stack) -> set[str]:
    """The key ids of every encrypted value in the database."""
    found: set[str] = set()
    for table, _, column in ENCRYPTED:
        for row in sql(stack, f"SELECT {column}::text AS v FROM {table} WHERE {column} IS NOT NULL"):
            value = json.loads(row["v"]) if column in ("details", "extra") else row["v"]
            if value is not None:
                assert value.startswith("enc1:"), (table, column)
                found.add(value.split(":")[1])
    return found


def test_a_database_reader_sees_no_personal_data_while_the_person_sees_theirs(pg_stack: Stack) -> None:
    stack = pg_stack
    zhangwei = signed_in(stack, "zhangwei")
    app_id = submitted(stack, zhangwei)
    forwarded(stack, zhangwei, app_id)
    # a letter request HR declines: HR's name and reason are stored too (李娜's archive is 单位委托 at 云栖)
    lina = signed_in(stack, "lina")
    r = submit(stack, lina, materials=[{"material": "unit_letter", "role": "current_unit",
                                        "ask_unit": {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}}])
    assert r.status_code == 201, r.text
    request_code = r.json()["materials"][0]["request"]["code"]
    declined = post(stack, hr(stack), f"/api/unit/requests/{request_code}/decline",
                    {"reason": f"{NAME}与李娜不是本单位员工"})
    assert declined.status_code == 200, declined.text

    raw = raw_details(stack, app_id)
    assert raw.startswith('"enc1:k1:')
    dump = "\n".join(str(tuple(row)) for table in sql(stack, "SELECT tablename FROM pg_tables "
                                                             "WHERE schemaname = 'public'")
                     for row in sql(stack, f'SELECT t::text FROM "{table["tablename"]}" t'))
    for clear in (ID_NUMBER, PHONE, NAME, RELATIVE, STREET, "330106199503080024", "13905712345", "李娜", "陈静"):
        assert clear not in dump, clear  # not in any column of any table

    shown = detail(stack, zhangwei, app_id)
    assert shown["phone_masked"] == "138****8000"
    assert RELATIVE in shown["relative_name"]
    assert shown["post_address_masked"].endswith("（张*收）") and STREET[:2] in shown["post_address_masked"]
    listed = [i["id"] for i in zhangwei.get(f"{stack.portal}/api/applications").json()["items"]]
    assert app_id in listed  # found by holder_key, which stays a plain lookup key
    assert zhangwei.get(f"{stack.portal}/api/applications/{r.json()['id']}").status_code == 404
    timeline = detail(stack, lina, r.json()["id"])["timeline"]
    assert any(f"{NAME}与李娜不是本单位员工" in (e["note"] or "") for e in timeline)


def test_a_transfer_a_unit_starts_reaches_the_hire_by_their_id_number(pg_stack: Stack) -> None:
    stack = pg_stack
    yunqi = hr(stack)
    document_id = uploaded(stack, yunqi, corpus.plain_pdf(1))
    r = post(stack, yunqi, "/api/unit/transfers",
             {"name": "孙浩", "id_number": "52010319940922071X", "target_agency_code": "33010001",
              "document_id": document_id}, **{"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    assert r.json()["holder_id_masked"] == "520103********071X"
    assert "52010319940922071X" not in raw_details(stack, r.json()["id"])
    sunhao = signed_in(stack, "sunhao")
    assert r.json()["id"] in [i["id"] for i in sunhao.get(f"{stack.portal}/api/applications").json()["items"]]
    assert detail(stack, sunhao, r.json()["id"])["can_confirm"] is True


def test_rotation_the_old_key_still_reads_and_reencrypt_moves_every_row(pg_stack: Stack) -> None:
    stack = pg_stack
    k2 = new_key_spec("k2")
    old_app = submitted(stack, signed_in(stack, "zhangwei"))
    assert raw_details(stack, old_app).startswith('"enc1:k1:')

    restart_bff(stack, f"{K1},{k2}")  # step 1: every instance can read k2
    restart_bff(stack, f"{k2},{K1}")  # step 2: k2 encrypts
    zhangwei = signed_in(stack, "zhangwei")
    assert detail(stack, zhangwei, old_app)["phone_masked"] == "138****8000"  # k1 still decrypts
    new_app = submitted(stack, zhangwei)
    assert raw_details(stack, new_app).startswith('"enc1:k2:')
    assert kids(stack) == {"k1", "k2"}

    check = bff_command(stack, "reencrypt", "--check", keys=f"{k2},{K1}")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "applications.details:" in check.stdout and "under k1" in check.stdout and "rewritten" not in check.stdout
    assert kids(stack) == {"k1", "k2"}  # --check changes nothing

    done = bff_command(stack, "reencrypt", keys=f"{k2},{K1}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rewritten under k2" in done.stdout
    assert kids(stack) == {"k2"}
    again = bff_command(stack, "reencrypt", "--check", keys=k2)
    assert again.returncode == 0 and "under k1" not in again.stdout

    restart_bff(stack, k2)  # step 4: k1 retired
    zhangwei = signed_in(stack, "zhangwei")
    for app_id in (old_app, new_app):
        shown = detail(stack, zhangwei, app_id)
        assert shown["phone_masked"] == "138****8000" and RELATIVE in shown["relative_name"]


def current_keys(stack: Stack) -> str:
    return stack.extra_env["DATA_ENCRYPTION_KEYS"]


def test_a_missing_key_stops_the_portal_and_the_check_names_it(pg_stack: Stack) -> None:
    stack = pg_stack
    submitted(stack, signed_in(stack, "zhangwei"))  # at least one value under the current key
    current = current_keys(stack).split(",")[0].split(":")[0]
    stranger = new_key_spec("k9")
    port = free_port()
    started = subprocess.run([sys.executable, "-m", "bff", "serve"], cwd=REPO, capture_output=True, text=True,
                             timeout=120, env={**stack.env(), "BFF_PORT": str(port), "DATA_ENCRYPTION_KEYS": stranger})
    assert started.returncode != 0
    assert f"key {current!r} is not configured" in started.stderr + started.stdout
    assert "applications.details" in started.stderr + started.stdout
    with httpx.Client() as client:  # nothing listens: it never served a request
        try:
            client.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            raise AssertionError("the BFF started without its key")
        except httpx.ConnectError:
            pass
    check = bff_command(stack, "reencrypt", "--check", keys=stranger)
    assert check.returncode == 1
    assert "DO NOT DECRYPT" in check.stdout


def test_an_altered_value_is_refused_not_served(pg_stack: Stack) -> None:
    stack = pg_stack
    zhangwei = signed_in(stack, "zhangwei")
    app_id = submitted(stack, zhangwei)
    original = raw_details(stack, app_id)
    value = json.loads(original)
    body_start = value.rindex(":") + 1
    at = body_start + 20
    altered = value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1:]
    sql(stack, "UPDATE applications SET details = $1::json WHERE id = $2", json.dumps(altered), uuid.UUID(app_id))
    try:
        r = zhangwei.get(f"{stack.portal}/api/applications/{app_id}")
        assert r.status_code == 500
        assert r.json() == {"code": "internal_error", "message": "系统繁忙，请稍后再试"}  # nothing of the value
        log = stack.log("bff")
        assert "ALERT personal data could not be decrypted" in log and "applications.details" in log
        assert ID_NUMBER not in log and PHONE not in log
    finally:
        sql(stack, "UPDATE applications SET details = $1::json WHERE id = $2", original, uuid.UUID(app_id))
    assert detail(stack, zhangwei, app_id)["phone_masked"] == "138****8000"
