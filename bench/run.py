#!/usr/bin/python3
"""Headwater vs Knot, NSD and BIND as primaries of the same zone, on loopback.

    /usr/bin/python3 bench/run.py --records 100000 [--records 1000000] [--repeat 3]
                                  [--servers headwater,knot,nsd,bind] [--qps-seconds 5]

Each server is started (one after the other, never two at once) as primary of the same generated zone
on its own 127.0.0.1 port, with the same hmac-sha256 TSIG key required for transfers. Per repeat, a
fresh instance is started and measured; the table shows median [min-max] over the repeats and the
ratio Headwater / best peer. Every AXFR's record count is checked against the zone's: a mismatch
stops the run with an error (exit status 1).

Binaries: HEADWATER_BIN / HEADWATERCTL_BIN, default build-bench/server/headwater and
build-bench/tools/headwaterctl (see BENCHMARKS.md for the build command).

Headwater and BIND also serve the zone over TLS (XoT, RFC 9103: TLS 1.3, ALPN "dot") on a second port
with a throw-away certificate; the "AXFR over TLS" rows measure the same signed AXFR through python's
ssl (n/a for Knot 3.2 and NSD 4.6, which cannot serve XoT).
"""

import argparse
import base64
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dns.message
import dns.rdata
import dns.rdataclass
import dns.name
import dns.rdatatype
import dns.tsig

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "data"))
sys.path.insert(0, str(REPO / "tests" / "lib"))
import gen_zone  # noqa: E402
import hwtls  # noqa: E402  (throw-away certificates, the DNS-over-TLS client context)
# The test harness's wire and process helpers (free ports, exact reads, name skipping, children that die
# with us) serve the benchmark unchanged.
from hwtest import _die_with_parent, free_port, recv_exact  # noqa: E402
from hwtest import _skip_name as skip_name  # noqa: E402
from hwpeers import nsd_server_conf  # noqa: E402

ADDR = "127.0.0.1"
ORIGIN = "bench.example."
KEY_NAME = "bench-key"
SERIAL1 = 2024010101
SERIAL2 = 2024010102
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- zone -----------------------------------------------------------------------------------------
def make_zones(records, workdir):
    """(v1 path, v2 path, v1 record count, v2 record count). v2: new serial, one changed A, 3 added."""
    v1 = workdir / f"zone-{records}.1"
    v2 = workdir / f"zone-{records}.2"
    text = gen_zone.Generator(ORIGIN, SERIAL1, "1", False).generate(records)
    v1.write_text(text)
    # The generator writes exactly `records` RRs (SOA once).
    count = records
    t2, n = re.subn(r"(\s)(\d+)(\s*;\s*serial)", lambda m: f"{m.group(1)}{SERIAL2}{m.group(3)}", text, count=1)
    if n != 1:
        raise BenchError("generated zone has no serial marker")
    # One changed record: www's A 192.0.2.80 -> 192.0.2.81 (the generator writes it once).
    t2, n = re.subn(r"(\nwww\t300\tA\t)192\.0\.2\.80\n", r"\g<1>192.0.2.81\n", t2, count=1)
    if n != 1:
        raise BenchError("generated zone has no www A record to change")
    t2 += "".join(f"bench-new{i}.{ORIGIN}\t300\tIN\tA\t192.0.2.{200 + i}\n" for i in range(3))
    v2.write_text(t2)
    return v1, v2, count, count + 3


# ---- raw DNS over TCP -----------------------------------------------------------------------------


def walk_rrs(wire):
    """[(type, soa_serial or None)] of the answer section."""
    qd, an = struct.unpack_from("!HH", wire, 4)
    pos = 12
    for _ in range(qd):
        pos = skip_name(wire, pos) + 4
    out = []
    for _ in range(an):
        pos = skip_name(wire, pos)
        rtype, _c, _t, rdlen = struct.unpack_from("!HHIH", wire, pos)
        pos += 10
        serial = None
        if rtype == 6:
            p = skip_name(wire, skip_name(wire, pos))
            (serial,) = struct.unpack_from("!I", wire, p)
        out.append((rtype, serial))
        pos += rdlen
    return out


