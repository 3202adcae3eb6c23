"""PAdES B-T: the sandbox RFC 3161 TSA over real HTTP, and signatures that carry its timestamp.

What poppler 22.12 says: ``pdfsig`` does not report signature timestamps at all (its "Signing Time" is the
signer's claimed signingTime attribute), so for poppler we only assert what it prints: a valid, trusted
signature of the whole document. The timestamp itself is checked with pyHanko and with ``openssl ts``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asn1crypto import cms, tsp
from asn1crypto.core import Sequence
from litestar.testing import TestClient
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from bff.domain.certificates.signing import PdfSigner, SigningError
from bff.settings import SigningSettings
from sandbox.pki import TSA_COMMON_NAME, DevPki
from sandbox.provincial.app import create_app as create_provincial
from sandbox.provincial.settings import ProvincialSettings
from sandbox.tsa import QUERY_TYPE, REPLY_TYPE, SANDBOX_TSA_POLICY, TimeStampAuthority, create_app
from tests.certificates.helpers import write
from tests.sandbox.helpers import LiveServer
from tests.support.pdf import pdfsig

TST_ATTRIBUTE = "signature_time_stamp_token"


@pytest.fixture(scope="module")
def tsa(pki: DevPki) -> Iterator[LiveServer]:
    """The sandbox TSA served by uvicorn on a free loopback port."""
    with LiveServer(lambda _port: create_app(pki.directory)) as server:
        yield server


@pytest.fixture(scope="module")
def tsa_url(tsa: LiveServer) -> str:
    return f"{tsa.url}/tsa"


@pytest.fixture(scope="module")
def bt_signer(pki: DevPki, tsa_url: str) -> PdfSigner:
    return PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert], timestamp_url=tsa_url)


@pytest.fixture(scope="module")
def bt_signed(bt_signer: PdfSigner, unsigned_pdf: bytes) -> tuple[bytes, dt.datetime, dt.datetime]:
    before = dt.datetime.now(dt.UTC)
    signed = bt_signer.sign(unsigned_pdf)
    return signed, before, dt.datetime.now(dt.UTC)


def validate(pdf: bytes, pki: DevPki) -> PdfSignatureStatus:
    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(pki.ca_cert))],  # type: ignore[no-untyped-call]
        allow_fetching=False,
    )
    return validate_pdf_signature(reader.embedded_signatures[0], context)


def timestamp_token(pdf: bytes) -> cms.ContentInfo:
    signer_info = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0].signer_info
    for attribute in signer_info["unsigned_attrs"]:
        if attribute["type"].native == TST_ATTRIBUTE:
            token: cms.ContentInfo = attribute["values"][0]
            return token
    raise AssertionError("no signature timestamp token")


def test_pyhanko_reports_a_valid_trusted_timestamp_from_the_sandbox_tsa(
    bt_signed: tuple[bytes, dt.datetime, dt.datetime], pki: DevPki
) -> None:
    signed, before, after = bt_signed
    status = validate(signed, pki)
    assert status.bottom_line
    assert status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    ts = status.timestamp_validity
    assert ts is not None
    assert ts.intact and ts.valid and ts.trusted
    assert ts.signing_cert.subject.native["common_name"] == TSA_COMMON_NAME
    assert before - dt.timedelta(seconds=2) <= ts.timestamp <= after + dt.timedelta(seconds=2)
    tst_info = timestamp_token(signed)["content"]["encap_content_info"]["content"].parsed
    assert tst_info["policy"].dotted == SANDBOX_TSA_POLICY


def test_pdfsig_accepts_the_b_t_signature(
    bt_signed: tuple[bytes, dt.datetime, dt.datetime], nss_db: str, tmp_path: Path
) -> None:
    out = pdfsig(write(tmp_path, "bt.pdf", bt_signed[0]), nss_db)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." in out
    assert "Signature Type: ETSI.CAdES.detached" in out
    assert "Total document signed" in out


def test_openssl_verifies_the_embedded_token(
    bt_signed: tuple[bytes, dt.datetime, dt.datetime], pki: DevPki, tmp_path: Path
) -> None:
    """The token's imprint is the SHA-256 of the CMS signature value (RFC 3161 appendix A / PAdES B-T)."""
    signed = bt_signed[0]
    token = write(tmp_path, "token.der", timestamp_token(signed).dump())
    signature = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0].signer_info["signature"].native
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-token_in", "-in", str(token), "-digest",
         hashlib.sha256(signature).hexdigest(), "-CAfile", str(pki.ca_cert)],
        capture_output=True, text=True, check=False,
    )
    assert "Verification: OK" in done.stdout, done.stderr


