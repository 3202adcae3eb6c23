"""Certificates and 政审 over real HTTP: each kind issued, signed and verified from its QR; the ID-number check;
reissue and revocation as a verifier (online and offline) sees them; the 政审回复函's share link that the person
cannot open; HR applying for an employee; the PDF upload's tamper checks; the fields' errors."""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import zxingcpp
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader, PdfWriter

from bff.domain.certificates.render import add_qr, read_qr_url, render_certificate
from bff.domain.certificates.signing import PdfSigner
from bff.domain.verification.offline import verify_offline
from tests.certificates.helpers import make_content
from tests.support.flows import detail, download, hr, issued, post, signed_in, submit, uploaded
from tests.support.pdf import nss_db, pdfsig
from tests.support.portal_client import same_origin
from tests.support.stack import Stack, wait_until
from tests.uploads import corpus

REVIEW = {"purpose": "party", "unit": {"name": "中共杭州云栖科技有限公司委员会", "uscc": "91330106MA27QK3B27"},
          "contact_name": "陈静", "contact_phone": "0571-87006666"}


def pdf_letter() -> bytes:
    return corpus.plain_pdf(1)


def qr_url(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(path.with_suffix(""))], check=True)
    codes = zxingcpp.read_barcodes(Image.open(path.with_suffix(".png")))
    assert codes, "no QR code on the certificate"
    return str(codes[0].text)


def test_each_kind_is_issued_signed_and_verified_from_its_qr(stack: Stack, tmp_path: Path) -> None:
    zhangwei = signed_in(stack)
    kinds = {"experience_certificate": ("经历证明", {}),
             "kinship_certificate": ("亲属关系证明", {"relative": {"relation": "51", "name": "张建国"}}),
             "no_criminal_record": ("无犯罪记录证明", {})}
    trust = nss_db(tmp_path / "nss", stack.base / "pki" / "ca.pem")
    for kind, (name, extra) in kinds.items():
        r = submit(stack, zhangwei, kind=kind, **extra)
        assert r.status_code == 201, r.text
        shown = issued(stack, zhangwei, r.json()["id"])
        assert shown["certificate"]["state"] == "valid" and shown["certificate"]["expires_on"] > \
            shown["certificate"]["issued_on"]
        pdf = download(stack, zhangwei, shown)
        (tmp_path / f"{kind}.pdf").write_bytes(pdf)
        verdict = pdfsig(tmp_path / f"{kind}.pdf", trust)
        assert "Signature is Valid." in verdict and "Certificate is Trusted." in verdict, verdict
        assert name in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        url = qr_url(pdf, tmp_path)
        assert url == url.upper() and url.startswith(stack.portal.upper() + "/V/")
        page = httpx.get(url, timeout=10)
        assert "证明真实有效" in page.text and name in page.text
        assert "110105199805120012" not in page.text and "110105********0012" in page.text
    kinship = PdfReader(io.BytesIO((tmp_path / "kinship_certificate.pdf").read_bytes())).pages[0].extract_text()
    assert "张建国系父子关系" in kinship.replace("\n", "")  # 张伟 is male (the ID's 17th digit is odd)

    # the verifier types the ID number printed on the paper: only 一致 / 不一致, and only a few times
    check = url.replace("/V/", "/v/") + "/id"
    right = httpx.post(check, data={"id_number": "110105199805120012"}, timeout=10)
    assert right.status_code == 200 and "证件号码与证明记载一致" in right.text
    wrong = httpx.post(check, data={"id_number": "110105199805120039"}, timeout=10)
    assert "不一致" in wrong.text and "110105199805120039" not in wrong.text
    answers = [httpx.post(check, data={"id_number": "11010519980512001X"}, timeout=10).status_code for _ in range(4)]
    assert answers[-1] == 429
    logs = stack.log("bff")
    assert url.rsplit("/", 1)[1] not in logs and "110105199805120039" not in logs  # tokens and typed IDs unlogged


