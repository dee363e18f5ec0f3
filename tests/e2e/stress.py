#!/usr/bin/env python3
"""stress.py: many clients mixing every route of `coffre serve` (t99_tsan).

Python 3 standard library only (http.client over AF_UNIX).

  stress.py run SOCK STATE [--seconds S] [--clients N] [--seed X] [--sigterm]
                [--tag T] [--only OP,...]
      N threads (default 32), each with its own keep-alive connection,
      pick operations at random for S seconds (default 60): seal (small,
      spilled past 512 KiB, chunked), list, info, content, review, DELETE
      of a document, of a user, of an archive, archive, contract end,
      archive content, hold and release, archive list, audit, shred-report,
      audit verify, audit scan, check, sweep, bundles (a zip built here),
      export, health.  Every answer is checked against what the clients
      know (docs/API.md): its status, and its bytes where they are known (a
      document's content, an archive's content, an export's files).  STATE
      (JSON) gets what was sealed and what was shredded, for `verify`.
      --sigterm: the daemon is stopped during the run; its 503s and the
      requests it cuts are counted, not errors, and the clients end once
      nobody listens; every answer that came is still checked.
      --tag T: user names start with T (a second run on the same vault
      must not meet the users the first one shredded, which stay fenced).
      --only: only these operations (seal, list, delete_user, ...: the
      names of the op_ methods), to narrow down a finding.
  stress.py verify SOCK STATE [--embedded FILE] [--bin B --dir V --sample K]
      after the run, with the daemon started again: every document that got
      a 201 opens byte for byte (200, same SHA-256), unless it was shredded
      (DELETE of it or of its user answered: 410 required) or may have been
      (a DELETE without answer, an identity-card document reviewed, which
      the sweep destroys: 410 or its bytes); every archive opens byte for
      byte; FILE lines "ID SHA256" (the embedded command's seals) too; and
      K documents chosen at random are opened with `B --dir V open ID`
      (the embedded command), byte for byte.

Each unexpected answer prints one line "ERROR: ..."; the exit status is 1
if there was any.  The last lines are counts per operation and status.
One failure of `audit scan` is a known issue (docs/TESTING.md, "Known
issues"): stale key-node records that open, left by a group commit run
again without a refused seal; it prints "KNOWN: ..." and is not an error,
unless STRESS_STRICT_SCAN=1.
"""
import collections
import hashlib
import http.client
import io
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

COMMUNITIES = ["c1", "c2", "c3"]
# identity-card has a retention class of 0 days (t99 writes it in
# coffre.conf): a reviewed one is destroyed by the next sweep.
KINDS = ["diploma", "diploma", "identity-card"]
SPILL = 512 * 1024  # past this, routes.c spools to an encrypted file
# The one failure of `audit scan` that is a known issue (docs/TESTING.md):
# counted and shown as KNOWN, not an error, unless STRESS_STRICT_SCAN=1.
KNOWN_STALE = "opens under a key that exists"
STRICT_SCAN = os.environ.get("STRESS_STRICT_SCAN") == "1"


class UConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=300):
        super().__init__("localhost", timeout=timeout)
        self.upath = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.upath)
        self.sock = s


def sha(b):
    return hashlib.sha256(b).hexdigest()


class State:
    def __init__(self, tag="", nusers=16):
        self.lock = threading.Lock()
        self.tag = tag
        self.next_user = 0
        self.users = []            # the pool sealed for
        self.shredding_users = set()  # a DELETE was sent
        self.shredded_users = set()   # ... and answered 200
        self.docs = {}             # id -> {sha, size, user, kind}
        self.doc_ids = []
        self.shredding_docs = set()
        self.shredded_docs = set()
        self.reviewed_idcards = set()  # the sweep may destroy them
        self.archives = {}         # id -> {sha, user, contract}
        self.archive_ids = []
        self.contracts = []        # (user, contract)
        self.errors = []
        self.known = []            # audit scan: the known issue
        self.soft = 0              # transport errors while it stops
        self.stopping = False      # --sigterm: the daemon is stopped
        self.abort = threading.Event()
        self.counts = collections.Counter()
        for _ in range(nusers):
            self.users.append(self.new_user())

    def new_user(self):
        self.next_user += 1
        return "%su%04d" % (self.tag, self.next_user)

    def error(self, msg):
        with self.lock:
            self.errors.append(msg)
            n = len(self.errors)
            if n <= 100:
                sys.stdout.write("ERROR: %s\n" % msg)
                sys.stdout.flush()
        if n >= 100:
            # Enough to show: the others would say the same.
            self.abort.set()

    def maybe_gone(self, i):
        d = self.docs[i]
        return (i in self.shredding_docs or d["user"] in self.shredding_users
                or i in self.reviewed_idcards)

    def surely_gone(self, i):
        return (i in self.shredded_docs
                or self.docs[i]["user"] in self.shredded_users)


