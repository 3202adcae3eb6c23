"""PAdES signing of rendered e-certificates with pyHanko.

One :class:`PdfSigner` is loaded at start-up and shared; :meth:`PdfSigner.from_settings` picks the key
source: PEM files, or a PKCS#11 token (an HSM, or SoftHSM in tests). ``sign`` is synchronous and
CPU-bound (a few milliseconds, plus one HTTP round trip with a time-stamping authority): call it from a
worker thread (``anyio.to_thread.run_sync``), never on the event loop thread, because pyHanko runs its
own short-lived event loop inside.

The signature is a *certification* signature (DocMDP, no changes permitted) with subfilter
``ETSI.CAdES.detached``: PAdES baseline B-B, or B-T when a time-stamping authority (RFC 3161) is
configured, in which case the signature carries a signature timestamp token from that TSA. Any later
change to the file is reported by readers and validators as a modification after certification.
A TSA that cannot be reached makes ``sign`` fail (SigningError); it never silently falls back to B-B.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import io
import logging
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pkcs11
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from pkcs11 import Attribute, ObjectClass
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import attributes, fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash
from reportlab.pdfgen.canvas import Canvas

if TYPE_CHECKING:
    from bff.settings import SigningSettings

log = logging.getLogger("bff.certificates.signing")

SIGNATURE_REASON = "电子证明签发"
SIGNATURE_FIELD = "CertificateSignature"
_RESERVE_MARGIN = 1024  # bytes on top of the measured CMS size
# A timestamp token differs from one request to the next by a few bytes (nonce, serial, fractions of a
# second); a TSA may also renew its certificate. Keep more room when one is embedded.
_TIMESTAMP_RESERVE_MARGIN = 2048
TSA_TIMEOUT_SECONDS = 10.0


class SigningError(RuntimeError):
    """The signer cannot be loaded, or cannot sign (bad key material, certificate not valid now, TSA down)."""


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """What the signing certificate says, for logs, health checks and operations."""

    subject_common_name: str
    issuer_common_name: str
    serial_number: int
    not_valid_before: dt.datetime
    not_valid_after: dt.datetime
    key_source: str = "file"  # "file" or "pkcs11"
    timestamp_url: str | None = None


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
        self._signing_certificate_v2 = _FixedSigningCertificateV2(self.signing_cert)

    def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Iterator[attributes.CMSAttributeProvider]:
        """pyHanko's providers, with the ESS signing-certificate-v2 attribute (the certificate's hash and issuer,
        ~0.8 ms to build) made once: it is the same for every signature by this certificate."""
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if isinstance(provider, attributes.SigningCertificateV2Provider):
                yield self._signing_certificate_v2
            else:
                yield provider

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algo)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algo))
        return bytes(super().sign_raw(data, digest_algorithm))


class _FixedSigningCertificateV2(attributes.CMSAttributeProvider):
    attribute_type = "signing_certificate_v2"

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        self._der = as_signing_certificate_v2(signing_cert).dump()

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self._der)  # a fresh object each time: nothing shared between CMSes


_tls_context_lock = threading.Lock()
_tls_context: ssl.SSLContext | None = None


def _shared_tls_context() -> ssl.SSLContext:
    """One TLS client context (system trust store) for every TSA request: building one loads the CA
    bundle, ~30 ms, which pyHanko would otherwise pay on every signature. SSLContext is thread-safe."""
    global _tls_context
    with _tls_context_lock:
        if _tls_context is None:
            _tls_context = ssl.create_default_context()
        return _tls_context


class _TimeStamper(HTTPTimeStamper):
    """pyHanko's aiohttp RFC 3161 client. One HTTP session per request, as pyHanko does, since every ``sign``
    call runs its own short-lived event loop and a session is bound to one; but with a shared TLS context.
    An answer that cannot be parsed becomes a TimestampRequestError too (asn1crypto cannot even parse a
    well-formed rejection, which has no token)."""

    @contextlib.asynccontextmanager
    async def _acquire_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        # Overrides pyHanko's (private) hook; were it renamed, pyHanko's own slower session would be used.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=_shared_tls_context())) as session:
            yield session

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        try:
            return await super().async_timestamp(message_digest, md_algorithm)
        except TimestampRequestError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise TimestampRequestError(f"unreadable or refused answer from the TSA: {exc}") from exc


def _common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not attrs:
        return name.rfc4514_string()
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode()


def _load_chain(chain_paths: tuple[Path, ...] | list[Path]) -> list[x509.Certificate]:
    chain: list[x509.Certificate] = []
    for path in chain_paths:
        try:
            chain += x509.load_pem_x509_certificates(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise SigningError(f"cannot load chain certificate {Path(path).name}: {exc}") from exc
    return chain


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
        timestamp_url: str | None = None,
    ) -> None:
        """Load key, certificate and the chain (intermediates and/or root) to embed in signatures from PEM
        files. With ``timestamp_url`` (an RFC 3161 TSA over HTTP) signatures are PAdES B-T."""
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
        chain = _load_chain(chain_paths)
        self._pkcs11_session: _SharedSession | None = None
        self._setup(_KeyCachingSigner(cert, key, chain), cert, "file", location, timestamp_url)

    @classmethod
    def from_settings(cls, settings: SigningSettings, *, location: str | None = None) -> PdfSigner:
        """The signer the settings describe: PKCS#11 when ``pkcs11_module`` is set, else PEM files."""
        if settings.pkcs11_module:
            pin = settings.pkcs11_pin
            if pin is None and settings.pkcs11_pin_file is not None:
                try:
                    lines = settings.pkcs11_pin_file.read_text(encoding="utf-8").splitlines()
                except OSError as exc:
                    raise SigningError(f"cannot read the PKCS#11 PIN file: {exc}") from exc
                pin = lines[0] if lines else ""
            if not settings.pkcs11_key_label:
                raise SigningError("SIGNING_PKCS11_KEY_LABEL is required with SIGNING_PKCS11_MODULE")
            return cls.from_pkcs11(
                settings.pkcs11_module,
                token_label=settings.pkcs11_token_label,
                pin=pin,
                key_label=settings.pkcs11_key_label,
                cert_path=settings.cert_path,
                chain_paths=settings.chain_paths,
                location=location,
                timestamp_url=settings.tsa_url,
            )
        return cls(settings.key_path, settings.cert_path, settings.chain_paths, location=location,
                   timestamp_url=settings.tsa_url)

    @classmethod
    def from_pkcs11(
        cls,
        module: str,
        *,
        token_label: str | None,
        pin: str | None,
        key_label: str,
        cert_path: Path | None = None,
        chain_paths: tuple[Path, ...] | list[Path] = (),
        location: str | None = None,
        timestamp_url: str | None = None,
    ) -> PdfSigner:
        """Sign with the private key labelled ``key_label`` on a PKCS#11 token.

        The certificate is the token's certificate object with the same label, else ``cert_path``. One
        session per token and process is opened (and logged in with ``pin``) and shared by every thread
        and every signer on that token: signature operations on it are serialised by a lock (see
        ``_LockedPkcs11Signer``), so PKCS#11 signing is one at a time per token and process. ``close``
        releases it; the last user logs out and closes the session.
        """
        shared = _SharedSession.acquire(module, token_label, pin)
        session = shared.session
        try:
            der = _pkcs11_certificate(session, key_label)
            if der is not None:
                cert = x509.load_der_x509_certificate(der)
            elif cert_path is not None:
                try:
                    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
                except (OSError, ValueError) as exc:
                    raise SigningError(f"no certificate {key_label!r} on the token and {exc}") from exc
            else:
                raise SigningError(f"no certificate labelled {key_label!r} on the token, and no certificate file")
            chain = _load_chain(chain_paths)
            signer = _LockedPkcs11Signer(
                session,
                shared.lock,
                key_label=key_label,
                signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
                ca_chain=[asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain],
            )
            try:
                signer.load_objects()  # finds the key now, not on the first signature
            except pkcs11.PKCS11Error as exc:
                raise SigningError(f"PKCS#11 key {key_label!r}: {type(exc).__name__}: {exc}") from exc
            self = cls.__new__(cls)
            self._pkcs11_session = shared
            self._setup(signer, cert, "pkcs11", location, timestamp_url)
            return self
        except BaseException:
            shared.release()
            raise

    def _setup(
        self,
        signer: signers.Signer,
        cert: x509.Certificate,
        key_source: str,
        location: str | None,
        timestamp_url: str | None,
    ) -> None:
        self._signer = signer
        self._cert = cert
        self._closed = False
        self.info = SignerInfo(
            subject_common_name=_common_name(cert.subject),
            issuer_common_name=_common_name(cert.issuer),
            serial_number=cert.serial_number,
            not_valid_before=cert.not_valid_before_utc,
            not_valid_after=cert.not_valid_after_utc,
            key_source=key_source,
            timestamp_url=timestamp_url or None,
        )
        self._timestamper = _TimeStamper(timestamp_url, timeout=TSA_TIMEOUT_SECONDS) if timestamp_url else None
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

        # Our CMS has a near-constant size (same certificates, fixed-size attributes, and with a TSA one
        # token of near-constant size), so measure it once instead of letting pyHanko sign every document
        # twice to estimate it (and, with a TSA, ask for a dummy timestamp). This also proves at start-up
        # that the key can sign, that it matches the certificate, and that the TSA answers.
        self._bytes_reserved: int | None = None
        probe = io.BytesIO()
        blank = Canvas(probe)
        blank.showPage()
        blank.save()
        signed = self._sign_or_raise(probe.getvalue(), None)
        embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
        intact, valid = validate_sig_integrity(
            embedded.signer_info, embedded.signer_cert, expected_content_type="data",
            actual_digest=embedded.compute_digest(),
        )
        if not (intact and valid):
            raise SigningError("the signing key does not belong to the signing certificate")
        margin = _RESERVE_MARGIN + (_TIMESTAMP_RESERVE_MARGIN if self._timestamper is not None else 0)
        # pyHanko counts the reservation in hex digits: two per byte.
        self._bytes_reserved = 2 * (len(embedded.signed_data.dump()) + margin)

    @property
    def timestamped(self) -> bool:
        """True when signatures carry a signature timestamp (PAdES B-T)."""
        return self._timestamper is not None

    def sign(self, pdf: bytes) -> bytes:
        """Return ``pdf`` with an invisible PAdES certification signature appended (incremental update)."""
        if self._closed:
            raise SigningError("the PKCS#11 signer was closed")
        now = dt.datetime.now(dt.UTC)
        if not (self.info.not_valid_before <= now <= self.info.not_valid_after):
            raise SigningError(
                f"signing certificate is not valid now (valid {self.info.not_valid_before:%Y-%m-%d}"
                f" to {self.info.not_valid_after:%Y-%m-%d})"
            )
        try:
            return self._sign_or_raise(pdf, self._bytes_reserved)
        except _ReservationTooSmall:
            log.warning("signature reservation of %d hex digits too small; estimating", self._bytes_reserved)
            return self._sign_or_raise(pdf, None)

    def close(self) -> None:
        """Release the PKCS#11 session, if any (the last signer on a token logs out and closes it). A PKCS#11
        signer cannot sign afterwards; a file signer is unaffected."""
        shared, self._pkcs11_session = self._pkcs11_session, None
        if shared is not None:
            self._closed = True
            shared.release()

    def _sign_or_raise(self, pdf: bytes, bytes_reserved: int | None) -> bytes:
        try:
            return self._sign(pdf, bytes_reserved)
        except TimestampRequestError as exc:
            raise SigningError(f"the time-stamping authority did not give a timestamp: {exc}") from exc
        except PyHankoSigningError as exc:
            if bytes_reserved is not None and "larger than expected" in str(exc):
                raise _ReservationTooSmall(str(exc)) from exc
            raise SigningError(f"cannot sign: {exc}") from exc
        except pkcs11.PKCS11Error as exc:  # e.g. the token was removed or the session closed
            raise SigningError(f"the PKCS#11 token did not sign: {type(exc).__name__}: {exc}") from exc

    def _sign(self, pdf: bytes, bytes_reserved: int | None) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        pdf_signer = signers.PdfSigner(self._meta, signer=self._signer, timestamper=self._timestamper)
        out = pdf_signer.sign_pdf(writer, bytes_reserved=bytes_reserved, output=io.BytesIO())
        return bytes(out.getbuffer())


