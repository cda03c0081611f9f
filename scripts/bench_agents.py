#!/usr/bin/env python3
"""Simulated agents against a running hub (scripts/bench-agents starts the hub and calls this).

Each simulated agent enrolls like `mzpanel-agent enroll`, then behaves like the daemon's hub loop
(Sources/Agent/Daemon/Daemon.swift): deliver its outbox, sync jobs every 300 s (--sync-seconds), long-poll commands
with wait=25, acknowledge what it gets; once per simulated hour it reports a finished run with a
snapshot (runStarted + runFinished). One kept-alive HTTP/1.1 connection per agent, as URLSession
keeps one. Meanwhile a person lists servers (API) and opens /backups (web), before the agents
connect (the baseline) and while they are connected. Prints one JSON object with the figures.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import resource
import string
import sys
import time

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def rid(kind):
    return kind + "_" + "".join(random.choice(ALPHABET) for _ in range(20))


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int((ts % 1) * 1000)


class Connection:
    """One kept-alive HTTP/1.1 connection; reconnects when the hub closes it."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method, path, headers=None, body=None, timeout=60):
        for attempt in range(2):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                return await asyncio.wait_for(self._exchange(method, path, headers or {}, body), timeout)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                self.close()
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")

    async def _exchange(self, method, path, headers, body):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(data)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        await self.writer.drain()
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        response_headers = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            key, _, value = line.decode("latin-1").partition(":")
            response_headers.setdefault(key.strip().lower(), []).append(value.strip())
        if "content-length" in response_headers:
            payload = await self.reader.readexactly(int(response_headers["content-length"][0]))
        elif "chunked" in ",".join(response_headers.get("transfer-encoding", [])):
            payload = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                payload += chunk[:-2]
        else:
            payload = b""
        if "close" in ",".join(response_headers.get("connection", [])).lower():
            self.close()
        return status, response_headers, payload

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Figures:
    def __init__(self):
        self.samples = {}
        self.errors = {}
        # Agent requests that start before this moment (the connect ramp) count apart, as "connect: NAME".
        self.steady_from = float("inf")

    def add(self, name, seconds):
        self.samples.setdefault(name, []).append(seconds * 1000)

    def add_agent(self, name, started_at, seconds):
        self.add(name if started_at >= self.steady_from else "connect: " + name, seconds)

    def error(self, name, text):
        self.errors[name] = self.errors.get(name, 0) + 1
        if self.errors[name] <= 3:
            print(f"bench-agents: {name}: {text}", file=sys.stderr)

    def summary(self, name):
        values = sorted(self.samples.get(name, []))
        if not values:
            return {"count": 0}
        pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 2)
        return {"count": len(values), "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": round(values[-1], 2)}


class Hub:
    def __init__(self, url):
        rest = url.split("://", 1)[1].rstrip("/")
        self.host, _, port = rest.partition(":")
        self.port = int(port or 80)

    def connection(self):
        return Connection(self.host, self.port)


async def setup_agent(hub, token, index, figures):
    """Adds a server with one job on a local destination and enrolls its simulated agent."""
    api = hub.connection()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        status, _, body = await api.request("POST", "/api/v1/servers", auth, {"name": f"sim-{index:05d}"})
        if status != 201:
            raise RuntimeError(f"POST /api/v1/servers answered {status}: {body[:200]!r}")
        created = json.loads(body)
        server_id = created["server"]["id"]
        enroll_token = created["enrollment"]["secret"]
        job = {
            "name": "nightly", "server": server_id, "kind": "full", "sources": {"paths": ["/srv/app"]},
            "schedule": "daily 03:00", "destinations": ["bench-local"],
        }
        status, _, body = await api.request("POST", "/api/v1/jobs", auth, job)
        if status != 201:
            raise RuntimeError(f"POST /api/v1/jobs answered {status}: {body[:200]!r}")
        answer = json.loads(body)
        job_id = answer.get("job", answer)["id"]
        key = base64.b64encode(os.urandom(32)).decode()
        enroll = {
            "token": enroll_token, "publicKey": key, "keyFingerprint": "SHA256:" + hashlib.sha256(key.encode()).hexdigest()[:43],
            "hostname": f"sim-{index:05d}", "agentVersion": "0.1.0+bench",
        }
        status, _, body = await api.request("POST", "/api/agent/v1/enroll", {}, enroll)
        if status not in (200, 201):
            raise RuntimeError(f"enroll answered {status}: {body[:200]!r}")
        enrolled = json.loads(body)
        return {"server": server_id, "job": job_id, "account": enrolled["accountID"], "credential": enrolled["credential"]}
    finally:
        api.close()


