"""The objects the access matrix probes, made through the API as people and units make them.

Person A (张伟) owns one of each thing a person can own; unit X (云栖) owns what a unit can. B (王芳) and Y (金陵)
are the strangers; they hold a few things of their own so that "someone else's id" can be tried in a body too."""

from __future__ import annotations

import io
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pypdf import PdfReader

from bff.domain.certificates.render import read_qr_url
from bff.lib.shortcodes import ALPHABET
from tests.notifications.helpers import Device
from tests.support.flows import detail, issued, new_document, post, put_file, submit, uploaded
from tests.support.portal_client import Browser, same_origin
from tests.support.stack import Stack, wait_until
from tests.uploads import corpus

YUNQI = {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}
HANGZHOU = "33010001"
A_ID_NUMBER = "110105199805120012"  # 张伟
LINA = {"name": "李娜", "id_number": "330106199503080024", "phone": "13905712345"}  # 单位委托 at 云栖
REVIEW = {"purpose": "party", "unit": {"name": "中共杭州云栖科技有限公司委员会", "uscc": YUNQI["uscc"]},
          "contact_name": "陈静", "contact_phone": "0571-87006666"}


def random_id() -> str:
    return str(uuid.uuid4())


def random_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(8))


def letter() -> bytes:
    return corpus.plain_pdf(1)


@dataclass
class World:
    # person A's
    cert_app: str = ""  # 存档证明, issued: detail, download, rating, its QR token and 核验码
    reissue_app: str = ""  # 经历证明, issued: 补发
    review_app: str = ""  # 政审材料, issued: the share link
    fulfil_app: str = ""  # transfers into 云栖's storage, each waiting on a letter request to 云栖
    fulfil_code: str = ""
    decline_code: str = ""
    materials_app: str = ""
    withdraw_app: str = ""
    confirm_app: str = ""  # transfers 云栖 started for A, awaiting A's confirmation
    decline_app: str = ""
    document: str = ""  # a draft with two photos
    files: list[str] = field(default_factory=list)
    doomed_document: str = ""  # a draft to delete
    materials_document: str = ""  # A's own 单位介绍信 for the materials route
    push: Device | None = None
    token_lower: str = ""  # QR token of cert_app (for /v/)
    token_upper: str = ""  # QR token of another certificate (for /V/: each certificate has its own rate limit)
    verify_code: str = ""
    certificate_pdf: bytes = b""
    share_id: str = ""
    access_code: str = ""
    # unit X's letters (each use gets its own), and Y's and B's own for "someone else's id in a body"
    x_letters: list[str] = field(default_factory=list)
    y_letters: list[str] = field(default_factory=list)
    x_attached: str = ""  # X's letter on the transfer it started for A: A may download it, nobody else
    x_attached_file: str = ""
    b_letter: str = ""
    secrets_of_a: list[str] = field(default_factory=list)  # what B must never read
    secrets_of_x: list[str] = field(default_factory=list)  # what Y must never read

    def x_letter(self) -> str:
        return self.x_letters.pop()

    def y_letter(self) -> str:
        return self.y_letters.pop()


def _transfer_asking_x(stack: Stack, a: Browser) -> dict[str, Any]:
    body = {"kind": "archive_transfer", "phone": "13800138000",
            "transfer": {"target_agency_code": HANGZHOU, "target_nature": "1", "unit": YUNQI},
            "materials": [{"material": "unit_letter", "role": "new_unit", "ask_unit": YUNQI}]}
    r = a.post(f"{stack.portal}/api/applications", json=body,
               headers={"Idempotency-Key": random_id(), **same_origin(stack.portal)})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "awaiting_unit", r.json()
    return dict(r.json())


def unit_transfer(stack: Stack, x: Browser, document_id: str, id_number: str = A_ID_NUMBER,
                  name: str = "张伟") -> httpx.Response:
    body = {"name": name, "id_number": id_number, "target_agency_code": HANGZHOU, "document_id": document_id}
    return post(stack, x, "/api/unit/transfers", body, **{"Idempotency-Key": random_id()})


