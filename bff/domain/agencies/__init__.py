"""The agency directory (机构查询): the provincial system's list, kept an hour, searchable by province and name."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.stores.base import Store

from bff.domain.archives.schemas import AgencyInfo
from bff.lib import validation
from bff.lib.errors import ApiError, error_responses
from bff.provincial.client import ProvincialApi, ProvincialUnavailable
from bff.provincial.schemas import Agency

log = logging.getLogger("bff.agencies")
CACHE_KEY = "agencies:all"
CACHE_SECONDS = 3600


class AgencyEntry(AgencyInfo):
    province: str
    city: str


class AgencyList(msgspec.Struct):
    items: list[AgencyEntry]


async def directory(provincial: ProvincialApi, store: Store) -> list[Agency]:
    raw = await store.get(CACHE_KEY)
    if raw is not None:
        return msgspec.json.decode(raw, type=list[Agency])
    try:
        listed = await provincial.list_agencies()
    except ProvincialUnavailable:
        raise ApiError(503, "provincial_unavailable", "省级档案系统暂时无法连接，请稍后再试") from None
    agencies = [a for a in listed if _checked(a)]
    await store.set(CACHE_KEY, msgspec.json.encode(agencies), expires_in=CACHE_SECONDS)
    return agencies


def _checked(agency: Agency) -> bool:
    """An agency is offered only with an 8-character 机构编号 and a GB/T 2260 region code (SPEC §6)."""
    try:
        validation.region_code(agency.region_code)
    except validation.FieldProblem:
        log.warning("agency %s left out of the directory: region code %s not in GB/T 2260", agency.code,
                    agency.region_code)
        return False
    if len(agency.code) != 8:
        log.warning("agency %s left out of the directory: 机构编号 is not 8 characters", agency.code)
        return False
    return True


async def known_agencies(provincial: ProvincialApi, store: Store) -> list[Agency]:
    """The directory when it can be had; an empty list otherwise (a page then shows fewer facts, not an error)."""
    try:
        return await directory(provincial, store)
    except ApiError:
        return []


async def agency_by_code(provincial: ProvincialApi, store: Store, code: str) -> Agency | None:
    return next((a for a in await directory(provincial, store) if a.code == code), None)


def entry(agency: Agency) -> AgencyEntry:
    return AgencyEntry(code=agency.code, name=agency.name, address=agency.address, phone=agency.phone,
                       region_code=agency.region_code, province=agency.province, city=agency.city)


class AgencyController(Controller):
    path = "/api/agencies"
    tags = ["agencies"]

    @get("/", operation_id="listAgencies", summary="The agency directory", responses=error_responses(503))
    async def list(
        self, request: Request[Any, Any, Any],
        province: Annotated[str | None, QueryParameter(max_length=20)] = None,
        q: Annotated[str | None, QueryParameter(max_length=50)] = None,
    ) -> AgencyList:
        agencies = await directory(request.app.state.provincial, request.app.state.store)
        found = [a for a in agencies
                 if (not province or a.province.startswith(province.strip())) and (not q or q.strip() in a.name)]
        return AgencyList(items=[entry(a) for a in found])
