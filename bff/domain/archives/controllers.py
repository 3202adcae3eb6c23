from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from auth.guards import current_principal, require_person
from bff.domain import audit
from bff.domain.archives.schemas import MyArchive
from bff.domain.archives.services import fetch_archive, to_view
from bff.lib.errors import error_responses


class ArchiveController(Controller):
    path = "/api/archive"
    tags = ["archive"]
    guards = [require_person]

    @get("/", operation_id="getMyArchive", summary="我的档案: where the archive is held",
         responses=error_responses(404, 503))
    async def my_archive(self, request: Request[Any, Any, Any]) -> MyArchive:
        archive = await fetch_archive(request.app.state.provincial, request.app.state.store,
                                      current_principal(request))
        await audit.record_request(request, audit.Entry("archive.view", "ok", "archive", archive.archive_no))
        return to_view(archive)
