"""Public verification: from the QR token, the typed 核验码, or an uploaded PDF, to one verdict.

The token's signature comes first (forged otherwise), then the certificate it names: revoked, superseded by a
reissue, expired, or genuine. An uploaded PDF is checked with pyHanko (signature intact, certification with no
changes, signed by our CA) and its page content against the hash in its token (altered otherwise).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.models import Certificate
from bff.domain.applications.schemas import KIND_NAMES
from bff.domain.certificates.pdfcheck import PdfEvidence
from bff.domain.verification.cache import CertificateFacts, VerdictCache
from bff.domain.verification.offline import token_from_url
from bff.domain.verification.page import VerificationView
from bff.domain.verification.tokens import InvalidToken, TokenClaims, TokenKeys, holder_hash
from bff.lib.clock import today_in_china
from bff.settings import SigningSettings

log = logging.getLogger("bff.verification")

NOT_ISSUED_HERE = "该二维码不是本平台签发的有效电子证明，或内容已被篡改，请勿采信。"
CODE = re.compile(r"^[A-Z2-7]{16}$")
KIND_NAMES_ON_PAGE = {**KIND_NAMES, "political_review": "政审回复函"}


def _view(certificate: Certificate | CertificateFacts, today: dt.date) -> VerificationView:
    facts = certificate if isinstance(certificate, CertificateFacts) else CertificateFacts.of(certificate)
    state = facts.state(today)
    verdict = "genuine" if state == "valid" else state
    reason = None
    if state == "revoked":
        reason = f"撤销原因：{facts.revoked_reason}" if facts.revoked_reason else None
    return VerificationView(
        verdict=verdict,  # type: ignore[arg-type]
        kind_name=KIND_NAMES_ON_PAGE.get(facts.kind, facts.kind),
        agency_name=facts.agency_name, certificate_no=facts.certificate_no,
        issued_on=facts.issued_on, expires_on=facts.expires_on,
        holder_name_masked=facts.holder_name_masked, holder_id_masked=facts.holder_id_masked,
        reason=reason,
    )


async def _certificate(db: AsyncSession, certificate_id: str) -> Certificate | None:
    return await db.scalar(select(Certificate).where(Certificate.id == certificate_id))


def claims_of(keys: TokenKeys, token: str) -> TokenClaims | None:
    try:
        return keys.verify(token)
    except InvalidToken as exc:
        log.info("verification: token rejected", extra={"event": {"detail": exc.detail}})
        return None


FORGED = VerificationView(verdict="forged", reason=NOT_ISSUED_HERE)


async def page_view(db_sessions: async_sessionmaker[AsyncSession], cache: VerdictCache, keys: TokenKeys,
                    token: str) -> tuple[VerificationView, bool]:
    """The QR link's page: the verdict, and whether it names one of our certificates (the ID-number form is offered
    then). The certificate's facts come from ``cache`` when it has them (``verification.cache``: a change shows at
    once, or within its TTL when made outside the BFF), else from the database, without a session otherwise."""
    claims = claims_of(keys, token)
    if claims is None:
        return FORGED, False
    facts = cache.get(claims.certificate_id)
    if facts is None:
        generation = cache.generation
        async with db_sessions() as db:
            certificate = await _certificate(db, claims.certificate_id)
            facts = CertificateFacts.of(certificate) if certificate is not None else None
        if facts is None:
            return FORGED, False
        cache.put(facts, generation)
    if facts.kind != claims.kind:
        return FORGED, False
    return _facts_view(facts, today_in_china()), True


@lru_cache(maxsize=4096)
def _facts_view(facts: CertificateFacts, today: dt.date) -> VerificationView:
    return _view(facts, today)


async def by_token(db: AsyncSession, keys: TokenKeys, token: str) -> tuple[VerificationView, Certificate | None]:
    claims = claims_of(keys, token)
    certificate = await _certificate(db, claims.certificate_id) if claims else None
    if claims is None or certificate is None or certificate.kind != claims.kind:
        return FORGED, None
    return _view(certificate, today_in_china()), certificate


def normalise_code(text: str) -> str | None:
    """The typed 核验码: upper case, without spaces or dashes; None unless 16 base32 characters."""
    code = re.sub(r"[\s\-－—]", "", text).upper()
    return code if CODE.match(code) else None


async def by_code(db: AsyncSession, code: str) -> VerificationView | None:
    """The certificate a typed 核验码 names, or None (no such certificate)."""
    certificate = await _certificate(db, code)
    return _view(certificate, today_in_china()) if certificate is not None else None


def id_matches(certificate: Certificate, typed: str) -> bool:
    """Whether the typed ID number is the holder's: its salted hash against the one kept at issue."""
    if not certificate.salt or not certificate.id_hash:
        return False
    return holder_hash(bytes.fromhex(certificate.salt), "id", typed).hex() == certificate.id_hash


async def listed_indices(db: AsyncSession) -> list[int]:
    """The status-list bits to set: every revoked or superseded certificate's index."""
    rows = await db.scalars(select(Certificate.status_index).where(
        Certificate.status_index.is_not(None),
        or_(Certificate.revoked_at.is_not(None), Certificate.superseded_at.is_not(None))))
    return [i for i in rows if i is not None]


SIGNATURE_VERDICTS = {
    "invalid": ("altered", "文件内容与电子签名不符：签名后文件被修改过。"),
    "modified": ("altered", "文件在签名之后被追加了修改（如添加文字或批注）。"),
    "missing": ("forged", "文件中没有本平台的电子签名。"),
    "unreadable": ("forged", "文件无法识别为本平台签发的 PDF 电子证明，或已损坏。"),
    "untrusted": ("forged", "文件的电子签名不是本平台的签章证书所签。"),
    "revoked_signer": ("forged", "签署该文件的签章证书已被吊销。"),
}


async def by_pdf(db: AsyncSession, keys: TokenKeys, evidence: PdfEvidence) -> VerificationView:
    """The verdict on an uploaded PDF, from what pdfcheck found in it."""
    if evidence.signature != "valid":
        verdict, reason = SIGNATURE_VERDICTS[evidence.signature]
        return VerificationView(verdict=verdict, reason=reason)  # type: ignore[arg-type]
    claims = claims_of(keys, token_from_url(evidence.qr_url)) if evidence.qr_url else None
    certificate = await _certificate(db, claims.certificate_id) if claims else None
    if claims is None or certificate is None:
        return VerificationView(verdict="forged", reason="文件中的二维码不是本平台签发的。")
    if evidence.digest != claims.content_hash:
        return VerificationView(verdict="altered", reason="文件内容与二维码记录的内容不一致。")
    view = _view(certificate, today_in_china())
    if view.verdict == "genuine":
        return replace(view, reason="电子签名有效，文件自签发后未被改动。")
    return view


@dataclass(frozen=True)
class VerifyTrust:
    """What an uploaded PDF is checked against: the CA certificates, and their revocation lists (read each time,
    so a newly revoked signing certificate counts at once)."""

    roots: tuple[x509.Certificate, ...]
    crl_paths: tuple[Path, ...]

    @classmethod
    def load(cls, settings: SigningSettings) -> VerifyTrust:
        roots: list[x509.Certificate] = []
        for path in settings.chain_paths:
            with contextlib.suppress(OSError, ValueError):
                roots += x509.load_pem_x509_certificates(path.read_bytes())
        return cls(tuple(roots), settings.crl_paths)

    @property
    def crls(self) -> list[bytes]:
        found = []
        for path in self.crl_paths:
            with contextlib.suppress(OSError):
                found.append(path.read_bytes())
        return found
