"""The audit settings an operator can get wrong are refused at start-up, in Chinese; the dev key is private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bff.domain.audit.services import Pseudonyms
from bff.domain.audit.settings import AuditSettings, AuditSettingsError
from tests.audit.conftest import REPO


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AUDIT_", "DATA_DIR", "BFF_"))}
    return subprocess.run([sys.executable, "-m", "bff", "serve"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env={**clean, "PYTHONPATH": str(REPO), "DATA_DIR": str(tmp_path), **env})


@pytest.mark.parametrize(("env", "words"), [
    ({"AUDIT_RETENTION_DAYS": "179"}, "至少保存 180 天"),
    ({"AUDIT_RETENTION_DAYS": "half a year"}, "必须是整数天数"),
    ({"AUDIT_HMAC_KEY": "too-short"}, "AUDIT_HMAC_KEY 太短"),
])
def test_the_bff_refuses_to_start_with_a_bad_audit_setting(tmp_path: Path, env: dict[str, str], words: str) -> None:
    done = serve(tmp_path, **env)
    assert done.returncode == 2
    assert words in done.stderr


def test_the_dev_key_is_made_once_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIT_HMAC_KEY", raising=False)
    monkeypatch.delenv("AUDIT_RETENTION_DAYS", raising=False)
    first = AuditSettings.from_env(tmp_path)
    again = AuditSettings.from_env(tmp_path)
    assert first.retention_days == 365 and first.key_file == tmp_path / "audit" / "hmac.key"
    assert first.hmac_key == again.hmac_key
    assert stat.S_IMODE(first.key_file.stat().st_mode) == 0o600
    assert "hmac_key" not in repr(first)


def test_a_configured_key_replaces_the_dev_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_HMAC_KEY", "k" * 40)
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "180")
    configured = AuditSettings.from_env(tmp_path)
    assert configured.retention_days == 180 and configured.key_file is None
    assert not (tmp_path / "audit").exists()
    one, other = Pseudonyms(configured.hmac_key), Pseudonyms(b"x" * 40)
    assert one.of("person", "sub-1") != other.of("person", "sub-1")  # keyed: not guessable without the key
    assert one.of("person", "sub-1") != one.of("unit", "sub-1")
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "90")
    with pytest.raises(AuditSettingsError):
        AuditSettings.from_env(tmp_path)
