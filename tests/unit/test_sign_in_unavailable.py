from pathlib import Path

from litestar.testing import TestClient

from tests.support.inprocess import inprocess_app
from tests.support.servers import free_port


def test_sign_in_with_the_provider_unreachable_says_so_in_chinese(tmp_path: Path) -> None:
    app = inprocess_app(tmp_path, OIDC_ISSUER=f"http://127.0.0.1:{free_port()}")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        r = client.get("/auth/login", follow_redirects=False)
    assert r.status_code == 503
    assert "统一身份认证暂时无法访问" in r.text
