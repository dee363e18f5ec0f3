#!/usr/bin/env python3
"""bundle.py: bundles for the import/export scenarios (t95, t96, t97).

Python 3 standard library only.  Every bundle is built here, by the tests.

  bundle.py src DIR SAMPLES [--utf8] the documents of a good bundle, as files
                                     under DIR (sub-folders, two names that
                                     export the same, names an export must
                                     change: manifest.json, .x, ...;
                                     --utf8: two documents with non-ASCII
                                     names instead)
  bundle.py pack FMT OUT DIR         zip | tar | tar.gz of DIR's files, their
                                     names relative to DIR (zip: stored and
                                     deflated entries, folder entries too)
  bundle.py attack KIND OUT SAMPLES  one bundle of an attack (see ATTACKS)
  bundle.py bomb OUT MIB [--sized]   a zip whose one deflated entry bomb.pdf
                                     is a PDF header and MIB MiB of zeros,
                                     written as a stream (sizes in a data
                                     descriptor; --sized: in the headers)
  bundle.py tgzbomb OUT MIB          a tar.gz of one such entry
  bundle.py roundtrip EXPORT FMT DIR [--absent ID]... [--count N]
                                     check an export (- for stdin; DIR -
                                     for none) against the files of
                                     DIR: every manifest entry's "file" has
                                     the bytes of DIR/"name", its blake2b_256
                                     is right, its fields are all there, no
                                     other file; the ids given are absent;
                                     N documents (default: all of DIR's)
  bundle.py bigtar OUT N SIZE SAMPLE a tar of N PDFs big-I.pdf of SIZE bytes
                                     (SAMPLE then seeded random bytes),
                                     written as a stream
  bundle.py bigcheck EXPORT N SIZE SAMPLE I...
                                     the export (a tar) holds N documents;
                                     big-I.pdf, for each I, has the bytes
                                     bigtar wrote and the manifest's hash
  bundle.py before DIR NAME          the files pack puts before NAME
  bundle.py offset FMT BUNDLE NAME FRAC
                                     the offset in BUNDLE (zip or tar) of
                                     FRAC (0 to 1) of entry NAME's data
  bundle.py manifest EXPORT FMT      print the export's manifest.json
"""
import hashlib
import io
import json
import os
import random
import stat
import struct
import sys
import tarfile
import time
import zipfile
import zlib

FIELDS = ("id", "name", "file", "community", "kind", "type", "size",
          "status", "reviews", "sealed_at", "blake2b_256")


def gen_pdf(text):
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


def rnd(seed, n):
    return random.Random(seed).randbytes(n)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


# ---- a good bundle ----

def src(top, samples, utf8=False):
    pdf = read(os.path.join(samples, "sample.pdf"))
    if utf8:
        return write_all(top, {
            "fiche d'identit\u00e9 \u00e9t\u00e9.pdf": gen_pdf("t95 utf8"),
            "dossier \u00e9/re\u00e7u \u20ac.png":
                read(os.path.join(samples, "sample.png")),
        })
    return write_all(top, {
        "a.pdf": pdf,
        "b.png": read(os.path.join(samples, "sample.png")),
        "c.jpg": read(os.path.join(samples, "sample.jpg")),
        "docs/d.pdf": gen_pdf("t95 d"),
        "docs/deeper/e.pdf": gen_pdf("t95 e"),
        # Two names that export alike (x_y.pdf): the second gets its id.
        "x/y.pdf": gen_pdf("t95 xy1"),
        "x_y.pdf": gen_pdf("t95 xy2"),
        # A bigger one, many chunks of 64 KiB, incompressible.
        "big.pdf": pdf + rnd("t95-big", 700 * 1024 + 123),
        # Names an export must change: the manifest's own, a leading dot,
        # nothing but dots.
        "manifest.json": gen_pdf("t95 named manifest.json"),
        ".hidden.png": read(os.path.join(samples, "sample.png")),
        "...": read(os.path.join(samples, "sample.jpg")),
    })


