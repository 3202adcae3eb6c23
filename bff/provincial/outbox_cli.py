"""``python -m bff outbox …``: what operators do with work owed to the provincial system.

``outbox stats``               pending rows, the oldest one's age, dead letters
``outbox list [--dead]``       rows not yet done (or only the dead letters), oldest first
``outbox resend ID… | --all-dead``  gives dead letters a new retry window; the relay looks each one up at the
                               provincial system before sending, so a resend never makes a second record there

Rows are shown by outbox id, application id and reference number only: no personal data on an operator's screen.
"""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy import select

from bff.db.engine import create_engine, session_factory
from bff.db.models import Application, OutboxMessage
from bff.lib.clock import iso_china, utcnow
from bff.provincial.outbox import resend, stats
from bff.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bff outbox")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("stats", help="pending rows, the oldest one's age, dead letters")
    listing = sub.add_parser("list", help="rows not yet done, oldest first")
    listing.add_argument("--dead", action="store_true", help="only the dead letters")
    listing.add_argument("--limit", type=int, default=200)
    resend = sub.add_parser("resend", help="re-queue dead letters")
    resend.add_argument("ids", nargs="*", type=int, help="outbox ids (see `outbox list --dead`)")
    resend.add_argument("--all-dead", action="store_true")
    return parser


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.database)
    try:
        async with session_factory(engine)() as db:
            now = utcnow()
            if args.action == "stats":
                for name, value in (await stats(db, now)).items():
                    print(f"{name}\t{value}")
                return 0
            if args.action == "list":
                query = (select(OutboxMessage, Application.reference_no)
                         .join(Application, Application.id == OutboxMessage.application_id)
                         .where(OutboxMessage.done_at.is_(None)))
                if args.dead:
                    query = query.where(OutboxMessage.dead_at.is_not(None))
                rows = (await db.execute(query.order_by(OutboxMessage.created_at).limit(args.limit)))
                print("id\tapplication\treference\tkind\tattempts\tqueued\tdead\tlast error")
                for row, reference in rows:
                    dead = iso_china(row.dead_at) if row.dead_at else "-"
                    print(f"{row.id}\t{row.application_id}\t{reference}\t{row.kind}\t{row.attempts}\t"
                          f"{iso_china(row.created_at)}\t{dead}\t{row.last_error or ''}")
                return 0
            if not args.all_dead and not args.ids:
                print("name the outbox ids to resend, or --all-dead")
                return 2
            done = await resend(db, None if args.all_dead else list(args.ids), now)
            missing = sorted(set(args.ids) - set(done)) if not args.all_dead else []
            print(f"re-queued {len(done)}: {' '.join(map(str, done))}")
            if missing:
                print(f"not dead letters (or unknown): {' '.join(map(str, missing))}")
                return 1
            return 0
    finally:
        await engine.dispose()


def main(settings: Settings, argv: list[str]) -> int:
    return asyncio.run(_run(settings, _parser().parse_args(argv)))
