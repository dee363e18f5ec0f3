#!/usr/bin/env python3
"""make_vault_seeds.py: write the seed corpora of fuzz/fuzz_audit.c,
fuzz/fuzz_root.c and fuzz/fuzz_records.c from real vaults.

    python3 fuzz/corpus/make_vault_seeds.py [--coffre BIN] [OUTDIR]

BIN defaults to build/coffre (run `make` first); OUTDIR to fuzz/corpus/
(next to this script); the seeds go into OUTDIR/fuzz_audit/,
OUTDIR/fuzz_root/ and OUTDIR/fuzz_records/, whose files named seed-* are
replaced (any crash-regression-* is kept).  Needs python3 (3.9 or later,
standard library), mdb_dump (Debian: lmdb-utils) and libsodium (the build
needs it too; reached through ctypes for the seeds with a passphrase).

Two vaults are made in a temporary directory with BIN:
  A, no passphrase: three seals by two users, reviews (a note, a reason),
    an archive with a hold, its release and the contract's end in 2001, a
    shred of one document, an audit key rotation, a user shred, a sweep;
  B, with a passphrase: one seal.
Seeds:
  fuzz_audit    audit.pub's line then `coffre --json audit log` (the
                harness's input format): both vaults whole, A up to the
                checkpoint before and after its rotation, A under B's key,
                A changed, cut, reordered, and a malformed key file;
  fuzz_root     keys/root of A after init and at the end (epoch 6), B
                (real Argon2id parameters: the harness only checks that it
                is refused without the passphrase), files made here with
                both slots (no passphrase, and a passphrase "fuzz-passphrase"
                under cheap Argon2id parameters), and damaged ones;
  fuzz_records  the tables of both LMDB environments of A (mdb_dump), as
                the harness's entries: with the fix-up flag (so that the
                MACs and the node wrappings hold under the harness's keys)
                and raw, in the middle of the scenario and at its end.
The vaults' keys are random, so each run writes different bytes.
"""

import ctypes
import ctypes.util
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLES = os.path.join(ROOT, "samples")
PASS = b"fuzz-passphrase"


def run(coffre, vault, *args, env=None, out=None):
    cmd = [coffre, "--dir", vault] + list(args)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, check=False)
    if r.returncode != 0:
        sys.exit("make_vault_seeds: %s: exit %d: %s" %
                 (" ".join(cmd), r.returncode, r.stderr.decode(errors="replace")))
    if out is not None:
        with open(out, "wb") as f:
            f.write(r.stdout)
    return r.stdout.decode().strip()


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Writer:
    def __init__(self, outdir, name):
        self.dir = os.path.join(outdir, name)
        os.makedirs(self.dir, exist_ok=True)
        for f in os.listdir(self.dir):
            if f.startswith("seed-"):
                os.unlink(os.path.join(self.dir, f))
        self.n = 0

    def put(self, name, data):
        with open(os.path.join(self.dir, "seed-" + name), "wb") as f:
            f.write(data)
        self.n += 1


# ---- the vaults ----

def make_vault_a(coffre, tmp):
    v = os.path.join(tmp, "a")
    snap = {}
    run(coffre, v, "init")
    snap["root-init"] = read(os.path.join(v, "keys", "root"))
    d1 = run(coffre, v, "seal", "--user", "user-1", "--community", "medecins",
             "--kind", "diploma", "--name", "Diplome.pdf",
             os.path.join(SAMPLES, "sample.pdf"))
    d2 = run(coffre, v, "seal", "--user", "user-1", "--community", "medecins",
             "--kind", "id", "--name", "carte.png",
             os.path.join(SAMPLES, "sample.png"))
    d3 = run(coffre, v, "seal", "--user", "user-2", "--community", "avocats",
             os.path.join(SAMPLES, "sample.jpg"))
    run(coffre, v, "approve", d1, "--note", "checked with the registry")
    run(coffre, v, "reject", d2, "--reason", "blurry")
    run(coffre, v, "approve", d2)
    run(coffre, v, "archive", "--user", "user-1", "--contract", "k-1",
        "--name", "contrat.pdf", os.path.join(SAMPLES, "sample.pdf"))
    run(coffre, v, "hold", "--user", "user-1", "--contract", "k-1",
        "--reason", "litige")
    snap["mid"] = dump_all(v)
    run(coffre, v, "release", "--user", "user-1", "--contract", "k-1",
        "--reason", "fini")
    run(coffre, v, "contract-end", "--user", "user-1", "--contract", "k-1",
        "--date", "2001-01-01")
    run(coffre, v, "shred", "--doc", d3)
    log = os.path.join(tmp, "a-before-rotation.log")
    run(coffre, v, "--json", "audit", "log", out=log)
    snap["log-before-rotation"] = read(log)
    run(coffre, v, "audit", "rotate-key")
    run(coffre, v, "shred", "--user", "user-2")
    run(coffre, v, "sweep")
    log = os.path.join(tmp, "a.log")
    run(coffre, v, "--json", "audit", "log", out=log)
    snap["log"] = read(log)
    snap["pub"] = read(os.path.join(v, "audit.pub"))
    snap["root-end"] = read(os.path.join(v, "keys", "root"))
    snap["end"] = dump_all(v)
    return snap