async def timed_request(conn, headers, figures, name, method, path, body=None, timeout=60):
    """One agent request; its latency counts unless it is a long-poll. (status, payload), or Nones on failure."""
    started, started_at = time.monotonic(), time.time()
    try:
        status, _, payload = await conn.request(method, path, headers, body, timeout=timeout)
    except Exception as error:  # a failed request counts, and the loop goes on like the daemon's backoff
        figures.error(name, repr(error))
        await asyncio.sleep(1)
        return None, None
    if name != "commands":
        figures.add_agent(name, started_at, time.monotonic() - started)
    if status >= 400:
        figures.error(name, f"HTTP {status}: {payload[:200]!r}")
    return status, payload


def agent_headers(agent):
    return {"Authorization": "Agent " + agent["credential"], "User-Agent": "mzpanel-agent/0.1.0+bench"}


async def run_agent(hub, agent, start_at, stop_at, figures, counters, sync_seconds):
    """The daemon's hub loop for one simulated agent from `start_at` until `stop_at`."""
    await asyncio.sleep(max(0, start_at - time.time()))
    conn = hub.connection()
    headers = agent_headers(agent)
    last_sync = 0.0
    while time.time() < stop_at:
        if time.time() - last_sync >= sync_seconds:
            status, _ = await timed_request(conn, headers, figures, "jobs", "GET", "/api/agent/v1/jobs")
            if status is not None:
                last_sync = time.time()
        status, payload = await timed_request(conn, headers, figures, "commands", "GET", "/api/agent/v1/commands?wait=25", timeout=40)
        counters["polls"] += 1
        if status == 200 and payload:
            for command in json.loads(payload).get("commands", []):
                await timed_request(conn, headers, figures, "ack", "POST", f"/api/agent/v1/commands/{command['id']}/ack")
    conn.close()


async def report_runs(hub, agent, stop_at, hour_seconds, figures, counters):
    """Once per simulated hour (at a random offset) the box's run ends and the daemon delivers its
    events at once (runStarted + runFinished with a snapshot), on a connection of its own."""
    next_run = time.time() + random.uniform(0, hour_seconds)
    while next_run < stop_at:
        await asyncio.sleep(max(0, next_run - time.time()))
        now = time.time()
        next_run += hour_seconds
        run_id, started_at = rid("run"), now - 30
        run = {
            "id": run_id, "accountID": agent["account"], "serverID": agent["server"], "jobID": agent["job"],
            "trigger": "timer", "status": "running", "createdAt": iso(started_at), "startedAt": iso(started_at),
            "bytesAdded": 0, "bytesProcessed": 0, "filesNew": 0, "results": [],
        }
        restic_ids = [os.urandom(32).hex()]
        finished = dict(run, status="succeeded", finishedAt=iso(now), bytesAdded=1024, bytesProcessed=10240, filesNew=3,
                        results=[{"destinationID": agent["destination"], "status": "succeeded", "resticSnapshotIDs": restic_ids,
                                  "bytesAdded": 1024, "bytesProcessed": 10240}])
        snapshot = {"id": rid("snp"), "accountID": agent["account"], "serverID": agent["server"], "jobID": agent["job"],
                    "runID": run_id, "createdAt": iso(now),
                    "copies": [{"destinationID": agent["destination"], "resticSnapshotIDs": restic_ids, "bytesAdded": 1024, "bytesTotal": 10240}]}
        batch = {"events": [
            {"id": rid("evt"), "kind": "runStarted", "occurredAt": iso(started_at), "run": run},
            {"id": rid("evt"), "kind": "runFinished", "occurredAt": iso(now), "run": finished, "snapshot": snapshot},
        ]}
        conn = hub.connection()
        status, _ = await timed_request(conn, agent_headers(agent), figures, "events", "POST", "/api/agent/v1/events", batch)
        conn.close()
        if status is not None and status < 300:
            counters["runs"] += 1


