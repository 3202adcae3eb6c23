"""Both file stores behind the one interface: the local directory, and S3 over real HTTP to a moto server process."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from bff.lib import files as files_module
from bff.lib.files import FileMissing, FileStore, LocalFileStore, S3FileStore, file_store
from bff.settings import FileSettings
from tests.storage.conftest import MotoS3

FIVE_MB = 5 * 1024 * 1024


def new_key(ext: str = "pdf") -> str:
    return f"uploads/2026/11/21/{uuid.uuid4().hex}.{ext}"


def s3_store(moto_s3: MotoS3, prefix: str = "", **kwargs: Any) -> S3FileStore:
    return S3FileStore(moto_s3.endpoint_url, moto_s3.bucket, moto_s3.access_key, kwargs.pop("secret_key",
                       moto_s3.secret_key), moto_s3.region, prefix=prefix, **kwargs)


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    if request.param == "local":
        yield LocalFileStore(tmp_path / "files")
        return
    moto_s3: MotoS3 = request.getfixturevalue("moto_s3")
    # A prefix of its own per test: tests share the bucket but never see each other's keys.
    s3 = s3_store(moto_s3, prefix=f"test-{uuid.uuid4().hex[:12]}")
    yield s3
    s3.close()


# --- the interface, on both stores ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 256, FIVE_MB])
async def test_put_get_round_trip_binary(store: FileStore, size: int) -> None:
    data = bytes(range(256)) if size == 256 else os.urandom(size)
    key = new_key()
    await store.put(key, data, "application/pdf")
    assert await store.get(key) == data


async def test_put_overwrites(store: FileStore) -> None:
    key = f"certificates/{uuid.uuid4().hex[:24]}.pdf"
    await store.put(key, b"first")
    await store.put(key, b"second, longer than the first")
    assert await store.get(key) == b"second, longer than the first"


async def test_get_missing_raises_file_missing(store: FileStore) -> None:
    key = new_key()
    with pytest.raises(FileMissing):
        await store.get(key)
    # Neither a directory-like key (a prefix of stored keys) names a file.
    await store.put("uploads/2026/11/21/x.pdf", b"x")
    with pytest.raises(FileMissing):
        await store.get("uploads/2026/11/21")
    assert not await store.exists("uploads/2026/11/21")


async def test_exists(store: FileStore) -> None:
    key = new_key()
    assert await store.exists(key) is False
    await store.put(key, b"%PDF-1.7")
    assert await store.exists(key) is True


async def test_delete_is_idempotent(store: FileStore) -> None:
    key = new_key()
    await store.put(key, b"data")
    await store.delete(key)
    assert await store.exists(key) is False
    with pytest.raises(FileMissing):
        await store.get(key)
    await store.delete(key)  # again: no error
    await store.delete(new_key())  # never existed: no error
    await store.delete("uploads/2026/11/21")  # a "directory": no error, and nothing under it is touched
    other = new_key()
    await store.put(other, b"kept")
    await store.delete("uploads/2026/11/21")
    assert await store.get(other) == b"kept"


# Absolute keys point into a scratch directory, never at real system files: should the check ever regress, the
# local store would write (or delete) there.
ABSOLUTE = "<absolute path under a scratch directory>"


@pytest.mark.parametrize("key", [
    "../secret.pdf", "uploads/../../secret.pdf", "uploads/..", ABSOLUTE, "uploads//x.pdf", "uploads/x.pdf/", "",
    "Uploads/X.PDF", "uploads/x y.pdf", "uploads/x.tar.gz", "uploads\\x.pdf", "a" * 201,
])
async def test_bad_keys_are_refused(store: FileStore, key: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    if key == ABSOLUTE:
        key = str(tmp_path_factory.mktemp("outside") / "x.pdf")
    with pytest.raises(ValueError, match="bad storage key"):
        await store.put(key, b"x")
    with pytest.raises(ValueError, match="bad storage key"):
        await store.get(key)
    with pytest.raises(ValueError, match="bad storage key"):
        await store.delete(key)
    with pytest.raises(ValueError, match="bad storage key"):
        await store.exists(key)


# --- the local store -----------------------------------------------------------------------------------------


async def test_local_refuses_absolute_path_that_the_character_set_allows(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """An absolute path made only of allowed characters passes the regex alone; ``root / key`` would then be
    that absolute path, outside the root. The store must refuse it and write nothing there."""
    outside = tmp_path_factory.mktemp("outside") / "evil.pdf"
    key = str(outside)
    assert files_module._SAFE_KEY.match(key), "the test needs a path the regex alone would let through"
    store = LocalFileStore(tmp_path / "files")
    with pytest.raises(ValueError, match="bad storage key"):
        await store.put(key, b"pwned")
    assert not outside.exists()


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


async def test_local_writes_atomically(tmp_path: Path) -> None:
    root = tmp_path / "files"
    store = LocalFileStore(root)
    keys = [new_key() for _ in range(5)]
    for key in keys:
        await store.put(key, os.urandom(FIVE_MB))
        await store.put(key, b"replaced")
    assert _leftovers(root) == []
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(keys)
    for key in keys:
        mode = stat.S_IMODE((root / key).stat().st_mode)
        assert mode & 0o077 == 0, f"{key} is readable by others: {oct(mode)}"


async def test_local_failed_write_keeps_old_content_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "files"
    store = LocalFileStore(root)
    key = new_key()
    await store.put(key, b"old")

    def broken_replace(src: str, dst: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        await store.put(key, os.urandom(FIVE_MB))
    monkeypatch.undo()
    assert await store.get(key) == b"old"
    assert _leftovers(root) == []


# --- the S3 store over real HTTP -----------------------------------------------------------------------------


async def test_s3_keys_are_prefixed_and_content_type_kept(moto_s3: MotoS3) -> None:
    prefix = f"portal-{uuid.uuid4().hex[:8]}"
    store = s3_store(moto_s3, prefix=f"/{prefix}/")
    key = new_key()
    await store.put(key, b"%PDF-1.7", "application/pdf")
    raw = moto_s3.client()
    head = raw.head_object(Bucket=moto_s3.bucket, Key=f"{prefix}/{key}")
    assert head["ContentType"] == "application/pdf"
    assert head["ContentLength"] == 8
    with pytest.raises(ClientError):
        raw.head_object(Bucket=moto_s3.bucket, Key=key)
    store.close()


async def test_s3_sends_content_md5_and_no_sdk_checksums(moto_s3: MotoS3) -> None:
    """Integrity via Content-MD5, which every S3-compatible store checks, and none of the x-amz-checksum-* headers
    that botocore >= 1.36 adds by default and several S3-compatible stores reject."""
    import base64
    import hashlib

    store = s3_store(moto_s3)
    sent: list[dict[str, str]] = []
    store._client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers.items())))
    data = os.urandom(100_000)
    await store.put(new_key(), data)
    assert len(sent) == 1
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in sent[0].items()}
    assert headers["content-md5"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert not [h for h in headers if h.startswith("x-amz-checksum-") or h == "x-amz-sdk-checksum-algorithm"]
    store.close()


async def test_s3_wrong_secret_key_fails_loudly(moto_s3: MotoS3) -> None:
    good = s3_store(moto_s3, prefix="wrong-secret")
    bad = s3_store(moto_s3, prefix="wrong-secret", secret_key="not-the-secret")
    existing = new_key()
    await good.put(existing, b"stored with the right key")

    written = new_key()
    with pytest.raises(ClientError) as put_error:
        await bad.put(written, b"should not land")
    assert put_error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert await good.exists(written) is False

    # A 403 is not "missing": get does not raise FileMissing, exists does not answer False.
    with pytest.raises(ClientError) as get_error:
        await bad.get(existing)
    assert not isinstance(get_error.value, FileMissing)
    assert get_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError):
        await bad.exists(existing)
    with pytest.raises(ClientError):
        await bad.delete(existing)
    assert await good.get(existing) == b"stored with the right key"
    good.close()
    bad.close()


async def test_s3_unknown_access_key_fails_loudly(moto_s3: MotoS3) -> None:
    store = S3FileStore(moto_s3.endpoint_url, moto_s3.bucket, "AKIANOTAREALKEY00000", moto_s3.secret_key,
                        moto_s3.region)
    with pytest.raises(ClientError) as error:
        await store.put(new_key(), b"x")
    assert error.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    store.close()


async def test_s3_missing_bucket_is_an_error_not_a_missing_file(moto_s3: MotoS3) -> None:
    store = S3FileStore(moto_s3.endpoint_url, "no-such-bucket", moto_s3.access_key, moto_s3.secret_key,
                        moto_s3.region)
    with pytest.raises(ClientError) as get_error:
        await store.get(new_key())
    assert not isinstance(get_error.value, FileMissing)
    assert get_error.value.response["Error"]["Code"] == "NoSuchBucket"
    with pytest.raises(ClientError, match="NoSuchBucket"):
        await store.put(new_key(), b"x")
    store.close()


async def test_s3_objects_are_not_readable_anonymously(moto_s3: MotoS3) -> None:
    prefix = f"anon-{uuid.uuid4().hex[:8]}"
    store = s3_store(moto_s3, prefix=prefix)
    key = new_key()
    secret = b"%PDF-1.7 personal archive " + os.urandom(64)
    await store.put(key, secret, "application/pdf")

    async with httpx.AsyncClient() as anonymous:  # no Authorization header, no query signature
        response = await anonymous.get(f"{moto_s3.endpoint_url}/{moto_s3.bucket}/{prefix}/{key}")
        assert response.status_code == 403
        assert secret not in response.content

        grants = moto_s3.client().get_object_acl(Bucket=moto_s3.bucket, Key=f"{prefix}/{key}")["Grants"]
        assert [g["Grantee"].get("URI") for g in grants if g["Grantee"].get("Type") == "Group"] == []

        # Control: the same request does read an object that *is* public, so the 403 above comes from moto's
        # check of the object's ACL, not from refusing every unsigned request. (With IAM authentication on,
        # moto answers 500 to an unsigned request once the ACL allows it, so it is off for the control.)
        public_key = f"{prefix}/{new_key()}"
        moto_s3.client().put_object(Bucket=moto_s3.bucket, Key=public_key, Body=b"public", ACL="public-read")
        with moto_s3.authentication_off():
            control = await anonymous.get(f"{moto_s3.endpoint_url}/{moto_s3.bucket}/{public_key}")
            again = await anonymous.get(f"{moto_s3.endpoint_url}/{moto_s3.bucket}/{prefix}/{key}")
        assert (control.status_code, control.content) == (200, b"public")
        assert again.status_code == 403
    store.close()


@dataclass
class SilentEndpoint:
    url: str
    connections: list[socket.socket]


@pytest.fixture
def silent_endpoint() -> Iterator[SilentEndpoint]:
    """A TCP port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield SilentEndpoint(f"http://127.0.0.1:{listener.getsockname()[1]}", held)
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


