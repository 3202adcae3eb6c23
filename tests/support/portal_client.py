"""A person's browser, as far as the API tests need one: follows the real OIDC redirects and keeps cookies.

httpx (like http.cookiejar) will not send ``Secure`` cookies over plain http, while browsers do for
127.0.0.1; so cookies are kept here by name."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx


class Browser:
    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.http = httpx.Client(timeout=20, follow_redirects=False)

    def _remember(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            pair = header.split(";", 1)[0]
            name, _, value = pair.partition("=")
            attrs = header.lower()
            if value == "" or "max-age=0" in attrs:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, url, headers=headers, **kwargs)
        self._remember(response)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def follow(self, response: httpx.Response, limit: int = 10, until_path: str | None = None) -> httpx.Response:
        base = response.url
        while response.is_redirect and limit and response.url.path != until_path:
            target = httpx.URL(str(base)).join(response.headers["location"])
            response = self.get(str(target))
            base = response.url
            limit -= 1
        return response

    def sign_in(self, portal: str, login_hint: str, role: str = "person") -> httpx.Response:
        """Through the provider and back; returns the portal's answer at /auth/callback."""
        start = self.get(f"{portal}/auth/login", params={"role": role, "login_hint": login_hint, "next": "/"})
        return self.follow(start, until_path="/auth/callback")

    def session_cookie(self) -> str | None:
        return self.cookies.get("__Host-portal_session")


def same_origin(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {"Origin": f"{parts.scheme}://{parts.netloc}"}
