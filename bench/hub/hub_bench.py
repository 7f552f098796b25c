#!/usr/bin/env python3
"""The hub, measured on real parts: a private PostgreSQL, `hub serve`, the CLI.

  (1) re-publish of an unchanged 10,000-file folder, the whole CLI process (goal < 250 ms, zero bytes
      uploaded), beside rsync of the same folder to a copy that is already in sync;
  (2) the bytes a one-file change sends (goal: that file plus the file list), beside rsync's;
  (3) enqueue-to-build-start with an idle worker (goal < 50 ms), from the database's own timestamps;
  (4) a worker's progress event to a follower's line (goal < 50 ms);
  (5) claims per second with 4 workers on empty builds (the versions exist: claim, reuse, finish).

Each figure is printed only after its answer was checked (status, bytes, content).
  bench/hub/run.sh [BUILD_DIR]
"""
import datetime
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
BIN = str(BUILD / "server/studyhub-sandbox")
HERE = pathlib.Path(__file__).resolve().parent
WORK = pathlib.Path(tempfile.mkdtemp(prefix="studyhub-bench-hub-"))
# PostgreSQL's own folder, beside WORK: run as root, the server runs as postgres, which cannot pass
# through WORK (0700, root's).
PG = pathlib.Path(tempfile.mkdtemp(prefix="studyhub-bench-pg-"))
PG_BIN = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"))[-1]
AS_PG = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
procs = []


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


def fail(what):
    print(f"   FAILED: {what}; no figure printed")
    sys.exit(1)


def cleanup():
    for p in procs:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
    subprocess.run(AS_PG + [str(PG_BIN / "pg_ctl"), "-D", str(PG / "data"), "-m", "immediate", "stop"],
                   capture_output=True)
    shutil.rmtree(WORK, ignore_errors=True)
    shutil.rmtree(PG, ignore_errors=True)