def test_reissue_supersedes_and_revocation_reaches_online_and_offline_verifiers(stack: Stack,
                                                                               tmp_path: Path) -> None:
    zhangwei = signed_in(stack)
    app_id = submit(stack, zhangwei).json()["id"]
    first = issued(stack, zhangwei, app_id)
    old_url = qr_url(download(stack, zhangwei, first), tmp_path)
    assert first["certificate"]["can_reissue"] is True

    again = post(stack, zhangwei, f"/api/applications/{app_id}/reissue", {})
    assert again.status_code == 200, again.text
    renewed = again.json()["certificate"]
    assert renewed["certificate_no"] == first["certificate"]["certificate_no"] + "-1" and renewed["reissued"]
    assert "已补发电子证明" in [e["label"] for e in again.json()["timeline"]]
    new_url = qr_url(download(stack, zhangwei, again.json()), tmp_path)
    old_page = httpx.get(old_url, timeout=10).text
    assert "已被新证明替代" in old_page and renewed["certificate_no"] not in old_page and new_url[-20:] not in old_page
    assert "证明真实有效" in httpx.get(new_url, timeout=10).text

    jwks = httpx.get(f"{stack.portal}/.well-known/jwks.json", timeout=10).json()
    listed = httpx.get(f"{stack.portal}/status/1", timeout=10)
    assert listed.headers["content-type"].startswith("application/vc+jwt")
    now = datetime.now().astimezone()
    assert verify_offline(new_url, jwks, listed.text, now=now).verdict == "genuine"
    assert verify_offline(old_url, jwks, listed.text, now=now).verdict == "revoked"

    stack.clerk(app_id, "revoke", reason="证明内容有误")
    gone = wait_until(lambda: (d := detail(stack, zhangwei, app_id))["certificate"]["state"] == "revoked"
                      and d["status"] == "revoked" and d)
    assert gone["certificate"]["download_url"] is None and gone["certificate"]["revoked_reason"] == "证明内容有误"
    assert gone["outcome"] is not None and gone["outcome"]["title"] == "证明已被撤销", gone
    page = httpx.get(new_url, timeout=10).text
    assert "证明已被撤销" in page and "证明内容有误" in page
    refused = post(stack, zhangwei, f"/api/applications/{app_id}/reissue", {})
    assert refused.status_code == 409 and "撤销" in refused.json()["message"]

    def revoked_offline() -> bool:
        fresh = httpx.get(f"{stack.portal}/status/1", timeout=10).text
        return verify_offline(new_url, jwks, fresh, now=now).verdict == "revoked"
    wait_until(revoked_offline, timeout=45)


def test_the_review_reply_goes_to_the_reviewing_unit_not_to_the_person(stack: Stack, tmp_path: Path) -> None:
    lina = signed_in(stack, "lina")  # 单位委托 at 云栖: the unit letter too
    needs = lina.get(f"{stack.portal}/api/applications/requirements", params={"kind": "political_review"}).json()
    assert {m["material"] for m in needs["materials"]} == {"review_letter", "unit_letter"}
    review_letter = uploaded(stack, lina, pdf_letter(), material="review_letter")
    unit_letter = uploaded(stack, lina, pdf_letter())
    r = submit(stack, lina, kind="political_review", purpose="", phone="13905712345", review=REVIEW, materials=[
        {"material": "review_letter", "role": "review_unit", "document_id": review_letter},
        {"material": "unit_letter", "role": "current_unit", "document_id": unit_letter}])
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    shown = issued(stack, lina, app_id)
    reply = wait_until(lambda: detail(stack, lina, app_id)["review_reply"])
    assert shown["certificate"]["download_url"] is None
    assert lina.get(f"{stack.portal}/api/applications/{app_id}/certificate").status_code == 404
    assert reply["unit_name"] == REVIEW["unit"]["name"] and reply["opened"] is False
    share = reply["share_url"]

    stranger = httpx.Client(timeout=10)
    assert "政审回复函" in stranger.get(share).text
    wrong = stranger.post(share, data={"access_code": "AAAAAAAA"}, headers=same_origin(stack.portal))
    assert wrong.status_code == 403 and "访问码不正确" in wrong.text
    own = lina.post(share, data={"access_code": reply["access_code"]}, headers=same_origin(stack.portal))
    assert own.status_code == 403 and "本人不能查看" in own.text
    opened = stranger.post(share, data={"access_code": reply["access_code"]}, headers=same_origin(stack.portal))
    assert opened.status_code == 200 and opened.content.startswith(b"%PDF"), opened.text[:300]
    (tmp_path / "reply.pdf").write_bytes(opened.content)
    verdict = pdfsig(tmp_path / "reply.pdf", nss_db(tmp_path / "nss", stack.base / "pki" / "ca.pem"))
    assert "Signature is Valid." in verdict
    text = PdfReader(io.BytesIO(opened.content)).pages[0].extract_text()
    assert REVIEW["unit"]["name"] in text and "入党" in text
    assert wait_until(lambda: detail(stack, lina, app_id)["review_reply"]["opened"])
    logs = stack.log("bff")
    assert share.rsplit("/", 1)[1] not in logs and reply["access_code"] not in logs


