"""Shared helpers for Headwater's black-box tests (tests/system, tests/interop).

Run the tests with Debian's /usr/bin/python3 (it sees python3-dnspython). Everything stays on
loopback: the server listens on 127.0.0.1 at a free high port, other 127.0.0.x addresses play
other clients, and no query ever goes to the system resolver.

Environment:
  HEADWATER_BIN, HEADWATERCTL_BIN  the binaries (CMake passes $<TARGET_FILE:...>); default
                                   build/server/headwater and build/tools/headwaterctl
  HW_STANDIN=knot                  run knotd as the primary instead of Headwater (to check the
                                   tests themselves); tests needing Headwater-only features skip
  HW_KEEP_TMP=1                    keep temporary directories (configs, logs) for inspection
"""

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
EXAMPLE_ZONE = DATA / "example.com.zone"
EXAMPLE_SERIAL = 2024060101
PYTHON = "/usr/bin/python3"
ADDR = "127.0.0.1"
OTHER_ADDR = "127.0.0.2"  # a local source address outside every ACL the tests configure

sys.path.insert(0, str(DATA))
import gen_zone  # noqa: E402  (tests/data/gen_zone.py)


# ---- binaries ------------------------------------------------------------------------------
def standin():
    """'knot' when the tests run against knotd instead of Headwater (HW_STANDIN=knot)."""
    return os.environ.get("HW_STANDIN", "").strip().lower() or None


def _binary(env, default):
    path = os.environ.get(env)
    if path:
        if not os.access(path, os.X_OK):
            raise AssertionError(f"{env}={path} is not an executable file")
        return path
    if os.access(default, os.X_OK):
        return str(default)
    if os.environ.get("CI"):
        raise AssertionError(f"{default} not built and {env} not set (CI must test the real binary)")
    raise unittest.SkipTest(f"{default} not built and {env} not set")


def headwater_bin():
    return _binary("HEADWATER_BIN", REPO / "build" / "server" / "headwater")


def headwaterctl_bin():
    return _binary("HEADWATERCTL_BIN", REPO / "build" / "tools" / "headwaterctl")


def require_tool(name):
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if os.access(p, os.X_OK)), None)
    if not path:
        # tools/setup-deps.sh installs every peer: in CI a missing one is a broken set-up, not a skip.
        if os.environ.get("CI"):
            raise AssertionError(f"{name} is not installed (run tools/setup-deps.sh)")
        raise unittest.SkipTest(f"{name} is not installed")
    return path


def require_headwater(test_reason="needs Headwater itself"):
    """For tests that exercise Headwater-only features (control socket, config checks)."""
    if standin():
        raise unittest.SkipTest(f"{test_reason} (HW_STANDIN={standin()})")


# ---- ports, files ----------------------------------------------------------------------------
_handed_out = set()


