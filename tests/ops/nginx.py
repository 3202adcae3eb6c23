"""Real nginx (Debian's package) in front of BFF instances, run from ``deploy/nginx/portal.conf`` itself.

Only what names a machine is replaced (the upstream servers, the listening ports, the server name, the certificate,
the PWA's root and the log directory); every other line is the deployed file's. nginx runs in the foreground with
its own prefix, pid and temporary directories, so it needs no root and leaves nothing behind."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.servers import free_port, wait_for_port
from tests.support.stack import REPO

SITE = REPO / "deploy" / "nginx" / "portal.conf"
HOST = "localhost"  # a name, not an address: clients send it as SNI, which the default server requires


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise RuntimeError("nginx not found: apt-get install nginx (scripts/system-deps.sh)")
    return found


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and 127.0.0.1, and its key; the certificate is also the client's CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"deploy/nginx/portal.conf no longer has {old!r}: update tests/ops/nginx.py with it"
    return text.replace(old, new)


def render_site(upstreams: list[str], port: int, http_port: int, cert: Path, key: Path, logs: Path) -> str:
    """The deployed site file with this machine's names in it."""
    text = SITE.read_text(encoding="utf-8")
    for n, address in enumerate(upstreams, start=1):
        text = _replace(text, f"server 127.0.0.1:800{n} ", f"server {address} ")
    # IPv6 listeners are dropped: a CI machine may have no IPv6 loopback
    text = "\n".join(line for line in text.splitlines() if "listen [::]:" not in line) + "\n"
    text = _replace(text, "listen 443 ", f"listen 127.0.0.1:{port} ")
    text = _replace(text, "listen 80", f"listen 127.0.0.1:{http_port}")
    text = _replace(text, "server_name portal.example.cn;", f"server_name {HOST};")
    text = _replace(text, "/etc/ssl/portal/fullchain.pem", str(cert))
    text = _replace(text, "/etc/ssl/portal/privkey.pem", str(key))
    text = _replace(text, "/srv/portal/current/web/dist", str(REPO / "web" / "dist"))
    return _replace(text, "/var/log/portal/", f"{logs}/")


class Nginx:
    """nginx on a loopback port (https, ``port`` or a free one), started in front of ``upstreams`` (``host:port``)."""

    def __init__(self, port: int | None = None) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="nginx-"))
        os.chmod(self.base, 0o755)
        self.port = port or free_port()
        self.http_port = free_port()
        self.cert, self.key = self_signed(self.base)
        (self.base / "logs").mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def _command(self, *extra: str) -> list[str]:
        return [nginx_binary(), "-p", str(self.base), "-c", str(self.base / "nginx.conf"),
                "-e", str(self.base / "error.log"), *extra]

    def start(self, upstreams: list[str]) -> Nginx:
        site = render_site(upstreams, self.port, self.http_port, self.cert, self.key, self.base / "logs")
        (self.base / "portal.conf").write_text(site, encoding="utf-8")
        temp = "\n".join(f"    {kind}_temp_path {self.base / kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        # As root the workers would switch to nobody, who cannot write the temporary directories: keep them as root.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        (self.base / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.base / 'nginx.pid'};\nerror_log {self.base / 'error.log'} notice;\n"
            f"events {{ worker_connections 512; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    sendfile on;\n{temp}\n    include {self.base / 'portal.conf'};\n}}\n",
            encoding="utf-8")
        checked = subprocess.run(self._command("-t"), capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.proc = subprocess.Popen(self._command("-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=20)
        return self

    def access_log(self) -> str:
        path = self.base / "logs" / "nginx-access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def error_log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.base / "error.log",
                                                                self.base / "logs" / "nginx-error.log")
                       if p.exists())

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)
