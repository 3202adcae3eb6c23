"""Development PKI: a sandbox root CA, the certificates it issues, and its revocation list.

The BFF signs e-certificates (PAdES) with a key and certificate given as PEM files. In the demo
nothing is configured, so this module makes a throw-away CA and its certificates once:

    python -m sandbox.pki init <dir>

writes ``ca.pem``, ``ca-key.pem`` (the root), ``signing.pem``, ``signing-key.pem`` (the document
signer), ``tsa.pem``, ``tsa-key.pem`` (the RFC 3161 time-stamping unit that ``sandbox.tsa`` runs)
and ``ca.crl`` (the root's CRL, empty at first) into ``<dir>``. It only adds what is missing, so
it also upgrades a directory made by an older version, and it re-signs a CRL that is about to
expire. A verifier trusts ``ca.pem`` (e.g. imports it into an NSS database for ``pdfsig``).
Private keys are written unencrypted with mode 0600: this is a sandbox.

    python -m sandbox.pki revoke <dir> signing|tsa|<serial>

adds a certificate to the CRL (serial in decimal or 0x-hex) and re-signs it.

The signing certificate carries keyUsage digitalSignature + nonRepudiation and extendedKeyUsage
emailProtection + documentSigning (RFC 9336) + Adobe authenticDocumentsTrust. Poppler verifies PDF
signatures through NSS with the "email signer" usage, which rejects a certificate whose EKU lacks
emailProtection, so that one must be present; the other two name the real purpose.

The TSA certificate carries keyUsage digitalSignature + nonRepudiation and a *critical*
extendedKeyUsage timeStamping only, as RFC 3161 section 2.3 requires. Its key is always RSA: the
token signer (pyHanko's DummyTimeStamper logic) signs with RSA PKCS#1 v1.5.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterable, Iterator
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

TSA_COMMON_NAME = "流动人员人事档案沙箱时间戳服务"

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SIGNING_FILE = "signing.pem"
SIGNING_KEY_FILE = "signing-key.pem"
TSA_FILE = "tsa.pem"
TSA_KEY_FILE = "tsa-key.pem"
CRL_FILE = "ca.crl"

CA_VALIDITY = dt.timedelta(days=3652)  # ten years
SIGNING_VALIDITY = dt.timedelta(days=3 * 365)
CRL_VALIDITY = dt.timedelta(days=30)  # nextUpdate; `init` re-signs a CRL with less than CRL_RENEW_BEFORE left
CRL_RENEW_BEFORE = dt.timedelta(days=7)

# RFC 9336 id-kp-documentSigning and Adobe's authenticDocumentsTrust.
OID_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
OID_ADOBE_AUTHENTIC_DOCUMENTS_TRUST = ObjectIdentifier("1.2.840.113583.1.1.5")

KeyType = Literal["rsa", "ec"]
RevokeTarget = Literal["signing", "tsa"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class DevPki:
    """Where the PEM files of a development PKI live."""

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

    @property
    def tsa_cert(self) -> Path:
        return self.directory / TSA_FILE

    @property
    def tsa_key(self) -> Path:
        return self.directory / TSA_KEY_FILE

    @property
    def crl(self) -> Path:
        return self.directory / CRL_FILE

    def files(self) -> tuple[Path, ...]:
        return (self.ca_cert, self.ca_key, self.signing_cert, self.signing_key, self.tsa_cert, self.tsa_key, self.crl)

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


def make_tsa_cert(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    *,
    now: dt.datetime | None = None,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A time-stamping unit certificate issued by ``ca_cert`` (RFC 3161: EKU timeStamping, critical)."""
    now = now or dt.datetime.now(dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    not_after = min(now + SIGNING_VALIDITY, ca_cert.not_valid_after_utc)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(TSA_COMMON_NAME))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
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
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def make_crl(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    revoked: Iterable[x509.RevokedCertificate] = (),
    *,
    number: int = 1,
    now: dt.datetime | None = None,
) -> x509.CertificateRevocationList:
    """A CRL of ``ca_cert`` listing ``revoked``, valid for CRL_VALIDITY."""
    now = now or dt.datetime.now(dt.UTC)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(min(now + CRL_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca_key, hashes.SHA256())


def _crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0


def _crl_due(pki: DevPki, now: dt.datetime) -> bool:
    """True when the CRL is missing, unreadable or within CRL_RENEW_BEFORE of its nextUpdate."""
    try:
        crl = x509.load_pem_x509_crl(pki.crl.read_bytes())
    except (OSError, ValueError):
        return True
    next_update = crl.next_update_utc
    return next_update is None or next_update - now < CRL_RENEW_BEFORE


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path.name}: unsupported key type {type(key).__name__}")
    return key


def _load_ca(pki: DevPki) -> tuple[x509.Certificate, PrivateKey]:
    return x509.load_pem_x509_certificate(pki.ca_cert.read_bytes()), _load_key(pki.ca_key)


def _resign_crl(pki: DevPki, ca_cert: x509.Certificate, ca_key: PrivateKey,
                add: x509.RevokedCertificate | None = None) -> None:
    """Write a fresh CRL: the entries of the current one (if readable), plus ``add``, and a higher number."""
    entries: list[x509.RevokedCertificate] = []
    number = 1
    if pki.crl.is_file():
        old = x509.load_pem_x509_crl(pki.crl.read_bytes())
        if not old.is_signature_valid(ca_key.public_key()):
            raise RuntimeError(f"{pki.crl}: not signed by {CA_FILE}")
        entries = list(old)
        number = _crl_number(old) + 1
    if add is not None and all(e.serial_number != add.serial_number for e in entries):
        entries.append(add)
    _write_atomic(pki.crl, _crl_pem(make_crl(ca_cert, ca_key, entries, number=number)), 0o644)


