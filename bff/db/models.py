"""The portal's tables. The provincial system is the system of record; these hold what the portal owes
the person (their applications, the forwarding outbox, the mirrored status events and issued certificates)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bff.lib.crypto import EncryptedJSON, EncryptedText


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no offset; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("owner_sub", "idempotency_key", name="uq_applications_owner_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reference_no: Mapped[str] = mapped_column(String(24), unique=True)
    owner_sub: Mapped[str] = mapped_column(String(128), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    # Whose application it is: a hash of 证件类型 + 证件号码, so that a transfer a unit starts for a new hire
    # appears in the hire's own list once they sign in (``owner_sub`` is whoever started it).
    holder_key: Mapped[str] = mapped_column(String(64), index=True)
    initiated_by: Mapped[str] = mapped_column(String(16), default="person")
    # The unit (统一社会信用代码) that started it, when a unit did.
    unit_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    # Filled from the archive record; left empty when the provincial system was down at submit time
    # (the relay fills them before forwarding).
    agency_code: Mapped[str | None] = mapped_column(String(8))
    agency_name: Mapped[str | None] = mapped_column(String(300))
    archive_no: Mapped[str | None] = mapped_column(String(14))
    # What the person entered and who they are: forwarded to the provincial system, never shown whole; encrypted.
    details: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("applications.details"))
    case_no: Mapped[str | None] = mapped_column(String(64))
    forwarded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # When the retention purge removed its personal fields and material (long after it ended).
    purged_at: Mapped[datetime | None]

    events: Mapped[list[StatusEvent]] = relationship(
        back_populates="application", order_by="StatusEvent.id", lazy="raise"
    )


class Document(Base):
    """One piece of material (a letter): a single PDF, or several photos of one paper letter."""

    __tablename__ = "documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_sub: Mapped[str] = mapped_column(String(128), index=True)
    material: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # draft | attached
    # What goes to the provincial system: the PDF as uploaded, or the photos made into one PDF (set when attached).
    forward_key: Mapped[str | None] = mapped_column(String(200))
    forward_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    attached_at: Mapped[datetime | None]

    files: Mapped[list[DocumentFile]] = relationship(
        back_populates="document", order_by="DocumentFile.id", lazy="raise", cascade="all, delete-orphan"
    )


class DocumentFile(Base):
    """One uploaded file of a document. ``file_id`` is chosen by the client, so a retried upload lands once."""

    __tablename__ = "document_files"
    __table_args__ = (UniqueConstraint("document_id", "file_id", name="uq_document_files_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(8))  # pdf | image
    content_type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(EncryptedText("document_files.name"))  # as the person named it
    size: Mapped[int] = mapped_column(Integer)
    upload_sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
    original_key: Mapped[str] = mapped_column(String(200))
    display_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    document: Mapped[Document] = relationship(back_populates="files", lazy="raise")


class ApplicationDocument(Base):
    """A document attached to an application for one need (material + whose letter it is)."""

    __tablename__ = "application_documents"
    __table_args__ = (UniqueConstraint("application_id", "material", "role", name="uq_application_documents_need"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), index=True)
    material: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    attached_by: Mapped[str] = mapped_column(String(16))  # person | unit
    forwarded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class LetterRequest(Base):
    """An applicant's request that a unit upload its 单位介绍信; HR finds it by ``code`` or on the unit's home."""

    __tablename__ = "letter_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    material: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    unit_uscc: Mapped[str] = mapped_column(String(18), index=True)
    unit_name: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16))  # open | fulfilled | declined | withdrawn
    reason: Mapped[str | None] = mapped_column(EncryptedText("letter_requests.reason"))
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    decided_by: Mapped[str | None] = mapped_column(EncryptedText("letter_requests.decided_by"))  # HR's name
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class StatusEvent(Base):
    """One line of the timeline. ``provincial_seq`` makes a status change from the provincial system land once."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(EncryptedText("status_events.note"))  # free text, e.g. a reason
    source: Mapped[str] = mapped_column(String(16))
    provincial_seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime]
    # Who acted (receiving_agency | current_agency | applicant | unit | portal) and what the step carries
    # (a transfer's dispatch method and number, the letter number), as the provincial system reported them.
    actor: Mapped[str | None] = mapped_column(String(32))
    agency_code: Mapped[str | None] = mapped_column(String(8))
    extra: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("status_events.extra"))

    application: Mapped[Application] = relationship(back_populates="events", lazy="raise")


