"""State survives a restart: applications, idempotency keys, the status-change sequence and files."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from sandbox.provincial.store import Store
from tests.sandbox.helpers import application_body, pdf_bytes


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    body = application_body()
    first = Store(path).submit(body["application_id"], body, "hash-1", "110105")
    assert first.created and first.record is not None
    Store(path).transition(body["application_id"], "accept")

    reopened = Store(path)
    record = reopened.get(body["application_id"])
    assert record is not None and record.status == "accepted" and record.case_no == first.record.case_no
    replay = reopened.submit(body["application_id"], body, "hash-1", "110105")
    assert not replay.created and replay.record is not None and replay.record.submit_count == 2
    assert reopened.submit(body["application_id"], body, "hash-2", "110105").mismatch

    other = application_body()
    reopened.submit(other["application_id"], other, "hash-3", "110105")
    reopened.transition(other["application_id"], "refuse", "理由")
    seqs = [c.seq for c in Store(path).changes(0, 10)]
    assert seqs == [1, 2]


def test_files_survive_a_restart_and_count_their_puts(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    data = pdf_bytes()
    sha = hashlib.sha256(data).hexdigest()
    application_id = str(uuid.uuid4())
    first = Store(path).put_file(application_id, "f1", "unit_letter", sha, "application/pdf", data)
    assert first.created and first.record is not None and first.record.put_count == 1

    reopened = Store(path)
    replay = reopened.put_file(application_id, "f1", "unit_letter", sha, "application/pdf", data)
    assert not replay.created and replay.record is not None and replay.record.put_count == 2
    assert replay.record.received_at == first.record.received_at
    other = pdf_bytes()
    assert reopened.put_file(
        application_id, "f1", "unit_letter", hashlib.sha256(other).hexdigest(), "application/pdf", other
    ).mismatch
    assert reopened.put_file(application_id, "f1", "review_letter", sha, "application/pdf", data).mismatch

    [record] = Store(path).files(application_id)
    assert record.put_count == 2 and record.size == len(data)
    assert Store(path).file_bytes(record) == data
    assert (tmp_path / "files" / application_id / "f1.pdf").read_bytes() == data
    assert [p.name for p in (tmp_path / "files" / application_id).iterdir()] == ["f1.pdf"]
    assert Store(path).files(str(uuid.uuid4())) == []
