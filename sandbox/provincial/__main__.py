"""``python -m sandbox.provincial``: serve the sandbox provincial system (settings from ``SANDBOX_*``)."""

from sandbox.provincial.app import create_app
from sandbox.provincial.settings import ProvincialSettings
from sandbox.serve import run


def main() -> None:
    settings = ProvincialSettings.from_env()
    run(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
