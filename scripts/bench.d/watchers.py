"""N watchers of agents for a while, changes flowing, the controller's memory and database
connections sampled throughout: the figures of issue 13's bound on watches.
usage: python3 watchers.py URL PID DATABASE_URL WATCHERS SECONDS"""
import asyncio, json, subprocess, sys, time, urllib.request

url, pid, database, watchers, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
host, port = url.split("//")[1].split(":")
port = int(port)

def rss_mib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

def db_connections():
    out = subprocess.run(["psql", database, "-qAt", "-c",
                          "SELECT count(*) || ' ' || count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"],
                         capture_output=True, text=True)
    total, active = (out.stdout.strip() or "0 0").split()
    return int(total), int(active)

def apply(body):
    req = urllib.request.Request(url + "/v1/apply", data=body.encode(), headers={"Content-Type": "application/yaml"}, method="POST")
    urllib.request.urlopen(req).read()

received = [0] * watchers

async def watch(i):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /apis/agents.convos.org/v1/agents?watch=true&timeoutSeconds={seconds + 30} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if b'"type":"MODIFIED"' in line:
                received[i] += 1
    except (asyncio.CancelledError, ConnectionError):
        pass
    finally:
        writer.close()

def change(n):
    apply(f"""apiVersion: agents.convos.org/v1
kind: Agent
metadata: {{name: watched, labels: {{round: "r{n}"}}}}
spec: {{template: concierge, owner: bench}}
""")

async def main():
    # The same change load first without watchers, so the database pool has grown to what the
    # load needs: what the watchers add is measured against that.
    for n in range(50):
        await asyncio.to_thread(change, n)
        await asyncio.sleep(0.1)
    base_rss, (base_db, _) = rss_mib(), db_connections()
    tasks = [asyncio.create_task(watch(i)) for i in range(watchers)]
    await asyncio.sleep(2)
    peak_rss, peak_db, peak_active, changes = base_rss, base_db, 0, 0
    start = time.time()
    next_sample = start
    while time.time() - start < seconds:
        changes += 1
        await asyncio.to_thread(change, 1000 + changes)
        if time.time() >= next_sample:
            total, active = db_connections()
            peak_rss, peak_db, peak_active = max(peak_rss, rss_mib()), max(peak_db, total), max(peak_active, active)
            next_sample += 2
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)
    total, active = db_connections()
    peak_rss, peak_db, peak_active = max(peak_rss, rss_mib()), max(peak_db, total), max(peak_active, active)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(3)
    after_rss, (after_db, _) = rss_mib(), db_connections()
    # Each change is a MODIFIED (status writes add more).
    complete = sum(1 for r in received if r >= changes)
    print(f"{watchers} watchers for {seconds} s, {changes} changes: resident memory {base_rss:.1f} MiB before, "
          f"{peak_rss:.1f} MiB at most (bound: before + 64 MiB), {after_rss:.1f} MiB after; "
          f"database connections {base_db} before, {peak_db} at most, {peak_active} busy at most (bound: the pool's 24 + the listener, "
          f"whatever the watchers), {after_db} after; "
          f"{complete} of {watchers} watchers saw every change (bound: all)")

asyncio.run(main())
