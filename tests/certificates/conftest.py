"""Shared fixtures for the e-certificate tests: a dev PKI, token keys, one rendered and signed PDF.

These tests drive real tools: poppler-utils (pdftoppm, pdfsig, pdffonts), libnss3-tools (certutil)
and a TrueType CJK font (fonts-wqy-microhei). They fail, rather than skip, when one is missing, so
that a machine without them cannot pass silently.
"""

from __future__ import annotations

import pytest

from bff.domain.certificates.render import CertificateContent, render_certificate
from bff.domain.certificates.signing import PdfSigner
from bff.domain.verification.tokens import TokenKeys
from sandbox.pki import DevPki, ensure_dev_pki
from tests.certificates.helpers import make_content, tool
from tests.support.pdf import nss_db as make_nss_db


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    made, _ = ensure_dev_pki(tmp_path_factory.mktemp("pki"))
    return made


@pytest.fixture(scope="session")
def token_keys(tmp_path_factory: pytest.TempPathFactory) -> TokenKeys:
    return TokenKeys.load_or_create(tmp_path_factory.mktemp("token-keys"))


@pytest.fixture(scope="session")
def verify_url(token_keys: TokenKeys) -> str:
    """A realistic QR payload: the public address plus a real ES256 token (~330 characters)."""
    token = token_keys.issue({"cid": "VBUMMB7UQYICZDHX3SEDR773", "knd": "archive_certificate", "iat": 1794998400})
    return f"https://dangan.example.gov.cn/v/{token}"


@pytest.fixture(scope="session")
def content(verify_url: str) -> CertificateContent:
    return make_content(verify_url)


@pytest.fixture(scope="session")
def unsigned_pdf(content: CertificateContent) -> bytes:
    return render_certificate(content)


@pytest.fixture(scope="session")
def signer(pki: DevPki) -> PdfSigner:
    return PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert])


@pytest.fixture(scope="session")
def signed_pdf(signer: PdfSigner, unsigned_pdf: bytes) -> bytes:
    return signer.sign(unsigned_pdf)


@pytest.fixture(scope="session")
def nss_db(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database that trusts the dev CA, as a verifier would set one up for pdfsig."""
    tool("certutil")
    return make_nss_db(tmp_path_factory.mktemp("nss"), pki.ca_cert)


@pytest.fixture(scope="session")
def empty_nss_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    tool("certutil")
    return make_nss_db(tmp_path_factory.mktemp("nss-empty"))