def _issue(stack: Stack, a: Browser, app_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {app_id: issued(stack, a, app_id) for app_id in app_ids}


def _token(pdf: bytes) -> str:
    url = read_qr_url(pdf)
    assert url and "/V/" in url, url
    return url.rsplit("/", 1)[1]


def _verify_code(pdf: bytes) -> str:
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    found = re.search(r"核验码：([A-Z2-7]{4})-([A-Z2-7]{4})-([A-Z2-7]{4})-([A-Z2-7]{4})", text)
    assert found, text
    return "".join(found.groups())


def build_world(stack: Stack, a: Browser, b: Browser, x: Browser, y: Browser) -> World:
    w = World()
    # certificates first: the provincial round trip is the slow part
    cert = submit(stack, a)
    experience = submit(stack, a, kind="experience_certificate")
    kinship = submit(stack, a, kind="kinship_certificate", relative={"relation": "51", "name": "张建国"})
    review_letter = uploaded(stack, a, letter(), material="review_letter")
    review = submit(stack, a, kind="political_review", purpose="", review=REVIEW, materials=[
        {"material": "review_letter", "role": "review_unit", "document_id": review_letter}])
    for r in (cert, experience, kinship, review):
        assert r.status_code == 201, r.text
    w.cert_app, w.reissue_app, w.review_app = cert.json()["id"], experience.json()["id"], review.json()["id"]
    kinship_app = kinship.json()["id"]

    # letter requests to 云栖, and what waits on them
    fulfil, declined, materials, withdraw = (_transfer_asking_x(stack, a) for _ in range(4))
    w.fulfil_app, w.materials_app, w.withdraw_app = fulfil["id"], materials["id"], withdraw["id"]
    w.fulfil_code = fulfil["materials"][0]["request"]["code"]
    w.decline_code = declined["materials"][0]["request"]["code"]

    # documents
    w.document = new_document(stack, a)
    for data in (corpus.jpeg(), corpus.jpeg(240, 320)):
        file_id = random_id()
        put = put_file(stack, a, w.document, data, file_id=file_id)
        assert put.status_code == 201, put.text
        w.files.append(file_id)
    w.doomed_document = uploaded(stack, a, letter())
    w.materials_document = uploaded(stack, a, letter())
    w.x_letters = [uploaded(stack, x, letter()) for _ in range(7)]
    w.y_letters = [uploaded(stack, y, letter()) for _ in range(6)]
    w.b_letter = uploaded(stack, b, letter())

    # transfers 云栖 starts for A
    w.x_attached = w.x_letter()
    w.x_attached_file = x.get(f"{stack.portal}/api/documents/{w.x_attached}").json()["files"][0]["id"]
    confirm, decline = unit_transfer(stack, x, w.x_attached), unit_transfer(stack, x, w.x_letter())
    assert confirm.status_code == 201 and decline.status_code == 201, (confirm.text, decline.text)
    w.confirm_app, w.decline_app = confirm.json()["id"], decline.json()["id"]

    # a push subscription
    w.push = Device(stack.provincial)
    assert post(stack, a, "/api/notifications/push-subscriptions", w.push.subscription()).status_code == 201

    shown = _issue(stack, a, [w.cert_app, w.reissue_app, kinship_app, w.review_app])
    pdf = a.get(f"{stack.portal}{shown[w.cert_app]['certificate']['download_url']}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    w.certificate_pdf = pdf.content
    w.token_lower, w.verify_code = _token(pdf.content), _verify_code(pdf.content)
    kin_pdf = a.get(f"{stack.portal}{shown[kinship_app]['certificate']['download_url']}")
    w.token_upper = _token(kin_pdf.content)
    reply = wait_until(lambda: detail(stack, a, w.review_app)["review_reply"], timeout=30)
    w.share_id, w.access_code = reply["share_url"].rsplit("/", 1)[1], reply["access_code"]

    app_ids = [w.cert_app, w.reissue_app, w.review_app, kinship_app, w.fulfil_app, declined["id"], w.materials_app,
               w.withdraw_app, w.confirm_app, w.decline_app]
    w.secrets_of_a = [*app_ids, A_ID_NUMBER, "13800138000", w.document, w.fulfil_code, w.decline_code,
                      *(shown[i]["reference_no"] for i in shown)]  # not the share link: whoever is given it reads it
    w.secrets_of_x = [w.fulfil_code, w.decline_code, w.confirm_app, w.decline_app, *w.x_letters, A_ID_NUMBER]
    return w


def sse_first_event(browser: Browser, url: str) -> tuple[int, str]:
    """Opens the event stream and reads until its first event (or the error body); closes it."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())} if browser.cookies else {}
    with httpx.Client(timeout=10) as client, client.stream("GET", url, headers=headers) as response:
        text = ""
        chunks: Iterator[str] = response.iter_text()
        for chunk in chunks:
            text += chunk
            if "\n\n" in text.replace("\r\n", "\n") or response.status_code != 200:
                break
        return response.status_code, text
