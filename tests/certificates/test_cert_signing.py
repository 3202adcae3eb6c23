"""PdfSigner: a PAdES certification signature that poppler and pyHanko accept, and that breaks on change."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pytest
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from bff.domain.certificates.signing import SIGNATURE_REASON, PdfSigner, SigningError
from bff.settings import SigningSettings
from sandbox.pki import DevPki, ensure_dev_pki
from tests.certificates.helpers import write
from tests.support.pdf import pdfsig


def validate(pdf: bytes, pki: DevPki) -> PdfSignatureStatus:
    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(pki.ca_cert))])  # type: ignore[no-untyped-call]
    return validate_pdf_signature(reader.embedded_signatures[0], context)


def test_pdfsig_says_valid_and_trusted(signed_pdf: bytes, nss_db: str, tmp_path: Path) -> None:
    out = pdfsig(write(tmp_path, "signed.pdf", signed_pdf), nss_db)
    print(out)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." in out
    assert "Signature Type: ETSI.CAdES.detached" in out
    assert "Total document signed" in out
    assert "省级人事档案服务平台（沙箱）电子签章" in out


def test_pdfsig_does_not_trust_an_unknown_ca(signed_pdf: bytes, empty_nss_db: str, tmp_path: Path) -> None:
    out = pdfsig(write(tmp_path, "signed.pdf", signed_pdf), empty_nss_db)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate is Trusted." not in out


def test_pyhanko_says_intact_valid_trusted(signed_pdf: bytes, pki: DevPki) -> None:
    status = validate(signed_pdf, pki)
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    assert status.docmdp_ok


def test_it_is_a_certification_signature_with_no_changes_allowed(signed_pdf: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    sig = reader.embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.sig_object["/Reason"] == SIGNATURE_REASON
    assert sig.sig_object["/Name"] == "省级人事档案服务平台（沙箱）电子签章"
    assert sig.docmdp_level == MDPPerm.NO_CHANGES
    assert "/DocMDP" in reader.root["/Perms"]


def test_a_changed_byte_breaks_the_signature(signed_pdf: bytes, pki: DevPki, nss_db: str, tmp_path: Path) -> None:
    match = re.search(rb"/CreationDate \(D:(\d{4})", signed_pdf)
    assert match is not None
    at = match.start(1)
    year = signed_pdf[at : at + 4]
    tampered = signed_pdf[:at] + (b"1999" if year != b"1999" else b"2000") + signed_pdf[at + 4 :]
    assert len(tampered) == len(signed_pdf)
    status = validate(tampered, pki)
    assert not status.intact
    assert not status.bottom_line
    out = pdfsig(write(tmp_path, "tampered.pdf", tampered), nss_db)
    assert "Signature is Valid." not in out


def test_a_later_revision_is_reported(signed_pdf: bytes, pki: DevPki, nss_db: str, tmp_path: Path) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    # Paint a white box over part of the page in a new revision, as a forger would.
    cover = writer.add_object(generic.StreamObject(stream_data=b"q 1 g 80 500 300 120 re f Q"))
    writer.add_stream_to_page(0, cover)  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    changed = out.getvalue()
    status = validate(changed, pki)
    assert status.intact  # the signed revision itself is untouched...
    assert not status.docmdp_ok  # ...but the page was changed after certification
    assert not status.bottom_line
    assert status.coverage is not None and status.coverage.name != "ENTIRE_FILE"
    report = pdfsig(write(tmp_path, "changed.pdf", changed), nss_db)
    assert "Total document signed" not in report


def test_signing_from_several_threads(signer: PdfSigner, unsigned_pdf: bytes, pki: DevPki) -> None:
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(signer.sign(unsigned_pdf))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 18
    for pdf in results:
        assert validate(pdf, pki).bottom_line


def test_ec_keys_work_too(tmp_path: Path, unsigned_pdf: bytes, nss_db: str) -> None:
    ec_pki, _ = ensure_dev_pki(tmp_path / "ec", key_type="ec")
    signed = PdfSigner(ec_pki.signing_key, ec_pki.signing_cert, [ec_pki.ca_cert]).sign(unsigned_pdf)
    assert validate(signed, ec_pki).bottom_line


def test_signer_describes_its_certificate(signer: PdfSigner) -> None:
    assert signer.info.subject_common_name == "省级人事档案服务平台（沙箱）电子签章"
    assert signer.info.issuer_common_name == "流动人员人事档案沙箱根证书"


def test_a_key_that_does_not_match_the_certificate_is_refused(pki: DevPki, tmp_path: Path) -> None:
    with pytest.raises(SigningError):
        PdfSigner(pki.ca_key, pki.signing_cert, [pki.ca_cert])


def test_missing_files_are_reported(tmp_path: Path, pki: DevPki) -> None:
    with pytest.raises(SigningError):
        PdfSigner(tmp_path / "nope.pem", pki.signing_cert)
    with pytest.raises(SigningError):
        PdfSigner(pki.signing_key, pki.signing_cert, [tmp_path / "nope.pem"])


def test_from_settings_reads_the_pem_files(pki: DevPki, unsigned_pdf: bytes, tmp_path: Path) -> None:
    settings = SigningSettings(key_path=pki.signing_key, cert_path=pki.signing_cert, chain_paths=(pki.ca_cert,),
                               token_keys_dir=tmp_path)
    made = PdfSigner.from_settings(settings)
    assert made.info.key_source == "file" and not made.timestamped
    assert validate(made.sign(unsigned_pdf), pki).bottom_line
    made.close()  # nothing to release for files: still signs
    assert validate(made.sign(unsigned_pdf), pki).bottom_line


def test_settings_default_to_the_dev_pki_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PKI_DIR", "SIGNING_KEY_PATH", "SIGNING_CERT_PATH", "SIGNING_CHAIN_PATHS", "SIGNING_TSA_URL",
                 "SIGNING_PKCS11_MODULE"):
        monkeypatch.delenv(name, raising=False)
    settings = SigningSettings.from_env(tmp_path)
    assert settings.key_path == tmp_path / "pki" / "signing-key.pem"
    assert settings.chain_paths == (tmp_path / "pki" / "ca.pem",)
    assert settings.tsa_url is None and settings.pkcs11_module is None
