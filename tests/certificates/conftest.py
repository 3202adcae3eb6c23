"""Shared fixtures for the e-certificate tests: a dev PKI, token keys, one rendered and signed PDF.

``unsigned_pdf`` is the page as render_certificate makes it, without the QR code; ``signed_pdf`` is
that page with the QR code of ``verify_url`` added (add_qr), then signed.

These tests drive real tools: poppler-utils (pdftoppm, pdfsig, pdffonts), libnss3-tools (certutil)
and a TrueType CJK font (fonts-wqy-microhei). They fail, rather than skip, when one is missing, so
that a machine without them cannot pass silently.
"""

from __future__ import annotations

import pytest

from bff.domain.certificates.render import CertificateContent, add_qr, render_certificate
from bff.domain.certificates.signing import PdfSigner
from bff.domain.verification.tokens import TokenKeys
from sandbox.pki import DevPki, ensure_dev_pki
from tests.certificates.helpers import VERIFY_URL, make_content, tool
from tests.support.pdf import nss_db as make_nss_db


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    made, _ = ensure_dev_pki(tmp_path_factory.mktemp("pki"))
    return made


@pytest.fixture(scope="session")
def token_keys(tmp_path_factory: pytest.TempPathFactory) -> TokenKeys:
    return TokenKeys.load_or_create(tmp_path_factory.mktemp("token-keys"))


@pytest.fixture(scope="session")
def verify_url() -> str:
    """The QR payload: the public address in upper case plus a 196-character base32 token (a fixed
    stand-in until the token module issues them)."""
    return VERIFY_URL


@pytest.fixture(scope="session")
def content() -> CertificateContent:
    return make_content("archive_certificate")


@pytest.fixture(scope="session")
def unsigned_pdf(content: CertificateContent) -> bytes:
    return render_certificate(content)


@pytest.fixture(scope="session")
def signer(pki: DevPki) -> PdfSigner:
    return PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert])


@pytest.fixture(scope="session")
def qr_pdf(unsigned_pdf: bytes, verify_url: str) -> bytes:
    """The unsigned page with its QR code: what the issuing service signs."""
    return add_qr(unsigned_pdf, verify_url)


@pytest.fixture(scope="session")
def signed_pdf(signer: PdfSigner, qr_pdf: bytes) -> bytes:
    return signer.sign(qr_pdf)


@pytest.fixture(scope="session")
def nss_db(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database that trusts the dev CA, as a verifier would set one up for pdfsig."""
    tool("certutil")
    return make_nss_db(tmp_path_factory.mktemp("nss"), pki.ca_cert)


@pytest.fixture(scope="session")
def empty_nss_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    tool("certutil")
    return make_nss_db(tmp_path_factory.mktemp("nss-empty"))
