from __future__ import annotations

import msgspec


class AgencyInfo(msgspec.Struct):
    code: str
    name: str
    address: str
    phone: str
    region_code: str


class MyArchive(msgspec.Struct):
    name: str
    id_number_masked: str
    nature: str
    nature_name: str
    status_name: str
    stored_since: str
    archive_no: str
    agency: AgencyInfo
    unit_name: str | None
