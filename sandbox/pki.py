"""Development PKI: a sandbox root CA and the document-signing certificate it issues.

The BFF signs e-certificates (PAdES) with a key and certificate given as PEM files. In the demo
nothing is configured, so this module makes a throw-away CA and signing certificate once:

    python -m sandbox.pki init <dir>

writes ``ca.pem``, ``ca-key.pem``, ``signing.pem`` and ``signing-key.pem`` into ``<dir>`` and does
nothing when they already exist. A verifier trusts ``ca.pem`` (e.g. imports it into an NSS
database for ``pdfsig``). Private keys are written unencrypted with mode 0600: this is a sandbox.

The signing certificate carries keyUsage digitalSignature + nonRepudiation and extendedKeyUsage
emailProtection + documentSigning (RFC 9336) + Adobe authenticDocumentsTrust. Poppler verifies PDF
signatures through NSS with the "email signer" usage, which rejects a certificate whose EKU lacks
emailProtection, so that one must be present; the other two name the real purpose.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

CA_COMMON_NAME = "流动人员人事档案沙箱根证书"
# X.520 caps names at 64 and cryptography counts UTF-8 bytes (3 per Chinese character): the full
# platform name goes in O, a shorter one in CN.
SIGNING_COMMON_NAME = "省级人事档案服务平台（沙箱）电子签章"
ORGANIZATION = "省级流动人员人事档案管理服务平台（沙箱）"

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SIGNING_FILE = "signing.pem"
SIGNING_KEY_FILE = "signing-key.pem"

CA_VALIDITY = dt.timedelta(days=3652)  # ten years
SIGNING_VALIDITY = dt.timedelta(days=3 * 365)

# RFC 9336 id-kp-documentSigning and Adobe's authenticDocumentsTrust.
OID_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
OID_ADOBE_AUTHENTIC_DOCUMENTS_TRUST = ObjectIdentifier("1.2.840.113583.1.1.5")

KeyType = Literal["rsa", "ec"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class DevPki:
    """Where the four PEM files of a development PKI live."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / CA_FILE

    @property
    def ca_key(self) -> Path:
        return self.directory / CA_KEY_FILE

    @property
    def signing_cert(self) -> Path:
        return self.directory / SIGNING_FILE

    @property
    def signing_key(self) -> Path:
        return self.directory / SIGNING_KEY_FILE

    def files(self) -> tuple[Path, Path, Path, Path]:
        return (self.ca_cert, self.ca_key, self.signing_cert, self.signing_key)

    def complete(self) -> bool:
        return all(p.is_file() for p in self.files())


def _new_key(key_type: KeyType) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """Serialise creation between processes starting at once (several workers, one directory)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(directory / ".pki.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def make_ca(key_type: KeyType = "rsa", *, now: dt.datetime | None = None) -> tuple[x509.Certificate, PrivateKey]:
    """A self-signed root: basicConstraints CA (pathlen 0), keyUsage keyCertSign + cRLSign."""
    now = now or dt.datetime.now(dt.UTC)
    key = _new_key(key_type)
    name = _name(CA_COMMON_NAME)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_signing_cert(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    key_type: KeyType = "rsa",
    *,
    now: dt.datetime | None = None,
) -> tuple[x509.Certificate, PrivateKey]:
    """A document-signing end-entity certificate issued by ``ca_cert``."""
    now = now or dt.datetime.now(dt.UTC)
    key = _new_key(key_type)
    not_after = min(now + SIGNING_VALIDITY, ca_cert.not_valid_after_utc)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNING_COMMON_NAME))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [
                    ExtendedKeyUsageOID.EMAIL_PROTECTION,
                    OID_DOCUMENT_SIGNING,
                    OID_ADOBE_AUTHENTIC_DOCUMENTS_TRUST,
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path.name}: unsupported key type {type(key).__name__}")
    return key


def ensure_dev_pki(directory: Path, key_type: KeyType = "rsa") -> tuple[DevPki, list[str]]:
    """Create whatever is missing of the dev PKI in ``directory``; return it and the files written.

    Existing files are never overwritten. If only the signing pair is missing it is issued by the
    existing CA; a signing pair without its CA is an error (we could not vouch for it).
    """
    directory.mkdir(parents=True, exist_ok=True)
    pki = DevPki(directory)
    written: list[str] = []
    if pki.complete():
        return pki, written
    with _dir_lock(directory):
        if pki.complete():
            return pki, written
        have_ca = pki.ca_cert.is_file() and pki.ca_key.is_file()
        have_signing = pki.signing_cert.is_file() or pki.signing_key.is_file()
        if have_signing and not have_ca:
            raise RuntimeError(f"{directory}: signing certificate present but the CA files are missing")
        if have_ca:
            ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
            ca_key = _load_key(pki.ca_key)
        else:
            ca_cert, ca_key = make_ca(key_type)
            _write_atomic(pki.ca_key, _key_pem(ca_key), 0o600)
            _write_atomic(pki.ca_cert, _cert_pem(ca_cert), 0o644)
            written += [CA_KEY_FILE, CA_FILE]
        if have_signing:
            raise RuntimeError(f"{directory}: only one of {SIGNING_FILE} / {SIGNING_KEY_FILE} exists")
        cert, key = make_signing_cert(ca_cert, ca_key, key_type)
        _write_atomic(pki.signing_key, _key_pem(key), 0o600)
        _write_atomic(pki.signing_cert, _cert_pem(cert), 0o644)
        written += [SIGNING_KEY_FILE, SIGNING_FILE]
    return pki, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.pki", description=(__doc__ or "Development PKI").splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create the dev CA and signing certificate (idempotent)")
    init.add_argument("directory", type=Path)
    init.add_argument("--key-type", choices=["rsa", "ec"], default="rsa", help="RSA 3072 or EC P-256")
    args = parser.parse_args(argv)
    pki, written = ensure_dev_pki(args.directory, args.key_type)
    if written:
        print(f"{pki.directory}: wrote {', '.join(written)}")
    else:
        print(f"{pki.directory}: dev PKI already present, nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
