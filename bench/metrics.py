#!/usr/bin/python3
"""How long a GET /metrics takes with many zones and secondaries (the target: under 50 ms for 10k zones).

    /usr/bin/python3 bench/metrics.py [--zones 10000] [--peers 3] [--scrapes 20] [--limit-ms 50]

Starts Headwater (HEADWATER_BIN, default build-bench/server/headwater) with --zones small generated
zones, each with --notify-targets NOTIFY targets (default two) on unused loopback ports (their give-ups fill the NOTIFY state) and
metrics_listen on loopback. Then --peers addresses (127.0.0.2, 127.0.0.3, ...) each send every zone an
IXFR over UDP with the served serial (an up-to-date secondary: the registry records the serial it holds),
so every zone has --peers secondaries. It then scrapes /metrics --scrapes times, one after the other,
reading each answer straight into a buffer (the time a fast scraper sees), while another process keeps
sending SOA queries. It prints the wall time per scrape (median, max), the server's own
headwater_metrics_render_seconds, and the SOA latencies before and during the scrapes (the endpoint
must not slow serving). Exit status 1 when the median exceeds --limit-ms.
"""

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import multiprocessing
import time
import urllib.request
from pathlib import Path

import dns.message
import dns.rdatatype
import dns.rrset

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "lib"))
from hwtest import _die_with_parent, free_port  # noqa: E402

ADDR = "127.0.0.1"
SERIAL = 2026120501


def zone_text(origin):
    return (f"$ORIGIN {origin}\n$TTL 300\n@ IN SOA ns1 hostmaster {SERIAL} 3600 900 1209600 300\n"
            f"@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n")


def write_config(d, zones, port, metrics_port, notify_targets=2):
    dead = [f"{ADDR}:{free_port()}" for _ in range(notify_targets)]
    notify = ", ".join(f'"{t}"' for t in dead)
    lines = ["[server]", f'listen = ["{ADDR}:{port}"]', 'control_socket = "run/hw.sock"', 'state_dir = "state"',
             'log_level = "warn"', f'metrics_listen = "{ADDR}:{metrics_port}"', "",
             "[[acl]]", 'name = "providers"', 'networks = ["127.0.0.0/8"]']
    (d / "zones").mkdir()
    (d / "run").mkdir()
    for z in zones:
        (d / "zones" / f"{z}zone").write_text(zone_text(z))
        lines += ["", "[[zone]]", f'name = "{z}"', f'file = "zones/{z}zone"', 'allow_transfer = ["providers"]',
                  f'notify = [{notify}]', "notify_retries = 0", 'notify_retry_interval = "1s"']
    (d / "headwater.toml").write_text("\n".join(lines) + "\n")


