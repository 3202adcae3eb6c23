"""check_pdf: the tamper matrix for an uploaded certificate PDF.

Each case starts from a real certificate (render_certificate + add_qr, signed by PdfSigner) and does
what a forger or a careless tool would do to it.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pypdf import PdfReader, PdfWriter

from bff.domain.certificates.pdfcheck import MAX_PDF_BYTES, PdfEvidence, Verdict, check_pdf, trust_roots_from_pem
from bff.domain.certificates.render import add_qr, content_digest, render_certificate
from bff.domain.certificates.signing import PdfSigner
from sandbox.pki import SIGNING_COMMON_NAME, DevPki, ensure_dev_pki, revoke
from sandbox.tsa import create_app as create_tsa
from tests.certificates.helpers import fake_url, make_content
from tests.sandbox.helpers import LiveServer

URL = fake_url()


@pytest.fixture(scope="module")
def certificate_pdf() -> bytes:
    """A rendered certificate with its QR code, not signed yet."""
    return add_qr(render_certificate(make_content()), URL)


@pytest.fixture(scope="module")
def signed(signer: PdfSigner, certificate_pdf: bytes) -> bytes:
    return signer.sign(certificate_pdf)


@pytest.fixture(scope="module")
def roots(pki: DevPki) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())]


def check(pdf: bytes, pki: DevPki, crls: tuple[bytes, ...] | None = None) -> PdfEvidence:
    roots = [x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())]
    return check_pdf(pdf, roots, crls if crls is not None else (pki.crl.read_bytes(),))


def incremental(pdf: bytes, change: str) -> bytes:
    """Append one revision to ``pdf`` the way an editor would."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    if change == "freetext":
        page_ref, _ = writer.find_page_for_modification(0)  # type: ignore[no-untyped-call]
        page = page_ref.get_object()
        rect = generic.ArrayObject([generic.NumberObject(v) for v in (80, 500, 380, 540)])  # type: ignore[no-untyped-call]
        note_dict: dict[generic.NameObject, generic.PdfObject] = {
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/FreeText"),
            generic.pdf_name("/Rect"): rect,
            generic.pdf_name("/Contents"): generic.TextStringObject("存档性质：单位委托"),
            generic.pdf_name("/DA"): generic.pdf_string("/Helv 14 Tf 0 g"),
        }
        note = writer.add_object(generic.DictionaryObject(note_dict))  # type: ignore[no-untyped-call]
        annots = page.get("/Annots")
        if isinstance(annots, generic.ArrayObject):
            annots.append(note)
            writer.update_container(annots)
        else:
            page[generic.pdf_name("/Annots")] = generic.ArrayObject([note])
        writer.update_container(page)
    else:
        cover = writer.add_object(generic.StreamObject(stream_data=b"q 1 g 80 500 300 120 re f Q"))
        writer.add_stream_to_page(0, cover)  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def test_the_signed_certificate_is_valid(signed: bytes, certificate_pdf: bytes, pki: DevPki) -> None:
    before = dt.datetime.now(dt.UTC)
    evidence = check(signed, pki)
    assert evidence.signature == "valid"
    assert evidence.signer == SIGNING_COMMON_NAME
    assert not evidence.timestamped
    assert evidence.signed_at is not None and abs(evidence.signed_at - before) < dt.timedelta(minutes=5)
    assert evidence.qr_url == URL
    assert evidence.digest is not None and len(evidence.digest) == 16
    assert evidence.digest == content_digest(certificate_pdf)  # signing does not touch page 1's content


def test_trust_roots_may_be_asn1crypto_too(signed: bytes, pki: DevPki) -> None:
    roots = trust_roots_from_pem(pki.ca_cert.read_bytes())
    assert check_pdf(signed, roots).signature == "valid"


