#!/usr/bin/env python3
"""make_http_seeds.py: write the seed corpus of fuzz/fuzz_http.c.

    python3 fuzz/corpus/make_http_seeds.py [OUTDIR]

OUTDIR defaults to fuzz/corpus/fuzz_http/ (next to this script); its files
named seed-* are replaced (any crash-regression-* is kept).  Python 3,
standard library only; the output is the same on every run.

Every route of docs/API.md (the `METHOD /v1/...` in its headings and
tables) becomes a request line, "METHOD URL": placeholders filled with
well-formed ids, each optional part ([...]) once left out and once put in
with its arguments filled.  Then the same paths with the other methods,
and requests that each check refuses: malformed ids, numbers out of range
or not decimal, an unknown status or format, escapes (%2F, %00, '+'),
empty, long and too many segments.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
API = os.path.join(ROOT, "docs", "API.md")

DOC = "AAAAAAAAAAEnGdhIdyvcRw"
VALUES = {
    "{id}": DOC, "{U}": "u42", "{K}": "k-1",
    "user=U": "user=u42", "user=": "user=u42",
    "community=C": "community=medecins", "community=": "community=medecins",
    "contract=K": "contract=k-1", "kind=K": "kind=diploma",
    "name=N": "name=Diplome.pdf", "status=": "status=pending",
    "limit=N": "limit=10", "limit=": "limit=1000", "after=SEQ": "after=7",
    "after=": "after=" + DOC, "reasons=1": "reasons=1",
    "reason=TEXT": "reason=audit+request", "format=zip|tar|tar.gz": "format=tar.gz",
}


FILL = re.compile("|".join(re.escape(k) for k in
                           sorted(VALUES, key=len, reverse=True)))


def fill(s):
    """Each placeholder once, the longest first (user=U before user=)."""
    return FILL.sub(lambda m: VALUES[m.group(0)], s)


def expand(url):
    """Each [...] once out and once in (only the outermost, which is
    all API.md has)."""
    m = re.search(r"\[([^\[\]]*)\]", url)
    if m is None:
        return [url]
    head, tail = url[:m.start()], url[m.end():]
    return expand(head + tail) + expand(head + m.group(1) + tail)


def routes():
    with open(API, encoding="utf-8") as f:
        text = f.read()
    found = []
    for m in re.finditer(r"`(GET|POST|DELETE|PUT) (/v1/[^`\s]*)`", text):
        for url in expand(m.group(2)):
            line = "%s %s" % (m.group(1), fill(url))
            if line not in found:
                found.append(line)
    return found


EXTRA = [
    # Other methods on the same paths.
    "PUT /v1/health", "GET /v1/sweep", "POST /v1/check",
    "DELETE /v1/documents", "PUT /v1/documents/" + DOC,
    "GET /v1/documents/%s/review" % DOC, "POST /v1/users/u42",
    "HEAD /v1/audit",
    # Malformed ids.
    "GET /v1/documents/AAAAAAAAAAEnGdhIdyvcRx", "GET /v1/documents/short",
    "DELETE /v1/users/bad%20id", "POST /v1/contracts/u42/k%2F1/end",
    "GET /v1/users/" + "u" * 129 + "/export",
    # Query arguments that are refused.
    "GET /v1/documents?limit=0", "GET /v1/documents?limit=1001",
    "GET /v1/documents?limit=+5", "GET /v1/documents?limit=-1",
    "GET /v1/documents?limit=99999999999999999999",
    "GET /v1/documents?status=lost", "GET /v1/documents?after=xyz",
    "GET /v1/documents?user=a%00b&community=", "GET /v1/documents?user",
    "GET /v1/audit?after=9223372036854775807&limit=10000",
    "GET /v1/audit?after=9223372036854775808", "GET /v1/audit?limit=1e3",
    "GET /v1/audit/shred-report", "GET /v1/archives/%s/content?reason=" % DOC,
    "GET /v1/users/u42/export?format=rar",
    "GET /v1/users/u42/export?format=tgz&format=zip",
    "POST /v1/documents?user=u42", "POST /v1/bundles?community=c",
    "POST /v1/archives?user=u42&contract=",
    # Paths that are no route.
    "GET /", "GET /v1", "GET /v1/", "GET //v1/health", "GET /v1//health",
    "GET /v1/health/", "GET /v2/health", "GET v1/health",
    "GET /v1/a/b/c/d/e/f", "GET /v1/audit/other", "GET /v1/%68ealth",
    "GET /v1/documents%2F" + DOC, "GET /v1/health?",
    "GET /v1/health HTTP/1.1",
]


def main():
    out = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else \
        os.path.join(HERE, "fuzz_http")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.startswith("seed-"):
            os.unlink(os.path.join(out, f))
    lines = routes()
    if len(lines) < 20:
        sys.exit("make_http_seeds: only %d routes found in %s" %
                 (len(lines), API))
    lines += [l for l in EXTRA if l not in lines]
    for i, line in enumerate(lines):
        name = re.sub(r"[^A-Za-z0-9]+", "-", line)[:60].strip("-")
        with open(os.path.join(out, "seed-%03d-%s" % (i, name)), "wb") as f:
            f.write(line.encode() + b"\r\n")
    print("make_http_seeds: %d seeds in %s" % (len(lines), out))


if __name__ == "__main__":
    main()