def test_hr_applies_for_an_employee_whose_archive_the_unit_holds(stack: Stack) -> None:
    yunqi = hr(stack)
    letter = uploaded(stack, yunqi, pdf_letter())
    body = {"kind": "archive_certificate", "name": "陈晨", "id_number": "330108199706150822", "phone": "13758120622",
            "purpose": "办理人才引进", "letter_document_id": letter}
    r = post(stack, yunqi, "/api/unit/applications", body, **{"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    chenchen = signed_in(stack, "chenchen")
    assert app_id in [a["id"] for a in chenchen.get(f"{stack.portal}/api/applications").json()["items"]]
    assert detail(stack, chenchen, app_id)["started_by_unit"] == "杭州云栖科技有限公司"
    held = wait_until(lambda: stack.sandbox_application(app_id))
    assert held["application"]["applied_by_unit"]["uscc"] == "91330106MA27QK3B27"

    other = {**body, "name": "张伟", "id_number": "110105199805120012", "phone": "13800138000",
             "letter_document_id": uploaded(stack, yunqi, pdf_letter())}
    stray = post(stack, yunqi, "/api/unit/applications", {**body, "review_letter_document_id": letter},
                 **{"Idempotency-Key": str(uuid.uuid4())})
    assert stray.status_code == 422 and stray.json()["fields"][0]["field"] == "review_letter_document_id"
    refused = post(stack, yunqi, "/api/unit/applications", other, **{"Idempotency-Key": str(uuid.uuid4())})
    assert refused.status_code == 403 and "不是由本单位委托存档" in refused.json()["message"]


def test_an_uploaded_pdf_is_checked_for_changes(stack: Stack, tmp_path: Path) -> None:
    zhangwei = signed_in(stack)
    shown = issued(stack, zhangwei, submit(stack, zhangwei).json()["id"])
    pdf = download(stack, zhangwei, shown)

    def verdict(data: bytes) -> str:
        r = httpx.post(f"{stack.portal}/verify/pdf", files={"file": ("c.pdf", data, "application/pdf")},
                       headers=same_origin(stack.portal), timeout=20)
        assert r.status_code == 200, r.text[:300]
        return r.text

    assert "证明真实有效" in verdict(pdf)
    flipped = bytearray(pdf)
    at = pdf.index(b"/Title")  # inside the signed bytes
    flipped[at + 10] ^= 0x01
    assert "文件已被改动" in verdict(bytes(flipped))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.root["/PageMode"] = generic.NameObject("/UseNone")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    assert "文件已被改动" in verdict(out.getvalue())
    resaved = io.BytesIO()
    PdfWriter(clone_from=PdfReader(io.BytesIO(pdf))).write(resaved)
    assert "证明真实有效" not in verdict(resaved.getvalue())
    assert "未通过核验" in verdict(b"%PDF-1.7 not really")

    # another certificate's QR pasted in: the link of a second genuine certificate pointed at the first's token
    other = download(stack, zhangwei, issued(stack, zhangwei, submit(stack, zhangwei).json()["id"]))
    pasted = IncrementalPdfFileWriter(io.BytesIO(other))
    link = next(a.get_object() for a in pasted.root["/Pages"]["/Kids"][0].get_object()["/Annots"]
                if a.get_object()["/Subtype"] == "/Link")
    link["/A"]["/URI"] = generic.TextStringObject(read_qr_url(pdf) or "")
    pasted.update_container(link)
    out = io.BytesIO()
    pasted.write(out)
    assert "文件已被改动" in verdict(out.getvalue())
    # other content under a genuine token, even signed with the platform's own signing key, is caught by the hash
    forged_page = render_certificate(make_content(holder_name="李四"))
    signer = PdfSigner(stack.base / "pki" / "signing-key.pem", stack.base / "pki" / "signing.pem",
                       [stack.base / "pki" / "ca.pem"])
    swapped = verdict(signer.sign(add_qr(forged_page, read_qr_url(pdf) or "")))
    assert "文件已被改动" in swapped and "二维码记录的内容不一致" in swapped

    code = shown["certificate"]["certificate_no"]
    assert httpx.get(f"{stack.portal}/verify", params={"code": code}, timeout=10).status_code == 404
    cid = printed_code(pdf)
    by_code = httpx.get(f"{stack.portal}/verify", params={"code": cid}, timeout=10)
    assert by_code.status_code == 200 and "证明真实有效" in by_code.text


def printed_code(pdf: bytes) -> str:
    """The 核验码 printed on the certificate (grouped 4-4-4-4)."""
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    found = re.search(r"核验码：([A-Z2-7]{4})-([A-Z2-7]{4})-([A-Z2-7]{4})-([A-Z2-7]{4})", text)
    assert found, text
    return "".join(found.groups())


def test_fields_are_checked_before_anything_is_forwarded(stack: Stack) -> None:
    zhangwei = signed_in(stack)
    cases = [
        ({"delivery": "post"}, "post_address"),
        ({"delivery": "post", "post_address": {"recipient": "张伟", "phone": "13800138000", "region_code": "110105",
                                               "address": "北京市朝阳区朝阳北路 101 号", "postcode": "1000"}},
         "post_address.postcode"),
        ({"kind": "kinship_certificate", "relative": {"relation": "99", "name": "张建国"}}, "relative.relation"),
        ({"kind": "kinship_certificate"}, "relative"),
        ({"kind": "political_review", "review": {**REVIEW, "unit": {"name": "某单位", "uscc": "91330106MA27QK3B28"}}},
         "review.unit.uscc"),
        ({"kind": "political_review", "review": REVIEW, "delivery": "post"}, "delivery"),
        ({"relative": {"relation": "51", "name": "张建国"}}, "relative"),
    ]
    for change, field in cases:
        r = submit(stack, zhangwei, **change)
        assert r.status_code == 422, (change, r.text)
        assert field in [e["field"] for e in r.json()["fields"]], (field, r.json())
    fine = submit(stack, zhangwei, delivery="pickup")
    assert fine.status_code == 201
    assert detail(stack, zhangwei, fine.json()["id"])["delivery_name"] == "到存档机构窗口领取"


def test_a_post_address_in_a_division_created_in_2021_reaches_the_provincial_system(stack: Stack) -> None:
    """杭州市临平区 (330113) is offered by the PWA's picker, so the portal and the provincial system take it."""
    zhangwei = signed_in(stack)
    address = {"recipient": "张伟", "phone": "13800138000", "region_code": "330113",
               "address": "临平街道世纪大道 1 号", "postcode": "311100"}
    r = submit(stack, zhangwei, delivery="post", post_address=address)
    assert r.status_code == 201, r.text
    forwarded = wait_until(lambda: stack.sandbox_application(r.json()["id"]))
    assert forwarded["application"]["post_address"]["region_code"] == "330113"
    shown = detail(stack, zhangwei, r.json()["id"])["post_address_masked"]
    assert shown.startswith("浙江省杭州市临平区临平街道") and "世纪大道 1 号" not in shown  # masked

