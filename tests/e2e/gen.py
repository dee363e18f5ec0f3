#!/usr/bin/env python3
"""gen.py: test inputs and byte surgery for the end-to-end scenarios.

Python 3 standard library only, so that the tests need no image tools.

  gen.py png OUT [--text T] [--size N]   valid 1x1 PNG; T in a tEXt chunk;
                                         padded (tEXt) to exactly N bytes
  gen.py pdf OUT [--text T]              one-page PDF whose page shows T
  gen.py tiff OUT                        valid 1x1 baseline TIFF
  gen.py webp OUT                        valid 1x1 lossless WebP
  gen.py heic OUT                        an ISOBMFF file branded heic (ftyp
                                         box and empty meta box only)
  gen.py zip OUT                         a zip holding one text file
  gen.py pdfzip OUT                      a PDF with a zip appended (polyglot)
  gen.py stream N SEED [--head FILE]     N bytes to stdout: FILE's bytes,
                                         then pseudo-random bytes from SEED
  gen.py flip FILE OFFSET [MASK]         XOR one byte in place (default 0xff)
  gen.py swap FILE A B LEN               swap two byte ranges in place
  gen.py copy FILE SRC DST LEN           copy a byte range over another
  gen.py findbytes DIR SRC [LEN]         look for LEN (default 48) bytes taken
                                         at 1/4, 1/2 and 3/4 of SRC in every
                                         file under DIR; print the files that
                                         hold any; exit 1 if some do
  gen.py nonzero FILE CAP [FROM]         up to CAP offsets (evenly spread) of
                                         the non-zero bytes of FILE at or
                                         after FROM
  gen.py json FILE EXPR                  parse FILE as JSON into d, print
                                         EXPR (exit 1 if it does not parse)
"""
import base64
import io
import json
import random
import struct
import sys
import zipfile
import zlib


def png_chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(text=None, size=None):
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    iend = png_chunk(b"IEND", b"")
    texts = b""
    if text is not None:
        texts += png_chunk(b"tEXt", b"Comment\x00" + text.encode())
    base = len(sig) + len(ihdr) + len(texts) + len(idat) + len(iend)
    if size is not None:
        pad = size - base
        if pad < 12 + 4:
            raise SystemExit("gen.py: size %d too small for a PNG" % size)
        texts += png_chunk(b"tEXt", b"pad\x00" + b"x" * (pad - 12 - 4))
    return sig + ihdr + texts + idat + iend


def pdf(text="hello"):
    content = ("BT /F1 12 Tf 10 100 Td (%s) Tj ET\n" % text).encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(out.tell())
        out.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for o in offs:
        out.write(b"%010d 00000 n \n" % o)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objs) + 1, xref))
    return out.getvalue()


def tiff():
    # Little-endian baseline TIFF, 1x1, 8-bit grey, uncompressed.
    entries = []
    n = 12
    ifd_off = 8
    data_off = ifd_off + 2 + n * 12 + 4
    xres_off = data_off
    yres_off = data_off + 8
    pix_off = data_off + 16
    SHORT, LONG, RATIONAL = 3, 4, 5

    def e(tag, typ, count, val):
        if typ == SHORT:
            v = struct.pack("<HH", val, 0)
        else:
            v = struct.pack("<I", val)
        entries.append(struct.pack("<HHI", tag, typ, count) + v)

    e(256, SHORT, 1, 1)            # ImageWidth
    e(257, SHORT, 1, 1)            # ImageLength
    e(258, SHORT, 1, 8)            # BitsPerSample
    e(259, SHORT, 1, 1)            # Compression: none
    e(262, SHORT, 1, 1)            # Photometric: BlackIsZero
    e(273, LONG, 1, pix_off)       # StripOffsets
    e(277, SHORT, 1, 1)            # SamplesPerPixel
    e(278, SHORT, 1, 1)            # RowsPerStrip
    e(279, LONG, 1, 1)             # StripByteCounts
    e(282, RATIONAL, 1, xres_off)  # XResolution
    e(283, RATIONAL, 1, yres_off)  # YResolution
    e(296, SHORT, 1, 2)            # ResolutionUnit: inch
    assert len(entries) == n
    out = b"II*\x00" + struct.pack("<I", ifd_off)
    out += struct.pack("<H", n) + b"".join(entries) + struct.pack("<I", 0)
    out += struct.pack("<II", 72, 1) + struct.pack("<II", 72, 1)
    out += b"\x80"
    return out


def webp():
    # The well-known 1x1 lossless WebP.
    return base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


