#!/usr/bin/env python3
"""backend_client.py: how a web backend talks to `coffre serve`.

Python's standard library only: http.client over an AF_UNIX socket.

    python3 examples/backend_client.py /run/coffre/coffre.sock FILE.pdf

seals FILE.pdf for a demo user, lists that user's documents, reads the
document back, and deletes the account (crypto-shredding).
"""
import http.client
import json
import socket
import sys
import urllib.parse


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection to a unix socket (keep-alive)."""

    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class CoffreError(Exception):
    def __init__(self, status, code, message):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class Coffre:
    def __init__(self, socket_path):
        self.conn = UnixHTTPConnection(socket_path)

    def _call(self, method, path, params=None, body=None, ctype=None):
        if params:
            path += "?" + urllib.parse.urlencode(params)
        headers = {"Content-Type": ctype} if ctype else {}
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 400:
            try:
                err = json.loads(data)["error"]
            except (ValueError, KeyError):
                err = {"code": "unknown", "message": data.decode(errors="replace")}
            raise CoffreError(resp.status, err["code"], err["message"])
        return resp, data

    def health(self):
        return json.loads(self._call("GET", "/v1/health")[1])

    def seal(self, user, community, data, kind=None, name=None):
        params = {"user": user, "community": community}
        if kind:
            params["kind"] = kind
        if name:
            params["name"] = name
        return json.loads(self._call("POST", "/v1/documents", params, data)[1])

    def documents(self, **filters):
        """Every document matching the filters, page by page."""
        params = {k: v for k, v in filters.items() if v is not None}
        params["limit"] = 1000
        while True:
            page = json.loads(self._call("GET", "/v1/documents", params)[1])
            yield from page["documents"]
            if page["next"] is None:
                return
            params["after"] = page["next"]

    def info(self, doc):
        return json.loads(self._call("GET", f"/v1/documents/{doc}")[1])

    def content(self, doc):
        resp, data = self._call("GET", f"/v1/documents/{doc}/content")
        return resp.getheader("Content-Type"), data

    def shred_document(self, doc):
        return json.loads(self._call("DELETE", f"/v1/documents/{doc}")[1])

    def delete_account(self, user):
        return json.loads(self._call("DELETE", f"/v1/users/{user}")[1])

    def archive(self, user, contract, data, name=None):
        params = {"user": user, "contract": contract}
        if name:
            params["name"] = name
        return json.loads(self._call("POST", "/v1/archives", params, data)[1])

    def end_contract(self, user, contract, date=None):
        body = json.dumps({"date": date} if date else {}).encode()
        return json.loads(self._call(
            "POST", f"/v1/contracts/{user}/{contract}/end", body=body,
            ctype="application/json")[1])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    c = Coffre(sys.argv[1])
    print("health:", c.health())
    with open(sys.argv[2], "rb") as f:
        data = f.read()
    user = "demo-user-1"
    try:
        doc = c.seal(user, "medecins", data, kind="id-card",
                     name=sys.argv[2].rsplit("/", 1)[-1])
    except CoffreError as e:
        sys.exit(f"seal refused: {e}")
    print("sealed:", doc)
    for d in c.documents(user=user):
        print("listed:", d["id"], d["status"], d["type"], d["size"])
    ctype, back = c.content(doc["id"])
    print("read back:", len(back), "bytes of", ctype,
          "(same)" if back == data else "(DIFFERENT)")
    print("account deleted:", c.delete_account(user))
    try:
        c.content(doc["id"])
    except CoffreError as e:
        print("after deletion:", e)


if __name__ == "__main__":
    main()
