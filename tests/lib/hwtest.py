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

import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import shlex
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
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig
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
# A sanitized build (tools/test-sanitizers.sh: ASan, LSan, UBSan) reports to stderr, which Process sends
# to the server's log; a report there fails the test even when the server kept running.
_SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|: runtime error: ")


def check_sanitizer_log(log_text, what):
    """Raises AssertionError with the report when log_text holds a sanitizer report."""
    m = _SANITIZER_REPORT.search(log_text)
    if m:
        start = log_text.rfind("\n", 0, m.start()) + 1
        raise AssertionError(f"sanitizer report in the {what} log:\n{log_text[start:start + 6000]}")


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


# ---- TSIG keys (RFC 8945) -----------------------------------------------------------------------
TSIG_ALGORITHMS = ("hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")
# The algorithm names on the wire (RFC 8945 section 6); MD5's is the odd one.
TSIG_ALGORITHM_NAMES = {
    "hmac-md5": dns.tsig.HMAC_MD5,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}
TSIG_HASH_SIZES = {"hmac-md5": 16, "hmac-sha1": 20, "hmac-sha224": 28, "hmac-sha256": 32, "hmac-sha384": 48,
                   "hmac-sha512": 64}


class TsigKey:
    """A TSIG key as the tests hand it to Headwater, the peers, dnspython and kdig.

    name: as written in configs ("xfr-key"); algorithm: one of TSIG_ALGORITHMS; secret: base64
    text (random when None). file: when set, Headwater's config says `file = <path>` (a BIND key
    file the test wrote) instead of algorithm/secret.
    """

    def __init__(self, name, algorithm="hmac-sha256", secret=None, file=None):
        if algorithm not in TSIG_ALGORITHMS:
            raise ValueError(f"unknown TSIG algorithm {algorithm}")
        self.name = name.rstrip(".")
        self.algorithm = algorithm
        if secret is None:
            secret = base64.b64encode(os.urandom(TSIG_HASH_SIZES[algorithm])).decode()
        self.secret = secret
        self.file = Path(file) if file else None

    @classmethod
    def keygen(cls, name, algorithm="hmac-sha256"):
        """A fresh key from `headwaterctl keygen NAME --algorithm A` (parses its TOML block and
        checks the BIND block says the same)."""
        p = subprocess.run([headwaterctl_bin(), "keygen", name, "--algorithm", algorithm], capture_output=True,
                           text=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError(f"headwaterctl keygen failed ({p.returncode}): {p.stdout}{p.stderr}")
        toml_secret = re.search(r'^secret\s*=\s*"([^"]+)"', p.stdout, re.M)
        toml_alg = re.search(r'^algorithm\s*=\s*"([^"]+)"', p.stdout, re.M)
        bind = re.search(r'key\s+"([^"]+)"\s*\{\s*algorithm\s+([\w-]+);\s*secret\s+"([^"]+)";\s*\};', p.stdout)
        if not (toml_secret and toml_alg and bind):
            raise AssertionError(f"unexpected keygen output:\n{p.stdout}")
        if (bind.group(1), bind.group(2), bind.group(3)) != (name, toml_alg.group(1), toml_secret.group(1)):
            raise AssertionError(f"keygen's TOML and BIND blocks disagree:\n{p.stdout}")
        if toml_alg.group(1) != algorithm:
            raise AssertionError(f"keygen made {toml_alg.group(1)}, asked for {algorithm}")
        key = cls(name, algorithm, toml_secret.group(1))
        key.keygen_output = p.stdout
        return key

    @property
    def dns_name(self):
        return dns.name.from_text(self.name)

    @property
    def wire_algorithm(self):
        return TSIG_ALGORITHM_NAMES[self.algorithm]

    def dns_key(self, name=None, secret=None):
        """A dnspython key; name/secret override the real ones (to play a wrong client)."""
        return dns.tsig.Key(name or self.name, secret or self.secret, self.wire_algorithm)

    def keyring(self):
        return {self.dns_name: self.dns_key()}

    def kdig_arg(self):
        return f"{self.algorithm}:{self.name}:{self.secret}"

    def bind_text(self):
        """The key in BIND's key-file format (what tsig-keygen prints)."""
        return f'key "{self.name}" {{\n\talgorithm {self.algorithm};\n\tsecret "{self.secret}";\n}};\n'

    def toml_lines(self):
        lines = ["[[key]]", f"name = {toml_str(self.name)}"]
        if self.file:
            lines.append(f"file = {toml_str(self.file)}")
        else:
            lines += [f"algorithm = {toml_str(self.algorithm)}", f"secret = {toml_str(self.secret)}"]
        return lines

    def __repr__(self):
        return f"TsigKey({self.name}, {self.algorithm})"


class AclConf:
    """An [[acl]] rule of Headwater's config: networks and/or key names (both must match)."""

    def __init__(self, name, networks=(), keys=()):
        self.name = name
        self.networks = list(networks)
        self.keys = [k.name if isinstance(k, TsigKey) else k for k in keys]


# ---- TSIG on the wire: sign requests at a chosen time, take answers apart, check MACs -------------
# dnspython signs and verifies too (dns.message.use_tsig, from_wire(keyring=...)); these helpers add
# what it does not offer: a request signed at a fixed time, the TSIG of an error answer (dnspython
# refuses to verify those), and an independent MAC computation straight from RFC 8945 section 4.3.

_HASHES = {"hmac-md5": hashlib.md5, "hmac-sha1": hashlib.sha1, "hmac-sha224": hashlib.sha224,
           "hmac-sha256": hashlib.sha256, "hmac-sha384": hashlib.sha384, "hmac-sha512": hashlib.sha512}


def sign_wire(wire, key, time_signed, fudge=300, original_id=None, error=0, other=b"", owner=None):
    """Appends a TSIG RR to an unsigned message: (signed wire, MAC). key: dns.tsig.Key; owner
    overrides the RR's owner name (the key name otherwise)."""
    (qid,) = struct.unpack("!H", wire[:2])
    rd = dns.rdtypes.ANY.TSIG.TSIG(dns.rdataclass.ANY, dns.rdatatype.TSIG, key.algorithm, 0, fudge, b"",
                                   qid if original_id is None else original_id, error, other)
    rd, _ = dns.tsig.sign(wire, key, rd, time_signed)
    rdata = rd.to_wire()
    name = dns.name.from_text(owner) if isinstance(owner, str) else (owner or key.name)
    rr = name.to_wire() + struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata)) + rdata
    (ar,) = struct.unpack("!H", wire[10:12])
    return wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + rr, rd.mac


