"""PAdES signing of rendered e-certificates with pyHanko.

One :class:`PdfSigner` is loaded at start-up from PEM files and shared. ``sign`` is synchronous and
CPU-bound (a few milliseconds): call it from a worker thread (``anyio.to_thread.run_sync``), never
on the event loop thread, because pyHanko runs its own short-lived event loop inside.

The signature is a *certification* signature (DocMDP, no changes permitted) with subfilter
``ETSI.CAdES.detached`` (PAdES baseline B-B): any later change to the file is reported by
readers and validators as a modification after certification.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash
from reportlab.pdfgen.canvas import Canvas

log = logging.getLogger("bff.certificates.signing")

SIGNATURE_REASON = "电子证明签发"
SIGNATURE_FIELD = "CertificateSignature"
_RESERVE_MARGIN = 1024  # bytes on top of the measured CMS size


class SigningError(RuntimeError):
    """The signer cannot be loaded, or cannot sign (bad key material, certificate not valid now)."""


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """What the signing certificate says, for logs, health checks and operations."""

    subject_common_name: str
    issuer_common_name: str
    serial_number: int
    not_valid_before: dt.datetime
    not_valid_after: dt.datetime


class _KeyCachingSigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner re-parses the private key on every signature, and loading an RSA key
    includes OpenSSL's consistency check (~120 ms for RSA 3072). Keep the parsed key instead:
    cryptography's key objects are immutable and safe to use from several threads at once."""

    def __init__(self, cert: x509.Certificate, key: PrivateKeyTypes, chain: list[x509.Certificate]) -> None:
        der = serialization.Encoding.DER
        key_info = asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # untyped in pyhanko
        for c in chain:
            registry.register(asn1_x509.Certificate.load(c.public_bytes(der)))
        super().__init__(
            signing_cert=asn1_x509.Certificate.load(cert.public_bytes(der)),
            signing_key=key_info,
            cert_registry=registry,
        )
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algo)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algo))
        return bytes(super().sign_raw(data, digest_algorithm))


def _common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not attrs:
        return name.rfc4514_string()
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode()


class PdfSigner:
    """Signs PDFs with one key and certificate; safe to share between threads."""

    def __init__(
        self,
        key_path: Path,
        cert_path: Path,
        chain_paths: tuple[Path, ...] | list[Path] = (),
        *,
        key_passphrase: bytes | None = None,
        location: str | None = None,
    ) -> None:
        """Load key, certificate and the chain (intermediates and/or root) to embed in signatures."""
        try:
            cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
            key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=key_passphrase)
        except (OSError, ValueError, TypeError) as exc:
            raise SigningError(f"cannot load signing key or certificate: {exc}") from exc
        cert_spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key_spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if cert_spki != key_spki:
            raise SigningError("the signing key does not belong to the signing certificate")

        chain: list[x509.Certificate] = []
        for path in chain_paths:
            try:
                chain += x509.load_pem_x509_certificates(Path(path).read_bytes())
            except (OSError, ValueError) as exc:
                raise SigningError(f"cannot load chain certificate {Path(path).name}: {exc}") from exc
        self._signer = _KeyCachingSigner(cert, key, chain)
        self.info = SignerInfo(
            subject_common_name=_common_name(cert.subject),
            issuer_common_name=_common_name(cert.issuer),
            serial_number=cert.serial_number,
            not_valid_before=cert.not_valid_before_utc,
            not_valid_after=cert.not_valid_after_utc,
        )
        # Immutable and shared by every call; each call builds its own pyHanko PdfSigner.
        self._meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            name=self.info.subject_common_name,
            reason=SIGNATURE_REASON,
            location=location,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        )

        # Our CMS has a constant size (same certificates, fixed-size attributes), so measure it once
        # instead of letting pyHanko sign every document twice to estimate it. This also proves at
        # start-up that the key can sign.
        self._bytes_reserved: int | None = None
        probe = io.BytesIO()
        blank = Canvas(probe)
        blank.showPage()
        blank.save()
        signed = self._sign(probe.getvalue(), None)
        embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
        # pyHanko counts the reservation in hex digits: two per byte.
        self._bytes_reserved = 2 * (len(embedded.signed_data.dump()) + _RESERVE_MARGIN)

    def sign(self, pdf: bytes) -> bytes:
        """Return ``pdf`` with an invisible PAdES certification signature appended (incremental update)."""
        now = dt.datetime.now(dt.UTC)
        if not (self.info.not_valid_before <= now <= self.info.not_valid_after):
            raise SigningError(
                f"signing certificate is not valid now (valid {self.info.not_valid_before:%Y-%m-%d}"
                f" to {self.info.not_valid_after:%Y-%m-%d})"
            )
        try:
            return self._sign(pdf, self._bytes_reserved)
        except PyHankoSigningError:
            if self._bytes_reserved is None:
                raise
            log.warning("signature reservation of %d hex digits too small; estimating", self._bytes_reserved)
            return self._sign(pdf, None)

    def _sign(self, pdf: bytes, bytes_reserved: int | None) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        pdf_signer = signers.PdfSigner(self._meta, signer=self._signer)
        out = pdf_signer.sign_pdf(writer, bytes_reserved=bytes_reserved, output=io.BytesIO())
        return bytes(out.getbuffer())
