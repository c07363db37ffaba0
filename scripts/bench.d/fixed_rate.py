#!/usr/bin/env python3
"""Fixed-rate HTTP load without coordinated omission.

Request i is due at start + i/rate; its latency is measured from that due time, not from when a
connection happened to be free, so a stall shows up in every request it delays (as wrk2 does).
Usage: fixed_rate.py HOST PORT PATH RATE SECONDS BODY [CONNECTIONS]. Prints percentiles in ms.
METHOD (default POST) and HEADER (one more header line, `Name: value`) come from the environment.
"""
import asyncio, os, sys, time

async def main():
    host, port, path, rate, seconds, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
    conns = int(sys.argv[7]) if len(sys.argv) > 7 else 32
    payload = body.encode()
    method = os.environ.get("METHOD", "POST")
    extra = os.environ.get("HEADER", "")
    extra = f"{extra}\r\n" if extra else ""
    request = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    total = int(rate * seconds)
    queue = asyncio.Queue()
    latencies, statuses = [], {}
    start = time.perf_counter() + 0.2

    async def worker():
        reader, writer = await asyncio.open_connection(host, port)
        while True:
            due = await queue.get()
            if due is None:
                writer.close(); return
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - due) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    workers = [asyncio.create_task(worker()) for _ in range(conns)]
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(due)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    latencies.sort()
    def p(q): return latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"requests {len(latencies)} at {rate:.0f}/s, statuses {statuses}: "
          f"p50 {p(0.50):.2f} ms, p99 {p(0.99):.2f} ms, p99.9 {p(0.999):.2f} ms, max {latencies[-1]:.2f} ms")

asyncio.run(main())
