"""sandbox.pki: the dev CA and document-signing certificate."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.pki import OID_DOCUMENT_SIGNING, DevPki, ensure_dev_pki

REPO = Path(__file__).resolve().parents[2]


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_ca_is_a_ten_year_root(pki: DevPki) -> None:
    ca = load(pki.ca_cert)
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "流动人员人事档案沙箱根证书"
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert dt.timedelta(days=3650) <= lifetime <= dt.timedelta(days=3660)


def test_signing_certificate_is_issued_by_the_ca_for_documents(pki: DevPki) -> None:
    ca, cert = load(pki.ca_cert), load(pki.signing_cert)
    cert.verify_directly_issued_by(ca)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku  # what poppler/NSS checks for PDF signers
    assert OID_DOCUMENT_SIGNING in eku
    assert "电子签章" in str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc


def test_private_keys_are_private(pki: DevPki) -> None:
    for key in (pki.ca_key, pki.signing_key):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_init_is_idempotent(tmp_path: Path) -> None:
    pki, written = ensure_dev_pki(tmp_path, key_type="ec")
    assert sorted(written) == ["ca-key.pem", "ca.pem", "signing-key.pem", "signing.pem"]
    before = {p: p.read_bytes() for p in pki.files()}
    again, written_again = ensure_dev_pki(tmp_path)
    assert written_again == []
    assert {p: p.read_bytes() for p in again.files()} == before


def test_missing_signing_pair_is_reissued_by_the_same_ca(tmp_path: Path) -> None:
    pki, _ = ensure_dev_pki(tmp_path, key_type="ec")
    ca_before = pki.ca_cert.read_bytes()
    pki.signing_cert.unlink()
    pki.signing_key.unlink()
    _, written = ensure_dev_pki(tmp_path, key_type="ec")
    assert sorted(written) == ["signing-key.pem", "signing.pem"]
    assert pki.ca_cert.read_bytes() == ca_before
    load(pki.signing_cert).verify_directly_issued_by(load(pki.ca_cert))


def test_signing_pair_without_its_ca_is_an_error(tmp_path: Path) -> None:
    pki, _ = ensure_dev_pki(tmp_path, key_type="ec")
    pki.ca_key.unlink()
    with pytest.raises(RuntimeError):
        ensure_dev_pki(tmp_path)


def test_command_line(tmp_path: Path) -> None:
    target = tmp_path / "pki"
    cmd = [sys.executable, "-m", "sandbox.pki", "init", str(target), "--key-type", "ec"]
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    assert "wrote" in first.stdout
    assert DevPki(target).complete()
    second = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    assert "nothing to do" in second.stdout
