"""A bare Litestar hello-world, served exactly as ``python -m bff serve`` serves the BFF (see ``bff/__main__.py``):
``uvicorn.run(factory=True, proxy_headers=True, log_config=None, access_log=False)``, one worker.

``python -m bench.hello PORT``
"""

from __future__ import annotations

import sys

import uvicorn
from litestar import Litestar, MediaType, get


@get("/", media_type=MediaType.TEXT)
async def hello() -> str:
    return "Hello, world!"


def create_app() -> Litestar:
    return Litestar(route_handlers=[hello])


def main(argv: list[str]) -> int:
    port = int(argv[0]) if argv else 8000
    uvicorn.run("bench.hello:create_app", factory=True, host="127.0.0.1", port=port,
                proxy_headers=True, log_config=None, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
