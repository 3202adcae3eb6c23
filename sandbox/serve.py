"""Run a sandbox app with uvicorn, keeping query strings (they may carry personal data) out of logs."""

from __future__ import annotations

import copy
import logging
from typing import Any

import uvicorn
from litestar import Litestar


class DropQueryString(logging.Filter):
    """Logs ``GET /path`` instead of ``GET /path?…`` in uvicorn's access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            items = list(args)
            items[2] = str(items[2]).split("?", 1)[0]
            record.args = tuple(items)
        return True


def log_config() -> dict[str, Any]:
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["drop_query"] = {"()": DropQueryString}
    config["handlers"]["access"]["filters"] = ["drop_query"]
    return config


def run(app: Litestar, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_config=log_config(), proxy_headers=False)