def ixfr_up_to_date(port, zones, source):
    """One UDP IXFR per zone from `source`, claiming the served serial; a few in flight at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(2.0)
        for i in range(0, len(zones), 64):
            batch = zones[i:i + 64]
            for z in batch:
                q = dns.message.make_query(z, dns.rdatatype.IXFR)
                q.authority.append(dns.rrset.from_text(z, 0, "IN", "SOA",
                                                       f"ns1.{z} hostmaster.{z} {SERIAL} 3600 900 1209600 300"))
                s.sendto(q.to_wire(), (ADDR, port))
            for _ in batch:
                try:
                    s.recvfrom(65535)
                except socket.timeout:
                    break


def soa_load(port, zone, stop, out):
    """SOA queries one after the other until `stop`; sends back [(sent at, latency s or None)]."""
    answers = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        q = dns.message.make_query(zone, "SOA").to_wire()
        while not stop.is_set():
            t0 = time.monotonic()
            s.sendto(q, (ADDR, port))
            try:
                s.recvfrom(4096)
                answers.append((t0, time.monotonic() - t0))
            except socket.timeout:
                answers.append((t0, None))
    out.send(answers)


def latency_row(answers):
    got = sorted(a for _, a in answers if a is not None)
    lost = sum(1 for _, a in answers if a is None)
    if not got:
        return f"{lost} lost, none answered"
    q = lambda f: got[min(len(got) - 1, int(f * len(got)))] * 1e6  # noqa: E731
    return f"{len(got)} answered, {lost} lost; p50 {q(0.5):.0f} us, p99 {q(0.99):.0f} us, max {got[-1] * 1e6:.0f} us"


def scrape(url):
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read().decode()
    return time.perf_counter() - t0, body


def scrape_raw(port, buf):
    """One GET /metrics read straight into `buf` (no parsing, no copies): the time a fast scraper sees,
    without this interpreter's own cost of building a 15 MB string. Returns (seconds, body)."""
    t0 = time.perf_counter()
    with socket.create_connection((ADDR, port), timeout=30) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        view, n = memoryview(buf), 0
        while True:
            if n == len(buf):
                buf.extend(bytes(len(buf)))
                view = memoryview(buf)
            got = s.recv_into(view[n:])
            if got == 0:
                break
            n += got
    elapsed = time.perf_counter() - t0
    head, _, body = bytes(view[:n]).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"scrape failed: {head[:80]!r}")
    return elapsed, body.decode()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--zones", type=int, default=10000)
    p.add_argument("--peers", type=int, default=3)
    p.add_argument("--scrapes", type=int, default=20)
    p.add_argument("--limit-ms", type=float, default=50.0)
    p.add_argument("--notify-targets", type=int, default=2)
    args = p.parse_args()
    binary = os.environ.get("HEADWATER_BIN", str(REPO / "build-bench" / "server" / "headwater"))
    zones = [f"z{i:05d}.bench.example." for i in range(args.zones)]
    with tempfile.TemporaryDirectory(prefix="hw-bench-metrics-") as tmp:
        d = Path(tmp)
        port, metrics_port = free_port(), free_port()
        write_config(d, zones, port, metrics_port, args.notify_targets)
        log = open(d / "server.log", "wb")
        proc = subprocess.Popen([binary, "--config", d / "headwater.toml"], cwd=d, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        url = f"http://{ADDR}:{metrics_port}/metrics"
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    scrape(url)
                    break
                # Before the server listens, a connect to a port in the ephemeral range can meet itself
                # (TCP simultaneous open) and read its own request back: not an answer, wait on.
                except (OSError, http.client.HTTPException):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        tail = (d / "server.log").read_text(errors="replace").splitlines()[-5:]
                        sys.exit("headwater did not start:\n" + "\n".join(tail))
                    time.sleep(0.5)
            t0 = time.monotonic()
            for k in range(args.peers):
                ixfr_up_to_date(port, zones, f"127.0.0.{k + 2}")
            print(f"{args.zones} zones x {args.peers} secondaries recorded in {time.monotonic() - t0:.1f} s")
            time.sleep(3)  # the NOTIFY give-ups (one try, then 1 s)
            # The SOA load runs in a process of its own (no shared interpreter lock with the scrapes), and
            # records each answer's latency: first alone (the baseline), then while the scrapes run.
            parent, child = multiprocessing.Pipe()
            stop = multiprocessing.Event()
            load = multiprocessing.Process(target=soa_load, args=(port, zones[0], stop, child), daemon=True)
            load.start()
            time.sleep(2)
            scrapes_from = time.monotonic()
            times, render = [], []
            buf = bytearray(1 << 24)
            for _ in range(args.scrapes):
                t, body = scrape_raw(metrics_port, buf)
                times.append(t * 1000)
                m = re.search(r"^headwater_metrics_render_seconds (\S+)$", body, re.M)
                render.append(float(m.group(1)) * 1000)
            scrapes_to = time.monotonic()
            stop.set()
            answers = parent.recv()
            load.join(10)
            series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
            peers = len(re.findall(r"^headwater_secondary_serial\{", body, re.M))
            print(f"{len(body) / 1e6:.1f} MB, {series} series, {peers} secondary serials")
            print(f"scrape wall time: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms; "
                  f"render (server): median {statistics.median(render):.1f} ms, max {max(render):.1f} ms")
            print("SOA queries before the scrapes: " + latency_row([a for a in answers if a[0] < scrapes_from]))
            print("SOA queries during the scrapes: "
                  + latency_row([a for a in answers if scrapes_from <= a[0] <= scrapes_to]))
            if statistics.median(times) > args.limit_ms:
                print(f"BENCHMARK FAILED: median scrape {statistics.median(times):.1f} ms > {args.limit_ms} ms")
                sys.exit(1)
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
