"""``python -m bff audit …``: the operators' view of the audit trail.

``audit verify [--anchor SEQ:HASH …]``  checks the whole chain; exit 0 with a summary, 1 naming the first row
                                        that does not hold (altered, removed or slipped in)
``audit list [--since ISO] [--until ISO] [--action NAME] [--outcome ok|denied|failed] [--who KIND:VALUE]
             [--limit N]``              rows, oldest first, one per line (times in Asia/Shanghai)
``audit purge``                         removes rows older than ``AUDIT_RETENTION_DAYS`` (oldest first) and
                                        appends the checkpoint that keeps ``verify`` green

``--who person:<OIDC subject>``, ``unit:<统一社会信用代码>`` or ``operator:<login>`` is turned into its pseudonym
here; the trail itself never holds the value.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, time

from sqlalchemy import select

from bff.db.engine import create_engine, session_factory
from bff.db.models import AuditEntry
from bff.domain.audit import chain
from bff.domain.audit.services import Pseudonyms, operator
from bff.domain.audit.settings import AuditSettings, AuditSettingsError
from bff.lib.clock import CHINA, utcnow
from bff.settings import Settings

WHO_KINDS = {"person", "unit", "operator"}
ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"参数有误：{message}", file=sys.stderr)
        raise SystemExit(2)


def _instant(value: str) -> datetime:
    """An ISO date or date-time; without an offset it is read as China time, as the listing prints it."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"时间格式不正确：{value!r}（例：2025-01-31 或 2025-01-31T08:00）") from None
    if len(value) <= 10:
        parsed = datetime.combine(parsed.date(), time())
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)).astimezone(UTC)


def _who(value: str) -> tuple[str, str]:
    kind, _, raw = value.partition(":")
    if kind not in WHO_KINDS or not raw:
        raise argparse.ArgumentTypeError("--who 的格式为 person:<登录主体>、unit:<统一社会信用代码>"
                                         " 或 operator:<登录名>")
    return kind, raw.strip()


def _anchor(value: str) -> tuple[int, str]:
    found = ANCHOR.match(value.strip().lower())
    if not found:
        raise argparse.ArgumentTypeError("--anchor 的格式为 序号:64位十六进制哈希（取自此前 verify 的输出）")
    return int(found.group(1)), found.group(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bff audit", description="审计日志：校验、查询、按保存期限清理")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    verify = sub.add_parser("verify", help="校验整条哈希链")
    verify.add_argument("--anchor", type=_anchor, action="append", default=[],
                        help="此前记下的 序号:哈希，确认其后的记录未被重写或截断（可多次）")
    listing = sub.add_parser("list", help="按时间顺序列出记录")
    listing.add_argument("--since", type=_instant, help="起始时间（含），ISO 格式，无时区时按北京时间")
    listing.add_argument("--until", type=_instant, help="截止时间（不含）")
    listing.add_argument("--action", help="动作名，如 auth.sign_in、request.denied")
    listing.add_argument("--outcome", choices=chain.OUTCOMES)
    listing.add_argument("--who", type=_who, help="person:<登录主体> | unit:<统一社会信用代码> | operator:<登录名>")
    listing.add_argument("--limit", type=int, default=1000)
    sub.add_parser("purge", help="删除超过保存期限（AUDIT_RETENTION_DAYS）的最早记录，并写入检查点")
    return parser


def _line(row: AuditEntry) -> str:
    target = f"{row.target_type}:{row.target_id}" if row.target_type else "-"
    actor = f"{row.actor_role}:{row.actor[:16]}" if row.actor else row.actor_role
    return "\t".join([str(row.seq), row.at.astimezone(CHINA).isoformat(timespec="seconds"), row.action, row.outcome,
                      actor, target, row.client or "-", row.request_id or "-", row.detail])


async def _run(settings: Settings, audit_settings: AuditSettings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.database)
    try:
        async with session_factory(engine)() as db:
            if args.command == "verify":
                report = await chain.verify(db, dict(args.anchor))
                if not report.ok:
                    print(f"审计日志校验失败：序号 {report.broken_seq}：{report.problem}")
                    return 1
                if report.rows == 0:
                    print("审计日志为空，无可校验的记录")
                    return 0
                cleaned = f"；序号 {report.purged_through} 及之前的记录已按保存期限清理（有检查点）" \
                    if report.purged_through else ""
                anchors = f"；{report.anchors_checked} 个锚点一致" if report.anchors_checked else ""
                print(f"审计日志完整：共 {report.rows} 条，序号 {report.first_seq}–{report.last_seq}{cleaned}{anchors}")
                print(f"链尾 {report.last_seq}:{report.head_hash}")
                return 0
            if args.command == "list":
                query = select(AuditEntry).order_by(AuditEntry.seq).limit(max(1, args.limit))
                if args.since:
                    query = query.where(AuditEntry.at >= args.since)
                if args.until:
                    query = query.where(AuditEntry.at < args.until)
                if args.action:
                    query = query.where(AuditEntry.action == args.action)
                if args.outcome:
                    query = query.where(AuditEntry.outcome == args.outcome)
                if args.who:
                    query = query.where(AuditEntry.actor == Pseudonyms(audit_settings.hmac_key).of(*args.who))
                print("序号\t时间\t动作\t结果\t操作者\t对象\t来源地址\t请求号\t详情")
                for row in await db.scalars(query):
                    print(_line(row))
                return 0
            if args.command == "purge":
                purged = await chain.purge(db, audit_settings.retention_days, operator())
                await db.commit()
                if purged is None:
                    print(f"没有超过保存期限（{audit_settings.retention_days} 天）的记录")
                else:
                    print(f"已删除 {purged.deleted} 条记录（序号 {purged.through_seq} 及之前），"
                          f"检查点为序号 {purged.checkpoint_seq}")
                return 0
    finally:
        await engine.dispose()
    return 2


def main(settings: Settings, argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        audit_settings = AuditSettings.from_env(settings.server.data_dir)
    except AuditSettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    started = utcnow()
    code = asyncio.run(_run(settings, audit_settings, args))
    if args.command == "verify":
        print(f"用时 {(utcnow() - started).total_seconds():.2f} 秒", file=sys.stderr)
    return code