def split_tsig(wire):
    """(wire without its last additional RR when that is a TSIG, with ARCOUNT one less; the TSIG
    owner name; the TSIG rdata) -- or (wire, None, None) when the message carries no TSIG."""
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    if ar == 0:
        return wire, None, None
    pos = 12
    for _ in range(qd):
        pos = _skip_name(wire, pos) + 4
    for _ in range(an + ns + ar - 1):
        pos = _skip_name(wire, pos)
        (rdlen,) = struct.unpack("!H", wire[pos + 8:pos + 10])
        pos += 10 + rdlen
    start = pos
    owner, used = dns.name.from_wire(wire, pos)
    pos += used
    rtype, rclass, _ttl, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
    if rtype != dns.rdatatype.TSIG:
        return wire, None, None
    rd = dns.rdata.from_wire(rclass, rtype, wire, pos + 10, rdlen)
    return wire[:10] + struct.pack("!H", ar - 1) + wire[12:start], owner, rd


def tsig_mac(key, stripped, owner, rd, prior_mac=b"", timers_only=False):
    """The MAC of one message, computed from RFC 8945 without dnspython's TSIG code.

    key: TsigKey; stripped: the message without its TSIG (split_tsig); prior_mac: the request MAC
    (section 4.3.1) or the previous message's MAC (section 5.3.1); timers_only: a later message
    of a multi-message answer, whose digest covers only the timers of the TSIG variables.
    """
    h = hmac.new(base64.b64decode(key.secret), digestmod=_HASHES[key.algorithm])
    if prior_mac:
        h.update(struct.pack("!H", len(prior_mac)) + prior_mac)
    h.update(struct.pack("!H", rd.original_id) + stripped[2:])  # section 4.3.2: the original ID
    timers = struct.pack("!HIH", (rd.time_signed >> 32) & 0xFFFF, rd.time_signed & 0xFFFFFFFF, rd.fudge)
    if timers_only:
        h.update(timers)
    else:
        # Section 4.3.3: names in canonical (lower-case, uncompressed) form.
        h.update(owner.canonicalize().to_wire() + struct.pack("!HI", dns.rdataclass.ANY, 0) +
                 rd.algorithm.canonicalize().to_wire() + timers +
                 struct.pack("!HH", rd.error, len(rd.other)) + rd.other)
    return h.digest()


