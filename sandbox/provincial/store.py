"""The provincial system's state in SQLite: applications, idempotency keys, the status-change log, and files.

Every write is one ``BEGIN IMMEDIATE`` transaction, so a submit and its idempotency key are stored together
and the ``seq`` of ``status_changes`` only ever grows. A file's bytes live next to the database
(``files/<application_id>/<file_id>.pdf``); its row says what it is and how many times it was PUT.

The steps an application may take are a strict state machine per kind (``STEPS``); each step is one row of
``status_changes`` saying who acted (``actor``, ``agency_code``) and what the step carries (``reason``,
``dispatch``, ``letter_no``). Columns added after the first release are added to an existing database by
``_migrate`` (``CREATE TABLE IF NOT EXISTS`` does not add columns).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from sandbox.common import now_china

_SCHEMA = """
CREATE TABLE IF NOT EXISTS applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id TEXT NOT NULL UNIQUE,
    case_no TEXT NOT NULL UNIQUE,
    reference_no TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submit_count INTEGER NOT NULL DEFAULT 1,
    certificate_no TEXT UNIQUE,
    issued_on TEXT,
    result TEXT
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    application_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS status_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id TEXT NOT NULL,
    case_no TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    occurred_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS status_changes_application ON status_changes (application_id, seq);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    material TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    received_at TEXT NOT NULL,
    put_count INTEGER NOT NULL DEFAULT 1,
    UNIQUE (application_id, file_id)
);
"""

# columns added since the first release: (table, column, declaration); ``_migrate`` adds those missing
_ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("applications", "origin", "TEXT NOT NULL DEFAULT 'portal'"),
    ("applications", "status_since", "TEXT"),
    ("status_changes", "kind", "TEXT"),
    ("status_changes", "actor", "TEXT"),
    ("status_changes", "agency_code", "TEXT"),
    ("status_changes", "dispatch", "TEXT"),
    ("status_changes", "letter_no", "TEXT"),
)
# rows written before those columns existed: a certificate's steps were the current agency's, a transfer's
# (accepted, completed) the receiving agency's
_BACKFILL = """
UPDATE applications SET status_since = updated_at WHERE status_since IS NULL;
UPDATE status_changes SET kind = (
    SELECT a.kind FROM applications a WHERE a.application_id = status_changes.application_id
) WHERE kind IS NULL;
UPDATE status_changes SET
    actor = CASE WHEN kind = 'archive_transfer' THEN 'receiving_agency' ELSE 'current_agency' END,
    agency_code = (
        SELECT CASE WHEN a.kind = 'archive_transfer' THEN json_extract(a.body, '$.transfer.target_agency_code')
               ELSE json_extract(a.body, '$.agency_code') END
        FROM applications a WHERE a.application_id = status_changes.application_id
    )