class OutboxMessage(Base):
    """Work owed to the provincial system (or done because of it), written in the same transaction as its cause.

    Rows are claimed with a lease (``lease_until``) so several relays can run at once without sending a row twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("application_id", "kind", name="uq_outbox_application_kind"),
        Index("ix_outbox_due", "done_at", "dead_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_kind: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]


class SyncCursor(Base):
    """Where the status poller is in the provincial system's change feed; leased like outbox rows."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))


class Certificate(Base):
    """An issued e-certificate. ``id`` is the random id carried by the QR token (80 bits, base32). An application
    has one, or several after reissues: the older ones are ``superseded_at``."""

    __tablename__ = "certificates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    owner_sub: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    certificate_no: Mapped[str] = mapped_column(String(32), unique=True)
    agency_name: Mapped[str] = mapped_column(String(300))
    holder_name_masked: Mapped[str] = mapped_column(String(160))
    holder_id_masked: Mapped[str] = mapped_column(String(32))
    issued_on: Mapped[str] = mapped_column(String(10))
    template_version: Mapped[str] = mapped_column(String(16))
    token_kid: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(300))
    expires_on: Mapped[str | None] = mapped_column(String(10))
    status_index: Mapped[int | None] = mapped_column(unique=True)  # its bit in the signed status list
    salt: Mapped[str | None] = mapped_column(String(32))  # hex; salts the holder hashes in the token, never shown
    id_hash: Mapped[str | None] = mapped_column(String(16))  # hex of the token's salted ID-number hash
    superseded_at: Mapped[datetime | None]


class ReviewShare(Base):
    """The share link of a 政审回复函: the person passes the link and the access code to the reviewing unit."""

    __tablename__ = "review_shares"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the link's random part (128 bits)
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), unique=True)
    access_code: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    open_count: Mapped[int] = mapped_column(default=0)


class Reminder(Base):
    """The provincial system's 业务未办理提醒 for an application: its current step is past the time limit."""

    __tablename__ = "reminders"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(16))
    agency_code: Mapped[str | None] = mapped_column(String(8))
    due_on: Mapped[str] = mapped_column(String(8))
    overdue_days: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime]


class Rating(Base):
    """好差评: the holder's rating of a finished application, given once."""

    __tablename__ = "ratings"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    holder_key: Mapped[str] = mapped_column(String(64), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(EncryptedText("ratings.comment"))
    created_at: Mapped[datetime]


class PushSubscription(Base):
    """A browser's Web Push subscription (the person opted in on that device)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    holder_key: Mapped[str] = mapped_column(String(64), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Notification(Base):
    """One message owed to a person about one status event on one channel (push | sms).

    Unique per (event, channel): a change is told once per channel however often it is seen.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", name="uq_notifications_event_channel"),
        Index("ix_notifications_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("status_events.id"))
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    holder_key: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12))  # pending | sent | merged | skipped | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One line of the audit trail (MLPS level 3): who (a keyed pseudonym, never a name or ID number), what,
    when, the outcome, from which address and in which request.

    Rows are only ever inserted (on PostgreSQL a trigger refuses UPDATE and DELETE; SQLite has the same
    triggers). Each row carries its predecessor's hash and the SHA-256 of its own fields and that hash, so
    ``python -m bff audit verify`` finds any row altered, removed or slipped in (``bff.domain.audit.chain``).
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # no gaps, one chain
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str | None] = mapped_column(String(64), index=True)  # HMAC of the subject / USCC / login
    actor_role: Mapped[str] = mapped_column(String(16))  # person | employer | operator | system | anonymous
    action: Mapped[str] = mapped_column(String(48), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(8))  # ok | denied | failed
    client: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditPurgePermit(Base):
    """Present only inside the retention purge's own transaction: the triggers let a DELETE through only for
    rows up to ``through_seq`` that are older than 180 days."""

    __tablename__ = "audit_purge_permits"

    through_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
