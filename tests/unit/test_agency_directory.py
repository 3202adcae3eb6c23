"""The agency directory offers only agencies whose region code is in GB/T 2260 and whose 机构编号 has 8
characters (SPEC §6): a bad record from upstream is left out and logged, not shown to a person. It is fetched
from the provincial system once an hour, not once per person."""

from __future__ import annotations

import logging

import pytest
from litestar.stores.memory import MemoryStore

from bff.domain.agencies import CACHE_KEY, CACHE_SECONDS, directory
from bff.provincial.schemas import Agency


def agency(code: str, region: str) -> Agency:
    return Agency(code=code, region_code=region, name=f"机构{code}", address="地址", phone="0571-87006666",
                  province="浙江省", city="杭州市")


class Listing:
    def __init__(self, agencies: list[Agency]) -> None:
        self.agencies = agencies
        self.calls = 0

    async def list_agencies(self, province: str | None = None, q: str | None = None) -> list[Agency]:
        self.calls += 1
        return self.agencies


async def test_records_breaking_the_code_rules_are_left_out(caplog: pytest.LogCaptureFixture) -> None:
    listing = Listing([agency("33010001", "330100"), agency("99000001", "990000"), agency("3301", "330100")])
    with caplog.at_level(logging.WARNING, logger="bff.agencies"):
        found = await directory(listing, MemoryStore())  # type: ignore[arg-type]
    assert [a.code for a in found] == ["33010001"]
    assert "990000" in caplog.text and "not in GB/T 2260" in caplog.text


async def test_the_directory_is_kept_an_hour() -> None:
    listing = Listing([agency("33010001", "330100")])
    store = MemoryStore()
    for _ in range(3):
        assert [a.code for a in await directory(listing, store)] == ["33010001"]  # type: ignore[arg-type]
    assert listing.calls == 1
    assert CACHE_SECONDS == 3600
    left = await store.expires_in(CACHE_KEY)
    assert left is not None and CACHE_SECONDS - 5 <= left <= CACHE_SECONDS

    listing.agencies.append(agency("33010002", "330113"))  # a new agency, in a district created in 2021
    await store.delete(CACHE_KEY)  # the hour is over
    assert [a.code for a in await directory(listing, store)] == ["33010001", "33010002"]  # type: ignore[arg-type]
    assert listing.calls == 2