def make_vault_b(coffre, tmp):
    v = os.path.join(tmp, "b")
    pf = os.path.join(tmp, "pass")
    with open(pf, "wb") as f:
        f.write(b"a real passphrase\n")
    env = dict(os.environ, COFFRE_PASSPHRASE_FILE=pf)
    run(coffre, v, "init", "--passphrase-file", pf)
    run(coffre, v, "seal", "--user", "u42", "--community", "medecins",
        os.path.join(SAMPLES, "sample.pdf"), env=env)
    log = os.path.join(tmp, "b.log")
    run(coffre, v, "--json", "audit", "log", env=env, out=log)
    return {"log": read(log), "pub": read(os.path.join(v, "audit.pub")),
            "root": read(os.path.join(v, "keys", "root"))}


# ---- mdb_dump ----

def mdb_dump(path, table):
    r = subprocess.run(["mdb_dump", "-n", "-s", table, path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    if r.returncode != 0:
        sys.exit("make_vault_seeds: mdb_dump -n -s %s %s: %s" %
                 (table, path, r.stderr.decode(errors="replace")))
    lines = r.stdout.decode().splitlines()
    data = lines[lines.index("HEADER=END") + 1:]
    data = [l[1:] for l in data if l.startswith(" ")]
    return [(bytes.fromhex(data[i]), bytes.fromhex(data[i + 1]))
            for i in range(0, len(data) - 1, 2)]


INDEX_TABLES = ["docs", "reviews", "by_user", "meta", "archives", "audit"]
TREE_TABLES = ["nodes", "children", "users", "fence", "meta", "contracts",
               "user_contracts", "audit_pending"]


def dump_all(v):
    d = {}
    for t in INDEX_TABLES:
        d["i:" + t] = mdb_dump(os.path.join(v, "index.mdb"), t)
    for t in TREE_TABLES:
        d["t:" + t] = mdb_dump(os.path.join(v, "keys", "tree.mdb"), t)
    return d


# ---- fuzz_records entries ----

FIX, DEL, PGEN = 0x10, 0x20, 0x40
TABLE = {"i:" + t: i for i, t in enumerate(INDEX_TABLES)}
TABLE.update({"t:" + t: 8 + i for i, t in enumerate(TREE_TABLES)})


def entry(table, key, val, flags=0):
    assert len(key) < 256 and len(val) < 65536
    return struct.pack("<BBH", TABLE[table] | flags, len(key), len(val)) + \
        key + val


def index_seed(d, fix, which=None):
    out = []
    fl = FIX if fix else 0
    for k, v in d["i:docs"]:
        if which is None or k == which:
            out.append(entry("i:docs", k, v, fl))
    for k, v in d["i:reviews"]:
        if which is None or k[:16] == which:
            out.append(entry("i:reviews", k, v, fl))
    for k, v in d["i:by_user"]:
        if which is None or v == which:
            out.append(entry("i:by_user", k, v))
    for k, v in d["i:meta"]:
        if k.startswith(b"seg"):
            out.append(entry("i:meta", k, v, fl))
        elif which is None:
            out.append(entry("i:meta", k, v))
    if which is None:
        for k, v in d["i:archives"]:
            out.append(entry("i:archives", k, v, fl))
    return b"".join(out[:64])


def audit_seed(d):
    out = [entry("i:audit", k, v) for k, v in d["i:audit"][:24]]
    out += [entry("i:meta", k, v) for k, v in d["i:meta"]
            if not k.startswith(b"seg")]
    return b"".join(out[:64])


def tree_seed(d, fix, users, contracts, owners=None):
    """Nodes top-down (id order is: internal by level, system, owners,
    leaves), then links and lookups.  ${owners}: keep only these owner
    nodes and their leaves."""
    out = []
    keep = set()
    for k, v in d["t:nodes"]:
        nid = struct.unpack(">Q", k)[0]
        top = nid >> 56
        parent = struct.unpack("<Q", v[4:12])[0]
        if owners is not None:
            if top == 3 and nid not in owners:
                continue
            if top == 4 and parent not in owners:
                continue
        keep.add(nid)
        out.append(entry("t:nodes", k, v, (FIX | PGEN) if fix else 0))
    for k, v in d["t:children"]:
        if struct.unpack(">Q", v)[0] in keep:
            out.append(entry("t:children", k, v))
    for t in ("t:meta", "t:audit_pending"):
        for k, v in d[t]:
            out.append(entry(t, k, v))
    if fix:
        for name, node in users:
            out.append(entry("t:users", name, struct.pack(">Q", node), FIX))
        for name, node in contracts:
            out.append(entry("t:contracts", name, struct.pack(">Q", node),
                             FIX))
            user = name.split(b"\0")[0]
            out.append(entry("t:user_contracts", user,
                             struct.pack(">Q", node), FIX))
    else:
        for t in ("t:users", "t:fence", "t:contracts", "t:user_contracts"):
            for k, v in d[t]:
                out.append(entry(t, k, v))
    return b"".join(out[:64])


def records_seeds(w, a):
    owner = 3 << 56
    # Slots in the order of the scenario: user-1, user-2, then the
    # contract (user-1, k-1).
    users = [(b"user-1", owner), (b"user-2", owner | 1)]
    contracts = [(b"user-1\0k-1", owner | 2)]
    for when in ("mid", "end"):
        d = a[when]
        w.put("index-%s-fixed" % when, index_seed(d, True))
        w.put("index-%s-raw" % when, index_seed(d, False))
        for i, (k, _) in enumerate(d["i:docs"]):
            w.put("index-%s-doc%d" % (when, i), index_seed(d, True, k))
        w.put("index-%s-audit" % when, audit_seed(d))
        w.put("tree-%s-fixed" % when, tree_seed(d, True, users, contracts))
        w.put("tree-%s-raw" % when, tree_seed(d, False, users, contracts))
        w.put("tree-%s-user1" % when,
              tree_seed(d, True, users[:1], [], {owner}))
        w.put("tree-%s-contract" % when,
              tree_seed(d, True, [], contracts, {owner | 2}))
    # A rotation of the audit key as the root change (op bit 0x80).
    t = bytearray(tree_seed(a["mid"], True, users, contracts))
    t[0] |= 0x80
    w.put("tree-mid-rotate", bytes(t))
    # Both at once, and a deletion of the top.
    w.put("both-mid", (index_seed(a["mid"], True) +
                       tree_seed(a["mid"], True, users, contracts)))
    w.put("tree-del-top", entry("t:nodes", struct.pack(">Q", 1 << 56), b"",
                                DEL))


# ---- fuzz_audit ----

def audit_seeds(w, a, b):
    log = a["log"]
    lines = log.splitlines(keepends=True)
    before = a["log-before-rotation"]
    w.put("a-whole", a["pub"] + log)
    w.put("a-before-rotation", a["pub"] + before)
    n = len(before.splitlines()) + 2  # the rotation and its checkpoint
    w.put("a-through-rotation", a["pub"] + b"".join(lines[:n]))
    w.put("b-whole", b["pub"] + b["log"])
    w.put("a-under-b-key", b["pub"] + log)
    w.put("a-cut", a["pub"] + log[:-1])
    w.put("a-no-final-checkpoint", a["pub"] + b"".join(lines[:-1]))
    w.put("a-swapped", a["pub"] + lines[1] + lines[0] + b"".join(lines[2:]))
    changed = bytearray(log)
    at = log.index(b'"user-1"')
    changed[at + 6] = ord("9")
    w.put("a-changed", a["pub"] + bytes(changed))
    w.put("a-key-malformed", b"not a key\n" + b"".join(lines[:4]))
    w.put("a-key-only", a["pub"])


# ---- fuzz_root ----

def blake2b_16(data, key):
    return hashlib.blake2b(data, digest_size=16, key=key).digest()


def slot_plain(hdr, idx, epoch, key):
    s = bytearray(128)
    s[0:4] = b"CFSL"
    s[4] = idx
    s[8:16] = struct.pack("<Q", epoch)
    s[40:72] = key
    s[88:104] = blake2b_16(bytes(s[:88]), hdr)
    return bytes(s)


def sodium():
    path = ctypes.util.find_library("sodium")
    if path is None:
        sys.exit("make_vault_seeds: libsodium not found")
    lib = ctypes.CDLL(path)
    if lib.sodium_init() < 0:
        sys.exit("make_vault_seeds: sodium_init failed")
    return lib


def slot_sealed(lib, kek, hdr, idx, epoch, key, nonce):
    s = bytearray(128)
    s[0:4] = b"CFSL"
    s[4] = idx
    s[8:16] = struct.pack("<Q", epoch)
    s[16:40] = nonce
    ad = hdr + bytes(s[:16])
    ct = ctypes.create_string_buffer(48)
    clen = ctypes.c_ulonglong()
    if lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
            ct, ctypes.byref(clen), key, ctypes.c_ulonglong(32), ad,
            ctypes.c_ulonglong(len(ad)), None, nonce, kek) != 0:
        sys.exit("make_vault_seeds: AEAD failed")
    s[40:88] = ct.raw
    s[88:104] = blake2b_16(bytes(s[:88]), hdr)
    return bytes(s)


def root_seeds(w, a, b):
    w.put("real-init", a["root-init"])
    w.put("real-after-shreds", a["root-end"])
    w.put("real-passphrase", b["root"])
    # No passphrase, both slots (a root change between its steps 1 and 3).
    hdr = b"CFRT\x01" + bytes(59)
    k1, k2 = bytes(range(32)), bytes(range(32, 64))
    w.put("two-slots", hdr + slot_plain(hdr, 0, 4, k1) +
          slot_plain(hdr, 1, 5, k2))
    w.put("slot-b-only", hdr + bytes(128) + slot_plain(hdr, 1, 1, k2))
    # A passphrase under cheap Argon2id parameters (opslimit 1, 8 KiB).
    lib = sodium()
    salt = bytes(range(100, 116))
    hdr = (b"CFRT\x01\x01\0\0" + struct.pack("<QQ", 1, 8192) + salt +
           bytes(24))
    kek = ctypes.create_string_buffer(32)
    if lib.crypto_pwhash(kek, ctypes.c_ulonglong(32), PASS,
                         ctypes.c_ulonglong(len(PASS)), salt,
                         ctypes.c_ulonglong(1), ctypes.c_size_t(8192),
                         ctypes.c_int(2)) != 0:
        sys.exit("make_vault_seeds: crypto_pwhash failed")
    kek = kek.raw
    sa = slot_sealed(lib, kek, hdr, 0, 1, k1, bytes(24))
    sb = slot_sealed(lib, kek, hdr, 1, 2, k2, bytes(range(24)))
    w.put("passphrase-cheap", hdr + sa + bytes(128))
    w.put("passphrase-cheap-two-slots", hdr + sa + sb)
    # Damaged.
    f = bytearray(a["root-init"])
    w.put("short", bytes(f[:319]))
    w.put("bad-magic", b"CFRX" + bytes(f[4:]))
    g = bytearray(f)
    g[5] = 2
    w.put("unknown-flag", bytes(g))
    g = bytearray(f)
    g[64 + 100] = 1
    w.put("slot-reserved-set", bytes(g))
    g = bytearray(f)
    g[192:320] = g[64:192]
    g[64:192] = bytes(128)
    w.put("slot-a-moved-to-b", bytes(g))


def main():
    args = sys.argv[1:]
    coffre = os.path.join(ROOT, "build", "coffre")
    if len(args) >= 2 and args[0] == "--coffre":
        coffre = os.path.abspath(args[1])
        args = args[2:]
    outdir = os.path.abspath(args[0]) if args else HERE
    if not os.access(coffre, os.X_OK):
        sys.exit("make_vault_seeds: no %s (run make)" % coffre)
    if shutil.which("mdb_dump") is None:
        sys.exit("make_vault_seeds: mdb_dump not found (lmdb-utils)")
    tmp = tempfile.mkdtemp(prefix="coffre-seeds-")
    try:
        os.environ.pop("COFFRE_DIR", None)
        os.environ.pop("COFFRE_SOCKET", None)
        os.environ.pop("COFFRE_PASSPHRASE_FILE", None)
        a = make_vault_a(coffre, tmp)
        b = make_vault_b(coffre, tmp)
        w = Writer(outdir, "fuzz_audit")
        audit_seeds(w, a, b)
        wr = Writer(outdir, "fuzz_root")
        root_seeds(wr, a, b)
        wc = Writer(outdir, "fuzz_records")
        records_seeds(wc, a)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("make_vault_seeds: %d audit, %d root, %d records seeds in %s" %
          (w.n, wr.n, wc.n, outdir))


if __name__ == "__main__":
    main()
