"""File storage behind one interface: a local directory by default, an S3-compatible object store in production.

Keys look like ``uploads/2026/11/21/<32 hex>.pdf`` or ``certificates/<id>.pdf``; both stores accept the same keys
(lower-case, relative, no empty segments, at most one extension). Objects are never publicly readable: the local
directory is not served by anything, and S3 objects are written with no ACL (the bucket default, private).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio.to_thread
import boto3.session
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from bff.settings import FileSettings

log = logging.getLogger("bff.files")
_SAFE_KEY = re.compile(r"^[a-z0-9/_-]{1,200}(\.[a-z0-9]{1,8})?$")


class FileMissing(LookupError):
    """No file under this key."""


class FileStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    async def get(self, key: str) -> bytes:
        """The file's bytes; raises :class:`FileMissing` when there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the file; a missing one is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...


async def forget(files: FileStore, keys: set[str]) -> None:
    """Deletes files no row refers to any more (called after the commit that dropped the references). A failure
    leaves a stray file, harmless and unreferenced, so it is logged, not raised."""
    for key in keys:
        try:
            await files.delete(key)
        except Exception:
            log.warning("could not delete a stored file no longer referred to")


def check_key(key: str) -> str:
    """The key itself, or ValueError: relative, no ``..``, no empty segments, the character set above."""
    if not _SAFE_KEY.match(key) or ".." in key or "" in key.split("/"):
        raise ValueError("bad storage key")
    return key


class LocalFileStore:
    """Files under a directory that nothing serves directly; written atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        await anyio.to_thread.run_sync(self._write, self._path(key), data)

    async def get(self, key: str) -> bytes:
        return await anyio.to_thread.run_sync(self._read, self._path(key), key)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._unlink, self._path(key))

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(key).is_file)

    @staticmethod
    def _read(path: Path, key: str) -> bytes:
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise FileMissing(key) from None

    @staticmethod
    def _unlink(path: Path) -> None:
        if path.is_dir():  # a "directory" key names no file, as in S3
            return
        try:
            path.unlink(missing_ok=True)
        except NotADirectoryError:
            pass

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


_NOT_FOUND = {"NoSuchKey", "NotFound", "404"}


class S3FileStore:
    """Objects in one bucket of an S3-compatible store (MinIO, Ceph RGW, AWS S3, ...), path-style addressing.

    boto3 is blocking, so every call runs in a worker thread; one client is shared (boto3 clients are
    thread-safe). Only a 404 means "missing": a 403 (bad credentials, or a policy without ``s3:ListBucket``,
    under which S3 answers 403 for absent keys) is raised as botocore's ``ClientError``, never as
    :class:`FileMissing` or ``False``.

    Checksums are computed only when an operation requires them (the behaviour before botocore 1.36), because
    several S3-compatible stores reject the CRC headers botocore sends by default since then; integrity of
    uploads is checked instead with ``Content-MD5``, which S3 and the usual S3-compatible stores verify.
    """

    def __init__(self, endpoint_url: str | None, bucket: str, access_key: str, secret_key: str,
                 region: str = "us-east-1", prefix: str = "", *, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, max_attempts: int = 3) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": max_attempts},  # attempts, not retries
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A session of its own (boto3's default one is shared); the credentials given here take precedence over
        # AWS_* variables and ~/.aws profiles.
        self._client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, config=config,
        )

    def object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        name = self.object_key(key)
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        await anyio.to_thread.run_sync(lambda: self._client.put_object(
            Bucket=self.bucket, Key=name, Body=data, ContentType=content_type, ContentMD5=md5))

    async def get(self, key: str) -> bytes:
        name = self.object_key(key)

        def read() -> bytes:
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=name)
            except ClientError as exc:
                if _is_not_found(exc):
                    raise FileMissing(key) from None
                raise
            with response["Body"] as body:
                return bytes(body.read())

        return await anyio.to_thread.run_sync(read)

    async def delete(self, key: str) -> None:
        name = self.object_key(key)
        await anyio.to_thread.run_sync(lambda: self._client.delete_object(Bucket=self.bucket, Key=name))

    async def exists(self, key: str) -> bool:
        name = self.object_key(key)

        def head() -> bool:
            try:
                self._client.head_object(Bucket=self.bucket, Key=name)
            except ClientError as exc:
                if _is_not_found(exc):
                    return False
                raise
            return True

        return await anyio.to_thread.run_sync(head)

    def close(self) -> None:
        """Closes the client's connection pool (at shutdown)."""
        self._client.close()


def _is_not_found(exc: ClientError) -> bool:
    """No such key. Not any 404: a missing bucket (``NoSuchBucket``) is a configuration error and is raised.
    A HEAD answer has no body, so there a missing bucket is indistinguishable from a missing key (``404``)."""
    return exc.response.get("Error", {}).get("Code") in _NOT_FOUND


def file_store(settings: FileSettings, data_dir: Path) -> FileStore:
    """The store ``FILES_BACKEND`` names: ``local`` (``DATA_DIR/files``, the default) or ``s3``."""
    if settings.backend == "local":
        return LocalFileStore(data_dir / "files")
    if settings.backend == "s3":
        required = {"S3_ENDPOINT_URL": settings.s3_endpoint_url, "S3_BUCKET": settings.s3_bucket,
                    "S3_ACCESS_KEY_ID": settings.s3_access_key_id,
                    "S3_SECRET_ACCESS_KEY": settings.s3_secret_access_key}
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ValueError(f"FILES_BACKEND=s3 needs {', '.join(missing)}")
        return S3FileStore(settings.s3_endpoint_url, settings.s3_bucket, settings.s3_access_key_id,
                           settings.s3_secret_access_key, region=settings.s3_region, prefix=settings.s3_prefix)
    raise ValueError(f"FILES_BACKEND must be 'local' or 's3', not {settings.backend!r}")