def test_a_b_t_certificate_reports_the_timestamp(certificate_pdf: bytes, pki: DevPki) -> None:
    with LiveServer(lambda _port: create_tsa(pki.directory)) as tsa:
        signer = PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert], timestamp_url=f"{tsa.url}/tsa")
        before = dt.datetime.now(dt.UTC)
        pdf = signer.sign(certificate_pdf)
        after = dt.datetime.now(dt.UTC)
    evidence = check(pdf, pki)
    assert evidence.signature == "valid"
    assert evidence.timestamped
    assert evidence.signed_at is not None
    assert before - dt.timedelta(seconds=2) <= evidence.signed_at <= after + dt.timedelta(seconds=2)
    assert evidence.signed_at.microsecond != 0  # the TSA's time (fractional), not the claimed whole second


def flip_in_first_stream(pdf: bytes) -> bytes:
    """Change one byte inside page content (the first stream of the original revision)."""
    match = re.search(rb"stream\r?\n", pdf)
    assert match is not None
    at = match.end() + 8
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def change_info_date(pdf: bytes) -> bytes:
    match = re.search(rb"/CreationDate \(D:(\d{4})", pdf)
    assert match is not None
    at = match.start(1)
    year = pdf[at : at + 4]
    return pdf[:at] + (b"1999" if year != b"1999" else b"2000") + pdf[at + 4 :]


@pytest.mark.parametrize("tamper", [flip_in_first_stream, change_info_date])
def test_a_byte_changed_in_the_signed_range_is_invalid(signed: bytes, pki: DevPki, tamper: object) -> None:
    assert callable(tamper)
    tampered = tamper(signed)
    assert len(tampered) == len(signed) and tampered != signed
    evidence = check(tampered, pki)
    assert evidence.signature == "invalid"
    assert evidence.signer == SIGNING_COMMON_NAME  # what it claims, for the record


@pytest.mark.parametrize("change", ["freetext", "content_stream"])
def test_an_incremental_update_after_signing_is_modified(signed: bytes, pki: DevPki, change: str) -> None:
    changed = incremental(signed, change)
    assert changed.startswith(signed)
    evidence = check(changed, pki)
    assert evidence.signature == "modified"
    assert evidence.qr_url == URL


def test_a_copy_re_saved_by_pypdf_is_not_valid(signed: bytes, pki: DevPki) -> None:
    """pypdf writes a new file from the parsed objects: the signature dictionary survives (its /Contents
    and /ByteRange are copied verbatim), but the bytes the /ByteRange points at are now other bytes, so
    the digest no longer matches: "invalid" (not "modified": there is no intact signed revision left)."""
    out = io.BytesIO()
    PdfWriter(clone_from=PdfReader(io.BytesIO(signed))).write(out)
    resaved = out.getvalue()
    assert resaved != signed and not resaved.startswith(signed)
    evidence = check(resaved, pki)
    assert evidence.signature == "invalid"


def test_a_key_from_another_ca_is_untrusted(
    certificate_pdf: bytes, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other, _ = ensure_dev_pki(tmp_path_factory.mktemp("other-ca"), key_type="ec")
    forged = PdfSigner(other.signing_key, other.signing_cert, [other.ca_cert]).sign(certificate_pdf)
    evidence = check(forged, pki)
    assert evidence.signature == "untrusted"
    assert evidence.signer == SIGNING_COMMON_NAME  # same names, different CA: the name proves nothing
    assert check_pdf(forged, trust_roots_from_pem(other.ca_cert.read_bytes())).signature == "valid"


@pytest.fixture(scope="module")
def revoked_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPki]:
    """A PKI of its own: the session one must keep its CRL empty for the other tests."""
    made, _ = ensure_dev_pki(tmp_path_factory.mktemp("revoking"), key_type="ec")
    yield made


def test_a_revoked_signer(certificate_pdf: bytes, revoked_pki: DevPki, tmp_path: Path) -> None:
    pdf = PdfSigner(revoked_pki.signing_key, revoked_pki.signing_cert, [revoked_pki.ca_cert]).sign(certificate_pdf)
    empty_crl = revoked_pki.crl.read_bytes()
    assert check(pdf, revoked_pki).signature == "valid"
    revoke(revoked_pki.directory, "signing", reason=x509.ReasonFlags.key_compromise)
    assert check(pdf, revoked_pki).signature == "revoked_signer"
    assert check(pdf, revoked_pki, (empty_crl,)).signature == "valid"  # the older CRL did not list it
    der = x509.load_pem_x509_crl(revoked_pki.crl.read_bytes()).public_bytes(serialization.Encoding.DER)
    assert check(pdf, revoked_pki, (der,)).signature == "revoked_signer"  # DER works as well as PEM