class _ReservationTooSmall(SigningError):
    """The measured signature size was exceeded (a TSA sent a bigger token): estimate and sign again."""


class _SharedSession:
    """One logged-in PKCS#11 session per (module, token) in this process, with the lock for its operations.

    PKCS#11 login state belongs to the application, not the session: a second C_Login fails with
    CKR_USER_ALREADY_LOGGED_IN and python-pkcs11's ``Session.close`` logs every session out. So signers on
    the same token share one session, counted, and the last ``release`` logs out and closes it.
    """

    _open: dict[tuple[str, str | None], _SharedSession] = {}
    _registry_lock = threading.Lock()

    def __init__(self, key: tuple[str, str | None], session: Any, pin_digest: bytes) -> None:
        self.key = key
        self.session = session
        self.pin_digest = pin_digest
        self.lock = threading.Lock()
        self.users = 1

    @classmethod
    def acquire(cls, module: str, token_label: str | None, pin: str | None) -> _SharedSession:
        key = (module, token_label)
        pin_digest = hashlib.sha256((pin or "").encode()).digest()
        with cls._registry_lock:
            shared = cls._open.get(key)
            if shared is not None:
                if not hmac.compare_digest(shared.pin_digest, pin_digest):
                    raise SigningError("cannot open a PKCS#11 session: the token is open in this process with"
                                       " another PIN")
                shared.users += 1
                return shared
            try:
                session = open_pkcs11_session(
                    module,
                    token_criteria=TokenCriteria(label=token_label) if token_label else None,
                    user_pin=pin,
                )
            except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:  # python-pkcs11 raises RuntimeError too
                raise SigningError(f"cannot open a PKCS#11 session ({type(exc).__name__}: {exc})") from exc
            shared = cls._open[key] = cls(key, session, pin_digest)
            return shared

    def release(self) -> None:
        with self._registry_lock:
            self.users -= 1
            if self.users > 0:
                return
            del self._open[self.key]
        with self.lock, contextlib.suppress(pkcs11.PKCS11Error):
            self.session.close()


