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
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.pki import (
    CRL_RENEW_BEFORE,
    OID_DOCUMENT_SIGNING,
    DevPki,
    _load_key,
    ensure_dev_pki,
    make_crl,
    revoke,
)

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
    for key in (pki.ca_key, pki.signing_key, pki.tsa_key):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


ALL_FILES = ["ca-key.pem", "ca.crl", "ca.pem", "signing-key.pem", "signing.pem", "tsa-key.pem", "tsa.pem"]


def test_init_is_idempotent(tmp_path: Path) -> None:
    pki, written = ensure_dev_pki(tmp_path, key_type="ec")
    assert sorted(written) == ALL_FILES
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


def load_crl(pki: DevPki) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(pki.crl.read_bytes())


def test_tsa_certificate_is_for_time_stamping_only(pki: DevPki) -> None:
    ca, tsa = load(pki.ca_cert), load(pki.tsa_cert)
    tsa.verify_directly_issued_by(ca)
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical  # RFC 3161 section 2.3
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ku = tsa.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_cert_sign
    assert isinstance(tsa.public_key(), rsa.RSAPublicKey)
    assert "时间戳" in str(tsa.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_crl_starts_empty_and_signed_by_the_ca(pki: DevPki) -> None:
    crl = load_crl(pki)
    assert crl.issuer == load(pki.ca_cert).subject
    assert crl.is_signature_valid(load(pki.ca_cert).public_key())  # type: ignore[arg-type]
    assert len(crl) == 0
    assert crl.next_update_utc is not None and crl.next_update_utc > dt.datetime.now(dt.UTC) + CRL_RENEW_BEFORE


def test_an_older_directory_gains_the_tsa_and_crl(tmp_path: Path) -> None:
    pki, _ = ensure_dev_pki(tmp_path, key_type="ec")
    before = {p: p.read_bytes() for p in (pki.ca_cert, pki.ca_key, pki.signing_cert, pki.signing_key)}
    for path in (pki.tsa_cert, pki.tsa_key, pki.crl):
        path.unlink()
    _, written = ensure_dev_pki(tmp_path)
    assert sorted(written) == ["ca.crl", "tsa-key.pem", "tsa.pem"]
    assert {p: p.read_bytes() for p in before} == before
    load(pki.tsa_cert).verify_directly_issued_by(load(pki.ca_cert))


def test_revoking_the_signing_certificate(tmp_path: Path) -> None:
    pki, _ = ensure_dev_pki(tmp_path, key_type="ec")
    number_before = load_crl(pki).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    serial = revoke(tmp_path, "signing", reason=x509.ReasonFlags.key_compromise)
    assert serial == load(pki.signing_cert).serial_number
    revoke(tmp_path, "signing")  # again: still one entry
    revoke(tmp_path, 12345)
    crl = load_crl(pki)
    assert crl.is_signature_valid(load(pki.ca_cert).public_key())  # type: ignore[arg-type]
    assert sorted(e.serial_number for e in crl) == sorted([serial, 12345])
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number_before + 3


def test_init_renews_a_crl_close_to_expiry_and_keeps_its_entries(tmp_path: Path) -> None:
    pki, _ = ensure_dev_pki(tmp_path, key_type="ec")
    serial = revoke(tmp_path, "tsa")
    ca = load(pki.ca_cert)
    old = make_crl(ca, _load_key(pki.ca_key), list(load_crl(pki)), number=7,
                   now=dt.datetime.now(dt.UTC) - dt.timedelta(days=28))
    pki.crl.write_bytes(old.public_bytes(serialization.Encoding.PEM))
    _, written = ensure_dev_pki(tmp_path)
    assert written == ["ca.crl"]
    crl = load_crl(pki)
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert crl.next_update_utc is not None and crl.next_update_utc - dt.datetime.now(dt.UTC) > CRL_RENEW_BEFORE
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 8


def test_revoke_command_line(tmp_path: Path) -> None:
    target = tmp_path / "pki"
    pki, _ = ensure_dev_pki(target, key_type="ec")
    cmd = [sys.executable, "-m", "sandbox.pki", "revoke", str(target), "signing", "--reason", "superseded"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    serial = load(pki.signing_cert).serial_number
    assert str(serial) in done.stdout
    hex_cmd = [sys.executable, "-m", "sandbox.pki", "revoke", str(target), "0x2a"]
    subprocess.run(hex_cmd, cwd=REPO, capture_output=True, text=True, check=True)
    assert sorted(e.serial_number for e in load_crl(pki)) == sorted([serial, 42])
    bad = subprocess.run([sys.executable, "-m", "sandbox.pki", "revoke", str(target), "nobody"], cwd=REPO,
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2