def tsig_other_time(rd):
    """The 48-bit time in a BADTIME answer's Other Data (RFC 8945 section 5.2.3), or None."""
    if len(rd.other) != 6:
        return None
    hi, lo = struct.unpack("!HI", rd.other)
    return (hi << 32) | lo


def read_signed_xfr(sock, zone, key, rdtype="AXFR", keyname=None, max_messages=100000, qid=None):
    """Sends one TSIG-signed AXFR on an open TCP socket and reads every answer message,
    verifying each one with dnspython (dns.message.from_wire with multi=True and the running
    tsig_ctx, the way dns.query.xfr does) AND checking that each one carries a TSIG: dnspython on
    its own accepts unsigned messages between signed ones (RFC 8945 section 5.3.1 allows up to 99),
    so it would not notice a server that signs only some. Stops after the second SOA or an error
    rcode. Returns (query, [(wire, dns.message.Message)]); raises on any TSIG failure.
    """
    q = dns.message.make_query(zone, rdtype)
    q.flags = 0
    if qid is not None:
        q.id = qid
    q.use_tsig(key.keyring() if keyname is None else {dns.name.from_text(keyname): key.dns_key(name=keyname)},
               keyname=keyname or key.dns_name)
    tcp_send(sock, q.to_wire())
    out = []
    ctx = None
    soa_seen = 0
    while len(out) < max_messages:
        wire = tcp_recv(sock)
        keyring = {q.keyname: q.keyring}
        m = dns.message.from_wire(wire, keyring=keyring, request_mac=q.mac, xfr=True, tsig_ctx=ctx, multi=True,
                                  one_rr_per_rrset=True)
        if not m.had_tsig:
            raise AssertionError(f"message {len(out)} of the transfer is not signed")
        ctx = m.tsig_ctx
        out.append((wire, m))
        if m.rcode() != dns.rcode.NOERROR:
            break
        soa_seen += sum(len(rrset) for rrset in m.answer if rrset.rdtype == dns.rdatatype.SOA)
        if soa_seen >= 2:
            break
    return q, out


def signed_axfr(port, zone, key, where=ADDR, source=None, timeout=30.0, keyname=None):
    """A TSIG-signed AXFR over a fresh TCP connection, every message verified: (query, messages)."""
    with contextlib.closing(tcp_connect(port, where=where, source=source, timeout=timeout)) as s:
        return read_signed_xfr(s, zone, key, keyname=keyname)


def _event_log(word, log_text, zone=None, **match):
    """Headwater's `<word> zone=... key=value ...` log lines as dicts (quoted values unquoted), filtered by
    zone and by any other field=value given (values are regular expressions)."""
    marker = f" {word} zone="
    out = []
    for line in log_text.splitlines():
        idx = line.find(marker)
        if idx < 0:
            continue
        try:
            words = shlex.split(line[idx + len(word) + 2:])
        except ValueError:
            continue
        fields = dict(w.split("=", 1) for w in words if "=" in w)
        fields["_line"] = line
        if zone is not None and fields.get("zone", "").lower() != zone.lower():
            continue
        if all(re.fullmatch(str(v), fields.get(k, "")) for k, v in match.items()):
            out.append(fields)
    return out


