"""First-load JavaScript per route, from vite's build manifest (web/dist/.vite/manifest.json, built by `make web`).

First load = what the browser must fetch before a route can show: the entry (index.html's module), everything it
imports statically, and the route's page chunk with its static imports (dynamic imports are left out: they load
on demand). Budgets, gzipped: 150 KB for every route of the PWA; the public verification page is server-rendered
and loads no script at all (its budget would be 100 KB). Also: no web font anywhere in the build (the phone's
own CJK font is used), and the administrative-divisions data (RegionPicker) on no route's first load.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.stack import REPO

DIST = REPO / "web" / "dist"
MANIFEST = DIST / ".vite" / "manifest.json"
PWA_BUDGET = 150 * 1024
VERIFY_BUDGET = 100 * 1024
FONT_FILE = re.compile(r"\.(woff2?|ttf|otf|eot)$", re.IGNORECASE)


@dataclass(frozen=True)
class FirstLoad:
    route: str
    files: tuple[str, ...]
    raw: int
    gzip: int


def manifest() -> dict[str, Any]:
    if not MANIFEST.exists():
        pytest.fail("web/dist/.vite/manifest.json is missing: run `make web` (vite build with build.manifest)")
    return dict(json.loads(MANIFEST.read_text()))


def static_closure(chunks: dict[str, Any], key: str, seen: set[str] | None = None) -> set[str]:
    """The chunk `key` and every chunk it imports statically, as manifest keys."""
    seen = set() if seen is None else seen
    if key in seen:
        return seen
    seen.add(key)
    for imported in chunks[key].get("imports", []):
        static_closure(chunks, imported, seen)
    return seen


def route_of(page: str) -> str:
    """src/pages/applications/[id].vue → /applications/:id (vue-router's file-based routes)."""
    path = page.removeprefix("src/pages/").removesuffix(".vue")
    parts = [p for p in path.split("/") if p != "index"]
    parts = [":" + p[4:-1] + "(.*)" if p.startswith("[...") else (":" + p[1:-1] if p.startswith("[") else p)
             for p in parts]
    return "/" + "/".join(parts)


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def first_loads() -> list[FirstLoad]:
    chunks = manifest()
    entry = static_closure(chunks, "index.html")
    loads = []
    for key in sorted(k for k in chunks if k.startswith("src/pages/")):
        keys = static_closure(chunks, key, set(entry))
        files = tuple(sorted({chunks[k]["file"] for k in keys if chunks[k]["file"].endswith(".js")}))
        data = [(DIST / f).read_bytes() for f in files]
        loads.append(FirstLoad(route_of(key), files, sum(len(d) for d in data), sum(gzipped(d) for d in data)))
    return loads


def test_every_route_is_within_its_first_load_budget() -> None:
    loads = first_loads()
    assert any(load.route == "/" for load in loads) and any(load.route == "/applications" for load in loads)
    over = [f"{load.route}: {load.gzip / 1024:.1f} KB gzipped > {PWA_BUDGET // 1024} KB ({', '.join(load.files)})"
            for load in loads if load.gzip > PWA_BUDGET]
    assert not over, "first-load JavaScript over budget:\n" + "\n".join(over)


def test_the_region_data_loads_only_when_asked_for() -> None:
    """RegionPicker carries the whole administrative-divisions table (~100 KB): a dynamic import only."""
    chunks = manifest()
    region = [k for k in chunks if "RegionPicker" in k]
    assert region, "RegionPicker is no longer a chunk of its own: check where the divisions table went"
    for load in first_loads():
        assert not any("RegionPicker" in f for f in load.files), f"{load.route} loads RegionPicker on first load"


def test_no_web_font_is_built_or_declared() -> None:
    """Chinese text uses the phone's system fonts: no font file in dist/ and no @font-face in any stylesheet."""
    fonts = [str(p.relative_to(DIST)) for p in DIST.rglob("*") if FONT_FILE.search(p.name)]
    assert not fonts, f"font files in the build: {fonts}"
    declared = [str(p.relative_to(DIST)) for p in DIST.rglob("*.css") if "@font-face" in p.read_text()]
    assert not declared, f"@font-face in {declared}"


def test_the_verification_pages_load_no_script() -> None:
    """The public pages are server-rendered and scriptless (0 KB of the 100 KB budget); their CSP says so too."""
    from bff.domain.verification.page import render_start_page

    html = render_start_page()
    assert "<script" not in html.lower()
    assert len(html.encode()) < VERIFY_BUDGET


def sizes_table() -> str:
    """The table for bench/RESULTS.md: ``python -m tests.web.test_bundle_budget``."""
    rows = ["| route | JS files | raw KB | gzip KB | brotli KB (as served) | budget KB (gzip) |",
            "|---|---:|---:|---:|---:|---:|"]
    for load in first_loads():
        brotli = sum((DIST / f"{f}.br").stat().st_size for f in load.files if (DIST / f"{f}.br").exists())
        rows.append(f"| `{load.route}` | {len(load.files)} | {load.raw / 1024:.1f} | {load.gzip / 1024:.1f} | "
                    f"{brotli / 1024:.1f} | {PWA_BUDGET // 1024} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(sizes_table())