def signed_query(rdtype, key, serial=None):
    q = dns.message.make_query(ORIGIN, rdtype, use_edns=False)
    q.flags = 0
    if serial is not None:  # IXFR: the client's SOA in the authority section (RFC 1995 section 3)
        rrset = q.find_rrset(q.authority, dns.name.from_text(ORIGIN), dns.rdataclass.IN, dns.rdatatype.SOA,
                             create=True)
        rrset.add(dns.rdata.from_text("IN", "SOA", f"ns1.{ORIGIN} hostmaster.{ORIGIN} {serial} 1 1 1 1"), 0)
    q.use_tsig({dns.name.from_text(KEY_NAME): dns.tsig.Key(KEY_NAME, key, dns.tsig.HMAC_SHA256)},
               keyname=KEY_NAME)
    return q.to_wire()


def axfr(port, key, expected, timeout=120.0, idle=15.0, tls=None):
    """One TSIG-signed AXFR: (seconds, records without the closing SOA, messages).

    Reads the stream raw and counts ANCOUNT per message, so the client costs little next to the
    server: it reads until the zone's record count plus the closing SOA has arrived, then checks
    that the first RR is the SOA and the last one is the SOA (RFC 5936 section 2.2) and that exactly
    `expected` records came (BenchError otherwise). A short transfer shows as a stall (idle seconds
    without data) and fails. The answers' TSIGs are not verified (this is timing, not conformance;
    tests/interop checks them). With `tls` (an ssl.SSLContext) the connection is DNS over TLS; the time
    includes the handshake."""
    wire = signed_query("AXFR", key)
    t0 = time.perf_counter()
    with socket.create_connection((ADDR, port), timeout=timeout) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = tls.wrap_socket(raw, server_hostname=hwtls.SERVER_NAME) if tls else raw
        s.settimeout(idle)
        s.sendall(struct.pack("!H", len(wire)) + wire)
        records = messages = 0
        f = s.makefile("rb", buffering=1 << 20)
        first = msg = None
        try:
            while records < expected + 1:
                hdr = f.read(2)
                if len(hdr) < 2:
                    raise BenchError(f"AXFR closed after {messages} messages, {records} RRs")
                (ln,) = struct.unpack("!H", hdr)
                msg = f.read(ln)
                if len(msg) < ln:
                    raise BenchError("AXFR message truncated")
                messages += 1
                if msg[3] & 0xF:
                    raise BenchError(f"AXFR answered with rcode {msg[3] & 0xF}")
                if first is None:
                    first = msg
                records += struct.unpack_from("!H", msg, 6)[0]
        except socket.timeout:
            raise BenchError(f"AXFR stalled after {messages} messages, {records} RRs (zone has {expected}+1)")
        t1 = time.perf_counter()
    if walk_rrs(first)[0][0] != 6 or walk_rrs(msg)[-1][0] != 6:
        raise BenchError("AXFR does not start and end with the SOA")
    if records - 1 != expected:
        raise BenchError(f"AXFR carried {records - 1} records, the zone has {expected}")
    return t1 - t0, records - 1, messages


