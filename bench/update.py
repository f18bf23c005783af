#!/usr/bin/python3
"""Sustained TSIG-signed dynamic updates (RFC 2136) per second over TCP: Headwater beside Knot and BIND as
primaries of the same zone, on loopback, one server at a time.

    /usr/bin/python3 bench/update.py [--records 1000] [--seconds 5] [--clients 4] [--repeat 1]
                                     [--servers headwater,knot,bind] [--budget 20000]

Each server is primary of the same generated zone with an hmac-sha256 key allowed to update it, in its
default durability settings (Headwater: journal fdatasync'ed before the answer, zone file written back;
Knot: its journal and zonefile-sync 0; BIND: its .jnl). `--clients` processes each sign `--budget` updates
first (each adding one TXT record at a name of its own: signing in Python costs more than applying an
update, so it stays out of the timed part), then keep one TCP connection and send them one after the
other for `--seconds`. Every answer's RCODE must be NOERROR, and every answer's TSIG is verified after the
run. The table: updates per second (median over repeats) and the
ratio Headwater / best peer. Then, for Headwater only, the time from an update's answer until a Knot
secondary (NOTIFY, IXFR) serves the record.

Binaries: HEADWATER_BIN, default build/server/headwater.
"""

import argparse
import multiprocessing
import os
import socket
import statistics
import struct
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "lib"))
sys.path.insert(0, str(REPO / "tests" / "data"))
os.environ.setdefault("HEADWATER_BIN", str(REPO / "build" / "server" / "headwater"))
os.environ.setdefault("HEADWATERCTL_BIN", str(REPO / "build" / "tools" / "headwaterctl"))
import hwpeers  # noqa: E402
import hwtest  # noqa: E402

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.update  # noqa: E402

ORIGIN = "bench-update.example."
KEY = hwtest.TsigKey("bench-key", "hmac-sha256")


def zone_text(records):
    lines = [f"$ORIGIN {ORIGIN}", "$TTL 3600",
             f"@ IN SOA ns1.{ORIGIN} hostmaster.{ORIGIN} 1 3600 600 86400 300",
             "@ IN NS ns1", "ns1 IN A 192.0.2.1"]
    lines += [f"h{i} IN A 198.51.{(i >> 8) & 255}.{i & 255}" for i in range(records)]
    return "\n".join(lines) + "\n"


class KnotUpdatable(hwtest.KnotPrimary):
    def write_config(self):
        super().write_config()
        conf = self.dir / "knot.conf"
        text = conf.read_text()
        text = text.replace("    action: transfer\n", "    action: [transfer, update]\n")
        text = text.replace("    zonefile-sync: -1\n", "    zonefile-sync: 0\n")
        text = text.replace("    journal-content: none\n", "    journal-content: changes\n")
        conf.write_text(text)
        (self.dir / "db").mkdir(exist_ok=True)  # the journal's LMDB


class BindUpdatable(hwtest.BindPrimary):
    def write_config(self):
        d = self.dir
        zones = "\n".join(f'zone "{z}" {{ type primary; file "{path}"; allow-update {{ key "{KEY.name}"; }}; }};'
                          for z, path in self.zones.items())
        options = ["check-names primary ignore;", "check-integrity no;"]
        (d / "named.conf").write_text(hwpeers.named_conf(d, self.port, options, KEY.bind_text() + zones))


def signed_updates(worker, count):
    """`count` TSIG-signed updates, one TXT record each at a name of its own, made before the clock starts:
    signing in Python costs more than a server takes to apply an update, and would measure the client."""
    out = []
    for n in range(count):
        m = dns.update.UpdateMessage(ORIGIN, keyring=KEY.keyring(), keyname=KEY.dns_name,
                                     keyalgorithm=KEY.wire_algorithm)
        m.add(f"w{worker}-{n}", 60, "TXT", f"update {n}")
        wire = m.to_wire()
        out.append((m, struct.pack("!H", len(wire)) + wire))
    return out