def test_b_b_stays_without_timestamp(signed_pdf: bytes, pki: DevPki, signer: PdfSigner) -> None:
    assert not signer.timestamped
    status = validate(signed_pdf, pki)
    assert status.bottom_line
    assert status.timestamp_validity is None


def test_the_reservation_holds_with_a_timestamp(
    bt_signer: PdfSigner, unsigned_pdf: bytes, pki: DevPki, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):
        assert validate(bt_signer.sign(unsigned_pdf), pki).bottom_line
    assert "too small" not in caplog.text


def test_from_settings_picks_up_the_tsa_url(pki: DevPki, tsa_url: str, unsigned_pdf: bytes) -> None:
    settings = SigningSettings(
        key_path=pki.signing_key, cert_path=pki.signing_cert, chain_paths=(pki.ca_cert,),
        token_keys_dir=pki.directory / "unused", tsa_url=tsa_url,
    )
    made = PdfSigner.from_settings(settings)
    assert made.timestamped and made.info.timestamp_url == tsa_url
    assert validate(made.sign(unsigned_pdf), pki).timestamp_validity is not None


def test_settings_read_signing_tsa_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIGNING_TSA_URL", "http://127.0.0.1:8200/tsa")
    assert SigningSettings.from_env(tmp_path).tsa_url == "http://127.0.0.1:8200/tsa"
    monkeypatch.setenv("SIGNING_TSA_URL", "")
    assert SigningSettings.from_env(tmp_path).tsa_url is None


def test_an_unreachable_tsa_is_a_signing_error(pki: DevPki, unsigned_pdf: bytes) -> None:
    with LiveServer(lambda _port: create_app(pki.directory)) as server:
        signer = PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert], timestamp_url=f"{server.url}/tsa")
        url = f"{server.url}/tsa"
    with pytest.raises(SigningError, match="time-stamping authority"):
        signer.sign(unsigned_pdf)  # no silent fallback to B-B
    with pytest.raises(SigningError):
        PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert], timestamp_url=url)


def test_a_tsa_that_refuses_is_a_signing_error(pki: DevPki, tsa: LiveServer) -> None:
    with pytest.raises(SigningError, match="time-stamping authority"):
        PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert], timestamp_url=f"{tsa.url}/pki/ca.pem")


# The TSA as a standard RFC 3161 service