def box(kind, payload):
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def heic():
    ftyp = box(b"ftyp", b"heic" + struct.pack(">I", 0) + b"mif1heic")
    hdlr = box(b"hdlr", b"\x00" * 4 + b"\x00" * 4 + b"pict" + b"\x00" * 12
               + b"\x00")
    meta = box(b"meta", b"\x00" * 4 + hdlr)
    return ftyp + meta


def zipbytes():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("hello.txt", "hello, world\n" * 20)
    return b.getvalue()


def stream(n, seed, head):
    out = sys.stdout.buffer
    left = n
    if head:
        with open(head, "rb") as f:
            h = f.read()[:n]
        out.write(h)
        left -= len(h)
    r = random.Random(seed)
    while left > 0:
        k = min(left, 1 << 20)
        out.write(r.randbytes(k))
        left -= k
    out.flush()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def opt(args, name, default=None):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return default


def main():
    a = sys.argv[1:]
    if not a:
        raise SystemExit(__doc__)
    cmd = a.pop(0)
    if cmd == "png":
        text = opt(a, "--text")
        size = opt(a, "--size")
        write(a[0], png(text, int(size) if size else None))
    elif cmd == "pdf":
        write(a[0], pdf(opt(a, "--text", "hello")))
    elif cmd == "tiff":
        write(a[0], tiff())
    elif cmd == "webp":
        write(a[0], webp())
    elif cmd == "heic":
        write(a[0], heic())
    elif cmd == "zip":
        write(a[0], zipbytes())
    elif cmd == "pdfzip":
        write(a[0], pdf("polyglot") + zipbytes())
    elif cmd == "stream":
        head = opt(a, "--head")
        stream(int(a[0]), a[1], head)
    elif cmd == "flip":
        path, off = a[0], int(a[1])
        mask = int(a[2], 0) if len(a) > 2 else 0xFF
        with open(path, "r+b") as f:
            f.seek(off)
            b = f.read(1)
            if len(b) != 1:
                raise SystemExit("gen.py: offset %d past the end" % off)
            f.seek(off)
            f.write(bytes([b[0] ^ mask]))
    elif cmd == "swap":
        path, x, y, n = a[0], int(a[1]), int(a[2]), int(a[3])
        with open(path, "r+b") as f:
            f.seek(x)
            bx = f.read(n)
            f.seek(y)
            by = f.read(n)
            if len(bx) != n or len(by) != n:
                raise SystemExit("gen.py: range past the end")
            f.seek(x)
            f.write(by)
            f.seek(y)
            f.write(bx)
    elif cmd == "copy":
        path, src, dst, n = a[0], int(a[1]), int(a[2]), int(a[3])
        with open(path, "r+b") as f:
            f.seek(src)
            b = f.read(n)
            if len(b) != n:
                raise SystemExit("gen.py: range past the end")
            f.seek(dst)
            f.write(b)
    elif cmd == "findbytes":
        import os
        top, src = a[0], a[1]
        n = int(a[2]) if len(a) > 2 else 48
        with open(src, "rb") as f:
            d = f.read()
        needles = [d[k * len(d) // 4:k * len(d) // 4 + n] for k in (1, 2, 3)]
        needles = [x for x in needles if len(x) == n]
        hits = []
        for root, _dirs, files in os.walk(top):
            for name in files:
                p = os.path.join(root, name)
                try:
                    with open(p, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if any(x in data for x in needles):
                    hits.append(p)
        for h in hits:
            print(h)
        sys.exit(1 if hits else 0)
    elif cmd == "nonzero":
        path, cap = a[0], int(a[1])
        start = int(a[2]) if len(a) > 2 else 0
        with open(path, "rb") as f:
            d = f.read()
        offs = [i for i in range(start, len(d)) if d[i] != 0]
        if len(offs) > cap:
            offs = [offs[k * len(offs) // cap] for k in range(cap)]
        print(" ".join(str(x) for x in offs))
    elif cmd == "json":
        try:
            with open(a[0], "rb") as f:
                d = json.load(f)
        except (ValueError, OSError) as e:
            print("not JSON: %s" % e, file=sys.stderr)
            sys.exit(1)
        try:
            v = eval(a[1], {"d": d})
        except Exception as e:  # noqa: BLE001 - a test expression
            print("expression failed: %r" % e, file=sys.stderr)
            sys.exit(1)
        if isinstance(v, bool):
            print("true" if v else "false")
            sys.exit(0 if v else 1)
        if isinstance(v, (dict, list)):
            print(json.dumps(v))
        else:
            print(v)
    else:
        raise SystemExit("gen.py: unknown command %s" % cmd)


if __name__ == "__main__":
    main()