def transfer_log(log_text, zone=None, **match):
    """The `transfer zone=... type=... form=... peer=... outcome=...` lines, see _event_log()."""
    return _event_log("transfer", log_text, zone, **match)


def notify_log(log_text, zone=None, **match):
    """The `notify zone=... target=... serial=... tries=... outcome=ack|error` lines, see _event_log()."""
    return _event_log("notify", log_text, zone, **match)


def wanted_peers(available=None):
    """The secondaries HW_PEERS selects (default knot,bind,nsd), among `available` (default SECONDARIES)."""
    available = SECONDARIES if available is None else available
    names = [p.strip() for p in os.environ.get("HW_PEERS", "knot,bind,nsd").split(",") if p.strip()]
    return [n for n in names if n in available]


def close_class_fixture(cls, *extras):
    """The tearDownClass shared by the interop suites: closes cls.peers, cls.hw and `extras` (objects
    with close()), then removes cls.tmp; safe on a half-built fixture."""
    for p in getattr(cls, "peers", {}).values():
        p.close()
    cls.peers = {}
    if getattr(cls, "hw", None):
        cls.hw.close()
        cls.hw = None
    for e in extras:
        if e:
            e.close()
    if getattr(cls, "tmp", None):
        cleanup_dir(cls.tmp)
        cls.tmp = None


# ---- the server under test ---------------------------------------------------------------------
class ZoneConf:
    """A [[zone]] of Headwater's config. notify: NOTIFY targets, each "host[:port]" or a dict
    {address, key (name or TsigKey), source}; notify_options: more zone keys written as given
    (notify_retries, notify_retry_interval, notify_delay, ...)."""

    def __init__(self, origin, source, allow_transfer=("providers",), notify=(), notify_options=None):
        self.origin = origin if origin.endswith(".") else origin + "."
        self.source = Path(source)
        self.allow_transfer = list(allow_transfer)
        self.notify = list(notify)
        self.notify_options = dict(notify_options or {})

    def notify_toml(self):
        """The zone's `notify = [...]` line and its options, or [] when it has no targets."""
        def target(t):
            if isinstance(t, str):
                return toml_str(t)
            parts = []
            for k in ("address", "key", "source"):
                v = t.get(k)
                if v is None:
                    continue
                parts.append(f"{k} = {toml_str(v.name if isinstance(v, TsigKey) else v)}")
            return "{ " + ", ".join(parts) + " }"

        lines = []
        if self.notify:
            lines.append("notify = [" + ", ".join(target(t) for t in self.notify) + "]")
        for k, v in self.notify_options.items():
            lines.append(f"{k} = {toml_str(v) if isinstance(v, str) else json.dumps(v)}")
        return lines

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

    zones: [ZoneConf]; acl_networks: the 'providers' ACL (left out when empty). keys: [TsigKey]
    as [[key]] blocks; acls: more [AclConf] rules after 'providers'. The zone files are copied into
    <tmp>/zones/ so a test may edit them (zone_path()).
    """

    def __init__(self, zones, acl_networks=("127.0.0.1/32",), log_level="info", keys=(), acls=(),
                 transfer_log=None):
        self.zones = zones
        self.transfer_log = transfer_log  # server.transfer_log (relative to the config's directory)
        self.acl_networks = list(acl_networks)
        self.log_level = log_level
        self.keys = list(keys)
        self.acls = list(acls)
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
            f"control_socket = {toml_str(self.socket_path.relative_to(self.dir).as_posix())}",
            'state_dir = "state"',
            f"log_level = {toml_str(self.log_level)}",
        ]
        if self.transfer_log:
            lines.append(f"transfer_log = {toml_str(self.transfer_log)}")
        for k in self.keys:
            lines += [""] + k.toml_lines()
        if self.acl_networks:
            lines += ["", "[[acl]]", 'name = "providers"',
                      "networks = [" + ", ".join(toml_str(n) for n in self.acl_networks) + "]"]
        for a in self.acls:
            lines += ["", "[[acl]]", f"name = {toml_str(a.name)}"]
            if a.networks:
                lines.append("networks = [" + ", ".join(toml_str(n) for n in a.networks) + "]")
            if a.keys:
                lines.append("keys = [" + ", ".join(toml_str(k) for k in a.keys) + "]")
        for z in self.zones:
            lines += ["", "[[zone]]", f"name = {toml_str(z.name)}", f"file = {toml_str('zones/' + z.filename)}"]
            if z.allow_transfer:
                lines.append("allow_transfer = [" + ", ".join(toml_str(a) for a in z.allow_transfer) + "]")
            lines += z.notify_toml()
        return "\n".join(lines) + "\n"

    def knot_config_text(self):
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
        ]
        if self.keys:
            lines.append("key:")
            for k in self.keys:
                lines += [f"  - id: {k.name}", f"    algorithm: {k.algorithm}", f"    secret: {k.secret}"]
        acls = ([AclConf("providers", self.acl_networks)] if self.acl_networks else []) + self.acls
        lines.append("acl:")
        for a in acls:
            lines += [f"  - id: {a.name}", "    action: transfer"]
            if a.networks:
                lines.append(f"    address: [{', '.join(a.networks)}]")
            if a.keys:
                lines.append(f"    key: [{', '.join(a.keys)}]")
        lines += [
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
                lines.append(f"    acl: [{', '.join(z.allow_transfer)}]")
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
            return soa_serial(self.port, first, where=self.addr, timeout=0.5) is not None

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
            if self.kind == "headwater":
                check_sanitizer_log(self.proc.log(), "headwater")
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
def knot_server_lines(d, port):
    """The server, database, control and log sections of a knotd instance of its own in directory d,
    listening on 127.0.0.1@port (KnotSecondary, KnotPrimary)."""
    return [
        "server:",
        f"    listen: {ADDR}@{port}",
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
    ]


def zone_file_serial(path):
    """The SOA serial in a master file a secondary wrote, or None (no file yet, no SOA)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return None
    m = re.search(r"\sSOA\s+\S+\s+\S+\s+\(?\s*(\d+)", text)
    return int(m.group(1)) if m else None


