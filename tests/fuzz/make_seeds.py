#!/usr/bin/env python3
"""Writes the seed inputs of each fuzz target into corpus/<target>/seed-*. Crash inputs found by
fuzzing are added next to them by hand (named crash-*), so the replay tests keep them fixed."""
import base64
import gzip
import io
import json
import pathlib
import tarfile

root = pathlib.Path(__file__).parent / "corpus"


def put(target, name, data):
    d = root / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def frame(body):
    b = body.encode() if isinstance(body, str) else body
    return b"Content-Length: %d\r\n\r\n" % len(b) + b


# rpc: first byte picks the split size.
messages = [
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"capabilities":{}}}',
    '{"jsonrpc":"2.0","method":"initialized","params":{}}',
    '{"jsonrpc":"2.0","id":"a","method":"sandbox/publish","params":{"folder":"/tmp/x","dockerRun":{"token":"t"}}}',
    '{"jsonrpc":"2.0","id":2,"result":null}',
    '[{"jsonrpc":"2.0","id":3,"method":"x"}]',
    '{"jsonrpc":"1.0","id":{},"method":5}',
    '{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}',
    "not json",
]
put("rpc", "all", b"\x07" + b"".join(frame(m) for m in messages))
put("rpc", "one-byte-splits", b"\x00" + frame(messages[0]))
put("rpc", "garbage-then-header", b"\x10garbage\r\n" + frame(messages[1]))
put("rpc", "oversize", b"\x20Content-Length: 99999999\r\n\r\nabc" + frame(messages[1]))
put("rpc", "headers", b"\x05content-length: 2\r\ncontent-type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}")
put("rpc", "bad-length", b"\x05Content-Length: -1\r\n\r\nContent-Length: x\r\n\r\n" + frame(messages[2]))


def tgz(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, kind, value in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = value.encode()
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = value
                t.addfile(info)
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = value
                t.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                t.addfile(info)
    return buf.getvalue()


archives = {
    "site": [("build", "dir", None), ("build/index.html", "file", "<h1>hi</h1>"), ("build/assets/a.js", "file", "x")],
    "link-inside": [("build/index.html", "file", "x"), ("build/link.html", "symlink", "index.html")],
    "link-outside": [("build/index.html", "file", "x"), ("build/evil", "symlink", "../../etc")],
    "link-absolute": [("build/evil", "symlink", "/etc/passwd")],
    "through-link": [("build/d", "symlink", "/tmp"), ("build/d/x", "file", "x")],
    "dotdot": [("build/../escape", "file", "x"), ("build/index.html", "file", "x")],
    "absolute": [("/build/index.html", "file", "x")],
    "hardlink": [("build/a", "file", "x"), ("build/b", "hardlink", "build/a")],
    "fifo": [("build/p", "fifo", None)],
    "no-build": [("out/index.html", "file", "x")],
}
for name, entries in archives.items():
    data = tgz(entries)
    put("archive", f"raw-{name}", b"\x00" + data)
    put("archive", f"result-{name}",
        b"\x01" + json.dumps({"stdout": base64.b64encode(data).decode(), "stderr": "", "error": ""}).encode())
put("archive", "not-gzip", b"\x00hello")
put("archive", "gzip-not-tar", b"\x00" + gzip.compress(b"hello world"))
put("archive", "result-not-base64", b'\x01{"stdout":"%%%","stderr":"","error":""}')

for i, target in enumerate([
    "/s/site/", "/s/site/index.html", "/s/site", "/v/" + "a" * 40 + "/assets/app.js", "/s/../etc/passwd",
    "/s/site/%2e%2e/%2e%2e/x", "/s/site/a%2fb", "/.studyhub/health", "/s/site/a%00b", "//s//site//x",
    "/s/site/a\\..\\b", "/s/site/?q=1#f", "/v/short/x", "/s/SITE/", "/s/site/%", "/s/site/%zz",
]):
    put("resolve", f"{i:02}", target)

settings = {
    "full": {"name": "x", "preset": "vite", "outputDir": "dist", "target": "docker-run", "ignore": ["*.log"],
             "include": [".env.example"], "limits": {"maxFiles": 10}, "buildTimeoutSeconds": 60,
             "keepVersions": 3, "dockerRun": {"url": "https://b.example", "image": "i", "timeoutSeconds": 9,
                                              "maxRequestBytes": 100, "token": "t"}},
    "bad-types": {"name": 5, "limits": [], "dockerRun": {"url": "ftp://x"}},
    "empty": {},
}
for name, value in settings.items():
    put("settings", name, json.dumps(value))
put("settings", "comments", '// a comment\n{"name": "x" /* inline */}')
put("settings", "gitignore", "src/app\n*.log\n!keep.log\n/build/\n\\#not-comment\n**/tmp/**\n[abc]?.txt\n#c\n \n")
print("seeds written to", root)

# relpath: lines "path" (a file) or "path>target" (a link); the chains the tenants issue found.
put("relpath", "chain", "a/b/c/x>../../..\nesc>a/b/c/x/../../../..\n")
put("relpath", "dir-link", "d>sub/deeper\nout>d/../../..\nsub/deeper/f\n")
put("relpath", "link-to-link", "one>two\ntwo>three/../..\n")
put("relpath", "out-and-back", "l>sub\nm>l/../../site/sub\nsub/f\n")
put("relpath", "fine", "latest.js>assets/app.js\nassets/alias>../latest.js\nassets/app.js\n")
put("relpath", "loop", "a>b\nb>a\n")
put("relpath", "absolute", "a>/etc/passwd\n")
put("relpath", "self", "x>y/z\ny>.\nw>y/y/y/..\n")
