"""``python -m bff [serve|migrate|openapi]``."""

from __future__ import annotations

import json
import sys

import uvicorn

from bff.settings import Settings


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    settings = Settings.from_env()
    if command == "migrate":
        from bff.db.migrate import upgrade

        settings.server.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database.url)
        return 0
    if command == "openapi":
        from bff.app import create_app

        schema = create_app(settings).openapi_schema.to_schema()
        print(json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True))
        return 0
    if command == "serve":
        uvicorn.run("bff.app:create_app", factory=True, host=settings.server.host, port=settings.server.port,
                    proxy_headers=True, log_config=None, access_log=False)
        return 0
    print(f"unknown command {command!r}; use serve, migrate or openapi", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