def write_all(top, files):
    for name, data in files.items():
        p = os.path.join(top, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        write(p, data)


def walk(top):
    out = []
    for root, _dirs, names in os.walk(top):
        for n in names:
            p = os.path.join(root, n)
            out.append(os.path.relpath(p, top))
    return sorted(out)


def pack(fmt, out, top):
    names = walk(top)
    if fmt == "zip":
        with zipfile.ZipFile(out, "w") as z:
            dirs = sorted({os.path.dirname(n) for n in names} - {""})
            for d in dirs:
                z.writestr(d + "/", b"")
            for i, n in enumerate(names):
                z.write(os.path.join(top, n), n,
                        zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED)
    elif fmt in ("tar", "tar.gz"):
        with tarfile.open(out, "w:gz" if fmt == "tar.gz" else "w",
                          format=tarfile.PAX_FORMAT) as t:
            dirs = sorted({os.path.dirname(n) for n in names} - {""})
            for d in dirs:
                t.add(os.path.join(top, d), d, recursive=False)
            for n in names:
                t.add(os.path.join(top, n), n)
    else:
        raise SystemExit("bundle.py: format zip, tar or tar.gz")


# ---- attacks ----

def zbytes(entries, compression=zipfile.ZIP_STORED):
    """A zip of (ZipInfo or name, bytes) pairs."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression) as z:
        for name, data in entries:
            z.writestr(name, data)
    return b.getvalue()


def tbytes(entries, gz=False):
    """A tar of (TarInfo, bytes or None) pairs."""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz" if gz else "w",
                      format=tarfile.GNU_FORMAT) as t:
        for ti, data in entries:
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return b.getvalue()


def ti(name, kind=tarfile.REGTYPE, **kw):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.mode = 0o644
    t.mtime = 1700000000
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def set_encrypted(z, only=None):
    """Set bit 0 (encrypted) of the general-purpose flags of every entry
    (or of the one named ONLY), in the local and the central headers."""
    z = bytearray(z)
    eocd = z.rfind(b"PK\x05\x06")
    n, cdsize, cdoff = struct.unpack("<HII", z[eocd + 10:eocd + 20])
    p = cdoff
    for _ in range(n):
        assert z[p:p + 4] == b"PK\x01\x02"
        ln, le, lc = struct.unpack("<HHH", z[p + 28:p + 34])
        if only is None or bytes(z[p + 46:p + 46 + ln]) == only:
            flags = struct.unpack("<H", z[p + 8:p + 10])[0]
            struct.pack_into("<H", z, p + 8, flags | 1)
            lho = struct.unpack("<I", z[p + 42:p + 46])[0]
            assert z[lho:lho + 4] == b"PK\x03\x04"
            lflags = struct.unpack("<H", z[lho + 6:lho + 8])[0]
            struct.pack_into("<H", z, lho + 6, lflags | 1)
        p += 46 + ln + le + lc
    return bytes(z)


def attack(kind, samples):
    pdf = read(os.path.join(samples, "sample.pdf"))
    png = read(os.path.join(samples, "sample.png"))
    good = gen_pdf("t95 good " + kind)
    if kind == "traversal-zip":
        return zbytes([("ok.pdf", good), ("../up.pdf", pdf),
                       ("/etc/abs.pdf", pdf), ("a/../../b.pdf", pdf),
                       ("..\\back.pdf", pdf), ("C:/win.pdf", pdf),
                       ("sub/..", pdf)])
    if kind == "traversal-tar":
        return tbytes([(ti("ok.pdf"), good), (ti("../up.pdf"), pdf),
                       (ti("/etc/abs.pdf"), pdf), (ti("a/../../b.pdf"), pdf)])
    if kind == "links-tar":
        return tbytes([(ti("ok.pdf"), good),
                       (ti("sym.pdf", tarfile.SYMTYPE, linkname="/etc/passwd"),
                        None),
                       (ti("rel.pdf", tarfile.SYMTYPE, linkname="ok.pdf"),
                        None),
                       (ti("hard.pdf", tarfile.LNKTYPE, linkname="ok.pdf"),
                        None),
                       (ti("hard2.pdf", tarfile.LNKTYPE,
                           linkname="/etc/shadow"), None)])
    if kind == "symlink-zip":
        zi = zipfile.ZipInfo("link.pdf", (2024, 1, 1, 0, 0, 0))
        zi.create_system = 3
        zi.external_attr = (stat.S_IFLNK | 0o777) << 16
        return zbytes([("ok.pdf", good), (zi, b"/etc/passwd")])
    if kind == "devices-tar":
        return tbytes([(ti("ok.pdf"), good),
                       (ti("null", tarfile.CHRTYPE, devmajor=1, devminor=3),
                        None),
                       (ti("sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
                        None),
                       (ti("fifo", tarfile.FIFOTYPE), None)])
    if kind == "encrypted-zip":
        # A clear entry, then one flagged encrypted (stored: the bytes are
        # a plain PDF, only the flag says otherwise).
        return set_encrypted(zbytes([("ok.pdf", good), ("secret.pdf", pdf)]),
                             b"secret.pdf")
    if kind == "encrypted-only-zip":
        return set_encrypted(zbytes([("secret.pdf", pdf)]))
    if kind == "nested":
        inner_zip = zbytes([("inner.pdf", pdf)])
        inner_tgz = tbytes([(ti("inner.pdf"), pdf)], gz=True)
        inner_tar = tbytes([(ti("inner.pdf"), pdf)])
        return zbytes([("ok.pdf", good), ("inner.zip", inner_zip),
                       ("inner.tar.gz", inner_tgz), ("inner.tar", inner_tar),
                       ("disguised.pdf", inner_zip)],
                      zipfile.ZIP_DEFLATED)
    if kind == "nested-tar":
        return tbytes([(ti("ok.pdf"), good),
                       (ti("inner.zip"), zbytes([("inner.pdf", pdf)]))])
    if kind == "types":
        return zbytes([("ok.pdf", good), ("run.sh", b"#!/bin/sh\nrm -rf ~\n"),
                       ("page.html", b"<!DOCTYPE html>\n<html><head><title>x"
                        b"</title></head><body><script>alert(1)</script>"
                        b"</body></html>\n"),
                       ("image.svg", b'<?xml version="1.0"?>\n<svg xmlns='
                        b'"http://www.w3.org/2000/svg" width="1" height="1">'
                        b'<script>alert(1)</script></svg>\n'),
                       ("notes.txt", b"just some text\n" * 10),
                       ("ok.png", png)])
    if kind == "polyglot":
        return zbytes([("ok.pdf", good),
                       ("poly.pdf", gen_pdf("polyglot") +
                        zbytes([("hello.txt", b"hello, world\n" * 20)],
                               zipfile.ZIP_DEFLATED))])
    if kind == "entries":
        # 5 documents, for a cap of 3.
        return zbytes([("n%d.pdf" % i, gen_pdf("t95 n%d" % i))
                       for i in range(1, 6)])
    if kind == "sizes":
        # 4 PDFs of 1200 bytes: for a document limit of 2000 and a bundle
        # limit of 3000 (two fit, the third passes it).
        return zbytes([("s%d.pdf" % i, pdf + rnd("s%d" % i, 1200 - len(pdf)))
                       for i in range(1, 5)])
    if kind == "oversize-zip":
        # One entry over a document limit of 2000 (sizes in the headers),
        # between two that fit.
        return zbytes([("small1.pdf", good),
                       ("big.pdf", pdf + rnd("big", 5000)),
                       ("small2.pdf", gen_pdf("t95 small2"))])
    if kind == "oversize-stream":
        # The same with the sizes in data descriptors (unknown up front).
        return stream_zip([("small1.pdf", good),
                           ("big.pdf", pdf + rnd("big", 5000)),
                           ("small2.pdf", gen_pdf("t95 small2"))])
    if kind == "oversize-tar":
        return tbytes([(ti("small1.pdf"), good),
                       (ti("big.pdf"), pdf + rnd("big", 5000)),
                       (ti("small2.pdf"), gen_pdf("t95 small2"))])
    if kind == "empty-zip":
        return zbytes([])
    if kind == "empty-tar":
        return tbytes([])
    if kind == "folders-only":
        return zbytes([("a/", b""), ("a/b/", b"")])
    if kind == "not-a-bundle":
        return b"this is not a bundle, just some text\n" * 50
    if kind == "mixed":
        # Markers, to look for in the vault's files afterwards.
        return zbytes([("t95-first-4c1d.pdf", gen_pdf("t95-plain-4c1d one")),
                       ("../t95-evil-9e2b.pdf", pdf),
                       ("second.png", png),
                       ("t95-run-77aa.sh",
                        b"#!/bin/sh\necho t95-script-77aa\n"),
                       ("inner.zip", zbytes([("x.pdf", pdf)])),
                       ("third.pdf", gen_pdf("t95-plain-4c1d three"))],
                      zipfile.ZIP_DEFLATED)
    if kind == "symlink-pdf-zip":
        # A symbolic link whose target is the text of a PDF.
        zi = zipfile.ZipInfo("link2.pdf", (2024, 1, 1, 0, 0, 0))
        zi.create_system = 3
        zi.external_attr = (stat.S_IFLNK | 0o777) << 16
        return zbytes([("ok.pdf", good), (zi, gen_pdf("link target"))])
    if kind == "ratio20":
        # No bomb: a 1.5 MB PDF of drawing operators that deflates about
        # 21:1 to 70 KB (a ratio well under the cap of 100), after a small
        # PDF.
        r = random.Random("t95-ratio20")
        line = b"0 0 0 rg 10 10 m 20 20 l S % the same operators again\n"
        out = bytearray(gen_pdf("t95 ratio 20"))
        while len(out) < 1500000:
            out += line
            if r.random() < 0.35:
                out += b"%d\n" % r.randrange(10 ** 9)
        return zbytes([("first.pdf", good), ("text.pdf", bytes(out))],
                      zipfile.ZIP_DEFLATED)
    if kind == "onepdf":
        return zbytes([("sample.pdf", pdf)])
    raise SystemExit("bundle.py: unknown attack " + kind)


class Sink(io.RawIOBase):
    """A write-only stream that cannot seek: zipfile then writes data
    descriptors, as a streaming zipper does."""

    def __init__(self, f):
        self.f = f

    def writable(self):
        return True

    def seekable(self):
        return False

    def write(self, b):
        self.f.write(b)
        return len(b)

    def flush(self):
        self.f.flush()


def stream_zip(entries):
    b = io.BytesIO()
    with zipfile.ZipFile(Sink(b), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            with z.open(name, "w") as w:
                w.write(data)
    return b.getvalue()


def bomb(out, mib, sized):
    zeros = bytes(1 << 20)
    with open(out, "wb") as f:
        target = f if sized else Sink(f)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED,
                             compresslevel=9) as z:
            z.writestr("before.pdf", gen_pdf("t95 before the bomb"))
            with z.open("bomb.pdf", "w", force_zip64=mib >= 4096) as w:
                w.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
                for _ in range(mib):
                    w.write(zeros)
            z.writestr("after.pdf", gen_pdf("t95 after the bomb"))


def tgzbomb(out, mib):
    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n
            self.head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"

        def readable(self):
            return True

        def readinto(self, b):
            if self.head:
                n = min(len(b), len(self.head))
                b[:n] = self.head[:n]
                self.head = self.head[n:]
                self.left -= n
                return n
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    size = mib << 20
    with tarfile.open(out, "w:gz", compresslevel=9) as t:
        t.addfile(ti("before.pdf", size=len(gen_pdf("b"))),
                  io.BytesIO(gen_pdf("b")))
        t.addfile(ti("bomb.pdf", size=size), io.BufferedReader(Zeros(size)))


# ---- where an entry is, in a bundle of pack ----

def before(top, name):
    """The files pack puts before NAME."""
    names = walk(top)
    return names[:names.index(name)]


def offset(fmt, path, name, frac):
    """The offset in the file of FRAC (0 to 1) of entry NAME's data."""
    if fmt == "zip":
        with zipfile.ZipFile(path) as z:
            i = z.getinfo(name)
            with open(path, "rb") as f:
                f.seek(i.header_offset)
                h = f.read(30)
            n, e = struct.unpack("<HH", h[26:30])
            return i.header_offset + 30 + n + e + int(i.compress_size * frac)
    with tarfile.open(path, "r:") as t:
        m = t.getmember(name)
        return m.offset_data + int(m.size * frac)


# ---- exports ----

def members(path, fmt):
    """(name, kind, data) of every entry of an export ("-": stdin)."""
    out = []
    if path == "-":
        path = io.BytesIO(sys.stdin.buffer.read())
    if fmt == "zip":
        with zipfile.ZipFile(path) as z:
            for i in z.infolist():
                out.append((i.filename, "dir" if i.is_dir() else "file",
                            z.read(i)))
    else:
        with (tarfile.open(fileobj=path, mode="r:*")
              if isinstance(path, io.BytesIO)
              else tarfile.open(path, "r:*")) as t:
            for m in t.getmembers():
                kind = "file" if m.isfile() else "dir" if m.isdir() else "other"
                data = t.extractfile(m).read() if m.isfile() else b""
                out.append((m.name, kind, data))
    return out


def roundtrip(path, fmt, top, absent, count):
    errs = []
    try:
        ms = members(path, fmt)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        print("the export does not read as %s: %r" % (fmt, e))
        return 1
    names = [m[0] for m in ms]
    files = {m[0]: m[2] for m in ms}
    if len(set(names)) != len(names):
        errs.append("a name twice in the export: %r" % names)
    for n, kind, _ in ms:
        if kind != "file":
            errs.append("not a regular file in the export: %s" % n)
        if n.startswith("/") or ".." in n.split("/") or "/" in n:
            errs.append("an unsafe name in the export: %r" % n)
    if names[-1:] != ["manifest.json"]:
        errs.append("manifest.json is not the last entry: %r" % names[-3:])
    try:
        man = json.loads(files["manifest.json"])
        docs = man["documents"]
    except Exception as e:  # noqa: BLE001
        print("no readable manifest.json: %r" % e)
        return 1
    if man.get("format") != "coffre export v1":
        errs.append("manifest format: %r" % man.get("format"))
    want = walk(top) if top != "-" else []
    if count is None:
        count = len(want)
    if len(docs) != count:
        errs.append("%d documents in the manifest, want %d" %
                    (len(docs), count))
    seen = set()
    for d in docs:
        miss = [f for f in FIELDS if f not in d]
        if miss:
            errs.append("manifest entry %s lacks %s" % (d.get("id"), miss))
            continue
        if d["id"] in absent:
            errs.append("a shredded document is exported: %s" % d["id"])
        data = files.get(d["file"])
        if data is None:
            errs.append("%s: no file %r in the export" % (d["id"], d["file"]))
            continue
        seen.add(d["file"])
        h = hashlib.blake2b(data, digest_size=32).hexdigest()
        if d["blake2b_256"] != h:
            errs.append("%s: manifest blake2b_256 %s, the file's %s" %
                        (d["file"], d["blake2b_256"], h))
        if d["size"] != len(data):
            errs.append("%s: manifest size %s, the file has %d bytes" %
                        (d["file"], d["size"], len(data)))
        if top != "-":
            p = os.path.join(top, d["name"])
            if d["name"] not in want:
                errs.append("%s: no original named %r" % (d["file"],
                                                          d["name"]))
            elif read(p) != data:
                errs.append("%s: not the bytes of the original %r" %
                            (d["file"], d["name"]))
        if not isinstance(d["reviews"], list):
            errs.append("%s: reviews is not a list" % d["file"])
        if d["status"] not in ("pending", "approved", "rejected"):
            errs.append("%s: status %r" % (d["file"], d["status"]))
    if top != "-":
        names_in = sorted(d["name"] for d in docs if "name" in d)
        if count == len(want) and names_in != want:
            errs.append("manifest names %r, originals %r" % (names_in, want))
    extra = set(files) - seen - {"manifest.json"}
    if extra:
        errs.append("files not in the manifest: %r" % sorted(extra))
    for e in errs[:20]:
        print(e)
    return 1 if errs else 0


# ---- big ----

def big_stream(i, size, head):
    """The bytes of big-I.pdf, in chunks."""
    yield head
    left = size - len(head)
    r = random.Random("t97-%d" % i)
    while left > 0:
        k = min(left, 1 << 20)
        yield r.randbytes(k)
        left -= k


class GenReader(io.RawIOBase):
    def __init__(self, gen):
        self.gen = gen
        self.buf = b""

    def readable(self):
        return True

    def readinto(self, b):
        while not self.buf:
            try:
                self.buf = next(self.gen)
            except StopIteration:
                return 0
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


def bigtar(out, n, size, sample):
    head = read(sample)
    with open(out, "wb") as f, tarfile.open(fileobj=f, mode="w|",
                                            format=tarfile.PAX_FORMAT) as t:
        for i in range(1, n + 1):
            info = ti("big-%d.pdf" % i, size=size)
            t.addfile(info, io.BufferedReader(GenReader(big_stream(i, size,
                                                                   head)),
                                              1 << 20))


def bigcheck(path, n, size, sample, which):
    head = read(sample)
    errs = []
    with tarfile.open(path, "r:") as t:
        ms = t.getmembers()
        man = json.loads(t.extractfile(ms[-1]).read())
        docs = man["documents"]
        if len(docs) != n or len(ms) != n + 1:
            errs.append("%d documents, %d entries; want %d" %
                        (len(docs), len(ms), n))
        byname = {d["name"]: d for d in docs}
        for i in which:
            d = byname.get("big-%d.pdf" % i)
            if d is None:
                errs.append("big-%d.pdf is not in the manifest" % i)
                continue
            f = t.extractfile(d["file"])
            h = hashlib.blake2b(digest_size=32)
            same = True
            for chunk in big_stream(i, size, head):
                got = f.read(len(chunk))
                h.update(got)
                if got != chunk:
                    same = False
            if f.read(1) != b"":
                same = False
            if not same:
                errs.append("big-%d.pdf: not the bytes imported" % i)
            if h.hexdigest() != d["blake2b_256"]:
                errs.append("big-%d.pdf: manifest hash differs" % i)
            if d["size"] != size:
                errs.append("big-%d.pdf: size %d" % (i, d["size"]))
    for e in errs:
        print(e)
    return 1 if errs else 0


def main():
    a = sys.argv[1:]
    if not a:
        raise SystemExit(__doc__)
    cmd = a.pop(0)
    if cmd == "src":
        src(a[0], a[1], "--utf8" in a)
    elif cmd == "pack":
        pack(a[0], a[1], a[2])
    elif cmd == "attack":
        write(a[1], attack(a[0], a[2]))
    elif cmd == "bomb":
        bomb(a[0], int(a[1]), "--sized" in a)
    elif cmd == "tgzbomb":
        tgzbomb(a[0], int(a[1]))
    elif cmd == "roundtrip":
        absent = []
        count = None
        rest = []
        while a:
            x = a.pop(0)
            if x == "--absent":
                absent.append(a.pop(0))
            elif x == "--count":
                count = int(a.pop(0))
            else:
                rest.append(x)
        sys.exit(roundtrip(rest[0], rest[1], rest[2], absent, count))
    elif cmd == "bigtar":
        t0 = time.time()
        bigtar(a[0], int(a[1]), int(a[2]), a[3])
        print("%.1f s" % (time.time() - t0))
    elif cmd == "bigcheck":
        sys.exit(bigcheck(a[0], int(a[1]), int(a[2]), a[3],
                          [int(x) for x in a[4:]]))
    elif cmd == "before":
        for n in before(a[0], a[1]):
            print(n)
    elif cmd == "offset":
        print(offset(a[0], a[1], a[2], float(a[3])))
    elif cmd == "manifest":
        for name, _kind, data in members(a[0], a[1]):
            if name == "manifest.json":
                sys.stdout.write(data.decode())
    else:
        raise SystemExit("bundle.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