def available_peers(peers):
    """The peers HW_PEERS selects among `peers` ({name: Secondary class}) whose binary is installed:
    (names, {missing name: reason}). Under CI=true a missing binary raises (require_tool)."""
    names, missing = [], {}
    for name in wanted_peers(peers):
        try:
            require_tool(peers[name].binary)
            names.append(name)
        except unittest.SkipTest as e:
            missing[name] = str(e)
    return names, missing


class Secondary:
    """A real DNS server configured as a secondary of (primary_addr, primary_port) for zones.

    keys: {zone: TsigKey} -- those zones are transferred with TSIG, in the peer's own config
    syntax; the others without.
    """

    kind = "?"
    binary = "?"
    config_name = "?"  # the file write_config() writes in self.dir

    def __init__(self, zones, primary_port, primary_addr=ADDR, keys=None):
        self.zones = [z if z.endswith(".") else z + "." for z in zones]
        self.keys = {(z if z.endswith(".") else z + "."): k for z, k in (keys or {}).items()}
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

    def edit_config(self, *replacements):
        """For subclasses that change the config write_config() wrote: replaces each (old, new) text,
        every occurrence; raises when an old text is not there (the base config changed under them)."""
        conf = self.dir / self.config_name
        text = conf.read_text()
        for old, new in replacements:
            if old not in text:
                base = next(c.__name__ for c in type(self).__mro__ if c.__module__ == __name__)
                raise AssertionError(f"hwtest.{base} config changed: no {old.strip()!r}")
            text = text.replace(old, new)
        conf.write_text(text)

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

    def key_for(self, zone):
        return self.keys.get(zone)

    def distinct_keys(self):
        """The keys the zones use, each once (by name), in zone order."""
        out = {}
        for z in self.zones:
            k = self.keys.get(z)
            if k and k.name not in out:
                out[k.name] = k
        return list(out.values())

    def close(self):
        if self.proc:
            self.proc.stop()
        cleanup_dir(self.dir)


