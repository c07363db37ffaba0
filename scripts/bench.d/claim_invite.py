#!/usr/bin/env python3
"""Claim to invite URL: the time from POST /api/pool/claim to its answer carrying the invite.

Usage: claim_invite.py BASE_URL TEMPLATE COUNT CONCURRENCY [TOKEN]
COUNT claims, CONCURRENCY at a time (1: one after another). Prints p50, p99 and max in ms, and
how many answers carried an invite URL (the claim waits for it, up to CLAIM_WAIT).
"""
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

base, template, count, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
token = sys.argv[5] if len(sys.argv) > 5 else None

def claim(i):
    body = json.dumps({"templateId": template, "ownerId": f"measure-{i}"}).encode()
    request = urllib.request.Request(base + "/api/pool/claim", data=body, method="POST", headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", "Bearer " + token)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.load(response)
        status = response.status
    return (time.perf_counter() - started) * 1000, status, answer.get("inviteUrl")

with ThreadPoolExecutor(max_workers=concurrency) as pool:
    results = list(pool.map(claim, range(count)))
latencies = sorted(r[0] for r in results)
def p(q): return latencies[min(len(latencies) - 1, int(q * len(latencies)))]
invites = sum(1 for r in results if r[2])
statuses = {}
for r in results:
    statuses[r[1]] = statuses.get(r[1], 0) + 1
print(f"{count} claims, {concurrency} at a time: p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, max {latencies[-1]:.0f} ms; "
      f"{invites}/{count} answered with an invite URL, statuses {statuses}")
