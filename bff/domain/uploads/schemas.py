from __future__ import annotations

from typing import Literal

import msgspec

Material = Literal["unit_letter", "review_letter"]
MATERIAL_NAMES: dict[str, str] = {"unit_letter": "单位介绍信", "review_letter": "政审函"}


class DocumentCreate(msgspec.Struct, forbid_unknown_fields=True):
    material: Material


class FileRead(msgspec.Struct):
    id: str
    name: str
    kind: Literal["pdf", "image"]
    content_type: str
    size: int
    pages: int
    download_url: str


class DocumentRead(msgspec.Struct):
    id: str
    material: str
    material_name: str
    state: Literal["draft", "attached"]
    files: list[FileRead]
    pages: int
    size: int
