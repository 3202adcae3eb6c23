"""Checking an uploaded PDF that claims to be one of our e-certificates.

:func:`check_pdf` reads the file and its one embedded signature, and says what it is worth as evidence:

``valid``
    exactly one signature, cryptographically intact, the certification (DocMDP) signature with no
    changes permitted, covering the entire file (nothing appended after signing), by a certificate that
    chains to one of the trust roots and is not on a given CRL; a signature timestamp, if any, must be
    intact and from a trusted TSA too.
``invalid``
    a signature is there but broken: the signed bytes or the CMS do not verify, the timestamp token is
    broken, the byte range is not one ordinary revision, or it is not a no-changes certification
    signature (not what the platform issues).
``modified``
    the signed revision is intact but something was added after it (an incremental update, another
    signature).
``revoked_signer``
    intact, unmodified, but the signing certificate is on one of the given CRLs. Deliberately strict:
    a timestamp from before the revocation does not save it (a portal re-issues rather than argues).
``untrusted``
    intact, unmodified, but the signer (or the timestamp's TSA) does not chain to a trust root, or the
    certificate is unusable (expired, wrong key usage).
``missing``
    a readable PDF without a signature.
``unreadable``
    not a PDF we can parse, encrypted, or larger than :data:`MAX_PDF_BYTES`.

The checks run in this order, so the first one that fails names the verdict. ``check_pdf`` never
raises for what is in ``pdf`` and bounds its work: at most 10 MB, pyHanko's decode limits for untrusted
input, no difference analysis (any later revision is a modification anyway), only the first signature
validated, at most :data:`MAX_EMBEDDED_CERTS` certificates per CMS, and no network: revocation is
checked against the CRLs passed in (``allow_fetching=False``). It is synchronous and CPU-bound (pyHanko
runs its own event loop inside): call it from a worker thread.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm, enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature, read_certification_data
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from bff.domain.certificates.render import content_digest, read_qr_url

log = logging.getLogger("bff.certificates.pdfcheck")

MAX_PDF_BYTES: Final = 10 * 1024 * 1024
MAX_EMBEDDED_CERTS: Final = 16  # ours embeds 2 (signer, CA), a timestamp token 2 more

Verdict = Literal["valid", "modified", "invalid", "untrusted", "revoked_signer", "missing", "unreadable"]
TrustRoot: TypeAlias = "asn1_x509.Certificate | x509.Certificate"


@dataclass(frozen=True)
class PdfEvidence:
    """What an uploaded PDF proves. ``signer`` and ``signed_at`` are what the signature *claims* unless
    ``signature == "valid"``; ``qr_url`` still has to be verified by whoever reads it."""

    signature: Verdict
    signer: str | None  # signing certificate CN
    signed_at: dt.datetime | None  # the timestamp's time when B-T, else the claimed signing time
    timestamped: bool  # a signature timestamp token that is intact and from a trusted TSA
    qr_url: str | None  # render.read_qr_url
    digest: bytes | None  # render.content_digest: 16 bytes of SHA-256 of page 1's first content stream


def check_pdf(
    pdf: bytes,
    trust_roots: Sequence[TrustRoot],
    crls: Sequence[bytes] = (),
) -> PdfEvidence:
    """Check ``pdf`` against ``trust_roots`` and ``crls`` (PEM or DER, of those roots' CAs).

    Raises ``ValueError`` only for a malformed trust root or CRL (configuration, not the upload).
    """
    roots = [_as_asn1_cert(root) for root in trust_roots]
    crl_list = [_as_asn1_crl(data) for data in crls]
    revocation_lists = [x509.load_der_x509_crl(c.dump()) for c in crl_list]
    if not isinstance(pdf, bytes | bytearray | memoryview) or len(pdf) > MAX_PDF_BYTES:
        return _unreadable()
    pdf = bytes(pdf)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        if reader.encrypted:
            return _unreadable()
        _ = reader.root  # the trailer and catalogue must be there
    except Exception:  # pyHanko and its parsers raise many types for malformed files
        return _unreadable()
    qr_url, digest = _render_facts(pdf)

    try:
        signatures = list(reader.embedded_signatures)
    except Exception:
        # A signature field whose value cannot be read: a broken signature, unless we cannot even tell.
        try:
            filled = any(True for _ in enumerate_sig_fields(reader, filled_status=True))
        except Exception:
            return _unreadable()
        return PdfEvidence("invalid" if filled else "unreadable", None, None, False, qr_url, digest)
    if not signatures:
        return PdfEvidence("missing", None, None, False, qr_url, digest)

    first = signatures[0]
    signer = _signer_cn(first)
    try:
        if _too_many_certs(first):
            return PdfEvidence("invalid", signer, None, False, qr_url, digest)
        context = ValidationContext(
            trust_roots=roots, crls=crl_list, allow_fetching=False, revocation_mode="soft-fail"
        )
        status = validate_pdf_signature(first, context, skip_diff=True)
    except Exception as exc:
        log.info("signature could not be validated: %s", type(exc).__name__)
        return PdfEvidence("invalid", signer, None, False, qr_url, digest)

    ts = status.timestamp_validity
    timestamped = ts is not None and ts.intact and ts.valid and ts.trusted
    signed_at = ts.timestamp if (ts is not None and timestamped) else status.signer_reported_dt
    revoked = status.revoked or _listed_on_crl(status, revocation_lists)
    verdict = _verdict(reader, first, status, revoked=revoked, extra_signatures=len(signatures) > 1)
    return PdfEvidence(verdict, signer, signed_at, timestamped, qr_url, digest)


def _verdict(
    reader: PdfFileReader,
    sig: EmbeddedPdfSignature,
    status: PdfSignatureStatus,
    *,
    revoked: bool,
    extra_signatures: bool,
) -> Verdict:
    if not (status.intact and status.valid):
        return "invalid"
    ts = status.timestamp_validity
    if ts is not None and not (ts.intact and ts.valid):
        return "invalid"
    coverage = status.coverage
    if coverage is None or coverage == SignatureCoverageLevel.UNCLEAR:
        return "invalid"  # a byte range that is not one revision from the start of the file
    if extra_signatures or coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return "modified"
    if not _is_no_changes_certification(reader, sig):
        return "invalid"
    if revoked:
        return "revoked_signer"
    if not status.trusted or (ts is not None and not ts.trusted):
        return "untrusted"
    return "valid" if status.bottom_line else "untrusted"


def _listed_on_crl(status: PdfSignatureStatus, crls: Sequence[x509.CertificateRevocationList]) -> bool:
    """Whether a CRL signed by the signer's issuer *on the trusted path* lists the signing certificate.

    pyHanko itself only consults CRLs for certificates that name a CRL distribution point (its soft-fail
    policy), and the sandbox certificates name none; so look the serial up here. A CRL past its
    nextUpdate still counts: a revocation is final. Only a CRL whose signature verifies with the issuer
    certificate on the validated path counts, so an untrusted signer cannot claim to be revoked either.
    """
    path = status.validation_path
    if path is None or not crls:
        return False
    try:
        chain = list(path.iter_certs(include_root=True))
        if len(chain) < 2:
            return False
        issuer = x509.load_der_x509_certificate(chain[-2].dump())
        serial = status.signing_cert.serial_number
        for crl in crls:
            if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                continue
            entry = crl.get_revoked_certificate_by_serial_number(serial)
            if entry is None:
                continue
            try:
                reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            except x509.ExtensionNotFound:
                reason = None
            if reason != x509.ReasonFlags.remove_from_crl:
                return True
    except (ValueError, TypeError, LookupError):
        return False
    return False


def _is_no_changes_certification(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> bool:
    """The catalogue's /Perms /DocMDP is this very signature, with P = 1 (no changes permitted)."""
    try:
        info = read_certification_data(reader)
        if info is None or info.permission != MDPPerm.NO_CHANGES or sig.docmdp_level != MDPPerm.NO_CHANGES:
            return False
        perms = reader.root["/Perms"]
        docmdp_ref = perms.raw_get("/DocMDP")
        value_ref = sig.sig_field.raw_get("/V")
        if not (isinstance(docmdp_ref, generic.IndirectObject) and isinstance(value_ref, generic.IndirectObject)):
            return False
        return bool(docmdp_ref.reference == value_ref.reference)
    except Exception:
        return False


def _too_many_certs(sig: EmbeddedPdfSignature) -> bool:
    """Bound certificate path building: a CMS (or its timestamp token) with a pile of certificates."""
    if len(sig.signed_data["certificates"] or ()) > MAX_EMBEDDED_CERTS:
        return True
    for attribute in sig.signer_info["unsigned_attrs"] or ():
        if attribute["type"].native == "signature_time_stamp_token":
            for token in attribute["values"]:
                if len(token["content"]["certificates"] or ()) > MAX_EMBEDDED_CERTS:
                    return True
    return False


def _signer_cn(sig: EmbeddedPdfSignature) -> str | None:
    try:
        names: Any = sig.signer_cert.subject.native
        value = names.get("common_name")
        if isinstance(value, list):
            value = value[0] if value else None
        return value if isinstance(value, str) else None
    except Exception:
        return None


def _render_facts(pdf: bytes) -> tuple[str | None, bytes | None]:
    try:
        qr_url = read_qr_url(pdf)
    except Exception:
        qr_url = None
    try:
        digest: bytes | None = content_digest(pdf)
    except Exception:
        digest = None
    return qr_url, digest


def _unreadable() -> PdfEvidence:
    return PdfEvidence("unreadable", None, None, False, None, None)


def _der(data: bytes) -> bytes:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return bytes(data)


def _as_asn1_cert(root: TrustRoot) -> asn1_x509.Certificate:
    if isinstance(root, asn1_x509.Certificate):
        return root
    if isinstance(root, x509.Certificate):
        return asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER))
    raise ValueError(f"not a certificate: {type(root).__name__}")


def _as_asn1_crl(data: bytes) -> asn1_crl.CertificateList:
    try:
        parsed = asn1_crl.CertificateList.load(_der(data))
        _ = parsed.native  # parse it all now, so that a bad CRL fails here and not inside validation
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a CRL: {exc}") from exc
    return parsed


def trust_roots_from_pem(data: bytes) -> list[asn1_x509.Certificate]:
    """Every certificate in a PEM bundle (e.g. ``ca.pem``), for ``check_pdf``'s ``trust_roots``."""
    return [_as_asn1_cert(c) for c in x509.load_pem_x509_certificates(data)]
