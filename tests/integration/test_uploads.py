"""Uploads over real HTTP: hostile files are refused or neutralised with a Chinese message (never a 500), limits
hold on the server, files are private to their uploader, downloads are attachments, and drafts are purged."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image
from pypdf import PdfReader

from bff.db.engine import create_engine, session_factory
from bff.domain.uploads.services import purge_stale
from bff.lib.clock import utcnow
from bff.lib.files import LocalFileStore
from bff.settings import DatabaseSettings
from tests.support.flows import hr, new_document, put_file, signed_in
from tests.support.portal_client import same_origin
from tests.support.stack import Stack
from tests.uploads import corpus

REFUSED = {
    "an executable renamed .pdf": (corpus.exe_renamed_pdf, "evil.pdf", 422, "只能上传"),
    "HTML renamed .png": (corpus.html_page, "photo.png", 422, "只能上传"),
    "an SVG": (corpus.svg_with_script, "seal.svg", 422, "只能上传"),
    "a ZIP": (corpus.zip_archive, "letters.zip", 422, "只能上传"),
    "a truncated PDF": (corpus.truncated_pdf, "letter.pdf", 422, "损坏"),
    "a PNG declaring 50000×50000 pixels": (corpus.png_bomb, "scan.png", 422, "尺寸过大"),
    "a file one byte over the limit": (corpus.oversized_file, "big.pdf", 413, "10MB"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_hostile_files_are_refused_in_chinese(stack: Stack, case: str) -> None:
    make, name, status, words = REFUSED[case]
    browser = signed_in(stack, "zhangwei")
    document_id = new_document(stack, browser)
    r = put_file(stack, browser, document_id, make(), name=name)
    assert r.status_code == status, r.text
    assert words in r.json()["message"]
    assert browser.get(f"{stack.portal}/api/documents/{document_id}").json()["files"] == []


def test_a_pdf_with_javascript_is_shown_sanitised_and_kept_whole(stack: Stack) -> None:
    browser = signed_in(stack, "zhangwei")
    document_id = new_document(stack, browser)
    original = corpus.pdf_with_actions()
    r = put_file(stack, browser, document_id, original, name="带脚本.pdf")
    assert r.status_code == 201, r.text
    shown = browser.get(f"{stack.portal}{r.json()['files'][0]['download_url']}")
    assert shown.status_code == 200
    assert shown.headers["content-disposition"].startswith("attachment")
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in shown.headers["cache-control"]
    assert shown.content != original
    reader = PdfReader(io.BytesIO(shown.content))
    assert "/OpenAction" not in reader.trailer["/Root"] and "/Names" not in reader.trailer["/Root"]
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            assert "/A" not in annot and "/AA" not in annot and annot.get("/Subtype") != "/FileAttachment"


def test_a_polyglot_is_neutralised(stack: Stack) -> None:
    browser = signed_in(stack, "zhangwei")
    document_id = new_document(stack, browser)
    r = put_file(stack, browser, document_id, corpus.pdf_html_polyglot(), name="x.html")
    assert r.status_code == 201, r.text
    file = r.json()["files"][0]
    assert file["name"].endswith(".pdf") and file["content_type"] == "application/pdf"
    shown = browser.get(f"{stack.portal}{file['download_url']}")
    assert b"<script" not in shown.content.lower()


def test_photos_lose_gps_and_stand_upright(stack: Stack) -> None:
    browser = signed_in(stack, "zhangwei")
    document_id = new_document(stack, browser)
    r = put_file(stack, browser, document_id, corpus.jpeg_with_gps(200, 100), name="IMG_0001.JPG")
    assert r.status_code == 201, r.text
    shown = browser.get(f"{stack.portal}{r.json()['files'][0]['download_url']}")
    image = Image.open(io.BytesIO(shown.content))
    assert image.size == (100, 200)
    assert not image.getexif()
    assert b"GPS" not in shown.content and b"Exif" not in shown.content


def test_file_names_are_cleaned(stack: Stack) -> None:
    browser = signed_in(stack, "zhangwei")
    document_id = new_document(stack, browser)
    r = put_file(stack, browser, document_id, corpus.plain_pdf(), name="../../etc/\x00pass\r\nwd\u202e.pdf")
    assert r.status_code == 201, r.text
    name = r.json()["files"][0]["name"]
    assert not any(bad in name for bad in ("/", "\\", "..", "\x00", "\r", "\n", "\u202e")) and name.endswith(".pdf")
    shown = browser.get(f"{stack.portal}{r.json()['files'][0]['download_url']}")
    assert unquote(shown.headers["content-disposition"].split("''", 1)[1]) == name


def test_several_photos_make_one_document_and_a_pdf_stands_alone(stack: Stack) -> None:
    browser = signed_in(stack, "zhangwei")
    document_id = new_document(stack, browser)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for i, file_id in enumerate(ids):
        r = put_file(stack, browser, document_id, corpus.jpeg(300 + i, 400), name=f"p{i}.jpg", file_id=file_id)
        assert r.status_code == 201, r.text
    again = put_file(stack, browser, document_id, corpus.jpeg(300, 400), name="p0.jpg", file_id=ids[0])
    assert again.status_code == 200 and again.json()["pages"] == 3  # a retried upload lands once
    other = put_file(stack, browser, document_id, corpus.jpeg(10, 10), file_id=ids[0])
    assert other.status_code == 422
    pdf = put_file(stack, browser, document_id, corpus.plain_pdf())
    assert pdf.status_code == 422 and "PDF" in pdf.json()["message"]
    removed = browser.request("DELETE", f"{stack.portal}/api/documents/{document_id}/files/{ids[1]}",
                              headers=same_origin(stack.portal))
    assert removed.status_code == 200 and [f["id"] for f in removed.json()["files"]] == [ids[0], ids[2]]


def test_documents_are_private_to_their_uploader(stack: Stack) -> None:
    owner = signed_in(stack, "zhangwei")
    document_id = new_document(stack, owner)
    r = put_file(stack, owner, document_id, corpus.plain_pdf())
    download = f"{stack.portal}{r.json()['files'][0]['download_url']}"
    for stranger in (signed_in(stack, "wangfang"), hr(stack)):
        assert stranger.get(f"{stack.portal}/api/documents/{document_id}").status_code == 404
        assert stranger.get(download).status_code == 404
        assert put_file(stack, stranger, document_id, corpus.plain_pdf()).status_code == 404
        gone = stranger.request("DELETE", f"{stack.portal}/api/documents/{document_id}",
                                headers=same_origin(stack.portal))
        assert gone.status_code == 404
    anonymous = owner.http.get(download)
    assert anonymous.status_code == 401
    assert owner.get(download).status_code == 200


def test_stale_drafts_are_purged_after_a_day(stack: Stack) -> None:
    browser = signed_in(stack, "zhaolei")
    document_id = new_document(stack, browser)
    r = put_file(stack, browser, document_id, corpus.jpeg())
    assert r.status_code == 201
    url = stack.database_url or f"sqlite+aiosqlite:///{stack.base / 'bff' / 'portal.db'}"
    files_root = stack.base / "bff" / "files"
    stored = [p for p in Path(files_root / "uploads").rglob("*") if p.is_file()]
    assert stored

    async def purge(hours: int) -> int:
        engine = create_engine(DatabaseSettings(url=url, echo=False))
        try:
            async with session_factory(engine)() as db:
                return await purge_stale(db, LocalFileStore(files_root), utcnow() + timedelta(hours=hours))
        finally:
            await engine.dispose()

    assert browser.get(f"{stack.portal}/api/documents/{document_id}").status_code == 200
    asyncio.run(purge(23))
    assert browser.get(f"{stack.portal}/api/documents/{document_id}").status_code == 200
    assert asyncio.run(purge(25)) >= 1
    assert browser.get(f"{stack.portal}/api/documents/{document_id}").status_code == 404


def test_a_document_holds_at_most_twenty_pages(stack: Stack) -> None:
    browser = signed_in(stack, "wangfang")
    document_id = new_document(stack, browser)
    small = corpus.jpeg(40, 60)
    for _ in range(20):
        assert put_file(stack, browser, document_id, small).status_code == 201
    r = put_file(stack, browser, document_id, small)
    assert r.status_code == 422 and "最多20页" in r.json()["message"]


def test_a_person_cannot_hoard_drafts(stack: Stack) -> None:
    """The per-person limit on files not yet submitted (60 MB), checked on the server."""
    browser = signed_in(stack, "zhaolei")
    big = corpus.large_pdf(9_500_000)
    answers = []
    for _ in range(7):
        answers.append(put_file(stack, browser, new_document(stack, browser), big))
    assert [a.status_code for a in answers[:6]] == [201] * 6
    assert answers[6].status_code == 422 and "60MB" in answers[6].json()["message"]
