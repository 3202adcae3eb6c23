"""``python -m bff <command>``: serve (default), migrate, openapi, and the operators' commands below.

Each operator command lives in its own module as ``main(settings, args) -> int``; this file only dispatches."""

from __future__ import annotations

import importlib
import json
import sys

import uvicorn

from bff.settings import Settings

# name → "module:function", each taking (settings, remaining arguments) and returning an exit code.
OPERATOR_COMMANDS: dict[str, str] = {
    "purge": "bff.domain.retention.commands:purge",
    "reencrypt": "bff.db.encryption:reencrypt_command",
    "outbox": "bff.provincial.outbox_cli:main",
    "audit": "bff.domain.audit.cli:main",
}


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
        from bff.domain.audit.settings import startup_problem

        if (problem := startup_problem(settings.server.data_dir)) is not None:
            print(problem, file=sys.stderr)
            return 2
        # proxy headers are read by bff.lib.clientaddr (TRUSTED_PROXIES), not by uvicorn: one rule, tested in-process
        uvicorn.run("bff.app:create_app", factory=True, host=settings.server.host, port=settings.server.port,
                    proxy_headers=False, log_config=None, access_log=False, workers=settings.server.workers,
                    # open live-update streams never end by themselves: close them 10 s into a stop
                    timeout_graceful_shutdown=10)
        return 0
    if command in OPERATOR_COMMANDS:
        module, function = OPERATOR_COMMANDS[command].split(":")
        return int(getattr(importlib.import_module(module), function)(settings, argv[1:]))
    names = ", ".join(["serve", "migrate", "openapi", *OPERATOR_COMMANDS])
    print(f"unknown command {command!r}; use one of: {names}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
