"""The person's archive, looked up in the provincial system; the last answer is kept a day so that an outage
does not stop an application."""

from __future__ import annotations

import hashlib

import msgspec
from litestar.stores.base import Store

from auth.sessions import Principal
from bff.domain.archives.schemas import AgencyInfo, MyArchive
from bff.lib.errors import ApiError
from bff.lib.masking import mask_id_number
from bff.provincial.client import ProvincialApi, ProvincialUnavailable
from bff.provincial.schemas import Archive

CACHE_SECONDS = 24 * 3600


def _cache_key(principal: Principal) -> str:
    return "archive:" + hashlib.sha256(principal.sub.encode()).hexdigest()


def archive_not_found() -> ApiError:
    return ApiError(404, "archive_not_found",
                    "未查询到您的存档信息。如您的档案已由档案管理服务机构保管，请联系该机构核实。")


async def fetch_archive(provincial: ProvincialApi, store: Store, principal: Principal) -> Archive:
    """The live record; on an outage the last one seen (if any), else 503."""
    if not principal.id_type or not principal.id_number:
        raise archive_not_found()
    try:
        archive = await provincial.lookup_archive(principal.id_type, principal.id_number)
    except ProvincialUnavailable:
        cached = await cached_archive(store, principal)
        if cached is None:
            raise ApiError(503, "provincial_unavailable", "省级档案系统暂时无法连接，请稍后再试") from None
        return cached
    if archive is None:
        await store.delete(_cache_key(principal))
        raise archive_not_found()
    await store.set(_cache_key(principal), msgspec.json.encode(archive), expires_in=CACHE_SECONDS)
    return archive


async def cached_archive(store: Store, principal: Principal) -> Archive | None:
    raw = await store.get(_cache_key(principal))
    return msgspec.json.decode(raw, type=Archive) if raw else None


def to_view(archive: Archive) -> MyArchive:
    stored = archive.stored_since
    return MyArchive(
        name=archive.name,
        id_number_masked=mask_id_number(archive.id_number),
        nature=archive.nature,
        nature_name=archive.nature_name,
        status_name=archive.status_name,
        stored_since=f"{stored[:4]}-{stored[4:6]}-{stored[6:8]}",
        archive_no=archive.archive_no,
        agency=AgencyInfo(code=archive.agency.code, name=archive.agency.name, address=archive.agency.address,
                          phone=archive.agency.phone, region_code=archive.agency.region_code),
        unit_name=archive.unit.name if archive.unit else None,
    )