class KnotSecondary(Secondary):
    kind = "knot"
    binary = "knotd"
    config_name = "knot.conf"

    def write_config(self):
        d = self.dir
        lines = knot_server_lines(d, self.port)
        keys = self.distinct_keys()
        if keys:
            lines.append("key:")
            for k in keys:
                lines += [f"  - id: {k.name}", f"    algorithm: {k.algorithm}", f"    secret: {k.secret}"]
        lines += [
            "remote:",
            "  - id: primary",
            f"    address: {self.primary_addr}@{self.primary_port}",
            f"    via: {ADDR}",
        ]
        # One remote per key: knot signs everything it sends to a remote with that remote's key.
        for k in keys:
            lines += [f"  - id: primary-{k.name}", f"    address: {self.primary_addr}@{self.primary_port}",
                      f"    via: {ADDR}", f"    key: {k.name}"]
        lines += [
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
        ]
        for z in self.zones:
            lines.append(f"  - domain: {z}")
            if self.key_for(z):
                lines.append(f"    master: primary-{self.key_for(z).name}")
        (d / self.config_name).write_text("\n".join(lines) + "\n")

    def argv(self):
        return [self.exe, "-c", self.dir / self.config_name]

    def refresh(self, zone):
        subprocess.run([require_tool("knotc"), "-c", self.dir / self.config_name, "zone-refresh", zone],
                       check=True, capture_output=True, timeout=10)


class BindSecondary(Secondary):
    kind = "bind"
    binary = "named"
    config_name = "named.conf"

    def write_config(self):
        d = self.dir
        def primary(z):
            key = self.key_for(z)
            return f"{self.primary_addr} key \"{key.name}\";" if key else f"{self.primary_addr};"

        zones = "\n".join(
            f'zone "{z}" {{ type secondary; primaries port {self.primary_port} {{ {primary(z)} }}; '
            f'file "{z}db"; }};' for z in self.zones)
        keys = "".join(k.bind_text() for k in self.distinct_keys())
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
{keys}
{zones}
"""
        (d / self.config_name).write_text(conf)

    def argv(self):
        # -g: foreground, log to stderr; no -u: stay the current user; -4: loopback IPv4 only.
        return [self.exe, "-g", "-4", "-n", "1", "-c", self.dir / self.config_name]


class NsdSecondary(Secondary):
    kind = "nsd"
    binary = "nsd"
    config_name = "nsd.conf"

    def write_config(self):
        d = self.dir
        (d / "xfr").mkdir(exist_ok=True)
        keys = "".join(f"""key:
    name: "{k.name}"
    algorithm: {k.algorithm}
    secret: "{k.secret}"
