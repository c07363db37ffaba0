#!/usr/bin/env python3
"""Claim to invite URL and claim to tools usable (the agent Ready: conversation made, every tool
handed to the running agent).

Usage: claim_ready.py BASE_URL TEMPLATE COUNT CONCURRENCY
COUNT claims, CONCURRENCY at a time. Each claim waits for its invite (CLAIM_WAIT); then the agent
is read every 100 ms until its phase is Ready. Prints p50 and p99 of both, in seconds.
"""
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

base, template, count, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def get(path):
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.load(response)


def claim(i):
    body = json.dumps({"templateId": template, "ownerId": f"bench-{i}"}).encode()
    request = urllib.request.Request(base + "/api/pool/claim", data=body, method="POST", headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.load(response)
    invite = time.perf_counter() - started if answer.get("inviteUrl") else None
    agent = answer["agent"]
    while True:
        phase = get(f"/v1/agents/{agent}").get("status", {}).get("phase")
        if phase == "Ready":
            return invite, time.perf_counter() - started
        if time.perf_counter() - started > 120:
            return invite, None
        time.sleep(0.1)


with ThreadPoolExecutor(max_workers=concurrency) as pool:
    results = list(pool.map(claim, range(count)))


def summary(values):
    done = sorted(v for v in values if v is not None)
    if not done:
        return "none"
    p = lambda q: done[min(len(done) - 1, int(q * len(done)))]
    return f"p50 {p(0.5):.2f} s, p99 {p(0.99):.2f} s ({len(done)}/{len(values)})"


print(f"invite URL {summary([r[0] for r in results])}; tools usable (Ready) {summary([r[1] for r in results])}")