def client(port, worker, seconds, budget, ready, go, out):
    """Sends the pre-signed updates over one TCP connection, one after the other, until `seconds` have
    passed (or they run out); checks each answer's RCODE at once and every answer's TSIG afterwards; puts
    the count in `out`."""
    updates = signed_updates(worker, budget)
    s = socket.create_connection((hwtest.ADDR, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    answers = []
    ready.put(worker)
    go.wait()
    deadline = time.monotonic() + seconds
    for _, wire in updates:
        if time.monotonic() >= deadline:
            break
        s.sendall(wire)
        length = struct.unpack("!H", hwtest.recv_exact(s, 2))[0]
        answer = hwtest.recv_exact(s, length)
        if answer[3] & 0x0F != 0:  # RCODE, in the header's fourth octet (RFC 1035 §4.1.1)
            raise SystemExit(f"worker {worker}: update {len(answers)} answered RCODE {answer[3] & 0x0F}")
        answers.append(answer)
    else:
        raise SystemExit(f"worker {worker}: all {budget} signed updates sent before the time was up")
    finished = time.monotonic()  # the same clock in every process (CLOCK_MONOTONIC)
    s.close()
    for (m, _), answer in zip(updates, answers):
        a = dns.message.from_wire(answer, keyring=m.keyring, request_mac=m.mac)  # raises unless it verifies
        if a.rcode() != dns.rcode.NOERROR:
            raise SystemExit(f"worker {worker}: answered {dns.rcode.to_text(a.rcode())}")
    out.put((len(answers), finished))


def measure(port, clients, seconds, budget):
    q, ready, go = multiprocessing.Queue(), multiprocessing.Queue(), multiprocessing.Event()
    procs = [multiprocessing.Process(target=client, args=(port, w, seconds, budget, ready, go, q))
             for w in range(clients)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=600)  # every client has signed its updates and connected
    t0 = time.monotonic()
    go.set()
    results = [q.get(timeout=seconds + 600) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit("a client failed")
    return sum(n for n, _ in results) / (max(t for _, t in results) - t0)


def start(kind, src):
    if kind == "headwater":
        acl = hwtest.AclConf("upd", networks=["127.0.0.0/8"], keys=[KEY])
        opts = {"allow_update": ["upd"]}
        if os.environ.get("HW_ZONEFILE_SYNC"):
            opts["zonefile_sync"] = os.environ["HW_ZONEFILE_SYNC"]
        z = hwtest.ZoneConf(ORIGIN, src, notify_options=opts)
        server = hwtest.Headwater([z], keys=[KEY], acls=[acl], log_level="warn")
    elif kind == "knot":
        server = KnotUpdatable({ORIGIN: src}, key=KEY)
    else:
        server = BindUpdatable({ORIGIN: src})
    server.start()
    return server


def propagation(src, samples=5):
    """Seconds from an update's answer until a Knot secondary of Headwater serves the record."""
    acl = hwtest.AclConf("upd", networks=["127.0.0.0/8"], keys=[KEY])
    z = hwtest.ZoneConf(ORIGIN, src, notify_options={"allow_update": ["upd"]})
    hw = hwtest.Headwater([z], keys=[KEY], acls=[acl], log_level="warn")
    knot = hwtest.KnotSecondary([ORIGIN], hw.port)
    z.notify = [f"{hwtest.ADDR}:{knot.port}"]
    times = []
    try:
        hw.start()
        knot.start()
        knot.wait_serial(ORIGIN, 1, timeout=30)
        for i in range(samples):
            m = dns.update.UpdateMessage(ORIGIN, keyring=KEY.keyring(), keyname=KEY.dns_name,
                                         keyalgorithm=KEY.wire_algorithm)
            m.add(f"prop-{i}", 60, "A", "203.0.113.1")
            dns.query.tcp(m, hwtest.ADDR, port=hw.port, timeout=5)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 10:
                r = dns.query.udp(dns.message.make_query(f"prop-{i}.{ORIGIN}", "A"), hwtest.ADDR, port=knot.port,
                                  timeout=1)
                if r.answer:
                    times.append(time.monotonic() - t0)
                    break
                time.sleep(0.005)
            time.sleep(0.5)
    finally:
        knot.close()
        hw.close()
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--budget", type=int, default=20000,
                    help="signed updates each client prepares (more than it can send in --seconds)")
    ap.add_argument("--servers", default="headwater,knot,bind")
    args = ap.parse_args()
    tmp = hwtest.tempdir("bench-update")
    src = tmp / "zone"
    src.write_text(zone_text(args.records))
    results = {}
    try:
        for kind in args.servers.split(","):
            rates = []
            for _ in range(args.repeat):
                server = start(kind, src)
                try:
                    rates.append(measure(server.port, args.clients, args.seconds, args.budget))
                finally:
                    server.close()
            results[kind] = statistics.median(rates)
            print(f"{kind:10s} {results[kind]:9.0f} updates/s  (runs: {', '.join('%.0f' % r for r in rates)})",
                  flush=True)
        peers = [v for k, v in results.items() if k != "headwater"]
        if "headwater" in results and peers:
            print(f"headwater / best peer: {results['headwater'] / max(peers):.2f}")
        if "headwater" in results:
            t = propagation(src)
            print("answer -> Knot secondary serving: " + ", ".join(f"{x * 1000:.0f} ms" for x in t))
    finally:
        hwtest.cleanup_dir(tmp)


if __name__ == "__main__":
    main()
