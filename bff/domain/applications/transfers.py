"""A transfer's own facts: the receiving agency from the directory, the 接转流向 between the two agencies, and
the 拟存档性质 with the new employer when the archive is to be held by a unit."""

from __future__ import annotations

from typing import Any

from bff.domain.applications.schemas import TransferCreate, TransferRoute
from bff.domain.materials import services as materials
from bff.domain.materials.schemas import UnitRef
from bff.lib import codes
from bff.lib.errors import ApiError, FieldError
from bff.provincial.schemas import Agency, Archive


def route(archive: Archive, target: Agency | None) -> TransferRoute:
    """Where the archive would go from where it is now; 422 when the agency is unknown or the same."""
    if target is None:
        raise ApiError(422, "validation_error", "转入机构不在机构目录中，请重新选择",
                       [FieldError("transfer.target_agency_code", "机构编号不在机构目录中")])
    if target.code == archive.agency.code:
        raise ApiError(422, "same_agency", "您的档案已在该机构存放，无需转递，请选择其他机构",
                       [FieldError("transfer.target_agency_code", "与现存档机构相同")])
    flow = codes.flow_between(archive.agency.region_code, target.region_code)
    return TransferRoute(
        from_agency_code=archive.agency.code, from_agency_name=archive.agency.name, to_agency_code=target.code,
        to_agency_name=target.name, to_agency_address=target.address, to_agency_phone=target.phone, flow=flow,
        flow_name=codes.ACC74D[flow],
    )


def transfer_details(body: TransferCreate, target: Agency, initiated_by: str) -> dict[str, Any]:
    """What is kept in ``Application.details["transfer"]`` (the new employer checked: name and USCC)."""
    unit: UnitRef | None = None
    if body.target_nature == "1":
        if body.unit is None:
            raise ApiError(422, "validation_error", "拟存档性质为单位委托时，请填写新单位的名称和统一社会信用代码",
                           [FieldError("transfer.unit", "必填")])
        unit = materials.check_unit(body.unit, "transfer.unit")
    return {
        "target_agency_code": target.code, "target_agency_name": target.name,
        "target_region_code": target.region_code, "target_nature": body.target_nature,
        "unit": {"name": unit.name, "uscc": unit.uscc} if unit else None, "initiated_by": initiated_by,
    }


def with_route(transfer: dict[str, Any], archive: Archive) -> dict[str, Any]:
    """The transfer with the 接转流向 from the agency holding the archive (known once the archive is)."""
    target_region = transfer.get("target_region_code")
    if not target_region:
        return transfer
    return {**transfer, "flow": codes.flow_between(archive.agency.region_code, target_region)}