async def test_s3_read_timeout_gives_an_error_after_three_attempts(silent_endpoint: SilentEndpoint) -> None:
    store = S3FileStore(silent_endpoint.url, "portal-files", "AKIAEXAMPLE", "secret", read_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        await store.get(new_key())
    # three attempts of 0.5 s plus the standard mode's back-off (at most 1 s + 2 s)
    assert time.monotonic() - started < 10
    assert len(silent_endpoint.connections) == 3
    store.close()


async def test_s3_unreachable_endpoint_gives_an_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    store = S3FileStore(f"http://127.0.0.1:{closed_port}", "portal-files", "AKIAEXAMPLE", "secret",
                        connect_timeout=0.5)
    with pytest.raises((EndpointConnectionError, ConnectTimeoutError)):
        await store.exists(new_key())
    store.close()


def test_s3_client_configuration(moto_s3: MotoS3) -> None:
    store = s3_store(moto_s3)
    config = store._client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (5.0, 30.0)
    assert config.s3 == {"addressing_style": "path"}
    store.close()


# --- settings and the factory --------------------------------------------------------------------------------

_FILE_ENV = ["FILES_BACKEND", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
             "S3_REGION", "S3_PREFIX"]


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _FILE_ENV:
        monkeypatch.delenv(name, raising=False)
    assert FileSettings.from_env() == FileSettings(backend="local", s3_endpoint_url="", s3_bucket="",
                                                   s3_access_key_id="", s3_secret_access_key="",
                                                   s3_region="us-east-1", s3_prefix="")


def test_settings_from_env_keep_the_secret_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"FILES_BACKEND": "S3", "S3_ENDPOINT_URL": "http://minio:9000", "S3_BUCKET": "archive",
           "S3_ACCESS_KEY_ID": "AKIAPORTAL", "S3_SECRET_ACCESS_KEY": "very-secret", "S3_REGION": "cn-north-1",
           "S3_PREFIX": "portal"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = FileSettings.from_env()
    assert settings == FileSettings("s3", "http://minio:9000", "archive", "AKIAPORTAL", "very-secret",
                                    "cn-north-1", "portal")
    assert "very-secret" not in repr(settings)


def test_factory_local_is_data_dir_files(tmp_path: Path) -> None:
    store = file_store(FileSettings(), tmp_path)
    assert isinstance(store, LocalFileStore)
    assert store.root == tmp_path / "files"


async def test_factory_s3_talks_to_the_bucket(moto_s3: MotoS3, tmp_path: Path) -> None:
    settings = FileSettings(backend="s3", s3_endpoint_url=moto_s3.endpoint_url, s3_bucket=moto_s3.bucket,
                            s3_access_key_id=moto_s3.access_key, s3_secret_access_key=moto_s3.secret_key,
                            s3_region=moto_s3.region, s3_prefix="factory")
    store = file_store(settings, tmp_path)
    assert isinstance(store, S3FileStore)
    key = new_key()
    await store.put(key, b"via the factory")
    assert moto_s3.client().get_object(Bucket=moto_s3.bucket, Key=f"factory/{key}")["Body"].read() == \
        b"via the factory"
    assert not (tmp_path / "files").exists()
    store.close()


def test_factory_refuses_incomplete_or_unknown_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="S3_ENDPOINT_URL, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY"):
        file_store(FileSettings(backend="s3"), tmp_path)
    with pytest.raises(ValueError, match="S3_SECRET_ACCESS_KEY"):
        file_store(FileSettings(backend="s3", s3_endpoint_url="http://minio:9000", s3_bucket="archive",
                                s3_access_key_id="AKIAPORTAL"), tmp_path)
    with pytest.raises(ValueError, match="FILES_BACKEND"):
        file_store(FileSettings(backend="gcs"), tmp_path)