class Client:
    def __init__(self, sock, st, rng, n):
        self.sock = sock
        self.st = st
        self.rng = rng
        self.n = n
        self.seq = 0
        self.conn = None

    # ---- HTTP ----

    def req(self, op, method, path, body=None, headers=None, chunked=False):
        """One request: (status, body bytes), or (None, None) after an
        error already reported."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = UConn(self.sock)
            try:
                h = dict(headers or {})
                if chunked:
                    h["Transfer-Encoding"] = "chunked"
                    self.conn.request(method, path, body=body, headers=h,
                                      encode_chunked=True)
                else:
                    self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                self.st.counts[(op, r.status)] += 1
                return r.status, data
            except (ConnectionRefusedError, FileNotFoundError) as e:
                # Nobody listens any more: the daemon ended (or was
                # stopped, --sigterm).
                self.conn.close()
                self.conn = None
                self.st.abort.set()
                if self.st.stopping:
                    self.st.soft += 1
                else:
                    self.st.error("%s %s %s: %r" % (op, method, path, e))
                return None, None
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as e:
                # A keep-alive connection the server closed between two
                # requests is retried once on a new one (before any byte
                # of the answer); anything else is a failure.
                self.conn.close()
                self.conn = None
                if attempt == 0 and not chunked and not callable(body):
                    continue
                if self.st.stopping:
                    self.st.soft += 1
                else:
                    self.st.error("%s %s %s: %r" % (op, method, path, e))
                return None, None
            except Exception as e:  # noqa: BLE001
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if self.st.stopping:
                    self.st.soft += 1
                else:
                    self.st.error("%s %s %s: %r" % (op, method, path, e))
                return None, None
        return None, None

    def want(self, op, status, data, allowed):
        if status is None:
            return False
        if status == 503 and self.st.stopping:
            return False  # "the daemon is shutting down"
        if status not in allowed:
            self.st.error("%s: status %d (want %s): %s" % (
                op, status, sorted(allowed), data[:300]))
            return False
        return True

    def js(self, op, data):
        try:
            return json.loads(data)
        except ValueError:
            self.st.error("%s: not JSON: %r" % (op, data[:200]))
            return None

    # ---- choices ----

    def user(self):
        with self.st.lock:
            return self.rng.choice(self.st.users)

    def doc(self):
        with self.st.lock:
            if not self.st.doc_ids:
                return None
            return self.rng.choice(self.st.doc_ids)

    def uniq(self):
        self.seq += 1
        return "t%d-%d-%d" % (self.n, self.seq, self.rng.randrange(1 << 30))

    def document(self, big=False):
        if big:
            size = self.rng.randrange(SPILL + 1, 3 * SPILL)
            return gen.png(text=self.uniq(), size=size)
        if self.rng.random() < 0.7:
            return gen.pdf(self.uniq())
        return gen.png(text=self.uniq())

    # ---- operations ----

    def op_seal(self, big=False, chunked=False):
        u, c, k = self.user(), self.rng.choice(COMMUNITIES), \
            self.rng.choice(KINDS)
        body = self.document(big)
        q = urllib.parse.urlencode({"user": u, "community": c, "kind": k,
                                    "name": "doc-%s.bin" % self.uniq()})
        op = "seal" + ("-big" if big else "") + ("-chunked" if chunked
                                                  else "")
        if chunked:
            parts = [body[i:i + 65536] for i in range(0, len(body), 65536)]
            s, d = self.req(op, "POST", "/v1/documents?" + q, iter(parts),
                            chunked=True)
        else:
            s, d = self.req(op, "POST", "/v1/documents?" + q, body)
        if not self.want(op, s, d, {201, 410}):
            return
        if s == 410:
            with self.st.lock:
                ok = u in self.st.shredding_users
            if not ok:
                self.st.error("%s: 410 for user %s, never shredded" % (op, u))
            return
        j = self.js(op, d)
        if j is None:
            return
        if j.get("size") != len(body) or j.get("status") != "pending":
            self.st.error("%s: answer %r for %d bytes" % (op, j, len(body)))
        with self.st.lock:
            self.st.docs[j["id"]] = {"sha": sha(body), "size": len(body),
                                     "user": u, "kind": k}
            self.st.doc_ids.append(j["id"])

    def op_list(self):
        q = {"limit": str(self.rng.choice([1, 10, 100, 1000]))}
        r = self.rng.random()
        if r < 0.3:
            q["user"] = self.user()
        elif r < 0.6:
            q["community"] = self.rng.choice(COMMUNITIES)
        elif r < 0.8:
            q["status"] = self.rng.choice(["pending", "approved", "rejected",
                                           "shredded"])
        s, d = self.req("list", "GET",
                        "/v1/documents?" + urllib.parse.urlencode(q))
        if self.want("list", s, d, {200}):
            j = self.js("list", d)
            if j is not None and not isinstance(j.get("documents"), list):
                self.st.error("list: %r" % d[:200])

    def op_info(self):
        i = self.doc()
        if i is None:
            return
        s, d = self.req("info", "GET", "/v1/documents/" + i)
        if self.want("info", s, d, {200}):
            j = self.js("info", d)
            if j is not None and (j.get("id") != i
                                  or j.get("size") != self.st.docs[i]["size"]):
                self.st.error("info %s: %r" % (i, d[:300]))

    def op_content(self):
        i = self.doc()
        if i is None:
            return
        with self.st.lock:
            gone_before = self.st.surely_gone(i)
        s, d = self.req("content", "GET", "/v1/documents/%s/content" % i)
        if not self.want("content", s, d, {200, 410}):
            return
        with self.st.lock:
            maybe = self.st.maybe_gone(i)
        if s == 200 and gone_before:
            self.st.error("content %s: 200 after its shred was answered" % i)
        elif s == 200 and sha(d) != self.st.docs[i]["sha"]:
            self.st.error("content %s: %d bytes, not the sealed ones"
                          % (i, len(d)))
        elif s == 410 and not maybe:
            self.st.error("content %s: 410, never shredded" % i)

    def op_review(self):
        i = self.doc()
        if i is None:
            return
        with self.st.lock:
            if self.st.docs[i]["kind"] == "identity-card":
                self.st.reviewed_idcards.add(i)
        if self.rng.random() < 0.6:
            b = {"decision": "approve", "note": "ok %s" % self.uniq()}
        else:
            b = {"decision": "reject", "note": "blurred"}
        s, d = self.req("review", "POST", "/v1/documents/%s/review" % i,
                        json.dumps(b))
        if not self.want("review", s, d, {200, 410}):
            return
        with self.st.lock:
            maybe = self.st.maybe_gone(i)
        if s == 410 and not maybe:
            self.st.error("review %s: 410, never shredded" % i)

    def op_delete_doc(self):
        i = self.doc()
        if i is None:
            return
        with self.st.lock:
            self.st.shredding_docs.add(i)
        s, d = self.req("delete-doc", "DELETE", "/v1/documents/" + i)
        if self.want("delete-doc", s, d, {200, 410}):
            with self.st.lock:
                self.st.shredded_docs.add(i)

    def op_delete_user(self):
        with self.st.lock:
            u = self.rng.choice(self.st.users)
            self.st.users.remove(u)
            self.st.users.append(self.st.new_user())
            self.st.shredding_users.add(u)
        s, d = self.req("delete-user", "DELETE", "/v1/users/" + u)
        if self.want("delete-user", s, d, {200}):
            with self.st.lock:
                self.st.shredded_users.add(u)

    def op_archive(self):
        u = self.user()
        k = "k%d" % self.rng.randrange(3)
        body = self.document()
        q = urllib.parse.urlencode({"user": u, "contract": k,
                                    "name": "contrat.pdf"})
        s, d = self.req("archive", "POST", "/v1/archives?" + q, body)
        if not self.want("archive", s, d, {201, 410}):
            return
        if s == 410:
            with self.st.lock:
                ok = u in self.st.shredding_users
            if not ok:
                self.st.error("archive: 410 for user %s, never shredded" % u)
            return
        j = self.js("archive", d)
        if j is None:
            return
        with self.st.lock:
            self.st.archives[j["id"]] = {"sha": sha(body), "user": u,
                                         "contract": k}
            self.st.archive_ids.append(j["id"])
            if (u, k) not in self.st.contracts:
                self.st.contracts.append((u, k))

    def contract(self):
        with self.st.lock:
            if not self.st.contracts:
                return None
            return self.rng.choice(self.st.contracts)

    def op_contract_end(self):
        c = self.contract()
        if c is None:
            return
        b = {} if self.rng.random() < 0.3 else {
            "date": "20%02d-%02d-%02d" % (self.rng.randrange(26, 30),
                                          self.rng.randrange(1, 13),
                                          self.rng.randrange(1, 29))}
        s, d = self.req("contract-end", "POST",
                        "/v1/contracts/%s/%s/end" % c, json.dumps(b))
        # 423: an earlier date than a previous end (never shortened).
        self.want("contract-end", s, d, {200, 423})

    def op_hold_release(self):
        c = self.contract()
        if c is None:
            return
        s, d = self.req("hold", "POST", "/v1/contracts/%s/%s/hold" % c,
                        json.dumps({"reason": "claim %s" % self.uniq()}))
        if not self.want("hold", s, d, {200}):
            return
        # Held (and retained): destroying one of its archives is refused.
        with self.st.lock:
            ids = [a for a, v in self.st.archives.items()
                   if (v["user"], v["contract"]) == c]
        if ids:
            s2, d2 = self.req("delete-archive", "DELETE",
                              "/v1/archives/" + self.rng.choice(ids))
            self.want("delete-archive", s2, d2, {423})
        s, d = self.req("release", "POST", "/v1/contracts/%s/%s/release" % c,
                        json.dumps({"reason": "settled"}))
        self.want("release", s, d, {200})

    def op_archive_content(self):
        with self.st.lock:
            if not self.st.archive_ids:
                return
            i = self.rng.choice(self.st.archive_ids)
        s, d = self.req("archive-content", "GET",
                        "/v1/archives/%s/content?reason=%s" % (
                            i, urllib.parse.quote("audit %s" % self.uniq())))
        if self.want("archive-content", s, d, {200}) and \
                sha(d) != self.st.archives[i]["sha"]:
            self.st.error("archive-content %s: not the sealed bytes" % i)

    def op_archive_list(self):
        s, d = self.req("archive-list", "GET", "/v1/archives")
        if self.want("archive-list", s, d, {200}):
            self.js("archive-list", d)

    def op_delete_archive(self):
        with self.st.lock:
            if not self.st.archive_ids:
                return
            i = self.rng.choice(self.st.archive_ids)
        s, d = self.req("delete-archive", "DELETE", "/v1/archives/" + i)
        # Retained for years from the end of its contract, or running.
        self.want("delete-archive", s, d, {423})

    def op_audit(self):
        q = {"after": str(self.rng.randrange(0, 50)), "limit": "200"}
        if self.rng.random() < 0.3:
            q["user"] = self.user()
        s, d = self.req("audit", "GET", "/v1/audit?" + urllib.parse.urlencode(q))
        if self.want("audit", s, d, {200}):
            for ln in d.splitlines():
                if self.js("audit", ln) is None:
                    break

    def op_shred_report(self):
        with self.st.lock:
            done = sorted(self.st.shredded_users)
        if done and self.rng.random() < 0.7:
            u = self.rng.choice(done)
            allowed = {200}
        else:
            u = self.user()
            allowed = {200, 404}
        s, d = self.req("shred-report", "GET",
                        "/v1/audit/shred-report?user=" + u)
        if self.want("shred-report", s, d, allowed) and s == 200:
            self.js("shred-report", d)

    def op_verify(self):
        s, d = self.req("audit-verify", "GET", "/v1/audit/verify")
        if self.want("audit-verify", s, d, {200}):
            j = self.js("audit-verify", d)
            if j is not None and not j.get("ok"):
                self.st.error("audit-verify: %r" % j)

    def op_scan(self):
        s, d = self.req("audit-scan", "GET", "/v1/audit/scan")
        if not self.want("audit-scan", s, d, {200}):
            return
        j = self.js("audit-scan", d)
        if j is None or j.get("code") == 0:
            return
        reps = [r["message"] for r in j.get("reports", []) if r["problem"]]
        known = [m for m in reps if KNOWN_STALE in m]
        if (not STRICT_SCAN and known and len(known) == len(reps)
                and j["result"]["plaintext_hits"] == 0):
            # docs/TESTING.md, "Known issues": a group commit that runs
            # again without a refused seal leaves the first pass's new
            # nodes (user nodes, leaves) in LMDB's reused page buffers.
            with self.st.lock:
                self.st.known.append(known[0])
            sys.stdout.write("KNOWN: audit-scan: %d stale cop%s that open "
                             "(first: %s)\n" % (len(known), "y" if
                                                len(known) == 1 else "ies",
                                                known[0]))
            sys.stdout.flush()
            return
        self.st.error("audit-scan: %r" % d[:500])

    def op_check(self):
        s, d = self.req("check", "GET", "/v1/check")
        if self.want("check", s, d, {200}):
            j = self.js("check", d)
            if j is not None and (j.get("code") != 0
                                  or j["result"]["problems"] != 0):
                self.st.error("check: %r" % d[:500])

    def op_sweep(self):
        s, d = self.req("sweep", "POST", "/v1/sweep")
        self.want("sweep", s, d, {200})

    def op_bundle(self):
        u, c = self.user(), self.rng.choice(COMMUNITIES)
        entries = {"a-%s.pdf" % self.uniq(): gen.pdf(self.uniq()),
                   "b/%s.png" % self.uniq(): gen.png(text=self.uniq())}
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in entries.items():
                z.writestr(n, data)
            z.writestr(zipfile.ZipInfo("../evil.pdf"), gen.pdf("evil"))
        q = urllib.parse.urlencode({"user": u, "community": c})
        s, d = self.req("bundle", "POST", "/v1/bundles?" + q, b.getvalue())
        if not self.want("bundle", s, d, {201, 410}):
            return
        if s == 410:
            with self.st.lock:
                ok = u in self.st.shredding_users
            if not ok:
                self.st.error("bundle: 410 for user %s, never shredded" % u)
            return
        j = self.js("bundle", d)
        if j is None:
            return
        got = {e["entry"]: e["id"] for e in j.get("sealed", [])}
        rej = [e["entry"] for e in j.get("rejected", [])]
        if rej != ["../evil.pdf"]:
            self.st.error("bundle: rejected %r" % rej)
        with self.st.lock:
            for n, data in entries.items():
                if n not in got:
                    # A shred of the user in flight stops the bundle.
                    if u not in self.st.shredding_users:
                        self.st.error("bundle: %s not sealed: %r" % (n, j))
                    continue
                self.st.docs[got[n]] = {"sha": sha(data), "size": len(data),
                                        "user": u, "kind": ""}
                self.st.doc_ids.append(got[n])

    def op_export(self):
        u = self.user()
        s, d = self.req("export", "GET", "/v1/users/%s/export?format=zip" % u)
        if not self.want("export", s, d, {200, 410}):
            return
        if s == 410:
            with self.st.lock:
                ok = u in self.st.shredding_users
            if not ok:
                self.st.error("export: 410 for user %s, never shredded" % u)
            return
        try:
            z = zipfile.ZipFile(io.BytesIO(d))
            man = json.loads(z.read("manifest.json"))
            for m in man["documents"]:
                if m.get("exported") is False:
                    # Shredded since the export began: listed, left out
                    # (vault/bundle.c x_start).
                    if m.get("status") != "shredded" or \
                            m["file"] in z.namelist():
                        self.st.error("export %s: %r" % (u, m))
                    continue
                data = z.read(m["file"])
                if hashlib.blake2b(data, digest_size=32).hexdigest() != \
                        m["blake2b_256"]:
                    self.st.error("export %s: %s: wrong blake2b_256"
                                  % (u, m["file"]))
                known = self.st.docs.get(m["id"])
                if known is not None and known["sha"] != sha(data):
                    self.st.error("export %s: %s: not the sealed bytes"
                                  % (u, m["id"]))
        except Exception as e:  # noqa: BLE001
            with self.st.lock:
                ok = u in self.st.shredding_users
            # A shred of the user during the stream cuts it short.
            if not ok:
                self.st.error("export %s: %r" % (u, e))

    def op_health(self):
        s, d = self.req("health", "GET", "/v1/health")
        self.want("health", s, d, {200})

    OPS = [
        (20, "op_seal", {}), (2, "op_seal", {"big": True}),
        (2, "op_seal", {"chunked": True}),
        (1, "op_seal", {"big": True, "chunked": True}),
        (6, "op_list", {}), (8, "op_info", {}), (10, "op_content", {}),
        (6, "op_review", {}), (3, "op_delete_doc", {}),
        (1, "op_delete_user", {}), (3, "op_archive", {}),
        (2, "op_contract_end", {}), (1, "op_hold_release", {}),
        (3, "op_archive_content", {}), (1, "op_archive_list", {}),
        (1, "op_delete_archive", {}), (3, "op_audit", {}),
        (2, "op_shred_report", {}), (2, "op_verify", {}),
        (0.3, "op_scan", {}), (1, "op_check", {}), (1, "op_sweep", {}),
        (2, "op_bundle", {}), (2, "op_export", {}), (1, "op_health", {}),
    ]

    def run(self, deadline):
        weights = [w for w, _, _ in self.OPS]
        while time.monotonic() < deadline and not self.st.abort.is_set():
            _, name, kw = self.rng.choices(self.OPS, weights)[0]
            getattr(self, name)(**kw)
        if self.conn is not None:
            self.conn.close()


def opt(args, name, default=None):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return default


def summary(st):
    ops = collections.defaultdict(list)
    for (op, s), n in sorted(st.counts.items()):
        ops[op].append("%d×%d" % (n, s))
    for op in sorted(ops):
        print("  %-18s %s" % (op, " ".join(ops[op])))


def run(args):
    secs = float(opt(args, "--seconds", "60"))
    clients = int(opt(args, "--clients", "32"))
    seed = int(opt(args, "--seed", str(int(time.time()))))
    tag = opt(args, "--tag", "")
    only = opt(args, "--only")
    sigterm = "--sigterm" in args
    if sigterm:
        args.remove("--sigterm")
    sock, path = args
    st = State(tag)
    st.stopping = sigterm
    if only:
        # Investigation: only these operations (comma list of op_ names).
        keep = set(only.split(","))
        Client.OPS = [o for o in Client.OPS if o[1][3:] in keep]
    print("stress: %d clients for %g s on %s (seed %d)"
          % (clients, secs, sock, seed), flush=True)
    deadline = time.monotonic() + secs
    ts = [threading.Thread(target=Client(sock, st, random.Random(seed + i),
                                         i).run, args=(deadline,))
          for i in range(clients)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    n = sum(st.counts.values())
    print("stress: %d requests in %.1f s, %d documents and %d archives "
          "sealed, %d documents and %d users shredded, %d errors%s"
          % (n, time.monotonic() - t0, len(st.docs), len(st.archives),
             len(st.shredded_docs), len(st.shredded_users), len(st.errors),
             ", %d requests cut by the stop" % st.soft if sigterm else ""))
    if st.known:
        print("stress: KNOWN issue seen %d time(s): audit scan finds stale "
              "key-node records that open (docs/TESTING.md)" % len(st.known))
    summary(st)
    with open(path, "w") as f:
        json.dump({
            "docs": st.docs, "archives": st.archives,
            "shredding_docs": sorted(st.shredding_docs),
            "shredded_docs": sorted(st.shredded_docs),
            "shredding_users": sorted(st.shredding_users),
            "shredded_users": sorted(st.shredded_users),
            "reviewed_idcards": sorted(st.reviewed_idcards),
            "requests": n, "errors": len(st.errors)}, f)
    return 1 if st.errors else 0


def verify(args):
    emb = opt(args, "--embedded")
    binary = opt(args, "--bin")
    vdir = opt(args, "--dir")
    sample = int(opt(args, "--sample", "0"))
    sock, path = args
    with open(path) as f:
        j = json.load(f)
    st = State(nusers=0)
    st.docs = j["docs"]
    for k in ("shredding_docs", "shredded_docs", "shredding_users",
              "shredded_users", "reviewed_idcards"):
        setattr(st, k, set(j[k]))
    work = [("doc", i) for i in st.docs]
    work += [("archive", i) for i in j["archives"]]
    embedded = {}
    if emb:
        with open(emb) as f:
            for ln in f:
                i, h = ln.split()
                embedded[i] = h
                work.append(("embedded", i))
    tally = collections.Counter()
    lock = threading.Lock()

    def worker(items):
        c = Client(sock, st, random.Random(0), 0)
        for kind, i in items:
            if kind == "archive":
                s, d = c.req("v-archive", "GET",
                             "/v1/archives/%s/content?reason=verify" % i)
                if c.want("verify archive " + i, s, d, {200}) and \
                        sha(d) != j["archives"][i]["sha"]:
                    st.error("verify archive %s: not the sealed bytes" % i)
                with lock:
                    tally["archives opened"] += 1
                continue
            s, d = c.req("v-content", "GET", "/v1/documents/%s/content" % i)
            if kind == "embedded":
                if c.want("verify embedded " + i, s, d, {200}) and \
                        sha(d) != embedded[i]:
                    st.error("verify embedded %s: not the sealed bytes" % i)
                with lock:
                    tally["embedded seals opened"] += 1
                continue
            if st.surely_gone(i):
                want, what = {410}, "shredded (410)"
            elif st.maybe_gone(i):
                want, what = {200, 410}, "maybe shredded"
            else:
                want, what = {200}, "opened"
            if c.want("verify %s (%s)" % (i, what), s, d, want):
                if s == 200 and sha(d) != st.docs[i]["sha"]:
                    st.error("verify %s: not the sealed bytes" % i)
                with lock:
                    tally["documents " + ("opened" if s == 200
                                          else "gone (410)")] += 1
        if c.conn is not None:
            c.conn.close()

    ts = [threading.Thread(target=worker, args=(work[k::8],))
          for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # The embedded command opens a few, beside the daemon.
    if binary and sample:
        live = [i for i in st.docs if not st.maybe_gone(i)]
        for i in random.Random(1).sample(live, min(sample, len(live))):
            p = subprocess.run([binary, "--dir", vdir, "open", i],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0 or sha(p.stdout) != st.docs[i]["sha"] or \
                    b"ThreadSanitizer" in p.stderr:
                st.error("embedded open %s: exit %d, %d bytes: %s" % (
                    i, p.returncode, len(p.stdout), p.stderr[:2000]))
            tally["opened by the embedded command"] += 1
    print("verify: " + ", ".join("%d %s" % (n, k)
                                 for k, n in sorted(tally.items()))
          + "; %d errors" % len(st.errors))
    return 1 if st.errors else 0


def main():
    a = sys.argv[1:]
    if not a or a[0] not in ("run", "verify"):
        print(__doc__, file=sys.stderr)
        return 2
    return run(a[1:]) if a[0] == "run" else verify(a[1:])


if __name__ == "__main__":
    sys.exit(main())
