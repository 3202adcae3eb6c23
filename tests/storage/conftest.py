"""A real S3-compatible server for the storage tests: moto's server as a separate process on a loopback port.

moto only checks request signatures in its "IAM authentication" mode, so the fixture first creates, while that
mode is off, an IAM user with an access key and a policy allowing ``s3:*``, and the bucket; then it switches
the mode on (``POST /moto-api/reset-auth`` with ``0``). From then on every request must be signed with that
user's key, as on MinIO or Ceph. The server's output goes to a log file, shown when it fails to start.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3.session
import httpx
import pytest
from botocore.config import Config

from tests.support.servers import free_port, stop_process

BUCKET = "portal-files"
REGION = "us-east-1"


@dataclass(frozen=True)
class MotoS3:
    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str
    log: Path

    def client(self, secret_key: str | None = None) -> Any:
        """A plain boto3 client with the test user's key, for looking behind the store's back."""
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region, aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "total_max_attempts": 1}))

    def set_authentication(self, on: bool) -> None:
        """moto's IAM authentication mode, for the whole server: ``0`` unauthenticated requests allowed, or any."""
        httpx.post(f"{self.endpoint_url}/moto-api/reset-auth", content=b"0" if on else b"inf",
                   timeout=5.0).raise_for_status()

    @contextlib.contextmanager
    def authentication_off(self) -> Iterator[None]:
        self.set_authentication(False)
        try:
            yield
        finally:
            self.set_authentication(True)


def _wait_until_answering(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            if httpx.get(f"{url}/moto-api/", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"moto server did not answer in {timeout}s:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    base = tmp_path_factory.mktemp("moto")
    log = base / "moto-server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=base)
    try:
        _wait_until_answering(proc, url, log)
        # Authentication is still off: any key will do for setting up.
        setup = {"endpoint_url": url, "region_name": REGION, "aws_access_key_id": "setup",
                 "aws_secret_access_key": "setup"}
        iam = boto3.session.Session().client("iam", **setup)
        iam.create_user(UserName="portal")
        key = iam.create_access_key(UserName="portal")["AccessKey"]
        iam.put_user_policy(UserName="portal", PolicyName="portal-files", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }))
        server = MotoS3(endpoint_url=url, bucket=BUCKET, access_key=key["AccessKeyId"],
                        secret_key=key["SecretAccessKey"], region=REGION, log=log)
        server.client().create_bucket(Bucket=BUCKET)
        server.set_authentication(True)
        yield server
    finally:
        stop_process(proc)