WHERE actor IS NULL;
"""

Action = Literal[
    "accept",
    "complete",
    "refuse",
    "issue_letter",
    "cannot_receive",
    "send",
    "cannot_send",
    "receive",
    "return",
    "confirm_return",
    "withdraw",
    "revoke",
]
Actor = Literal["receiving_agency", "current_agency", "applicant"]


@dataclass(frozen=True, slots=True)
class Step:
    allowed_from: tuple[str, ...]
    target: str
    actor: Actor


# kind -> action -> the step (docs/provincial-api.md, "Transfers")
_CERTIFICATE_STEPS: dict[str, Step] = {
    "accept": Step(("submitted",), "accepted", "current_agency"),
    "complete": Step(("accepted",), "completed", "current_agency"),
    "refuse": Step(("submitted", "accepted"), "refused", "current_agency"),
    "withdraw": Step(("submitted",), "withdrawn", "applicant"),
    "revoke": Step(("completed",), "revoked", "current_agency"),
}
# the certificate number's prefix per kind (the sandbox's own numbering)
CERTIFICATE_PREFIXES: dict[str, str] = {
    "archive_certificate": "CDZM", "experience_certificate": "JLZM", "kinship_certificate": "QSZM",
    "no_criminal_record": "WFZM", "political_review": "ZSHH",
}
STEPS: dict[str, dict[str, Step]] = {
    **{kind: _CERTIFICATE_STEPS for kind in CERTIFICATE_PREFIXES},
    "archive_transfer": {
        "accept": Step(("submitted",), "accepted", "receiving_agency"),
        "issue_letter": Step(("accepted",), "letter_issued", "receiving_agency"),
        "cannot_receive": Step(("submitted", "accepted"), "cannot_receive", "receiving_agency"),
        "send": Step(("letter_issued",), "sent", "current_agency"),
        "cannot_send": Step(("letter_issued",), "cannot_send", "current_agency"),
        "receive": Step(("sent",), "received", "receiving_agency"),
        "complete": Step(("received",), "completed", "receiving_agency"),
        "return": Step(("received",), "returned", "receiving_agency"),
        "confirm_return": Step(("returned",), "return_confirmed", "current_agency"),
        "withdraw": Step(("submitted",), "withdrawn", "applicant"),
    },
}
ACTIONS: frozenset[str] = frozenset(a for steps in STEPS.values() for a in steps)
# where nothing more can happen
FINAL_STATUSES: frozenset[str] = frozenset(
    {"completed", "refused", "cannot_receive", "cannot_send", "return_confirmed", "withdrawn", "revoked"}
)


def steps_for(kind: str) -> dict[str, Step]:
    return STEPS.get(kind, STEPS["archive_certificate"])


def acting_agency(body: dict[str, Any], actor: str) -> str | None:
    """The agency that acts: the receiving one (``transfer.target_agency_code``) or the one holding the archive."""
    if actor == "applicant":
        return None
    transfer = body.get("transfer")
    if actor == "receiving_agency" and isinstance(transfer, dict):
        return str(transfer.get("target_agency_code"))
    return str(body.get("agency_code"))


@dataclass(frozen=True, slots=True)
class Record:
    application_id: str
    case_no: str
    reference_no: str
    kind: str
    body: dict[str, Any]
    status: str
    reason: str | None
    received_at: str
    updated_at: str
    submit_count: int
    certificate_no: str | None
    issued_on: str | None
    result: dict[str, Any] | None
    origin: str = "portal"
    status_since: str = ""

    @property
    def transfer(self) -> dict[str, Any] | None:
        transfer = self.body.get("transfer")
        return transfer if isinstance(transfer, dict) else None


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    application_id: str
    case_no: str
    status: str
    reason: str | None
    occurred_at: str
    kind: str = "archive_certificate"
    actor: str = "current_agency"
    agency_code: str | None = None
    dispatch: dict[str, str] | None = None
    letter_no: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    record: Record | None
    created: bool
    mismatch: bool = False


@dataclass(frozen=True, slots=True)
class FileRecord:
    application_id: str
    file_id: str
    material: str
    sha256: str
    size: int
    content_type: str
    received_at: str
    put_count: int


@dataclass(frozen=True, slots=True)
class FileOutcome:
    record: FileRecord | None
    created: bool
    mismatch: bool = False


class NotFoundError(Exception):
    pass


class TransitionError(Exception):
    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


class TooEarlyError(Exception):
    """A back-dated step would come before the step it follows."""

    def __init__(self, previous: str) -> None:
        super().__init__(previous)
        self.previous = previous


def _record(row: sqlite3.Row) -> Record:
    return Record(
        application_id=row["application_id"],
        case_no=row["case_no"],
        reference_no=row["reference_no"],
        kind=row["kind"],
        body=json.loads(row["body"]),
        status=row["status"],
        reason=row["reason"],
        received_at=row["received_at"],
        updated_at=row["updated_at"],
        submit_count=row["submit_count"],
        certificate_no=row["certificate_no"],
        issued_on=row["issued_on"],
        result=json.loads(row["result"]) if row["result"] else None,
        origin=row["origin"] or "portal",
        status_since=row["status_since"] or row["updated_at"],
    )


def _change(row: sqlite3.Row) -> Change:
    return Change(
        seq=row["seq"],
        application_id=row["application_id"],
        case_no=row["case_no"],
        status=row["status"],
        reason=row["reason"],
        occurred_at=row["occurred_at"],
        kind=row["kind"] or "archive_certificate",
        actor=row["actor"] or "current_agency",
        agency_code=row["agency_code"],
        dispatch=json.loads(row["dispatch"]) if row["dispatch"] else None,
        letter_no=row["letter_no"],
    )


def _file_record(row: sqlite3.Row) -> FileRecord:
    return FileRecord(
        application_id=row["application_id"],
        file_id=row["file_id"],
        material=row["material"],
        sha256=row["sha256"],
        size=row["size"],
        content_type=row["content_type"],
        received_at=row["received_at"],
        put_count=row["put_count"],
    )


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.files_dir = path.parent / "files"
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        with self._write() as conn:
            _migrate(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as conn:
            conn.row_factory = sqlite3.Row
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def submit(self, key: str, body: dict[str, Any], body_hash: str, region_code: str) -> SubmitOutcome:
        """Store a new application, or answer for the one already stored under this idempotency key."""
        now = now_china()
        with self._write() as conn:
            seen = conn.execute("SELECT * FROM idempotency_keys WHERE key = ?", (key,)).fetchone()
            if seen is not None:
                if seen["body_hash"] != body_hash:
                    return SubmitOutcome(record=None, created=False, mismatch=True)
                conn.execute(
                    "UPDATE applications SET submit_count = submit_count + 1 WHERE application_id = ?",
                    (seen["application_id"],),
                )
                row = conn.execute(
                    "SELECT * FROM applications WHERE application_id = ?", (seen["application_id"],)
                ).fetchone()
                return SubmitOutcome(record=_record(row), created=False)
            next_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM applications").fetchone()[0]
            case_no = f"{region_code}{now:%Y%m%d}{next_id:06d}"
            stamp = now.isoformat()
            conn.execute(
                "INSERT INTO applications (id, application_id, case_no, reference_no, kind, body, status,"
                " received_at, updated_at, status_since) VALUES (?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?)",
                (
                    next_id,
                    body["application_id"],
                    case_no,
                    body["reference_no"],
                    body["kind"],
                    json.dumps(body, ensure_ascii=False),
                    stamp,
                    stamp,
                    stamp,
                ),
            )
            conn.execute(
                "INSERT INTO idempotency_keys (key, body_hash, application_id, created_at) VALUES (?, ?, ?, ?)",
                (key, body_hash, body["application_id"], stamp),
            )
            row = conn.execute("SELECT * FROM applications WHERE id = ?", (next_id,)).fetchone()
            return SubmitOutcome(record=_record(row), created=True)

    def get(self, application_id: str) -> Record | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM applications WHERE application_id = ?", (application_id,)).fetchone()
        return _record(row) if row else None

    def all(self) -> list[Record]:
        """Every application, newest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM applications ORDER BY id DESC").fetchall()
        return [_record(r) for r in rows]

    def create_window(self, body: dict[str, Any], region_code: str, occurred: dt.datetime | None = None) -> Record:
        """A transfer taken at the receiving agency's window: stored ``accepted`` straight away (origin window),
        with its ``accepted`` change by the receiving agency."""
        moment = occurred or now_china()
        stamp, now = moment.isoformat(), now_china().isoformat()
        with self._write() as conn:
            next_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM applications").fetchone()[0]
            case_no = f"{region_code}{moment:%Y%m%d}{next_id:06d}"
            conn.execute(
                "INSERT INTO applications (id, application_id, case_no, reference_no, kind, body, status,"
                " received_at, updated_at, status_since, submit_count, origin)"
                " VALUES (?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, 0, 'window')",
                (
                    next_id,
                    body["application_id"],
                    case_no,
                    body["reference_no"],
                    body["kind"],
                    json.dumps(body, ensure_ascii=False),
                    stamp,
                    now,
                    stamp,
                ),
            )
            conn.execute(
                "INSERT INTO status_changes (application_id, case_no, status, reason, occurred_at, kind, actor,"
                " agency_code) VALUES (?, ?, 'accepted', NULL, ?, ?, 'receiving_agency', ?)",
                (body["application_id"], case_no, stamp, body["kind"], acting_agency(body, "receiving_agency")),
            )
            row = conn.execute("SELECT * FROM applications WHERE id = ?", (next_id,)).fetchone()
        return _record(row)

    def transition(
        self,
        application_id: str,
        action: Action,
        reason: str | None = None,
        result: dict[str, Any] | None = None,
        *,
        letter_no: str | None = None,
        dispatch: dict[str, str] | None = None,
        occurred: dt.datetime | None = None,
    ) -> Record:
        """Move an application one step, logging the change; completing a certificate also numbers it, issuing
        a transfer letter numbers the letter when no number is given. ``occurred`` back-dates the step (never
        before the change it follows: ``TooEarlyError``)."""
        now = now_china()
        moment = occurred or now
        with self._write() as conn:
            row = conn.execute("SELECT * FROM applications WHERE application_id = ?", (application_id,)).fetchone()
            if row is None:
                raise NotFoundError(application_id)
            step = steps_for(row["kind"]).get(action)
            if step is None or row["status"] not in step.allowed_from:
                raise TransitionError(row["status"])
            # a step is never before the change it follows; the first change (after ``submitted``, which is no
            # change in the feed) may be back-dated freely, so tests can make a portal application's step overdue
            previous = None if row["status"] == "submitted" else (row["status_since"] or row["updated_at"])
            if previous is not None and moment < dt.datetime.fromisoformat(previous):
                raise TooEarlyError(previous)
            certificate_no = issued_on = None
            if action == "complete" and row["kind"] in CERTIFICATE_PREFIXES:
                prefix = f"{CERTIFICATE_PREFIXES[row['kind']]}{moment:%Y}"
                count = conn.execute(
                    "SELECT COUNT(*) FROM applications WHERE certificate_no LIKE ?", (prefix + "%",)
                ).fetchone()[0]
                certificate_no, issued_on = f"{prefix}{count + 1:08d}", f"{moment:%Y%m%d}"
            if action == "issue_letter" and not letter_no:
                prefix = f"DDH{moment:%Y}"
                count = conn.execute(
                    "SELECT COUNT(*) FROM status_changes WHERE letter_no LIKE ?", (prefix + "%",)
                ).fetchone()[0]
                letter_no = f"{prefix}{count + 1:06d}"
            stamp = moment.isoformat()
            conn.execute(
                "UPDATE applications SET status = ?, reason = ?, updated_at = ?, status_since = ?,"
                " certificate_no = COALESCE(?, certificate_no), issued_on = COALESCE(?, issued_on),"
                " result = COALESCE(?, result) WHERE application_id = ?",
                (
                    step.target,
                    reason,
                    now.isoformat(),
                    stamp,
                    certificate_no,
                    issued_on,
                    json.dumps(result, ensure_ascii=False) if result else None,
                    application_id,
                ),
            )
            body = json.loads(row["body"])
            conn.execute(
                "INSERT INTO status_changes (application_id, case_no, status, reason, occurred_at, kind, actor,"
                " agency_code, dispatch, letter_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    application_id,
                    row["case_no"],
                    step.target,
                    reason,
                    stamp,
                    row["kind"],
                    step.actor,
                    acting_agency(body, step.actor),
                    json.dumps(dispatch, ensure_ascii=False) if dispatch else None,
                    letter_no if action == "issue_letter" else None,
                ),
            )
            updated = conn.execute("SELECT * FROM applications WHERE id = ?", (row["id"],)).fetchone()
        return _record(updated)

    def open_applications(self) -> list[Record]:
        """Applications that can still move, oldest first."""
        marks = ",".join("?" for _ in FINAL_STATUSES)
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT * FROM applications WHERE status NOT IN ({marks}) ORDER BY id",  # noqa: S608
                tuple(sorted(FINAL_STATUSES)),
            ).fetchall()
        return [_record(r) for r in rows]

    def file_path(self, application_id: str, file_id: str) -> Path:
        """Where a file's bytes live; both ids are checked by the caller to be safe path segments."""
        return self.files_dir / application_id / f"{file_id}.pdf"

    def put_file(
        self, application_id: str, file_id: str, material: str, sha256: str, content_type: str, data: bytes
    ) -> FileOutcome:
        """Store a file once per (application_id, file_id); the same bytes and material again count a replay."""
        target = self.file_path(application_id, file_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        # the bytes go to a temporary file first: only a stored row makes them the file
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            now = now_china().isoformat()
            with self._write() as conn:
                seen = conn.execute(
                    "SELECT * FROM files WHERE application_id = ? AND file_id = ?", (application_id, file_id)
                ).fetchone()
                if seen is not None:
                    if seen["sha256"] != sha256 or seen["material"] != material:
                        return FileOutcome(record=None, created=False, mismatch=True)
                    conn.execute("UPDATE files SET put_count = put_count + 1 WHERE id = ?", (seen["id"],))
                    row = conn.execute("SELECT * FROM files WHERE id = ?", (seen["id"],)).fetchone()
                    return FileOutcome(record=_file_record(row), created=False)
                os.replace(temp, target)
                conn.execute(
                    "INSERT INTO files (application_id, file_id, material, sha256, size, content_type, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (application_id, file_id, material, sha256, len(data), content_type, now),
                )
                row = conn.execute(
                    "SELECT * FROM files WHERE application_id = ? AND file_id = ?", (application_id, file_id)
                ).fetchone()
                return FileOutcome(record=_file_record(row), created=True)
        finally:
            temp.unlink(missing_ok=True)

    def files(self, application_id: str) -> list[FileRecord]:
        """The files PUT under an application id, in the order they first arrived."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM files WHERE application_id = ? ORDER BY id", (application_id,)
            ).fetchall()
        return [_file_record(r) for r in rows]

    def file(self, application_id: str, file_id: str) -> FileRecord | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM files WHERE application_id = ? AND file_id = ?", (application_id, file_id)
            ).fetchone()
        return _file_record(row) if row else None

    def file_bytes(self, record: FileRecord) -> bytes:
        return self.file_path(record.application_id, record.file_id).read_bytes()

    def changes(self, after: int, limit: int) -> list[Change]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM status_changes WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [_change(r) for r in rows]

    def histories(self) -> dict[str, list[Change]]:
        """Every application's changes in order, in one read (what the console shows)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM status_changes ORDER BY seq").fetchall()
        found: dict[str, list[Change]] = {}
        for row in rows:
            found.setdefault(row["application_id"], []).append(_change(row))
        return found

    def all_files(self) -> dict[str, list[FileRecord]]:
        """Every application id's files in the order they arrived, in one read."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM files ORDER BY id").fetchall()
        found: dict[str, list[FileRecord]] = {}
        for row in rows:
            found.setdefault(row["application_id"], []).append(_file_record(row))
        return found

    def history(self, application_id: str) -> list[Change]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM status_changes WHERE application_id = ? ORDER BY seq", (application_id,)
            ).fetchall()
        return [_change(r) for r in rows]


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a database from an earlier release lacks, and fill them in for the rows it holds."""
    added = False
    for table, column, declaration in _ADDED_COLUMNS:
        have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            added = True
    if added:
        for statement in _BACKFILL.split(";"):
            if statement.strip():
                conn.execute(statement)


# How route handlers ask for the store (injected by name, not validated as a request value).
StoreDep: TypeAlias = NamedDependency[SkipValidation[Store]]