async def person(hub, token, email, password, stop_at, figures, label):
    """A person: the servers listing (API, bearer token) and the hub page (web, session cookie)."""
    api, web = hub.connection(), hub.connection()
    status, headers, _ = await web.request(
        "POST", "/api/v1/session", {"X-MZPanel-Request": "1"}, {"email": email, "password": password})
    cookie = "; ".join(c.split(";", 1)[0] for c in headers.get("set-cookie", []))
    if status >= 300 or not cookie:
        figures.error(label, f"could not log in to the web hub: HTTP {status}")
    while time.time() < stop_at:
        started = time.monotonic()
        status, _, _ = await api.request("GET", "/api/v1/servers", {"Authorization": f"Bearer {token}"})
        figures.add(f"{label}: GET /api/v1/servers", time.monotonic() - started)
        if status != 200:
            figures.error(label, f"servers HTTP {status}")
        started = time.monotonic()
        status, _, _ = await web.request("GET", "/backups", {"Cookie": cookie})
        figures.add(f"{label}: GET /backups", time.monotonic() - started)
        if status != 200:
            figures.error(label, f"/backups HTTP {status}")
        await asyncio.sleep(0.25)
    api.close()
    web.close()


def database_transactions(url):
    """Committed transactions of the hub's PostgreSQL database so far (each autocommit statement is one)."""
    if not url:
        return None
    import subprocess
    query = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
    out = subprocess.run(["psql", url, "-Atqc", query], capture_output=True, text=True, check=False)
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip().isdigit() else None