def _pkcs11_certificate(session: Any, label: str) -> bytes | None:
    """DER of the token's only certificate object labelled ``label``, or None when there is none."""
    found = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}))
    if not found:
        return None
    if len(found) > 1:
        raise SigningError(f"{len(found)} certificates labelled {label!r} on the token")
    return bytes(found[0][Attribute.VALUE])


class _LockedPkcs11Signer(PKCS11Signer):
    """pyHanko's PKCS11Signer with every signature operation on the shared session serialised.

    PKCS#11 allows one active operation per session (C_SignInit … C_Sign); python-pkcs11 locks its own
    operations too, but other versions and modules differ, so we hold our own lock. Each ``sign`` call runs
    its own event loop with exactly one signature, so holding a thread lock across that await cannot
    deadlock; the cost is that PKCS#11 signatures happen one at a time per process (about a millisecond
    each on SoftHSM with RSA 3072; an HSM is usually sized by sessions anyway).
    """

    def __init__(self, session: Any, lock: threading.Lock, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self._operation_lock = lock

    def load_objects(self) -> None:
        """Find the key (and certificates) on the token now rather than on the first signature."""
        with self._operation_lock:
            self._load_objects()  # type: ignore[no-untyped-call]

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return bytes(await super().async_sign_raw(data, digest_algorithm, dry_run=True))
        with self._operation_lock:
            return bytes(await super().async_sign_raw(data, digest_algorithm))