def ensure_dev_pki(directory: Path, key_type: KeyType = "rsa") -> tuple[DevPki, list[str]]:
    """Create whatever is missing of the dev PKI in ``directory``; return it and the files written.

    Existing certificates and keys are never overwritten. If only the signing or TSA pair is missing
    it is issued by the existing CA; a pair without its CA is an error (we could not vouch for it).
    The CRL is created empty, and re-signed (same entries) when close to its nextUpdate.
    """
    directory.mkdir(parents=True, exist_ok=True)
    pki = DevPki(directory)
    written: list[str] = []
    if pki.complete() and not _crl_due(pki, dt.datetime.now(dt.UTC)):
        return pki, written
    with _dir_lock(directory):
        if pki.complete() and not _crl_due(pki, dt.datetime.now(dt.UTC)):
            return pki, written
        have_ca = pki.ca_cert.is_file() and pki.ca_key.is_file()
        have_signing = pki.signing_cert.is_file() or pki.signing_key.is_file()
        have_tsa = pki.tsa_cert.is_file() or pki.tsa_key.is_file()
        if (have_signing or have_tsa) and not have_ca:
            raise RuntimeError(f"{directory}: certificates present but the CA files are missing")
        if have_ca:
            ca_cert, ca_key = _load_ca(pki)
        else:
            ca_cert, ca_key = make_ca(key_type)
            _write_atomic(pki.ca_key, _key_pem(ca_key), 0o600)
            _write_atomic(pki.ca_cert, _cert_pem(ca_cert), 0o644)
            written += [CA_KEY_FILE, CA_FILE]
        if not (pki.signing_cert.is_file() and pki.signing_key.is_file()):
            if have_signing:
                raise RuntimeError(f"{directory}: only one of {SIGNING_FILE} / {SIGNING_KEY_FILE} exists")
            cert, key = make_signing_cert(ca_cert, ca_key, key_type)
            _write_atomic(pki.signing_key, _key_pem(key), 0o600)
            _write_atomic(pki.signing_cert, _cert_pem(cert), 0o644)
            written += [SIGNING_KEY_FILE, SIGNING_FILE]
        if not (pki.tsa_cert.is_file() and pki.tsa_key.is_file()):
            if have_tsa:
                raise RuntimeError(f"{directory}: only one of {TSA_FILE} / {TSA_KEY_FILE} exists")
            tsa_cert, tsa_key = make_tsa_cert(ca_cert, ca_key)
            _write_atomic(pki.tsa_key, _key_pem(tsa_key), 0o600)
            _write_atomic(pki.tsa_cert, _cert_pem(tsa_cert), 0o644)
            written += [TSA_KEY_FILE, TSA_FILE]
        if _crl_due(pki, dt.datetime.now(dt.UTC)):
            # Keeps the entries of an existing CRL; one that cannot be read is an error rather than
            # silently replaced, so that no revocation is ever lost.
            _resign_crl(pki, ca_cert, ca_key)
            written.append(CRL_FILE)
    return pki, written


def revoke(
    directory: Path,
    target: RevokeTarget | int,
    *,
    reason: x509.ReasonFlags | None = None,
    when: dt.datetime | None = None,
) -> int:
    """Put a certificate of this CA on its CRL and re-sign the CRL; return the serial number revoked.

    ``target`` is ``"signing"`` or ``"tsa"`` (the certificate in the directory) or a serial number.
    Revoking a serial that is already listed keeps the first entry.
    """
    pki = DevPki(directory)
    if not (pki.ca_cert.is_file() and pki.ca_key.is_file()):
        raise RuntimeError(f"{directory}: no dev CA here")
    with _dir_lock(directory):
        ca_cert, ca_key = _load_ca(pki)
        if isinstance(target, int):
            serial = target
        else:
            path = pki.signing_cert if target == "signing" else pki.tsa_cert
            serial = x509.load_pem_x509_certificate(path.read_bytes()).serial_number
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(
            when or dt.datetime.now(dt.UTC)
        )
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        _resign_crl(pki, ca_cert, ca_key, entry.build())
    return serial


def _revoke_target(value: str) -> RevokeTarget | int:
    if value in ("signing", "tsa"):
        return "signing" if value == "signing" else "tsa"
    try:
        return int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not 'signing', 'tsa' or a serial number: {value!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.pki", description=(__doc__ or "Development PKI").splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create the dev CA, its certificates and CRL (idempotent)")
    init.add_argument("directory", type=Path)
    init.add_argument("--key-type", choices=["rsa", "ec"], default="rsa", help="RSA 3072 or EC P-256")
    rev = sub.add_parser("revoke", help="add a certificate to the CA's CRL and re-sign it")
    rev.add_argument("directory", type=Path)
    rev.add_argument("target", type=_revoke_target, help="'signing', 'tsa' or a serial number (decimal or 0x-hex)")
    rev.add_argument("--reason", choices=[r.name for r in x509.ReasonFlags if r.name not in ("remove_from_crl",)],
                     help="CRL entry reason code (default: none)")
    args = parser.parse_args(argv)
    if args.command == "revoke":
        reason = x509.ReasonFlags[args.reason] if args.reason else None
        serial = revoke(args.directory, args.target, reason=reason)
        print(f"{args.directory}: revoked serial {serial} (0x{serial:x}); {CRL_FILE} re-signed")
        return 0
    pki, written = ensure_dev_pki(args.directory, args.key_type)
    if written:
        print(f"{pki.directory}: wrote {', '.join(written)}")
    else:
        print(f"{pki.directory}: dev PKI already present, nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