def process_figures(pid):
    """CPU seconds (user + system) and RSS / peak RSS in MiB of the hub process."""
    if not pid:
        return None
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    memory = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                memory[key] = int(value.split()[0]) / 1024
    return {"cpu_seconds": cpu, "rss_mib": round(memory.get("VmRSS", 0), 1), "peak_rss_mib": round(memory.get("VmHWM", 0), 1)}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60, help="how long the agents stay connected, measured")
    parser.add_argument("--hour-seconds", type=float, default=60, help="a simulated hour (one run per agent per hour)")
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--ramp-seconds", type=float, default=60,
                        help="agents connect spread over this long (as daemons started at different times: their minute job syncs"
                             " spread evenly); the steady figures are measured after it, the ramp's apart as 'connect'")
    parser.add_argument("--sync-seconds", type=float, default=300, help="the daemon's periodic job sync (Daemon.Options.jobSyncInterval)")
    parser.add_argument("--hub-pid", type=int, default=0)
    parser.add_argument("--database-url", default="", help="PostgreSQL: also count the database's transactions")
    options = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, options.agents * 2 + 256)), hard))
    token = open(options.token_file).read().strip()
    password = open(options.password_file).read().strip()
    hub = Hub(options.url)
    figures = Figures()

    api = hub.connection()
    status, _, body = await api.request(
        "POST", "/api/v1/destinations", {"Authorization": f"Bearer {token}"},
        {"name": "bench-local", "kind": "local", "settings": {"path": "/var/backups/bench"}})
    if status != 201:
        sys.exit(f"bench-agents: could not add the destination: HTTP {status} {body[:300]!r}")
    answer = json.loads(body)
    destination = answer.get("destination", answer)["id"]
    api.close()

    setup_started = time.time()
    agents = []
    semaphore = asyncio.Semaphore(16)

    async def one(index):
        async with semaphore:
            try:
                agent = await setup_agent(hub, token, index, figures)
                agent["destination"] = destination
                agents.append(agent)
                if len(agents) % 1000 == 0:
                    print(f"bench-agents: {len(agents)} of {options.agents} agents enrolled", file=sys.stderr)
            except Exception as error:
                figures.error("setup", repr(error))

    await asyncio.gather(*(one(i) for i in range(options.agents)))
    setup_seconds = time.time() - setup_started

    # The person's figures with the whole fleet enrolled but no agent connected (and the database work
    # the person alone causes): what the agents' presence adds is measured against the same fleet.
    await asyncio.sleep(5)  # let the enrollments' own work settle first
    baseline_from, baseline_transactions = time.time(), database_transactions(options.database_url)
    await person(hub, token, options.email, password, time.time() + options.baseline_seconds, figures, "baseline")
    baseline_rate = person_per_round = None
    if baseline_transactions is not None:
        person_transactions = database_transactions(options.database_url) - baseline_transactions
        baseline_rate = person_transactions / (time.time() - baseline_from)
        # The person's database work per round (servers + /backups), the same however fast rounds go.
        person_per_round = person_transactions / max(1, len(figures.samples.get("baseline: GET /api/v1/servers", [])))

    counters = {"polls": 0, "runs": 0}
    ramp_from = time.time()
    measured_from = ramp_from + options.ramp_seconds
    figures.steady_from = measured_from
    print(f"bench-agents: {len(agents)} agents enrolled in {setup_seconds:.0f} s; connecting over {options.ramp_seconds:.0f} s,"
          f" then measuring {options.seconds:.0f} s", file=sys.stderr)
    stop_at = measured_from + options.seconds
    tasks = [asyncio.create_task(run_agent(hub, a, ramp_from + random.uniform(0, options.ramp_seconds), stop_at, figures, counters,
                                           options.sync_seconds))
             for a in agents]
    tasks += [asyncio.create_task(report_runs(hub, a, stop_at, options.hour_seconds, figures, counters)) for a in agents]
    await asyncio.sleep(max(0, measured_from - time.time()))
    before = process_figures(options.hub_pid)
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    transactions_before = database_transactions(options.database_url)
    await person(hub, token, options.email, password, stop_at, figures, "with agents")
    await asyncio.gather(*tasks)
    after = process_figures(options.hub_pid)
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    transactions_after = database_transactions(options.database_url)
    elapsed = time.time() - measured_from

    result = {
        "agents": len(agents), "agents_requested": options.agents, "setup_seconds": round(setup_seconds, 1),
        "measured_seconds": round(elapsed, 1), "polls": counters["polls"], "runs_reported": counters["runs"],
        "agent_requests": {name: figures.summary(name) for name in ("jobs", "events", "ack")},
        # The connect ramp: every agent's first job sync (a hub restart looks like this, or worse).
        "agent_requests_while_connecting": {name: figures.summary("connect: " + name) for name in ("jobs", "events", "ack")},
        "person": {name: figures.summary(name) for name in sorted(figures.samples) if ":" in name and not name.startswith("connect: ")},
        "errors": figures.errors,
        # The generator's own CPU: near 100 % it is the bottleneck and the latencies include its lag.
        "load_generator_cpu_percent_of_one_core": round(
            100 * (own_after.ru_utime + own_after.ru_stime - own_before.ru_utime - own_before.ru_stime) / elapsed, 1),
    }
    if before and after:
        result["hub"] = {
            "cpu_percent_of_one_core": round(100 * (after["cpu_seconds"] - before["cpu_seconds"]) / elapsed, 1),
            "rss_mib": after["rss_mib"], "peak_rss_mib": after["peak_rss_mib"],
        }
    if transactions_before is not None and transactions_after is not None:
        # pg_stat counters reach the statistics view within about a second: close enough over a minute.
        rate = (transactions_after - transactions_before) / elapsed
        result["database_transactions_per_second"] = round(rate, 1)
        if baseline_rate is not None:
            result["database_transactions_per_second_person_only"] = round(baseline_rate, 1)
            # The person's share is taken out by rounds, not by time: with agents connected its rounds are slower.
            rounds = len(figures.samples.get("with agents: GET /api/v1/servers", []))
            person_rate = person_per_round * rounds / elapsed
            result["database_transactions_per_person_round"] = round(person_per_round, 1)
            result["database_transactions_per_agent_per_minute"] = round(60 * (rate - person_rate) / max(1, len(agents)), 2)
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