def ixfr(port, key, old_serial, new_serial, timeout=60.0):
    """TSIG-signed IXFR from old_serial: (seconds, kind 'ixfr'|'axfr'|'soa', records)."""
    wire = signed_query("IXFR", key, serial=old_serial)
    t0 = time.perf_counter()
    rrs = []
    with socket.create_connection((ADDR, port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(struct.pack("!H", len(wire)) + wire)
        # RFC 1995 section 4: SOA(new), then either the whole zone (ends with SOA(new)) or
        # sequences SOA(from) deletions SOA(to) additions, and a final SOA(new).
        state = "first"
        while True:
            (ln,) = struct.unpack("!H", recv_exact(s, 2))
            msg = recv_exact(s, ln)
            if msg[3] & 0xF:
                raise BenchError(f"IXFR answered with rcode {msg[3] & 0xF}")
            done = False
            for rtype, serial in walk_rrs(msg):
                rrs.append(rtype)
                if state == "first":
                    if rtype != 6:
                        raise BenchError("IXFR answer does not start with SOA")
                    state = "second"
                elif state == "second":
                    state = "del" if rtype == 6 else "axfr"
                elif state == "axfr":
                    if rtype == 6:
                        done = True
                elif state == "del":
                    if rtype == 6:
                        state = "add"
                elif state == "add":
                    if rtype == 6:
                        if serial == new_serial:
                            done = True
                        else:
                            state = "del"
            if state == "second" and len(rrs) == 1:
                # A lone SOA in one message: the client is up to date.
                return time.perf_counter() - t0, "soa", 0
            if done:
                break
        t1 = time.perf_counter()
    return t1 - t0, ("ixfr" if state != "axfr" else "axfr"), len(rrs)


def soa_serial(port, timeout=0.05):
    """The SOA serial in an authoritative NOERROR answer, or None. A connected socket, so a port
    nobody listens on yet fails at once (ECONNREFUSED) rather than after the timeout."""
    q = dns.message.make_query(ORIGIN, "SOA", use_edns=False)
    q.flags = 0
    wire = q.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((ADDR, port))
            s.send(wire)
            data = s.recv(65535)
        except OSError:
            return None
    if len(data) < 12 or data[:2] != wire[:2] or data[3] & 0xF or not data[2] & 0x04:
        return None
    for rtype, serial in walk_rrs(data):
        if rtype == 6:
            return serial
    return None


# ---- processes ------------------------------------------------------------------------------------
def proc_tree(root):
    """root and every descendant pid."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(root):
    """utime+stime (+ reaped children's) of the whole process tree, from /proc/PID/stat."""
    total = 0
    for p in proc_tree(root):
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


def cpu_ns_seconds(root):
    """Time on CPU of every thread of the process tree, from /proc/PID/task/TID/schedstat
    (nanoseconds; misses threads that exit between two samples)."""
    total = 0
    for p in proc_tree(root):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9


def rss_mib(root):
    total = 0
    for p in proc_tree(root):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def which(name):
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if os.access(f"{d}/{name}", os.X_OK):
            return f"{d}/{name}"
    return shutil.which(name)


# ---- servers ----------------------------------------------------------------------------------------
class Server:
    name = "?"
    reload_method = "?"

    tls = False  # serves XoT on tls_port with cert (an hwtls.Cert) when set

    def __init__(self, zone_file, key, keep=False, cert=None):
        self.dir = Path(tempfile.mkdtemp(prefix=f"hwbench-{self.name}-"))
        self.port = free_port()
        self.tls_port = free_port() if self.tls else None
        self.cert = cert
        self.key = key
        self.zone_path = self.dir / "bench.zone"
        shutil.copyfile(zone_file, self.zone_path)
        self.proc = None
        self.keep = keep

    def argv(self):
        raise NotImplementedError

    def write_config(self):
        raise NotImplementedError

    def start(self):
        self.write_config()
        self._log = open(self.dir / "server.log", "ab")
        self.proc = subprocess.Popen([str(a) for a in self.argv()], stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir, preexec_fn=_die_with_parent)

    def wait_serial(self, serial, timeout=300.0, interval=0.005):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            if soa_serial(self.port) == serial:
                return time.perf_counter()
            time.sleep(interval)
        raise BenchError(f"{self.name} did not serve serial {serial} within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, n=30):
        try:
            return "\n".join((self.dir / "server.log").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def reload(self):
        raise NotImplementedError

    def stop(self):
        if self.proc and self.proc.poll() is None:
            tree = proc_tree(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            # NSD's children follow their parent; make sure nothing we started is left.
            for p in tree[1:]:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        if self.proc:
            self._log.close()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Headwater(Server):
    name = "headwater"
    reload_method = "headwaterctl reload"
    tls = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.bin = os.environ.get("HEADWATER_BIN", str(REPO / "build-bench" / "server" / "headwater"))
        self.ctl = os.environ.get("HEADWATERCTL_BIN", str(REPO / "build-bench" / "tools" / "headwaterctl"))
        (self.dir / "state").mkdir()
        (self.dir / "run").mkdir()

    def write_config(self):
        (self.dir / "headwater.toml").write_text(f"""[server]
listen = ["{ADDR}:{self.port}"]
control_socket = "run/headwater.sock"
state_dir = "state"
log_level = "warn"
listen_tls = ["{ADDR}:{self.tls_port}"]
tls_certificate = "{self.cert.cert_path}"
tls_key = "{self.cert.key_path}"

[[key]]
name = "{KEY_NAME}"
algorithm = "hmac-sha256"
secret = "{self.key}"

[[acl]]
name = "providers"
networks = ["127.0.0.0/8"]
keys = ["{KEY_NAME}"]

[[zone]]
name = "{ORIGIN.rstrip('.')}"
file = "bench.zone"
allow_transfer = ["providers"]
""")

    def argv(self):
        return [self.bin, "--config", self.dir / "headwater.toml"]

    def reload(self):
        p = subprocess.run([self.ctl, "--socket", str(self.dir / "run" / "headwater.sock"), "reload",
                            ORIGIN.rstrip(".")], capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise BenchError(f"headwaterctl reload failed: {p.stdout}{p.stderr}")


class Knot(Server):
    name = "knot"
    reload_method = "knotc zone-reload"

    def write_config(self):
        d = self.dir
        (d / "db").mkdir(exist_ok=True)  # knotd 3.2 does not create it
        (d / "knot.conf").write_text(f"""server:
    listen: {ADDR}@{self.port}
    rundir: {d}
    pidfile: {d}/knot.pid
database:
    storage: {d}/db
control:
    listen: {d}/knot.sock
log:
  - target: stderr
    any: warning
key:
  - id: {KEY_NAME}
    algorithm: hmac-sha256
    secret: {self.key}
acl:
  - id: xfr
    address: 127.0.0.0/8
    key: {KEY_NAME}
    action: transfer
template:
  - id: default
    storage: {d}
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    semantic-checks: off
    acl: xfr
zone:
  - domain: {ORIGIN}
    file: {self.zone_path}
""")

    def argv(self):
        return [which("knotd"), "-c", self.dir / "knot.conf"]

    def reload(self):
        p = subprocess.run([which("knotc"), "-c", str(self.dir / "knot.conf"), "zone-reload", ORIGIN],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise BenchError(f"knotc zone-reload failed: {p.stdout}{p.stderr}")


class Nsd(Server):
    name = "nsd"
    reload_method = "kill -HUP (nsd-control needs TLS certificates)"

    def write_config(self):
        d = self.dir
        (d / "nsd.conf").write_text(nsd_server_conf(d, self.port, 1, ["rrl-ratelimit: 0"]) + f"""key:
    name: "{KEY_NAME}"
    algorithm: hmac-sha256
    secret: "{self.key}"
zone:
    name: "{ORIGIN}"
    zonefile: "{self.zone_path}"
    provide-xfr: 127.0.0.0/8 {KEY_NAME}
""")

    def argv(self):
        return [which("nsd"), "-d", "-c", self.dir / "nsd.conf"]

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)


class Bind(Server):
    name = "bind"
    reload_method = "kill -HUP (rndc needs a control key)"
    tls = True

    def write_config(self):
        d = self.dir
        (d / "named.conf").write_text(f"""tls bench-tls {{ cert-file "{self.cert.cert_path}"; key-file "{self.cert.key_path}"; }};
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {self.port} {{ {ADDR}; }};
    listen-on port {self.tls_port} tls bench-tls {{ {ADDR}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    ixfr-from-differences yes;
}};
controls {{ }};
key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{self.key}"; }};
zone "{ORIGIN}" {{ type primary; file "{self.zone_path}"; allow-transfer {{ key "{KEY_NAME}"; }}; }};
""")

    def argv(self):
        return [which("named"), "-g", "-4", "-c", self.dir / "named.conf"]

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)


SERVERS = {"headwater": Headwater, "knot": Knot, "nsd": Nsd, "bind": Bind}


# ---- QPS ----------------------------------------------------------------------------------------------
def qps(port, seconds, workdir):
    """(queries per second, queries answered, tool)."""
    dnsperf = which("dnsperf")
    if dnsperf:
        qf = workdir / "soa.queries"
        qf.write_text(f"{ORIGIN} SOA\n")
        p = subprocess.run([dnsperf, "-s", ADDR, "-p", str(port), "-d", str(qf), "-l", str(seconds),
                            "-q", "200", "-c", "4"], capture_output=True, text=True, timeout=seconds + 60)
        m = re.search(r"Queries per second:\s+([\d.]+)", p.stdout)
        done = re.search(r"Queries completed:\s+(\d+)", p.stdout)
        if not m or not done:
            raise BenchError(f"dnsperf output not understood:\n{p.stdout}{p.stderr}")
        return float(m.group(1)), int(done.group(1)), "dnsperf"
    # Fallback: one python process keeping 64 queries in flight.
    q = dns.message.make_query(ORIGIN, "SOA", use_edns=False)
    wire = bytearray(q.to_wire())
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ADDR, port))
    s.settimeout(1.0)
    answered = 0
    for _ in range(64):
        s.send(wire)
    end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < end:
        try:
            s.recv(4096)
            answered += 1
            s.send(wire)
        except socket.timeout:
            for _ in range(64):
                s.send(wire)
    s.close()
    return answered / (time.perf_counter() - t0), answered, "python UDP loop"


# ---- one run -------------------------------------------------------------------------------------------
def measure_tls(srv, key, count1, r):
    """The AXFR over TLS (after the TCP ones, so the version's messages are rendered): wall and server
    CPU, the handshake included."""
    ctx = hwtls.client_context(ca=srv.cert_ca)
    axfr(srv.tls_port, key, count1, tls=ctx)  # warm-up: the TLS path's first use
    n0 = cpu_ns_seconds(srv.proc.pid)
    secs, _, _ = axfr(srv.tls_port, key, count1, tls=ctx)
    r["axfr_tls_cpu_ns"] = cpu_ns_seconds(srv.proc.pid) - n0
    r["axfr_tls"] = secs


def measure(kind, v1, v2, count1, key, args, workdir, notes):
    """One fresh instance of a server: {metric: value}."""
    srv = SERVERS[kind](v1, key, keep=args.keep, cert=notes["cert"])
    srv.cert_ca = notes["ca"]
    r = {}
    try:
        t0 = time.perf_counter()
        srv.start()
        t1 = srv.wait_serial(SERIAL1)
        r["load"] = t1 - t0
        time.sleep(0.5)  # let the start-up settle (threads, caches) before RSS
        r["rss"] = rss_mib(srv.proc.pid)

        # One AXFR (a warm-up one first: some servers render or map lazily; Headwater renders a version's
        # messages on its first AXFR, so the warm-up is measured too, as the first transfer of a version).
        n0 = cpu_ns_seconds(srv.proc.pid)
        secs, _, _ = axfr(srv.port, key, count1)
        r["axfr_first_cpu_ns"] = cpu_ns_seconds(srv.proc.pid) - n0
        r["axfr_first"] = secs
        c0, n0 = cpu_seconds(srv.proc.pid), cpu_ns_seconds(srv.proc.pid)
        secs, _, msgs = axfr(srv.port, key, count1)
        c1, n1 = cpu_seconds(srv.proc.pid), cpu_ns_seconds(srv.proc.pid)
        r["axfr_cpu_ns"] = n1 - n0
        r["axfr"] = secs
        r["axfr_cpu"] = c1 - c0
        r["axfr_msgs"] = msgs
        r["rss_after_axfr"] = rss_mib(srv.proc.pid)
        if srv.tls:
            measure_tls(srv, key, count1, r)

        # 4 concurrent AXFRs (threads; the client mostly waits in recv).
        errors = []

        def one():
            try:
                axfr(srv.port, key, count1)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=one) for _ in range(4)]
        c0, n0 = cpu_seconds(srv.proc.pid), cpu_ns_seconds(srv.proc.pid)
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        r["axfr4"] = time.perf_counter() - t0
        r["axfr4_cpu"] = cpu_seconds(srv.proc.pid) - c0
        r["axfr4_cpu_ns"] = cpu_ns_seconds(srv.proc.pid) - n0
        if errors:
            raise BenchError(f"{kind}: concurrent AXFR failed: {errors[0]}")

        # SOA queries per second.
        # The client shares the machine's CPUs with the server, so queries/s is capped by what both
        # need together; the server's own CPU per answered query shows its cost without that cap.
        n0 = cpu_ns_seconds(srv.proc.pid)
        r["qps"], answered, notes["qps_tool"] = qps(srv.port, args.qps_seconds, workdir)
        r["qps_cpu_us"] = (cpu_ns_seconds(srv.proc.pid) - n0) / max(answered, 1)

        # Reload of the changed file until the new serial is served.
        shutil.copyfile(v2, srv.zone_path)
        os.utime(srv.zone_path, (time.time() + 2, time.time() + 2))  # mtime-based reloaders must see it
        c0 = cpu_seconds(srv.proc.pid)
        t0 = time.perf_counter()
        srv.reload()
        t1 = srv.wait_serial(SERIAL2, interval=0.002)
        r["reload"] = t1 - t0
        time.sleep(0.3)
        r["reload_cpu"] = cpu_seconds(srv.proc.pid) - c0
        r["rss_after_reload"] = rss_mib(srv.proc.pid)

        # IXFR from the old serial.
        secs, kind_x, nrr = ixfr(srv.port, key, SERIAL1, SERIAL2)
        if kind_x == "ixfr":
            r["ixfr"] = secs
            notes.setdefault("ixfr_rrs", {})[kind] = nrr
        else:
            notes.setdefault("ixfr_missing", {})[kind] = f"answered with {kind_x} ({nrr} RRs)"
    except Exception:
        log(f"{kind} log tail:\n{srv.log_tail()}")
        raise
    finally:
        srv.stop()
    return r


METRICS = [
    # key, label, unit, scale, better ("low"|"high")
    ("load", "load until first SOA answer", "s", 1, "low"),
    ("rss", "RSS after load", "MiB", 1, "low"),
    ("axfr_first", "first AXFR after load, wall", "ms", 1000, "low"),
    ("axfr_first_cpu_ns", "first AXFR after load, server CPU (schedstat)", "ms", 1000, "low"),
    ("axfr", "AXFR wall, 1 client", "ms", 1000, "low"),
    ("axfr_cpu", "AXFR server CPU, /proc stat utime+stime (10 ms ticks)", "ms", 1000, "low"),
    ("axfr_cpu_ns", "AXFR server CPU, schedstat (ns)", "ms", 1000, "low"),
    ("axfr_msgs", "AXFR messages", "", 1, "low"),
    ("axfr_tls", "AXFR over TLS wall, 1 client (handshake included)", "ms", 1000, "low"),
    ("axfr_tls_cpu_ns", "AXFR over TLS server CPU, schedstat", "ms", 1000, "low"),
    ("rss_after_axfr", "RSS after the AXFRs", "MiB", 1, "low"),
    ("axfr4", "4 concurrent AXFRs wall", "ms", 1000, "low"),
    ("axfr4_cpu", "4 concurrent AXFRs server CPU, stat", "ms", 1000, "low"),
    ("axfr4_cpu_ns", "4 concurrent AXFRs server CPU, schedstat", "ms", 1000, "low"),
    ("reload", "reload (changed file) until new serial", "ms", 1000, "low"),
    ("reload_cpu", "reload server CPU", "ms", 1000, "low"),
    ("rss_after_reload", "RSS after reload", "MiB", 1, "low"),
    ("ixfr", "IXFR response (from old serial)", "ms", 1000, "low"),
    ("qps", "SOA queries/s over UDP", "q/s", 1, "high"),
    ("qps_cpu_us", "server CPU per SOA query answered (schedstat)", "µs", 1e6, "low"),
]


def fmt(v):
    if v >= 1000:
        return f"{v:.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table(results, servers, records, repeat):
    """results: {server: [ {metric: value} ]} -> markdown table text."""
    cols = servers + (["HW / best peer"] if "headwater" in servers and len(servers) > 1 else [])
    lines = [f"### {records} records, {repeat} repeat(s): median [min-max]", "",
             "| metric | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for key, label, unit, scale, better in METRICS:
        cells, medians = [], {}
        for s in servers:
            vals = [r[key] * scale for r in results[s] if key in r]
            if not vals:
                cells.append("n/a")
                continue
            med = statistics.median(vals)
            medians[s] = med
            cells.append(fmt(med) + (f" [{fmt(min(vals))}-{fmt(max(vals))}]" if len(vals) > 1 else ""))
        if len(cols) > len(servers):
            peers = {s: v for s, v in medians.items() if s != "headwater"}
            if "headwater" in medians and peers:
                best_name = (min if better == "low" else max)(peers, key=peers.get)
                best = peers[best_name]
                ratio = medians["headwater"] / best if best else float("inf")
                cells.append(f"{ratio:.2f}x ({best_name})")
            else:
                cells.append("n/a")
        lines.append(f"| {label}{' (' + unit + ')' if unit else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, action="append", help="zone size (repeatable); default 100000")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--servers", default="headwater,knot,nsd,bind")
    p.add_argument("--qps-seconds", type=int, default=5)
    p.add_argument("--keep", action="store_true", help="keep the servers' temporary directories")
    args = p.parse_args()
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in servers:
        if s not in SERVERS:
            p.error(f"unknown server {s} (known: {', '.join(SERVERS)})")
    key = base64.b64encode(os.urandom(32)).decode()
    workdir = Path(tempfile.mkdtemp(prefix="hwbench-"))
    pki = hwtls.Pki(workdir / "pki")
    cert = pki.server()
    out = []
    rc = 0
    try:
        for records in args.records or [100000]:
            log(f"generating {records}-record zone")
            v1, v2, count1, _ = make_zones(records, workdir)
            results = {s: [] for s in servers}
            notes = {"cert": cert, "ca": pki.ca}
            for rep in range(args.repeat):
                for s in servers:
                    log(f"{records} records, repeat {rep + 1}/{args.repeat}: {s}")
                    results[s].append(measure(s, v1, v2, count1, key, args, workdir, notes))
            text = table(results, servers, records, args.repeat)
            text += "\n\n" + "\n".join([
                f"- zone: {records} RRs ({v1.stat().st_size / 1e6:.1f} MB master file); next version: new serial, "
                "1 changed A, 3 added A",
                "- reload: " + "; ".join(f"{s}: {SERVERS[s].reload_method}" for s in servers),
                f"- QPS tool: {notes.get('qps_tool')}",
                "- AXFR over TLS: TLS 1.3, ALPN dot, P-256 certificate, python ssl client; Headwater and BIND "
                "only (Knot 3.2 and NSD 4.6 do not serve XoT)",
            ] + (["- IXFR not served (n/a): " + "; ".join(f"{k}: {v}" for k, v in notes['ixfr_missing'].items())]
                 if notes.get("ixfr_missing") else []))
            print(text + "\n", flush=True)
            out.append(text)
    except (BenchError, EOFError) as e:
        print(f"BENCHMARK FAILED: {e}", file=sys.stderr)
        rc = 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
