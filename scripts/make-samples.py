#!/usr/bin/env python3
"""make-samples.py: regenerate samples/sample.pdf and samples/sample.png.

Both are written byte for byte by this script (no library but the standard
one), so that the output is the same on every machine:

- sample.pdf: a one-page PDF 1.4 whose page reads "Diplome - sample", with
  a cross-reference table whose offsets are computed, not guessed;
- sample.png: a 64x40 RGB picture (colour bands under a diagonal gradient).

samples/sample.jpg is not made here: it was made once with ImageMagick
(see samples/README.md) and is kept as it is.

    python3 scripts/make-samples.py [OUTDIR]    (default: samples/)
"""

import os
import struct
import sys
import zlib


def make_pdf():
    text = b"Diplome - sample"
    content = (b"BT\n/F1 24 Tf\n72 720 Td\n(" + text + b") Tj\nET\n"
               b"BT\n/F1 11 Tf\n72 690 Td\n"
               b"(A sample document for the coffre demo and tests.) Tj\nET\n")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]\n"
        b"   /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content +
        b"endstream",
        b"<< /Title (Diplome - sample) /Producer (coffre make-samples.py) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    # Each entry is exactly 20 bytes: 10 digits, space, 5 digits, space,
    # type, and a two-byte end of line.
    out += b"0000000000 65535 f\r\n"
    for off in offsets:
        out += b"%010d 00000 n\r\n" % off
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return bytes(out)


def png_chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def make_png(width=64, height=40):
    bands = [(0x1F, 0x4E, 0x79), (0xF2, 0xF2, 0xF2), (0xC0, 0x39, 0x2B)]
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            r, g, b = bands[x * len(bands) // width]
            shade = (x + y) * 48 // (width + height)
            rows += bytes((max(r - shade, 0), max(g - shade, 0),
                           max(b - shade, 0)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(bytes(rows), 9)) +
            png_chunk(b"IEND", b""))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "samples")
    os.makedirs(outdir, exist_ok=True)
    for name, data in (("sample.pdf", make_pdf()),
                       ("sample.png", make_png())):
        path = os.path.join(outdir, name)
        with open(path, "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (os.path.normpath(path), len(data)))


if __name__ == "__main__":
    main()
