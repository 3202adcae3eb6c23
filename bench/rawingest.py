"""The raw-body ingest baseline for the upload benchmark: a bare Litestar endpoint that streams the request body
to a file on disk and answers its size, served like ``python -m bff serve`` (uvicorn, one worker).

``python -m bench.rawingest PORT DIRECTORY``
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar, Request, put

TARGET = Path(os.environ.get("BENCH_RAW_DIR", "."))


@put("/raw", request_max_body_size=None)
async def ingest(request: Request[Any, Any, Any]) -> dict[str, int]:
    size = 0
    path = TARGET / uuid.uuid4().hex
    with path.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)
            size += len(chunk)
    path.unlink()
    return {"size": size}


def create_app() -> Litestar:
    return Litestar(route_handlers=[ingest])


def main(argv: list[str]) -> int:
    port = int(argv[0]) if argv else 8000
    if len(argv) > 1:
        os.environ["BENCH_RAW_DIR"] = argv[1]
    uvicorn.run("bench.rawingest:create_app", factory=True, host="127.0.0.1", port=port, proxy_headers=True,
                log_config=None, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