""" for k in self.distinct_keys())
        zones = "".join(
            f"""zone:
    name: "{z}"
    zonefile: "{z}zone"
    request-xfr: AXFR {self.primary_addr}@{self.primary_port} {self.key_for(z).name if self.key_for(z) else "NOKEY"}
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
{keys}{zones}"""
        (d / self.config_name).write_text(conf)

    def argv(self):
        return [self.exe, "-d", "-c", self.dir / self.config_name]


SECONDARIES = {"knot": KnotSecondary, "bind": BindSecondary, "nsd": NsdSecondary}


class KnotPrimary:
    """knotd as a primary of its own, serving given master files on 127.0.0.1:<free port>: a server
    posing as a secondary (it serves whatever copy of a zone the test hands it, edited or not).

    zones: {origin: master file}; each file is copied (in knot_compatible_copy form) into the
    instance's directory, so the test may change the original. allow_transfer: False makes it refuse
    every zone transfer (no transfer ACL at all), so only its answers to queries can be checked.
    key: a TsigKey that every transfer must be signed with (unsigned ones are refused).
    verbatim: copy each file as it is, for knotd's own zone parser to read (the differential test),
    instead of the knot_compatible_copy form.
    """

    def __init__(self, zones, allow_transfer=True, key=None, verbatim=False):
        self.exe = require_tool("knotd")
        self.dir = tempdir("knot-primary")
        self.port = free_port()
        self.allow_transfer = allow_transfer
        self.key = key
        self.verbatim = verbatim
        self.proc = None
        (self.dir / "zones").mkdir()
        self.zones = {}
        for origin, src in zones.items():
            origin = origin if origin.endswith(".") else origin + "."
            self.zones[origin] = self.dir / "zones" / f"{origin}zone"
            self._copy(src, origin)

    def _copy(self, src, origin):
        if self.verbatim:
            shutil.copyfile(src, self.zones[origin])
        else:
            knot_compatible_copy(src, origin, self.zones[origin])

    @property
    def address(self):
        """"127.0.0.1:<port>", as Headwater's config and headwaterctl write a secondary."""
        return f"{ADDR}:{self.port}"

    def write_config(self):
        d = self.dir
        lines = knot_server_lines(d, self.port)
        if self.key:
            lines += ["key:", f"  - id: {self.key.name}", f"    algorithm: {self.key.algorithm}",
                      f"    secret: {self.key.secret}"]
        if self.allow_transfer:
            lines += ["acl:", "  - id: local", "    address: 127.0.0.0/8", "    action: transfer"]
            if self.key:
                lines.append(f"    key: {self.key.name}")
        lines += [
            "template:",
            "  - id: default",
            "    zonefile-sync: -1",
            "    zonefile-load: whole",
            "    journal-content: none",
            "    semantic-checks: off",
        ]
        if self.allow_transfer:
            lines.append("    acl: local")
        lines.append("zone:")
        for origin, path in self.zones.items():
            lines += [f"  - domain: {origin}", f"    file: {path}"]
        (d / "knot.conf").write_text("\n".join(lines) + "\n")

    def start(self, wait=True, timeout=15.0):
        self.write_config()
        self.proc = Process([self.exe, "-c", self.dir / "knot.conf"], self.dir / "knot.log", cwd=self.dir)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15.0):
        def ready():
            if not self.proc.alive():
                raise AssertionError(f"knotd exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            return all(soa_serial(self.port, z, timeout=0.5) is not None for z in self.zones)

        try:
            wait_for(ready, timeout, what=f"knotd (primary) to serve {list(self.zones)}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- knotd log ---\n{self.proc.log_tail()}") from None

    def serve(self, origin, src):
        """Serves the master file src for origin from now on (knotc zone-reload; same serial or not)."""
        origin = origin if origin.endswith(".") else origin + "."
        self._copy(src, origin)
        subprocess.run([require_tool("knotc"), "-c", self.dir / "knot.conf", "zone-reload", origin], check=True,
                       capture_output=True, timeout=10)

    def stop(self):
        return self.proc.stop() if self.proc else None

    def close(self):
        self.stop()
        cleanup_dir(self.dir)


class BindPrimary:
    """named as a primary of its own, serving master files as named itself reads them, on
    127.0.0.1:<free port>; zone transfers allowed from loopback, no NOTIFY.

    zones: {origin: master file}, each copied as it is into the instance's directory. The checks that
    only warn or refuse (check-names, check-integrity, ...) are off, so a file loads whenever named's
    parser accepts it; what named says about the files (TTL set to prior TTL, ...) is in log().
    """

    def __init__(self, zones):
        self.exe = require_tool("named")
        self.dir = tempdir("bind-primary")
        self.port = free_port()
        self.proc = None
        (self.dir / "zones").mkdir()
        self.zones = {}
        for origin, src in zones.items():
            origin = origin if origin.endswith(".") else origin + "."
            self.zones[origin] = self.dir / "zones" / f"{origin}zone"
            shutil.copyfile(src, self.zones[origin])

    def write_config(self):
        d = self.dir
        zones = "\n".join(f'zone "{z}" {{ type primary; file "{path}"; }};' for z, path in self.zones.items())
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
    check-names primary ignore;
    check-integrity no;
    check-mx ignore;
    check-mx-cname ignore;
    check-srv-cname ignore;
    check-wildcard no;
    check-sibling no;
}};
controls {{ }};
{zones}
"""
        (d / "named.conf").write_text(conf)

    def start(self, wait=True, timeout=20.0):
        self.write_config()
        # -g: foreground, log to stderr; no -u: stay the current user; -4: loopback IPv4 only.
        self.proc = Process([self.exe, "-g", "-4", "-n", "1", "-c", self.dir / "named.conf"],
                            self.dir / "named.log", cwd=self.dir)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=20.0):
        """Until every zone answers SOA; raises with named's log when one is not loaded."""
        def ready():
            if not self.proc.alive():
                raise AssertionError(f"named exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            failed = re.findall(r"zone (\S+)/IN: not loaded due to errors", self.proc.log())
            if failed:
                raise AssertionError(f"named (primary) did not load {failed}:\n{self.proc.log_tail(60)}")
            return all(soa_serial(self.port, z, timeout=0.5) is not None for z in self.zones)

        wait_for(ready, timeout, what=f"named (primary) to serve {list(self.zones)}")

    def log(self):
        return self.proc.log() if self.proc else ""

    def stop(self):
        return self.proc.stop() if self.proc else None

    def close(self):
        self.stop()
        cleanup_dir(self.dir)


class SilentUdp:
    """A UDP socket on loopback that reads every datagram and never answers (nothing listens on TCP at
    that port): a server that has gone quiet. count: datagrams received."""

    def __init__(self):
        import threading

        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ADDR, self.port))
        self.sock.settimeout(0.2)
        self.count = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"{ADDR}:{self.port}"

    def _run(self):
        while self.running:
            try:
                self.sock.recvfrom(65535)
                self.count += 1
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def knot_transfers(log):
    """{serial: ("IXFR"/"AXFR", line)} from a Knot secondary's log: the last `<TYPE>, incoming, ... finished`
    line before each `refresh, ... zone updated, ..., serial A -> B` (a fallback from IXFR logs a new AXFR
    line). One zone per log, or pass the zone's lines only."""
    out, last = {}, None
    for line in log.splitlines():
        m = re.search(r"\] (AXFR|IXFR), incoming, .*, finished", line)
        if m:
            last = (m.group(1), line)
        m = re.search(r"zone updated, .*serial \S+ -> (\d+)", line)
        if m and last:
            out[int(m.group(1))] = last
            last = None
    return out


