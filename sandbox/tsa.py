"""A sandbox RFC 3161 time-stamping authority, and the dev CA's certificate and CRL over HTTP.

``POST /tsa`` takes a DER ``TimeStampReq`` (``Content-Type: application/timestamp-query``) and
answers a DER ``TimeStampResp`` (``application/timestamp-reply``), as RFC 3161 section 3.4 describes
for HTTP. Tokens are signed with ``tsa.pem`` / ``tsa-key.pem`` of the dev PKI (see ``sandbox.pki``),
so a verifier that trusts ``ca.pem`` trusts the time. Standard clients work: pyHanko's
``HTTPTimeStamper``, ``openssl ts -query`` + ``curl`` + ``openssl ts -verify``.

``GET /pki/ca.pem`` is the root certificate (PEM) and ``GET /pki/ca.crl`` its CRL in DER, as
RFC 5280 section 4.2.1.13 wants a CRL served over HTTP (the file on disk, ``ca.crl``, is PEM).

The PKI directory is ``PKI_DIR`` (default ``$DATA_DIR/pki``, i.e. ``var/pki``), the same variable the
BFF and ``scripts/run.sh`` use. Files are read on first use, not at start-up, so the provincial
sandbox starts even without a PKI; until ``python -m sandbox.pki init`` has run these routes answer
503. The TSA is a sandbox: no accuracy guarantees beyond the host clock, no audit trail.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any, Final

from asn1crypto import cms, core, keys, pem, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from litestar import Litestar, Request, Response, Router, get, post
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from sandbox.pki import DevPki

QUERY_TYPE: Final = "application/timestamp-query"
REPLY_TYPE: Final = "application/timestamp-reply"
MAX_QUERY_BYTES: Final = 16 * 1024  # a TimeStampReq with a SHA-512 imprint, a nonce and a policy is < 200 bytes

# The sandbox TSA policy. 2.25.<UUID> OIDs (ITU-T X.667) need no registration; this one was drawn once.
SANDBOX_TSA_POLICY: Final = "2.25.138357346771682849070074783674851439271"
# Imprint algorithm → digest length. SHA-1 is refused (badAlg), as current TSAs do.
_DIGEST_SIZES: Final = {"sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64, "sha3_256": 32, "sha3_512": 64}


def _attribute(name: str, value: object) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": cms.CMSAttributeType(name), "values": (value,)})


class _SandboxTimeStamper(DummyTimeStamper):
    """pyHanko's DummyTimeStamper builds a real TimeStampResp from a parsed request; used server-side here.

    Changed: the private key is parsed once (the parent re-parses it for every token, ~100 ms for
    RSA 3072), the signed attributes carry ESSCertIDv2 (SHA-256) instead of the SHA-1 ESSCertID, and
    the token names the sandbox policy and a one-second accuracy. The cryptography key object is
    immutable, so one instance serves concurrent requests.
    """

    def __init__(self, cert: asn1_x509.Certificate, key: rsa.RSAPrivateKey, chain: list[asn1_x509.Certificate]) -> None:
        key_info = keys.PrivateKeyInfo.load(
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
        )
        super().__init__(tsa_cert=cert, tsa_key=key_info, certs_to_embed=chain)  # type: ignore[arg-type]
        self._key = key

    def _build_tst_info(
        self, message_imprint: tsp.MessageImprint, moment: dt.datetime, req: tsp.TimeStampReq
    ) -> tsp.TSTInfo:
        info: tsp.TSTInfo = super()._build_tst_info(message_imprint, moment, req)
        info["policy"] = tsp.ObjectIdentifier(SANDBOX_TSA_POLICY)
        info["accuracy"] = tsp.Accuracy({"seconds": 1})
        return info

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, moment: dt.datetime
    ) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                _attribute("content_type", "tst_info"),
                _attribute("signing_time", cms.Time({"utc_time": core.UTCTime(moment)})),
                _attribute("signing_certificate_v2", as_signing_certificate_v2(self.tsa_cert)),
                _attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self._key.sign(signed_attrs.dump(), padding.PKCS1v15(), get_pyca_cryptography_hash(md_algorithm))
        return signature, signed_attrs


class _StatusOnlyResp(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """TimeStampResp without a token: asn1crypto's class wrongly makes timeStampToken mandatory."""

    _fields = [("status", tsp.PKIStatusInfo)]


def _rejection(fail_info: str, text: str) -> bytes:
    # statusString is for the operator of the client, shown by tools such as `openssl ts -reply -text`
    # (which prints non-ASCII as \U escapes), hence English.
    status = tsp.PKIStatusInfo(
        {
            "status": tsp.PKIStatus("rejection"),
            "status_string": [text],
            "fail_info": tsp.PKIFailureInfo({fail_info}),
        }
    )
    return bytes(_StatusOnlyResp({"status": status}).dump())


