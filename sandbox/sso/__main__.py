"""``python -m sandbox.sso``: serve the sandbox SSO provider (settings from ``SANDBOX_*`` env vars)."""

from sandbox.serve import run
from sandbox.sso.app import create_app
from sandbox.sso.settings import SsoSettings


def main() -> None:
    settings = SsoSettings.from_env()
    run(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
