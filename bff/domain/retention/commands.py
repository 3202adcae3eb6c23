"""``python -m bff purge [--dry-run]``: the retention purge, once, now."""

from __future__ import annotations

import argparse
import asyncio

from bff.db.engine import create_engine, session_factory
from bff.domain.retention import services
from bff.lib.crypto import Keyring, use_keyring
from bff.lib.files import file_store
from bff.lib.logging import configure_logging
from bff.settings import Settings


def purge(settings: Settings, args: list[str]) -> int:
    """Runs the retention purge once, now, and prints per category what was (or would be) purged."""
    parser = argparse.ArgumentParser(prog="python -m bff purge",
                                     description="Purge what has passed its retention period (docs/privacy.md).")
    parser.add_argument("--dry-run", action="store_true", help="only count what is due; change nothing")
    options = parser.parse_args(args)
    configure_logging(settings.server.log_level)

    async def run() -> services.Report:
        engine = create_engine(settings.database)
        use_keyring(engine, Keyring.from_settings(settings.crypto))
        try:
            return await services.purge(session_factory(engine), file_store(settings.files, settings.server.data_dir),
                                        settings.retention, dry_run=options.dry_run)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    print(f"retention purge{' (dry run)' if report.dry_run else ''} as of {report.now.isoformat(timespec='seconds')}")
    for line in report.lines():
        print("  " + line)
    return 0
