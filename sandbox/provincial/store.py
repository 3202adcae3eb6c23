"""The provincial system's state in SQLite: applications, idempotency keys, the status-change log, and files.

Every write is one ``BEGIN IMMEDIATE`` transaction, so a submit and its idempotency key are stored together
and the ``seq`` of ``status_changes`` only ever grows. A file's bytes live next to the database
(``files/<application_id>/<file_id>.pdf``); its row says what it is and how many times it was PUT.
"""

from __future__ import annotations

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

Action = Literal["accept", "complete", "refuse"]
# action -> (statuses it may follow, status it leads to)
TRANSITIONS: dict[Action, tuple[tuple[str, ...], str]] = {
    "accept": (("submitted",), "accepted"),
    "complete": (("accepted",), "completed"),
    "refuse": (("submitted", "accepted"), "refused"),
}


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


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    application_id: str
    case_no: str
    status: str
    reason: str | None
    occurred_at: str


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
                " received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'submitted', ?, ?)",
                (
                    next_id,
                    body["application_id"],
                    case_no,
                    body["reference_no"],
                    body["kind"],
                    json.dumps(body, ensure_ascii=False),
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

    def transition(
        self, application_id: str, action: Action, reason: str | None = None, result: dict[str, Any] | None = None
    ) -> Record:
        """Move an application one step, logging the change; completing a certificate also numbers it."""
        allowed_from, target = TRANSITIONS[action]
        now = now_china()
        with self._write() as conn:
            row = conn.execute("SELECT * FROM applications WHERE application_id = ?", (application_id,)).fetchone()
            if row is None:
                raise NotFoundError(application_id)
            if row["status"] not in allowed_from:
                raise TransitionError(row["status"])
            certificate_no = issued_on = None
            if action == "complete" and row["kind"] == "archive_certificate":
                prefix = f"CDZM{now:%Y}"
                count = conn.execute(
                    "SELECT COUNT(*) FROM applications WHERE certificate_no LIKE ?", (prefix + "%",)
                ).fetchone()[0]
                certificate_no, issued_on = f"{prefix}{count + 1:08d}", f"{now:%Y%m%d}"
            conn.execute(
                "UPDATE applications SET status = ?, reason = ?, updated_at = ?,"
                " certificate_no = COALESCE(?, certificate_no), issued_on = COALESCE(?, issued_on),"
                " result = COALESCE(?, result) WHERE application_id = ?",
                (
                    target,
                    reason,
                    now.isoformat(),
                    certificate_no,
                    issued_on,
                    json.dumps(result, ensure_ascii=False) if result else None,
                    application_id,
                ),
            )
            conn.execute(
                "INSERT INTO status_changes (application_id, case_no, status, reason, occurred_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (application_id, row["case_no"], target, reason, now.isoformat()),
            )
            updated = conn.execute("SELECT * FROM applications WHERE id = ?", (row["id"],)).fetchone()
        return _record(updated)

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
        return [Change(**dict(r)) for r in rows]

    def history(self, application_id: str) -> list[Change]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM status_changes WHERE application_id = ? ORDER BY seq", (application_id,)
            ).fetchall()
        return [Change(**dict(r)) for r in rows]


# How route handlers ask for the store (injected by name, not validated as a request value).
StoreDep: TypeAlias = NamedDependency[SkipValidation[Store]]
