"""Certificate issuing in-process, one certificate at a time: render → digest → token → add_qr → sign, as
``bff.domain.certificates.services.issue`` does in its worker thread (``make``), timed stage by stage.

The caller pins the process (``os.sched_setaffinity``); this module only measures. Wall time (``perf_counter``)
and this thread's CPU time (``thread_time``) are both taken: on a shared machine the CPU time is the steadier
figure of what one certificate costs.
"""

from __future__ import annotations

import datetime as dt
import secrets
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bff.domain.certificates.qr import ERROR_CORRECTION, qr_matrix
from bff.domain.certificates.render import add_qr, content_digest, current_version, render_certificate, valid_days
from bff.domain.certificates.services import verify_base, verify_url
from bff.domain.certificates.signing import PdfSigner
from bff.domain.verification.tokens import TokenClaims, TokenKeys, holder_hash, new_certificate_id
from tests.certificates.helpers import KINDS, make_content

# add_qr draws the QR code of the URL (qr.qr_matrix, cached per URL) and appends it to the PDF. The URL is new for
# every certificate, so the symbol is always encoded afresh; to show the two costs apart the pipeline encodes it
# first ("qr_encode", the very call add_qr makes) and add_qr then finds it in the cache ("add_qr": the PDF update).
STAGES = ("render", "digest", "token", "qr_encode", "add_qr", "sign")
PUBLIC_BASE_URL = "https://dangan.example.gov.cn"


@dataclass
class Sample:
    kind: str
    wall_ms: dict[str, float]  # per stage, plus "total"
    cpu_ms: float  # thread CPU time of the whole pipeline
    size: int  # bytes of the signed PDF


@dataclass
class CertRun:
    label: str
    samples: list[Sample] = field(default_factory=list)
    warmup: int = 0

    def totals(self) -> list[float]:
        return [s.wall_ms["total"] for s in self.samples]

    def stage(self, name: str) -> list[float]:
        return [s.wall_ms[name] for s in self.samples]

    def cpu(self) -> list[float]:
        return [s.cpu_ms for s in self.samples]

    def per_second(self) -> float:
        """Certificates per second on one core, back to back: count / summed wall time."""
        return 1000 * len(self.samples) / sum(self.totals())

    def per_cpu_second(self) -> float:
        return 1000 * len(self.samples) / sum(self.cpu())


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def issue_one(kind: str, index: int, keys: TokenKeys, signer: PdfSigner) -> tuple[bytes, Sample]:
    """One certificate of ``kind``, exactly the steps of ``services.issue``'s ``make()``."""
    version = current_version(kind)
    now = dt.datetime.now(dt.UTC)
    issued_on = now.date()
    expires_on = issued_on + dt.timedelta(days=valid_days(kind, version))
    cid = new_certificate_id()
    content = make_content(kind, certificate_no=f"CZ{issued_on:%Y%m%d}{index:08d}", issued_on=issued_on,
                           verification_code=cid, verify_address=verify_base(PUBLIC_BASE_URL))
    salt = secrets.token_bytes(16)
    id_hash = holder_hash(salt, "id", content.holder_id_number)
    marks = [time.perf_counter()]
    cpu0 = time.thread_time()
    unsigned = render_certificate(content, version)
    marks.append(time.perf_counter())
    digest = content_digest(unsigned)
    marks.append(time.perf_counter())
    token = keys.issue(TokenClaims(
        certificate_id=cid, kind=kind, status_index=index, issued_at=now.replace(microsecond=0),
        expires_on=expires_on, content_hash=digest, name_hash=holder_hash(salt, "name", content.holder_name),
        id_hash=id_hash,
    ))
    marks.append(time.perf_counter())
    url = verify_url(PUBLIC_BASE_URL, token)
    hits = qr_matrix.cache_info().hits
    qr_matrix(url, ERROR_CORRECTION)
    marks.append(time.perf_counter())
    with_qr = add_qr(unsigned, url)
    marks.append(time.perf_counter())
    if qr_matrix.cache_info().hits != hits + 1:
        raise RuntimeError("add_qr no longer encodes the QR code with qr_matrix(url, ERROR_CORRECTION): fix the "
                           "qr_encode stage of bench/certs.py")
    pdf = signer.sign(with_qr)
    marks.append(time.perf_counter())
    cpu_ms = (time.thread_time() - cpu0) * 1000
    wall = {name: (marks[i + 1] - marks[i]) * 1000 for i, name in enumerate(STAGES)}
    wall["total"] = (marks[-1] - marks[0]) * 1000
    return pdf, Sample(kind=kind, wall_ms=wall, cpu_ms=cpu_ms, size=len(pdf))


def run(label: str, keys: TokenKeys, signer: PdfSigner, count: int, warmup: int) -> CertRun:
    """``warmup`` then ``count`` certificates, the kinds in turn (so each kind gets count / 5)."""
    result = CertRun(label=label, warmup=warmup)
    for i in range(warmup + count):
        _, sample = issue_one(KINDS[i % len(KINDS)], i + 1, keys, signer)
        if i >= warmup:
            result.samples.append(sample)
    return result