def api(base, token, method, path, body=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def start_hub(database, data, *flags):
    # The access log (stderr) says how many bytes each request brought: (2) adds them up.
    log = open(WORK / f"hub{len(procs)}.log", "w")
    p = subprocess.Popen([BIN, "--log-level", "info", "hub", "serve", "--database", database, "--data", data,
                          "--port", "0", *flags], stdout=subprocess.PIPE, stderr=log, text=True)
    procs.append(p)
    line = p.stdout.readline()
    if "hub listening on" not in line:
        fail("the hub did not start: " + line)
    return line.split()[3]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


try:
    if AS_PG:
        shutil.chown(PG, "postgres")
    run(*AS_PG, str(PG_BIN / "initdb"), "-D", str(PG / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
    run(*AS_PG, str(PG_BIN / "pg_ctl"), "-D", str(PG / "data"), "-o", f"-k {PG} -c listen_addresses=''",
        "-l", str(PG / "log"), "-w", "start")
    database = f"host={PG} user=postgres dbname=postgres"
    hub = start_hub(database, str(WORK / "data"))
    token = run(BIN, "hub", "user", "add", "ada", "--database", database).stdout.strip()
    env = dict(os.environ, STUDYHUB_SANDBOX_HOME=str(WORK / "state"), STUDYHUB_SANDBOX_HUB_TOKEN=token)

    def publish(folder, *extra):
        r = subprocess.run([BIN, "publish", "--json", "--target", "hub", "--hub-url", hub, str(folder), *extra],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            fail("publish failed: " + r.stderr + r.stdout[-500:])
        return json.loads(r.stdout.strip().splitlines()[-1])

    # (1) and (2): a 10,000-file folder (static: the hub builds it by packing it).
    folder = WORK / "big"
    run("python3", str(HERE.parent / "snapshot/make_folder.py"), str(folder))
    shutil.rmtree(folder / "node_modules", ignore_errors=True)  # not part of a snapshot; keeps the copy small
    first = publish(folder)
    if first["files"] < 10000 or first["uploadedFiles"] != first["files"]:
        fail(f"the first publish sent {first['uploadedFiles']} of {first['files']} files")
    again = publish(folder)
    if not again["cached"] or again["uploadedBytes"] != 0:
        fail("an unchanged re-publish was not answered at once with nothing sent")
    mirror = WORK / "mirror"
    run("rsync", "-a", f"{folder}/", f"{mirror}/")
    check = run("rsync", "-a", "--stats", f"{folder}/", f"{mirror}/").stdout
    if "Number of regular files transferred: 0" not in check:
        fail("rsync's copy is not in sync")
    print(f"== (1) re-publish of an unchanged {first['files']}-file folder to the hub, whole CLI process (goal < 250 ms)")
    run("hyperfine", "-N", "--warmup", "2", "--runs", "15", "--export-json", str(WORK / "h1.json"),
              "--command-name", "studyhub-sandbox publish --target hub (unchanged)",
              f"env STUDYHUB_SANDBOX_HOME={WORK / 'state'} STUDYHUB_SANDBOX_HUB_TOKEN={token} {BIN} publish --json "
              f"--target hub --hub-url {hub} {folder}",
              "--command-name", "rsync -a (already in sync)", f"rsync -a {folder}/ {mirror}/").stdout
    results = json.loads((WORK / "h1.json").read_text())["results"]
    ours, peer = results[0]["mean"] * 1000, results[1]["mean"] * 1000
    print(f"   ours {ours:.0f} ms (σ {results[0]['stddev'] * 1000:.0f}), rsync {peer:.0f} ms: "
          f"ratio {ours / peer:.2f}; bytes uploaded: {again['uploadedBytes']}")

    # (2) One file changed.
    changed = sorted(p for p in folder.rglob("*.js") if p.is_file())[0]
    changed.write_text(changed.read_text() + "\n// changed for the benchmark\n")
    size = changed.stat().st_size
    log_before = (WORK / "hub0.log").read_text()
    one = publish(folder)
    if one["uploadedFiles"] != 1 or one["uploadedBytes"] != size:
        fail(f"a one-file change sent {one['uploadedFiles']} files, {one['uploadedBytes']} bytes (the file is {size})")
    time.sleep(0.2)  # the access log line is written as the answer goes out
    sent = {}  # request kind -> bytes the hub received, from its access log
    for line in (WORK / "hub0.log").read_text()[len(log_before):].splitlines():
        parts = line.split()
        if " bytes in" not in line or len(parts) < 5:
            continue
        kind = "blobs" if "PUT /v1/blobs/" in line else "question" if "/v1/blobs/missing" in line else \
            "file list" if "/deployments " in line else "other"
        sent[kind] = sent.get(kind, 0) + int(line.rsplit(", ", 1)[1].split()[0])
    if sent.get("blobs") != size:
        fail(f"the hub's log shows {sent.get('blobs')} bytes of blobs received, not the file's {size}")
    files_json, missing_json = sent.get("file list", 0), sent.get("question", 0)
    rsync_out = run("rsync", "-a", "--stats", f"{folder}/", f"{mirror}/").stdout
    rsync_sent = int([l for l in rsync_out.splitlines() if l.startswith("Total bytes sent")][0].split(":")[1].replace(",", ""))
    print(f"== (2) a one-file change ({size} bytes) — goal: that file plus the file list")
    print(f"   received by the hub (its access log): the file {sent['blobs']} bytes, the file list {files_json} bytes, "
          f"the which-blobs question {missing_json} bytes; rsync sent {rsync_sent} bytes for the same change")

    # (3) Enqueue to build start, idle worker: the database's own clock on both ends.
    small = WORK / "small"
    for i in range(30):
        (small / "index.html").parent.mkdir(parents=True, exist_ok=True)
        (small / "index.html").write_text(f"<h1>{i}</h1>")
        time.sleep(0.05)  # the worker is idle again, waiting for a notification
        publish(small, "--name", "latency")
    rows = run("psql", "-X", "-A", "-t", "-d", database, "-c",
               "SELECT extract(epoch FROM d.started_at - d.created_at) * 1000 FROM deployments d JOIN sites s ON s.id = d.site_id "
               "WHERE s.name = 'latency' AND started_at IS NOT NULL").stdout.split()
    waits = [float(x) for x in rows]
    if len(waits) != 30:
        fail(f"{len(waits)} of 30 latency deployments started")
    print(f"== (3) enqueue to build start with an idle worker, 30 deployments (goal < 50 ms)")
    print(f"   p50 {percentile(waits, 0.5):.1f} ms, p95 {percentile(waits, 0.95):.1f} ms, max {max(waits):.1f} ms")

    # (4) A progress event's time (the worker writes it) to the moment a follower reads its line.
    slow = WORK / "slow"
    (slow).mkdir()
    (slow / "package.json").write_text(json.dumps({"name": "slow", "private": True, "scripts": {"build": "node build.js"}}))
    (slow / "build.js").write_text("const end = Date.now() + 6000; const t = setInterval(() => { if (Date.now() > end) "
                                   "{ clearInterval(t); require('fs').mkdirSync('dist'); require('fs').writeFileSync('dist/index.html', 'x'); } }, 50);\n")
    runner = threading.Thread(target=lambda: publish(slow))
    runner.start()
    deployment = None
    for _ in range(200):
        rows = run("psql", "-X", "-A", "-t", "-d", database, "-c",
                   "SELECT max(d.id) FROM deployments d JOIN sites s ON s.id = d.site_id WHERE s.name = 'slow'").stdout.strip()
        if rows:
            deployment = int(rows)
            break
        time.sleep(0.05)
    delays = []
    req = urllib.request.Request(f"{hub}/v1/deployments/{deployment}/events", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as stream:
        for raw in stream:
            line = raw.strip()
            if not line:
                continue
            now = time.time()
            event = json.loads(line)
            if event["type"] == "progress" and event["message"].startswith("building…"):
                at = datetime.datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
                delays.append((now - at) * 1000)
    runner.join()
    if len(delays) < 3:
        fail(f"only {len(delays)} live progress lines were seen")
    print(f"== (4) a worker's progress event to a follower's line, {len(delays)} lines (goal < 50 ms)")
    print(f"   p50 {percentile(delays, 0.5):.1f} ms, p95 {percentile(delays, 0.95):.1f} ms, max {max(delays):.1f} ms")

    # (5) Claims per second: 200 deployments whose version exists already (one snapshot, 200 sites),
    # queued with no worker, then a hub with 4 workers drains them.
    quiet = start_hub(database, str(WORK / "data"), "--workers", "0", "--max-queued-per-user", "1000",
                      "--max-sites-per-user", "1000")
    tiny = WORK / "tiny"
    tiny.mkdir()
    (tiny / "index.html").write_text("<h1>tiny</h1>")
    built = publish(tiny, "--name", "tiny-0")
    oid = run("git", "hash-object", str(tiny / "index.html")).stdout.strip()
    manifest = {"snapshotId": built["snapshotId"], "files": [{"path": "index.html", "oid": oid, "mode": "100644"}]}
    procs[0].terminate()  # the first hub (and its worker) leaves
    procs[0].wait(30)
    for i in range(1, 201):
        status, body = api(quiet, token, "POST", f"/v1/sites/tiny-{i}/deployments", manifest)
        if status != 201:
            fail(f"enqueue {i}: {status} {body}")
    t0 = time.time()
    workers = subprocess.Popen([BIN, "--log-level", "warn", "hub", "worker", "--workers", "4", "--database", database,
                                "--data", str(WORK / "data")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(workers)
    while True:
        left = int(run("psql", "-X", "-A", "-t", "-d", database, "-c", "SELECT count(*) FROM jobs").stdout)
        if left == 0:
            break
        if time.time() - t0 > 120:
            fail(f"{left} jobs left after 120 s")
        time.sleep(0.05)
    span = float(run("psql", "-X", "-A", "-t", "-d", database, "-c",
                     "SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM deployments d "
                     "JOIN sites s ON s.id = d.site_id WHERE s.name LIKE 'tiny-%' AND s.name <> 'tiny-0'").stdout)
    ready = int(run("psql", "-X", "-A", "-t", "-d", database, "-c",
                    "SELECT count(*) FROM deployments d JOIN sites s ON s.id = d.site_id WHERE s.name LIKE 'tiny-%' "
                    "AND d.state = 'ready' AND d.cached").stdout)
    if ready != 200:
        fail(f"{ready} of 200 empty builds ended ready")
    status, page = 0, b""
    with urllib.request.urlopen(f"{quiet}/s/ada/tiny-200/") as r:
        status, page = r.status, r.read()
    if status != 200 or b"tiny" not in page:
        fail("the last site does not serve its page")
    print(f"== (5) 200 empty builds (claim, reuse the version, point the site, finish) with 4 workers")
    print(f"   {200 / span:.0f} claims/s ({span * 1000:.0f} ms from the first start to the last finish)")
finally:
    cleanup()
