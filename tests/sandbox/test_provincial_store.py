"""State survives a restart: applications, idempotency keys and the status-change sequence live in SQLite."""

from __future__ import annotations

from pathlib import Path

from sandbox.provincial.store import Store
from tests.sandbox.helpers import application_body


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