def bind_transfers(log):
    """{serial: ("IXFR"/"AXFR", line)} from a BIND secondary's log (named -d 3): `got incremental response`
    or `got nonincremental response`, then `Transfer completed: ... (serial N)`. One zone per log, or pass
    the zone's lines only."""
    out, last = {}, None
    for line in log.splitlines():
        m = re.search(r"got (incremental|nonincremental) response", line)
        if m:
            last = ("IXFR" if m.group(1) == "incremental" else "AXFR", line)
        m = re.search(r"Transfer completed: .*\(serial (\d+)\)", line)
        if m and last:
            out[int(m.group(1))] = last
            last = None
    return out


def verify_log(log_text, zone=None, **match):
    """The server's `verify zone=Z secondary=A drift starts|ends: summary` warnings as dicts with zone,
    secondary, edge ("starts"/"ends"), summary and _line; filtered by zone and field=regex."""
    out = []
    for line in log_text.splitlines():
        m = re.search(r"\bverify zone=(\S+) secondary=(\S+) drift (starts|ends): (.*)$", line)
        if not m:
            continue
        fields = {"zone": m.group(1), "secondary": m.group(2), "edge": m.group(3), "summary": m.group(4),
                  "_line": line}
        if zone is not None and fields["zone"].lower().rstrip(".") != zone.lower().rstrip("."):
            continue
        if all(re.fullmatch(str(v), fields.get(k, "")) for k, v in match.items()):
            out.append(fields)
    return out


# ---- running a test file --------------------------------------------------------------------------
def main():
    """unittest.main() that exits 77 (CTest SKIP_RETURN_CODE) when every test was skipped."""
    prog = unittest.main(verbosity=2, exit=False)
    r = prog.result
    if r.testsRun and len(r.skipped) == r.testsRun and r.wasSuccessful():
        sys.exit(77)
    sys.exit(0 if r.wasSuccessful() else 1)
