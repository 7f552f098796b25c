#!/usr/bin/env python3
"""Runs wrk against one URL and prints its figures as JSON, after checking that every answer was
right: no non-2xx answers, no socket errors, and as many bytes read per request as the expected
body plus a header (so a short or empty body cannot pass for a fast one).

  wrk_run.py URL EXPECTED_BODY_BYTES [wrk options...]   e.g. -t2 -c50 -d10s

Prints {"ok": bool, "why": "...", "rps": ..., "p50_ms": ..., "p99_ms": ..., "requests": ...}.
"""
import json
import re
import os
import subprocess
import sys

UNITS = {'us': 1e-3, 'ms': 1.0, 's': 1000.0, 'm': 60000.0}
SIZES = {'B': 1, 'KB': 1024, 'MB': 1024 ** 2, 'GB': 1024 ** 3}


def duration_ms(text):
    m = re.fullmatch(r'([\d.]+)(us|ms|s|m)', text)
    return float(m.group(1)) * UNITS[m.group(2)]


def main():
    url, body = sys.argv[1], int(sys.argv[2])
    # WRK_CPUS pins the load generator away from the server's cores (taskset's list syntax).
    pin = ['taskset', '-c', os.environ['WRK_CPUS']] if os.environ.get('WRK_CPUS') else []
    out = subprocess.run([*pin, 'wrk', '--latency', *sys.argv[3:], url], capture_output=True, text=True).stdout
    result = {'ok': False, 'why': '', 'url': url}
    m = re.search(r'(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read', out)
    rps = re.search(r'Requests/sec:\s+([\d.]+)', out)
    if not m or not rps:
        result['why'] = 'wrk printed no totals:\n' + out
        print(json.dumps(result))
        return
    requests, read = int(m.group(1)), float(m.group(2)) * SIZES[m.group(3)]
    result.update(requests=requests, rps=float(rps.group(1)))
    for pct in ('50', '99'):
        p = re.search(rf'^\s+{pct}%\s+(\S+)', out, re.M)
        result[f'p{pct}_ms'] = duration_ms(p.group(1)) if p else None
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    errors = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', out)
    per_request = read / requests if requests else 0
    # wrk rounds the byte total to two decimals of its unit: allow that much below the body size.
    slack = 0.01 * SIZES[m.group(3)] / max(requests, 1)
    if requests == 0:
        result['why'] = 'no requests completed'
    elif non2xx:
        result['why'] = f'{non2xx.group(1)} answers were not 2xx/3xx'
    elif errors and any(int(x) for x in errors.groups()):
        result['why'] = 'socket errors: ' + errors.group(0)
    elif per_request + slack < body or per_request > body + 1024:
        result['why'] = f'{per_request:.0f} bytes read per request, expected {body} plus a header'
    else:
        result['ok'] = True
    print(json.dumps(result))


main()