def free_port(host=ADDR):
    """A high port free for both UDP and TCP on `host` (not handed out before in this process)."""
    for _ in range(200):
        port = random.randint(20000, 60999)
        if port in _handed_out:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind((host, port))
                t.bind((host, port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found")


def tempdir(prefix):
    d = Path(tempfile.mkdtemp(prefix=f"hw-{prefix}-"))
    return d


def cleanup_dir(d):
    if os.environ.get("HW_KEEP_TMP"):
        print(f"[hwtest] keeping {d}", file=sys.stderr)
        return
    shutil.rmtree(d, ignore_errors=True)


def generate_zone(path, origin, records, serial, all_types=False, seed="1"):
    """Writes a generated zone (tests/data/gen_zone.py) to path; returns path."""
    text = gen_zone.Generator(origin, serial, seed, all_types).generate(records)
    Path(path).write_text(text)
    return Path(path)


def set_soa_serial(text, new_serial):
    """Returns zone text with the first '<digits> ; serial' replaced (our zones mark it so)."""
    import re

    out, n = re.subn(r"(\s)(\d+)(\s*;\s*serial)", lambda m: f"{m.group(1)}{new_serial}{m.group(3)}", text,
                     count=1)
    assert n == 1, "zone text has no '; serial' comment"
    return out


# ---- DNS helpers -----------------------------------------------------------------------------
def make_query(qname, rdtype="SOA", edns=None, payload=1232, rd=False):
    if edns is None:
        # dnspython turns EDNS on whenever a payload is passed.
        q = dns.message.make_query(qname, rdtype, use_edns=False)
    else:
        q = dns.message.make_query(qname, rdtype, use_edns=False)
        q.use_edns(edns=edns, payload=payload)
    if not rd:
        q.flags &= ~dns.flags.RD
    return q


def query(port, qname, rdtype="SOA", tcp=False, source=None, edns=None, payload=1232, timeout=3.0,
          where=ADDR):
    """One query over UDP or TCP; returns the dns.message response (raises dns.exception.Timeout)."""
    q = make_query(qname, rdtype, edns=edns, payload=payload)
    if tcp:
        return dns.query.tcp(q, where, port=port, timeout=timeout, source=source)
    return dns.query.udp(q, where, port=port, timeout=timeout, source=source, ignore_unexpected=True)


def soa_serial(port, zone, where=ADDR, timeout=2.0, tcp=False):
    """The SOA serial served for zone (AA answers only), or None."""
    try:
        r = query(port, zone, "SOA", tcp=tcp, timeout=timeout, where=where)
    except Exception:
        return None
    if r.rcode() != dns.rcode.NOERROR or not (r.flags & dns.flags.AA):
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def wait_for(predicate, timeout, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} octets")
        buf += chunk
    return buf


def tcp_send(sock, wire):
    sock.sendall(struct.pack("!H", len(wire)) + wire)


def tcp_recv(sock):
    (length,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, length)


def tcp_connect(port, where=ADDR, source=None, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((where, port))
    return s


def _skip_name(wire, pos):
    """Position after the (possibly compressed) name at pos."""
    while True:
        length = wire[pos]
        if length & 0xC0 == 0xC0:
            return pos + 2
        if length == 0:
            return pos + 1
        pos += 1 + length


def answer_types(wire):
    """RR types of the answer section, read without dnspython (fast for big transfers)."""
    qd, an = struct.unpack("!HH", wire[4:8])
    pos = 12
    for _ in range(qd):
        pos = _skip_name(wire, pos) + 4
    types = []
    for _ in range(an):
        pos = _skip_name(wire, pos)
        rtype, _, _, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
        types.append(rtype)
        pos += 10 + rdlen
    return types


class XfrMessage:
    """One message of a transfer: the raw wire form and (parsed on demand) its dnspython form."""

    def __init__(self, wire):
        self.wire = wire
        self.id, self.flags, self.qdcount, self.ancount, self.nscount, self.arcount = struct.unpack(
            "!HHHHHH", wire[:12])
        self._msg = None

    @property
    def msg(self):
        if self._msg is None:
            # One RR per rrset keeps the wire order of the records.
            self._msg = dns.message.from_wire(self.wire, one_rr_per_rrset=True)
        return self._msg

    @property
    def rcode(self):
        return self.flags & 0xF

    def soa_count(self):
        return answer_types(self.wire).count(dns.rdatatype.SOA)

    def rrs(self):
        """[(name, ttl, rdata)] of the answer section, in wire order."""
        return [(rrset.name, rrset.ttl, rd) for rrset in self.msg.answer for rd in rrset]


def read_axfr(sock, zone, rdtype="AXFR", max_messages=100000, qid=None):
    """Sends one AXFR query on an open TCP socket and reads the answer messages.

    Stops after the message that ends with the second SOA (RFC 5936 section 2.2), or after an error
    rcode. Returns (query, [XfrMessage]).
    """
    q = dns.message.make_query(zone, rdtype)
    q.flags = 0
    if qid is not None:
        q.id = qid
    tcp_send(sock, q.to_wire())
    messages = []
    soa_seen = 0
    while len(messages) < max_messages:
        m = XfrMessage(tcp_recv(sock))
        messages.append(m)
        if m.rcode != dns.rcode.NOERROR:
            break
        soa_seen += m.soa_count()
        if soa_seen >= 2:
            break
    return q, messages


def axfr(port, zone, where=ADDR, source=None, timeout=30.0):
    """A full AXFR over a fresh TCP connection; returns [XfrMessage]."""
    with contextlib.closing(tcp_connect(port, where=where, source=source, timeout=timeout)) as s:
        return read_axfr(s, zone)[1]


def xfr_rrs(messages):
    """All answer RRs of a transfer except the closing SOA: [(name, ttl, rdata)]."""
    rrs = [rr for m in messages for rr in m.rrs()]
    if len(rrs) >= 2 and rrs[-1][2].rdtype == dns.rdatatype.SOA:
        rrs = rrs[:-1]
    return rrs


def canon(name, ttl, rd, origin=None):
    """A comparable form of one RR: names lower-cased (RFC 4343), RDATA in canonical wire form."""
    covers = rd.covers() if rd.rdtype == dns.rdatatype.RRSIG else 0
    return (name.canonicalize().to_text(), ttl, int(rd.rdtype), int(covers), rd.to_digestable(origin).hex())


def canon_set(rrs, origin=None):
    return {canon(n, t, rd, origin) for n, t, rd in rrs}


def zone_file_rrs(path, origin):
    """Parses a master file with dnspython: [(name, ttl, rdata)], names absolute."""
    z = dns.zone.from_file(str(path), origin=origin, relativize=False, check_origin=True)
    return list(z.iterate_rdatas())


def describe_diff(expected, got, limit=10):
    missing = sorted(expected - got)
    extra = sorted(got - expected)

    def fmt(c):
        name, ttl, t, cov, hexdata = c
        tn = dns.rdatatype.to_text(t) + (f"({dns.rdatatype.to_text(cov)})" if cov else "")
        return f"{name} {ttl} {tn} {hexdata[:60]}"

    lines = [f"{len(missing)} missing, {len(extra)} unexpected"]
    lines += ["  missing: " + fmt(c) for c in missing[:limit]]
    lines += ["  unexpected: " + fmt(c) for c in extra[:limit]]
    return "\n".join(lines)


# ---- processes -------------------------------------------------------------------------------
def _die_with_parent():
    """In the child: get SIGKILL when the test process dies (a CTest timeout, a crash), so no
    server is left behind holding ports (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


class Process:
    """A child process whose stdout+stderr go to a log file."""

    def __init__(self, argv, log_path, cwd=None, env=None):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


# ---- the server under test ---------------------------------------------------------------------
class ZoneConf:
    def __init__(self, origin, source, allow_transfer=("providers",)):
        self.origin = origin if origin.endswith(".") else origin + "."
        self.source = Path(source)
        self.allow_transfer = list(allow_transfer)

    @property
    def name(self):
        return self.origin.rstrip(".")

    @property
    def filename(self):
        return self.name + ".zone"


def toml_str(s):
    return json.dumps(str(s))


class Headwater:
    """Headwater (or, with HW_STANDIN=knot, knotd) serving zones on 127.0.0.1:<free port>.

    zones: [ZoneConf]; acl_networks: the 'providers' ACL. The zone files are copied into
    <tmp>/zones/ so a test may edit them (zone_path()).
    """

    def __init__(self, zones, acl_networks=("127.0.0.1/32",), log_level="info"):
        self.zones = zones
        self.acl_networks = list(acl_networks)
        self.log_level = log_level
        self.kind = standin() or "headwater"
        self.dir = tempdir(self.kind)
        self.port = free_port()
        self.addr = ADDR
        self.proc = None
        (self.dir / "zones").mkdir()
        (self.dir / "run").mkdir()
        (self.dir / "state").mkdir()
        for z in zones:
            shutil.copyfile(z.source, self.zone_path(z.origin))
        self.config_path = self.dir / ("knot.conf" if self.kind == "knot" else "headwater.toml")
        self.socket_path = self.dir / "run" / "headwater.sock"

    def zone_path(self, origin):
        origin = origin if origin.endswith(".") else origin + "."
        for z in self.zones:
            if z.origin.lower() == origin.lower():
                return self.dir / "zones" / z.filename
        raise KeyError(origin)

    # -- config --
    def config_text(self):
        lines = [
            "[server]",
            f"listen = [{toml_str(f'{self.addr}:{self.port}')}]",
            'control_socket = "run/headwater.sock"',
            'state_dir = "state"',
            f"log_level = {toml_str(self.log_level)}",
            "",
            "[[acl]]",
            'name = "providers"',
            "networks = [" + ", ".join(toml_str(n) for n in self.acl_networks) + "]",
        ]
        for z in self.zones:
            lines += ["", "[[zone]]", f"name = {toml_str(z.name)}", f"file = {toml_str('zones/' + z.filename)}"]
            if z.allow_transfer:
                lines.append("allow_transfer = [" + ", ".join(toml_str(a) for a in z.allow_transfer) + "]")
        return "\n".join(lines) + "\n"

    def knot_config_text(self):
        acl_addrs = ", ".join(self.acl_networks)
        lines = [
            "server:",
            f"    listen: {self.addr}@{self.port}",
            f"    rundir: {self.dir / 'run'}",
            f"    pidfile: {self.dir / 'run' / 'knot.pid'}",
            "database:",
            f"    storage: {self.dir / 'state'}",
            "log:",
            "  - target: stderr",
            "    any: info",
            "acl:",
            "  - id: providers",
            f"    address: [{acl_addrs}]",
            "    action: transfer",
            "template:",
            "  - id: default",
            "    zonefile-sync: -1",
            "    journal-content: none",
            "    semantic-checks: off",
            "zone:",
        ]
        for z in self.zones:
            path = self.zone_path(z.origin)
            knot_path = path.with_suffix(".knot")
            knot_compatible_copy(path, z.origin, knot_path)
            lines += [f"  - domain: {z.origin}", f"    file: {knot_path}"]
            if z.allow_transfer:
                lines.append("    acl: providers")
        return "\n".join(lines) + "\n"

    def write_config(self):
        text = self.knot_config_text() if self.kind == "knot" else self.config_text()
        self.config_path.write_text(text)

    # -- lifecycle --
    def start(self, wait=True, timeout=30.0):
        self.write_config()
        if self.kind == "knot":
            argv = [require_tool("knotd"), "-c", self.config_path]
        else:
            argv = [headwater_bin(), "--config", self.config_path]
        self.proc = Process(argv, self.dir / "server.log", cwd=self.dir)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30.0):
        first = self.zones[0].origin if self.zones else "."

        def ready():
            if not self.proc.alive():
                raise AssertionError(f"{self.kind} exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            if self.kind == "headwater" and not self.socket_path.exists():
                return False
            return soa_serial(self.port, first, timeout=0.5) is not None

        try:
            wait_for(ready, timeout, what=f"{self.kind} to answer SOA {first}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- log ---\n{self.proc.log_tail()}") from None

    def reload_signal(self):
        """SIGHUP (Headwater) / `knotc reload` equivalent for the stand-in."""
        if self.kind == "knot":
            for z in self.zones:
                knot_compatible_copy(self.zone_path(z.origin), z.origin, self.zone_path(z.origin).with_suffix(".knot"))
            subprocess.run([require_tool("knotc"), "-c", self.config_path, "zone-reload"], check=True,
                           capture_output=True)
        else:
            self.proc.signal(signal.SIGHUP)

    def stop(self):
        rc = None
        if self.proc:
            rc = self.proc.stop()
        return rc

    def close(self):
        self.stop()
        cleanup_dir(self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def log(self):
        return self.proc.log() if self.proc else ""

    # -- control client --
    def ctl(self, *args, json_output=True, socket_path=None, timeout=30):
        """Runs headwaterctl; returns (returncode, parsed JSON or None, stdout, stderr)."""
        argv = [headwaterctl_bin(), "--socket", str(socket_path or self.socket_path)]
        if json_output:
            argv.append("--json")
        argv += [str(a) for a in args]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        parsed = None
        if json_output and p.stdout.strip():
            try:
                parsed = json.loads(p.stdout)
            except ValueError:
                parsed = None
        return p.returncode, parsed, p.stdout, p.stderr


def run_ctl(*args, socket_path, json_output=False, timeout=30):
    argv = [headwaterctl_bin(), "--socket", str(socket_path)]
    if json_output:
        argv.append("--json")
    argv += [str(a) for a in args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


# knotd 3.2 does not parse these types in master files (it transfers them fine); the stand-in
# gets them in RFC 3597 generic form, which means the same RDATA.
KNOT_UNPARSED = {"DLV", "WKS", "X25", "ISDN", "NSAP", "PX", "GPOS", "HIP"}


def knot_compatible_copy(src, origin, dst):
    z = dns.zone.from_file(str(src), origin=origin, relativize=False)
    lines = []
    for name, ttl, rd in z.iterate_rdatas():
        tname = dns.rdatatype.to_text(rd.rdtype)
        if tname in KNOT_UNPARSED:
            wire = rd.to_wire()
            tname = f"TYPE{int(rd.rdtype)}"
            text = f"\\# {len(wire)} {wire.hex()}"
        else:
            text = rd.to_text(origin=None, relativize=False)
        lines.append(f"{name.to_text()} {ttl} IN {tname} {text}")
    # SOA first keeps zone loaders happy.
    lines.sort(key=lambda line: 0 if " IN SOA " in line else 1)
    Path(dst).write_text("\n".join(lines) + "\n")


# ---- real secondaries ---------------------------------------------------------------------------
class Secondary:
    """A real DNS server configured as a secondary of (primary_addr, primary_port) for zones."""

    kind = "?"
    binary = "?"

    def __init__(self, zones, primary_port, primary_addr=ADDR):
        self.zones = [z if z.endswith(".") else z + "." for z in zones]
        self.primary_addr = primary_addr
        self.primary_port = primary_port
        self.exe = require_tool(self.binary)
        self.dir = tempdir(self.kind)
        self.port = free_port()
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def write_config(self):
        raise NotImplementedError

    def start(self):
        self.write_config()
        self.proc = Process(self.argv(), self.dir / f"{self.kind}.log", cwd=self.dir)
        return self

    def serial(self, zone):
        return soa_serial(self.port, zone, timeout=1.0)

    def wait_serial(self, zone, serial, timeout=60.0):
        def ok():
            if not self.proc.alive():
                raise AssertionError(f"{self.kind} exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            return self.serial(zone) == serial

        try:
            wait_for(ok, timeout, interval=0.3, what=f"{self.kind} to serve {zone} serial {serial}")
        except AssertionError as e:
            raise AssertionError(f"{e} (serving {self.serial(zone)})\n--- {self.kind} log ---\n"
                                 f"{self.proc.log_tail(60)}") from None

    def refresh(self, zone):
        """Asks the secondary to check the primary now (where the peer makes that easy)."""
        raise unittest.SkipTest(f"no refresh command for {self.kind}")

    def close(self):
        if self.proc:
            self.proc.stop()
        cleanup_dir(self.dir)


class KnotSecondary(Secondary):
    kind = "knot"
    binary = "knotd"

    def write_config(self):
        d = self.dir
        lines = [
            "server:",
            f"    listen: {ADDR}@{self.port}",
            f"    rundir: {d}",
            f"    pidfile: {d / 'knot.pid'}",
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "database:",
            f"    storage: {d / 'db'}",
            "control:",
            f"    listen: {d / 'knot.sock'}",
            "log:",
            "  - target: stderr",
            "    any: info",
            "remote:",
            "  - id: primary",
            f"    address: {self.primary_addr}@{self.primary_port}",
            f"    via: {ADDR}",
            "acl:",
            "  - id: local",
            "    address: 127.0.0.0/8",
            "    action: [transfer, notify]",
            "template:",
            "  - id: default",
            f"    storage: {d / 'zones'}",
            "    zonefile-sync: -1",
            "    zonefile-load: none",
            "    journal-content: none",
            "    semantic-checks: off",
            "    master: primary",
            "    acl: local",
            "zone:",
        ] + [f"  - domain: {z}" for z in self.zones]
        (d / "knot.conf").write_text("\n".join(lines) + "\n")

    def argv(self):
        return [self.exe, "-c", self.dir / "knot.conf"]

    def refresh(self, zone):
        subprocess.run([require_tool("knotc"), "-c", self.dir / "knot.conf", "zone-refresh", zone],
                       check=True, capture_output=True, timeout=10)


class BindSecondary(Secondary):
    kind = "bind"
    binary = "named"

    def write_config(self):
        d = self.dir
        zones = "\n".join(
            f'zone "{z}" {{ type secondary; primaries port {self.primary_port} {{ {self.primary_addr}; }}; '
            f'file "{z}db"; }};' for z in self.zones)
        conf = f"""
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {self.port} {{ {ADDR}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    allow-transfer {{ 127.0.0.0/8; }};
    allow-notify {{ 127.0.0.0/8; }};
    transfer-source {ADDR};
    notify-source {ADDR};
    query-source address {ADDR};
    check-names secondary ignore;
}};
controls {{ }};
{zones}
"""
        (d / "named.conf").write_text(conf)

    def argv(self):
        # -g: foreground, log to stderr; no -u: stay the current user; -4: loopback IPv4 only.
        return [self.exe, "-g", "-4", "-n", "1", "-c", self.dir / "named.conf"]


class NsdSecondary(Secondary):
    kind = "nsd"
    binary = "nsd"

    def write_config(self):
        d = self.dir
        (d / "xfr").mkdir(exist_ok=True)
        zones = "".join(
            f"""zone:
    name: "{z}"
    zonefile: "{z}zone"
    request-xfr: AXFR {self.primary_addr}@{self.primary_port} NOKEY
    allow-notify: 127.0.0.0/8 NOKEY
    provide-xfr: 127.0.0.0/8 NOKEY
    outgoing-interface: {ADDR}
""" for z in self.zones)
        conf = f"""server:
    ip-address: {ADDR}
    port: {self.port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}/xfr"
    pidfile: "{d}/nsd.pid"
    server-count: 1
    verbosity: 2
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
{zones}"""
        (d / "nsd.conf").write_text(conf)

    def argv(self):
        return [self.exe, "-d", "-c", self.dir / "nsd.conf"]


SECONDARIES = {"knot": KnotSecondary, "bind": BindSecondary, "nsd": NsdSecondary}


# ---- running a test file --------------------------------------------------------------------------
def main():
    """unittest.main() that exits 77 (CTest SKIP_RETURN_CODE) when every test was skipped."""
    prog = unittest.main(verbosity=2, exit=False)
    r = prog.result
    if r.testsRun and len(r.skipped) == r.testsRun and r.wasSuccessful():
        sys.exit(77)
    sys.exit(0 if r.wasSuccessful() else 1)
