"""Signing with a key on a PKCS#11 token: Debian's SoftHSM 2 stands in for an HSM.

The token lives in a temporary directory (``SOFTHSM2_CONF`` points at a temporary config); the sandbox
signing key is imported with ``softhsm2-util --import`` and its certificate written with OpenSC's
``pkcs11-tool``, as an operator would provision a real token. These tests fail, rather than skip, when
softhsm2 or opensc is missing (``scripts/system-deps.sh`` installs both).

python-pkcs11 loads and initialises one module per process (SoftHSM reads ``SOFTHSM2_CONF`` then), so
all tokens are provisioned once per module, before the first session is opened.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from bff.domain.certificates.signing import PdfSigner, SigningError
from bff.settings import SigningSettings
from sandbox.pki import DevPki
from sandbox.tsa import create_app as create_tsa
from tests.certificates.helpers import write
from tests.sandbox.helpers import LiveServer
from tests.support.pdf import pdfsig

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                     "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN = "portal-signing"
PIN = "246810"
SO_PIN = "13579113"
KEY_LABEL = "document-signing"
BARE_KEY_LABEL = "bare-key"  # the same key again, with no certificate object on the token


@dataclass(frozen=True)
class Token:
    module: str
    pki: DevPki
    directory: Path

    def settings(self, **changes: object) -> SigningSettings:
        values: dict[str, object] = {
            "key_path": self.directory / "no-such-key.pem",  # never read in PKCS#11 mode
            "cert_path": self.directory / "no-such-cert.pem",
            "chain_paths": (self.pki.ca_cert,),
            "token_keys_dir": self.directory / "unused",
            "pkcs11_module": self.module,
            "pkcs11_token_label": TOKEN,
            "pkcs11_key_label": KEY_LABEL,
            "pkcs11_pin": PIN,
        }
        values.update(changes)
        return SigningSettings(**values)  # type: ignore[arg-type]


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Debian package {package})")
    return path


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd[:2])} failed: {done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def token(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    softhsm = _tool("softhsm2-util", "softhsm2")
    p11tool = _tool("pkcs11-tool", "opensc")
    module = next((m for m in MODULE_CANDIDATES if Path(m).is_file()), None)
    if module is None:
        pytest.fail("libsofthsm2.so not found (Debian package softhsm2)")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    cert_der = write(base, "signing.der", x509.load_pem_x509_certificate(pki.signing_cert.read_bytes())
                     .public_bytes(serialization.Encoding.DER))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SOFTHSM2_CONF", str(conf))
        _run(softhsm, "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN)
        # softhsm2-util imports PKCS#8 PEM, which is how sandbox.pki writes keys
        _run(softhsm, "--import", str(pki.signing_key), "--token", TOKEN, "--label", KEY_LABEL, "--id", "01",
             "--pin", PIN)
        _run(softhsm, "--import", str(pki.signing_key), "--token", TOKEN, "--label", BARE_KEY_LABEL, "--id", "02",
             "--pin", PIN)
        _run(p11tool, "--module", module, "--token-label", TOKEN, "--login", "--pin", PIN, "--write-object",
             str(cert_der), "--type", "cert", "--label", KEY_LABEL, "--id", "01")
        yield Token(module=module, pki=pki, directory=base)
    assert os.environ.get("SOFTHSM2_CONF") != str(conf)


@pytest.fixture(scope="module")
def hsm_signer(token: Token) -> Iterator[PdfSigner]:
    signer = PdfSigner.from_settings(token.settings())
    yield signer
    signer.close()


def validate(pdf: bytes, pki: DevPki) -> PdfSignatureStatus:
    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(pki.ca_cert))],  # type: ignore[no-untyped-call]
        allow_fetching=False,
    )
    return validate_pdf_signature(reader.embedded_signatures[0], context)


def test_a_wrong_pin_is_refused_by_the_token(token: Token) -> None:
    """First in the module: no session is open yet, so the PIN really goes to the token (C_Login)."""
    with pytest.raises(SigningError, match="PinIncorrect"):
        PdfSigner.from_settings(token.settings(pkcs11_pin="000000"))


def test_signature_from_the_token_is_valid_and_trusted(
    hsm_signer: PdfSigner, unsigned_pdf: bytes, token: Token, nss_db: str, tmp_path: Path
) -> None:
    assert hsm_signer.info.key_source == "pkcs11"
    assert hsm_signer.info.subject_common_name == "省级人事档案服务平台（沙箱）电子签章"
    signed = hsm_signer.sign(unsigned_pdf)
    status = validate(signed, token.pki)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    out = pdfsig(write(tmp_path, "hsm.pdf", signed), nss_db)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." in out
    assert "Total document signed" in out


def test_one_session_shared_by_threads(hsm_signer: PdfSigner, unsigned_pdf: bytes, token: Token) -> None:
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(hsm_signer.sign(unsigned_pdf))
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
        assert validate(pdf, token.pki).bottom_line


def test_pin_from_a_file(token: Token, unsigned_pdf: bytes, tmp_path: Path) -> None:
    pin_file = write(tmp_path, "pin", f"{PIN}\n".encode())
    signer = PdfSigner.from_settings(token.settings(pkcs11_pin=None, pkcs11_pin_file=pin_file))
    try:
        assert validate(signer.sign(unsigned_pdf), token.pki).bottom_line
    finally:
        signer.close()


def test_certificate_from_the_file_when_the_token_has_none(token: Token, unsigned_pdf: bytes) -> None:
    signer = PdfSigner.from_settings(token.settings(pkcs11_key_label=BARE_KEY_LABEL, cert_path=token.pki.signing_cert))
    try:
        assert validate(signer.sign(unsigned_pdf), token.pki).bottom_line
    finally:
        signer.close()


def test_a_certificate_file_for_another_key_is_refused(token: Token) -> None:
    with pytest.raises(SigningError, match="does not belong"):
        PdfSigner.from_settings(token.settings(pkcs11_key_label=BARE_KEY_LABEL, cert_path=token.pki.tsa_cert))


def test_no_certificate_anywhere_is_refused(token: Token) -> None:
    with pytest.raises(SigningError, match="no certificate"):
        PdfSigner.from_settings(token.settings(pkcs11_key_label=BARE_KEY_LABEL))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pkcs11_pin": "000000"}, "PKCS#11 session"),
        ({"pkcs11_token_label": "no-such-token"}, "PKCS#11 session"),
        ({"pkcs11_key_label": "no-such-key"}, "no certificate"),
        ({"pkcs11_key_label": None}, "SIGNING_PKCS11_KEY_LABEL"),
        ({"pkcs11_pin": None, "pkcs11_pin_file": Path("/nonexistent/pin")}, "PIN file"),
    ],
)
def test_configuration_mistakes_are_signing_errors(token: Token, changes: dict[str, object], message: str) -> None:
    with pytest.raises(SigningError, match=message):
        PdfSigner.from_settings(token.settings(**changes))


def test_key_without_certificate_label_match_but_cert_file(token: Token) -> None:
    """A key label that does not exist, with a certificate file: the key lookup itself fails."""
    with pytest.raises(SigningError, match="PKCS#11 key"):
        PdfSigner.from_settings(token.settings(pkcs11_key_label="no-such-key", cert_path=token.pki.signing_cert))


def test_b_t_with_the_token(token: Token, unsigned_pdf: bytes) -> None:
    with LiveServer(lambda _port: create_tsa(token.pki.directory)) as tsa:
        signer = PdfSigner.from_settings(token.settings(tsa_url=f"{tsa.url}/tsa"))
        try:
            status = validate(signer.sign(unsigned_pdf), token.pki)
        finally:
            signer.close()
    assert status.bottom_line
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted


def test_a_closed_session_is_a_signing_error(token: Token, unsigned_pdf: bytes) -> None:
    signer = PdfSigner.from_settings(token.settings())
    signer.close()
    with pytest.raises(SigningError, match="PKCS#11"):
        signer.sign(unsigned_pdf)


def test_settings_read_the_pkcs11_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIGNING_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
    monkeypatch.setenv("SIGNING_PKCS11_TOKEN_LABEL", TOKEN)
    monkeypatch.setenv("SIGNING_PKCS11_KEY_LABEL", KEY_LABEL)
    monkeypatch.setenv("SIGNING_PKCS11_PIN", PIN)
    monkeypatch.setenv("SIGNING_PKCS11_PIN_FILE", str(tmp_path / "pin"))
    settings = SigningSettings.from_env(tmp_path)
    assert settings.pkcs11_module == "/usr/lib/softhsm/libsofthsm2.so"
    assert (settings.pkcs11_token_label, settings.pkcs11_key_label, settings.pkcs11_pin) == (TOKEN, KEY_LABEL, PIN)
    assert settings.pkcs11_pin_file == tmp_path / "pin"
    assert PIN not in repr(settings)
    monkeypatch.delenv("SIGNING_PKCS11_MODULE")
    assert SigningSettings.from_env(tmp_path).pkcs11_module is None