def test_a_crl_from_another_ca_revokes_nothing(
    signed: bytes, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other, _ = ensure_dev_pki(tmp_path_factory.mktemp("crl-elsewhere"), key_type="ec")
    serial = x509.load_pem_x509_certificate(pki.signing_cert.read_bytes()).serial_number
    revoke(other.directory, serial)
    assert check(signed, pki, (pki.crl.read_bytes(), other.crl.read_bytes())).signature == "valid"


def test_an_approval_signature_is_not_a_certificate(certificate_pdf: bytes, pki: DevPki) -> None:
    """Signed by the right key, but not as a no-changes certification: not what the platform issues."""
    simple = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(pki.signing_key), str(pki.signing_cert), ca_chain_files=(str(pki.ca_cert),)
    )
    assert simple is not None
    meta = signers.PdfSignatureMetadata(field_name="Approval", subfilter=fields.SigSeedSubFilter.PADES)
    writer = IncrementalPdfFileWriter(io.BytesIO(certificate_pdf), strict=False)
    pdf = signers.PdfSigner(meta, signer=simple).sign_pdf(writer, output=io.BytesIO()).getvalue()
    assert check(pdf, pki).signature == "invalid"


def test_no_signature_is_missing(certificate_pdf: bytes, pki: DevPki) -> None:
    evidence = check(certificate_pdf, pki)
    assert evidence == PdfEvidence("missing", None, None, False, URL, content_digest(certificate_pdf))


def test_a_garbled_signature_value_is_invalid(signed: bytes, pki: DevPki) -> None:
    match = re.search(rb"/Contents <([0-9A-Fa-f]+)>", signed)
    assert match is not None
    start, end = match.span(1)
    garbled = signed[:start] + b"30" + b"1" * (end - start - 2) + signed[end:]
    assert check(garbled, pki).signature == "invalid"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a pdf at all",
        random.Random(7).randbytes(50_000),
        b"%PDF-1.7\n" + random.Random(8).randbytes(5000),
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    ],
    ids=["empty", "text", "random", "pdf-header-then-noise", "broken-xref"],
)
def test_garbage_is_unreadable(data: bytes, pki: DevPki) -> None:
    assert check(data, pki) == PdfEvidence("unreadable", None, None, False, None, None)


def test_files_over_the_size_limit_are_not_parsed(signed: bytes, pki: DevPki) -> None:
    padded = signed + b"%" + b" " * (MAX_PDF_BYTES - len(signed))
    assert len(padded) == MAX_PDF_BYTES + 1
    assert check(padded, pki).signature == "unreadable"


def test_an_encrypted_pdf_is_unreadable(certificate_pdf: bytes, pki: DevPki) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(certificate_pdf)))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert check(out.getvalue(), pki).signature == "unreadable"


def test_a_truncated_download_is_not_valid(signed: bytes, pki: DevPki) -> None:
    for cut in (len(signed) // 3, len(signed) // 2, len(signed) - 10):
        assert check(signed[:cut], pki).signature in {"unreadable", "invalid", "missing"}


def test_random_corruption_never_raises(signed: bytes, pki: DevPki) -> None:
    """Flipping bytes anywhere gives some verdict, never an exception (it may still be "valid" when the
    byte is in the unsigned zero padding of /Contents, which no signature can cover)."""
    rng = random.Random(2026)
    verdicts = set(get_args(Verdict))
    for _ in range(60):
        at = rng.randrange(len(signed))
        corrupted = signed[:at] + bytes([rng.randrange(256)]) + signed[at + 1 :]
        assert check(corrupted, pki).signature in verdicts


def test_malformed_trust_configuration_is_an_error(signed: bytes, roots: list[x509.Certificate]) -> None:
    with pytest.raises(ValueError):
        check_pdf(signed, roots, (b"not a crl",))
    with pytest.raises(ValueError):
        check_pdf(signed, ["not a certificate"])