def test_openssl_query_over_http_verifies(tsa_url: str, pki: DevPki, tmp_path: Path) -> None:
    data = write(tmp_path, "data.txt", "存档证明".encode())
    query = tmp_path / "q.tsq"
    subprocess.run(["openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)],
                   check=True, capture_output=True)
    response = httpx.post(tsa_url, content=query.read_bytes(), headers={"Content-Type": QUERY_TYPE})
    assert response.status_code == 200
    assert response.headers["content-type"] == REPLY_TYPE
    reply = write(tmp_path, "r.tsr", response.content)
    done = subprocess.run(["openssl", "ts", "-verify", "-in", str(reply), "-queryfile", str(query),
                           "-CAfile", str(pki.ca_cert)], capture_output=True, text=True, check=False)
    assert "Verification: OK" in done.stdout, done.stderr
    text = subprocess.run(["openssl", "ts", "-reply", "-in", str(reply), "-text"], capture_output=True, text=True,
                          check=True).stdout
    assert "Status: Granted." in text
    assert f"Policy OID: {SANDBOX_TSA_POLICY}" in text


def status_of(answer: bytes) -> tuple[str, set[str]]:
    # asn1crypto's TimeStampResp insists on a token, which a rejection does not have: read the status alone.
    status = tsp.PKIStatusInfo.load(Sequence.load(answer)[0].dump())
    return status["status"].native, set(status["fail_info"].native or ())


@pytest.mark.parametrize(
    ("query", "fail"),
    [
        (b"garbage", "bad_data_format"),
        (b"", "bad_data_format"),
        (tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha1"},
                                                                  "hashed_message": b"\0" * 20}}).dump(), "bad_alg"),
        (tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                                                  "hashed_message": b"\0" * 31}}).dump(),
         "bad_data_format"),
        (tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                                                  "hashed_message": b"\0" * 32},
                           "req_policy": "1.2.3.4"}).dump(), "unaccepted_policy"),
    ],
)
def test_bad_requests_get_an_rfc3161_rejection(tsa_url: str, query: bytes, fail: str) -> None:
    response = httpx.post(tsa_url, content=query, headers={"Content-Type": QUERY_TYPE})
    assert response.status_code == 200
    assert response.headers["content-type"] == REPLY_TYPE
    assert status_of(response.content) == ("rejection", {fail})


def test_wrong_content_type_or_size_is_refused(tsa_url: str) -> None:
    assert httpx.post(tsa_url, content=b"x", headers={"Content-Type": "application/json"}).status_code == 415
    big = httpx.post(tsa_url, content=b"\0" * 20000, headers={"Content-Type": QUERY_TYPE})
    assert big.status_code == 413


def test_authority_answers_from_threads(pki: DevPki) -> None:
    authority = TimeStampAuthority.from_pki(pki)
    query = tsp.TimeStampReq({"version": "v1", "nonce": 7, "cert_req": True,
                              "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                                  "hashed_message": hashlib.sha256(b"x").digest()}}).dump()
    answer = tsp.TimeStampResp.load(authority.respond(query))
    assert answer["status"]["status"].native == "granted"
    assert answer["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed["nonce"].native == 7


# The provincial sandbox serves the TSA, the CA certificate and the CRL without a service token


def test_the_provincial_sandbox_serves_tsa_ca_and_crl(
    pki: DevPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography import x509

    monkeypatch.setenv("PKI_DIR", str(pki.directory))
    app = create_provincial(ProvincialSettings(data_dir=tmp_path))
    query = tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                                                   "hashed_message": b"\1" * 32}}).dump()
    with TestClient(app) as client:
        stamped = client.post("/tsa", content=query, headers={"Content-Type": QUERY_TYPE})
        assert stamped.status_code == 200
        assert tsp.TimeStampResp.load(stamped.content)["status"]["status"].native == "granted"
        ca = client.get("/pki/ca.pem")
        assert ca.status_code == 200 and ca.content == pki.ca_cert.read_bytes()
        crl = client.get("/pki/ca.crl")
        assert crl.status_code == 200 and crl.headers["content-type"] == "application/pkix-crl"
        assert x509.load_der_x509_crl(crl.content).issuer == x509.load_pem_x509_certificate(ca.content).subject
        paths = client.get("/schema/openapi.json").json()["paths"]
        assert not {"/tsa", "/pki/ca.pem", "/pki/ca.crl"} & set(paths)


def test_without_a_pki_the_routes_say_so(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "none")) as client:
        assert client.post("/tsa", content=b"x", headers={"Content-Type": QUERY_TYPE}).status_code == 503
        assert client.get("/pki/ca.crl").status_code == 503
        missing = client.get("/pki/ca.pem")
        assert missing.status_code == 503 and "sandbox.pki init" in missing.text