class TimeStampAuthority:
    """Answers RFC 3161 requests with tokens signed by one TSA key; safe to share between threads."""

    def __init__(
        self, cert: asn1_x509.Certificate, key: rsa.RSAPrivateKey, chain: list[asn1_x509.Certificate]
    ) -> None:
        self.cert = cert
        self._stamper = _SandboxTimeStamper(cert, key, chain)

    @classmethod
    def from_pki(cls, pki: DevPki) -> TimeStampAuthority:
        """The TSA of a dev PKI directory; embeds the CA certificate in every token (certReq or not)."""
        key = serialization.load_pem_private_key(pki.tsa_key.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{pki.tsa_key.name}: the sandbox TSA signs with RSA only")
        cert = _load_pem_cert(pki.tsa_cert)
        return cls(cert, key, [_load_pem_cert(pki.ca_cert)])

    def respond(self, query: bytes) -> bytes:
        """A DER TimeStampResp for a DER TimeStampReq: a token, or a rejection. Never raises for bad input."""
        try:
            req = tsp.TimeStampReq.load(query, strict=True)
            version = req["version"].native
            imprint = req["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            hashed = imprint["hashed_message"].native
            policy = req["req_policy"].native
            extensions = req["extensions"].native
        except (ValueError, TypeError, KeyError, OverflowError):
            return _rejection("bad_data_format", "not a DER RFC 3161 TimeStampReq")
        if version != "v1":
            return _rejection("bad_data_format", "only version 1 requests are supported")
        if algorithm not in _DIGEST_SIZES:
            return _rejection("bad_alg", f"unsupported message imprint algorithm: {algorithm}")
        if not isinstance(hashed, bytes) or len(hashed) != _DIGEST_SIZES[algorithm]:
            return _rejection("bad_data_format", "the message imprint length does not match its algorithm")
        if policy is not None and policy != SANDBOX_TSA_POLICY:
            return _rejection("unaccepted_policy", "this TSA only issues tokens under its own policy")
        if extensions:
            return _rejection("unaccepted_extension", "request extensions are not supported")
        return bytes(self._stamper.request_tsa_response(req).dump())


def _load_pem_cert(path: Path) -> asn1_x509.Certificate:
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


def pki_dir_from_env() -> Path:
    """``PKI_DIR``, else ``$DATA_DIR/pki`` (``var/pki``): where ``scripts/run.sh`` and the BFF keep the dev PKI."""
    explicit = os.environ.get("PKI_DIR", "").strip()
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("DATA_DIR", "").strip() or "var") / "pki"


class _LazyAuthority:
    """Loads the TSA on first use; a failed load is retried on the next request."""

    def __init__(self, pki: DevPki) -> None:
        self.pki = pki
        self._lock = threading.Lock()
        self._authority: TimeStampAuthority | None = None

    def get(self) -> TimeStampAuthority | None:
        if self._authority is None:
            with self._lock:
                if self._authority is None:
                    try:
                        self._authority = TimeStampAuthority.from_pki(self.pki)
                    except (OSError, ValueError):
                        return None
        return self._authority


def _text(status: int, text: str) -> Response[bytes]:
    return Response(text.encode(), status_code=status, media_type="text/plain; charset=utf-8")


def _unavailable(what: str) -> Response[bytes]:
    return _text(503, f"沙箱{what}尚未生成，请先运行 python -m sandbox.pki init")


def pki_routes(pki_dir: Path | None = None) -> Router:
    """``POST /tsa``, ``GET /pki/ca.pem`` and ``GET /pki/ca.crl`` for the PKI in ``pki_dir`` (default: env)."""
    pki = DevPki(pki_dir or pki_dir_from_env())
    authority = _LazyAuthority(pki)

    @post("/tsa", include_in_schema=False, status_code=200)
    async def timestamp(request: Request[Any, Any, Any]) -> Response[bytes]:
        """RFC 3161 over HTTP: one DER TimeStampReq in, one DER TimeStampResp out."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != QUERY_TYPE:
            return _text(415, f"请求类型应为 {QUERY_TYPE}")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_QUERY_BYTES:
            return _text(413, "请求过大")
        body = await request.body()
        if len(body) > MAX_QUERY_BYTES:
            return _text(413, "请求过大")
        tsa = authority.get()
        if tsa is None:
            return _unavailable("时间戳服务证书")
        # RSA 3072 signing takes ~2 ms: done inline rather than paying a thread hop.
        return Response(tsa.respond(body), media_type=REPLY_TYPE, headers={"Cache-Control": "no-store"})

    @get("/pki/ca.pem", include_in_schema=False)
    async def ca_certificate() -> Response[bytes]:
        """The sandbox root certificate, to trust (PEM)."""
        try:
            data = pki.ca_cert.read_bytes()
        except OSError:
            return _unavailable("根证书")
        return Response(data, media_type="application/x-pem-file")

    @get("/pki/ca.crl", include_in_schema=False)
    async def ca_crl() -> Response[bytes]:
        """The sandbox root's current CRL, DER encoded (RFC 5280 section 4.2.1.13)."""
        try:
            data = pki.crl.read_bytes()
        except OSError:
            return _unavailable("证书吊销列表")
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        return Response(data, media_type="application/pkix-crl", headers={"Cache-Control": "no-cache"})

    return Router(path="/", route_handlers=[timestamp, ca_certificate, ca_crl])


def create_app(pki_dir: Path | None = None) -> Litestar:
    """Just these routes, for tests or to run a TSA alone (``uvicorn --factory sandbox.tsa:create_app``)."""
    return Litestar(route_handlers=[pki_routes(pki_dir)], openapi_config=None)


__all__ = [
    "QUERY_TYPE",
    "REPLY_TYPE",
    "SANDBOX_TSA_POLICY",
    "TimeStampAuthority",
    "create_app",
    "pki_dir_from_env",
    "pki_routes",
]
