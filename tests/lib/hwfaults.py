"""Helpers shared by the limits, faults and privilege tests (tests/system/test_limits.py,
test_faults.py, test_faults_storage.py, test_privileges.py): a Headwater with extra [server] settings,
TCP peers that hold or stall connections, a fast wire-level reader for big transfers, and process and
permission utilities.

Big zones (100k+ records) are compared with the wire reader below instead of dnspython: dnspython
needs seconds per 100k records, this needs a fraction, and both sides of every comparison are
Headwater's own answers at different times (the first load is checked against the file by
test_axfr.py), so the exact same byte form is compared.
"""

import os
import pwd
import resource
import select
import shutil
import socket
import struct
import unittest
from pathlib import Path

import hwtest

SOA = 6
# RR types whose RDATA names RFC 1035 lets a server compress (RFC 3597 section 4): expanded here.
_ONE_NAME = {2, 3, 4, 5, 7, 8, 9, 12}  # NS MD MF CNAME MB MG MR PTR
_PREF_NAME = {15}  # MX
_TWO_NAMES = {6, 14}  # SOA (then 20 octets), MINFO


def is_root():
    return os.geteuid() == 0


def cannot_run(reason):
    """Skips the test for a missing privilege or system feature; under CI=true fails instead: CI runs as
    root on a machine that has them (tools/setup-deps.sh), so there a skip would hide a broken set-up."""
    if os.environ.get("CI"):
        raise AssertionError(f"{reason} (CI must run this test)")
    raise unittest.SkipTest(reason)


def raise_nofile(want):
    """Raises this process's soft RLIMIT_NOFILE to at least `want` (up to the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


class Headwater(hwtest.Headwater):
    """hwtest.Headwater (whose server_options are more [server] settings) with, optionally, the control
    socket somewhere else (control_socket: a path relative to the instance directory)."""

    def __init__(self, zones, server_options=None, control_socket=None, **kw):
        super().__init__(zones, server_options=server_options, **kw)
        if control_socket:
            self.socket_path = self.dir / control_socket

    def restart(self, wait=True, timeout=60.0):
        """Starts the server again on the same directory (after stop() or a kill)."""
        if self.proc and self.proc.alive():
            raise AssertionError("restart() while the server still runs")
        if self.proc:
            self.proc._log.close()
        return self.start(wait=wait, timeout=timeout)

    def kill9(self):
        """SIGKILL, and wait until the process is gone."""
        if self.proc and self.proc.alive():
            self.proc.proc.kill()
        if self.proc:
            self.proc.proc.wait(10)


# ---- TCP peers ---------------------------------------------------------------------------------------
def connect(port, source, rcvbuf=None, timeout=10, where=hwtest.ADDR):
    """A TCP connection from `source` to the server; one the server closed at once (a limit) is returned
    as it is, for closed_by_peer() to tell."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(timeout)
    try:
        s.connect((where, port))
    except ConnectionResetError:
        pass  # refused at once (Python connects non-blocking and reads SO_ERROR afterwards)
    return s


def closed_by_peer(sock, wait=0.0):
    """True when the server closed (FIN or RST) this idle connection within `wait` seconds; False while
    it stays open."""
    r, _, _ = select.select([sock], [], [], wait)
    if not r:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True  # ECONNRESET


def start_stalled_axfr(port, zone, source=hwtest.ADDR):
    """An AXFR whose reader takes the first message (checked NOERROR) and then stops reading, with a
    small receive window so that the server's writes block soon."""
    import dns.message

    s = connect(port, source, rcvbuf=4096)
    hwtest.tcp_send(s, dns.message.make_query(zone, "AXFR").to_wire())
    first = hwtest.tcp_recv(s)
    rcode = struct.unpack("!H", first[2:4])[0] & 0xF
    if rcode != 0:
        s.close()
        raise AssertionError(f"the first message of the AXFR of {zone} has rcode {rcode}")
    return s


def close_all(objs):
    """Closes every object of the list (sockets held by a test), for addCleanup."""
    for o in objs:
        o.close()


# ---- a fast reader of transfer messages -----------------------------------------------------------
def read_name(wire, pos):
    """(uncompressed wire name, position after it) of the possibly compressed name at pos."""
    out = bytearray()
    end = None
    hops = 0
    while True:
        length = wire[pos]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | wire[pos + 1]
            hops += 1
            if hops > 127:
                raise ValueError("compression loop")
            continue
        if length == 0:
            out.append(0)
            return bytes(out), (pos + 1 if end is None else end)
        out += wire[pos:pos + 1 + length]
        pos += 1 + length


def _rdata(wire, rtype, start, rdlen):
    """RDATA with the names RFC 1035 types may compress expanded."""
    if rtype in _ONE_NAME:
        return read_name(wire, start)[0]
    if rtype in _PREF_NAME:
        return wire[start:start + 2] + read_name(wire, start + 2)[0]
    if rtype in _TWO_NAMES:
        a, p = read_name(wire, start)
        b, p = read_name(wire, p)
        return a + b + wire[p:start + rdlen]
    return bytes(wire[start:start + rdlen])


def message_rrs(wire):
    """The answer section of one message: [(owner lower-cased, type, class, ttl, rdata)], names in
    RDATA uncompressed; plus the rcode."""
    qd, an = struct.unpack("!HH", wire[4:8])
    pos = 12
    for _ in range(qd):
        pos = hwtest._skip_name(wire, pos) + 4
    out = []
    for _ in range(an):
        owner, pos = read_name(wire, pos)
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
        pos += 10
        out.append((owner.lower(), rtype, rclass, ttl, _rdata(wire, rtype, pos, rdlen)))
        pos += rdlen
    return out


def soa_serial_of(rr):
    return struct.unpack("!I", rr[4][-20:-16])[0]


def with_serial(soa_rr, serial):
    owner, t, c, ttl, rd = soa_rr
    return (owner, t, c, ttl, rd[:-20] + struct.pack("!I", serial) + rd[-16:])


def read_xfr(sock, zone, rdtype="AXFR", client_soa=None, timeout=60.0):
    """Sends an AXFR (or an IXFR carrying client_soa, an rr tuple) on a connected TCP socket and reads
    the answer: (rcode, [rr tuples] in wire order)."""
    import dns.message
    import dns.rdatatype
    import dns.rrset

    q = dns.message.make_query(zone, rdtype)
    q.flags = 0
    if client_soa is not None:
        # The client's SOA in the authority section (RFC 1995 section 3), serial being what matters.
        serial = soa_serial_of(client_soa)
        rr = dns.rrset.from_text(zone, 0, "IN", "SOA", f". . {serial} 0 0 0 0")
        q.authority.append(rr)
    sock.settimeout(timeout)
    hwtest.tcp_send(sock, q.to_wire())
    rrs = []
    soas = 0
    incremental = None  # IXFR: whether the answer is a sequence of differences (second record an SOA)
    while True:
        wire = hwtest.tcp_recv(sock)
        rcode = struct.unpack("!H", wire[2:4])[0] & 0xF
        if rcode != 0:
            return rcode, rrs
        for rr in message_rrs(wire):
            rrs.append(rr)
            if rdtype == "IXFR" and len(rrs) == 2:
                incremental = rr[1] == SOA
            if rr[1] != SOA:
                continue
            soas += 1
            if rdtype == "IXFR" and len(rrs) == 1 and client_soa is not None and \
                    not _serial_newer(soa_serial_of(rr), soa_serial_of(client_soa)):
                return 0, rrs  # up to date: the single SOA (RFC 1995 section 2)
            if soas >= 2 and not incremental and rr == rrs[0]:
                return 0, rrs  # AXFR, or IXFR in AXFR form: the closing SOA
            # Incremental: the new SOA, then two SOAs per step (old, new), then the new SOA again.
            if incremental and soas >= 4 and soas % 2 == 0 and rr == rrs[0]:
                return 0, rrs  # the closing SOA after the last step


def _serial_newer(a, b):
    """a > b in RFC 1982 arithmetic."""
    return a != b and ((a - b) % (1 << 32)) < (1 << 31)


def axfr_set(port, zone, where=hwtest.ADDR, source=None, timeout=60.0):
    """The zone as served, by AXFR: (SOA rr, set of every rr tuple except the closing SOA)."""
    with socket.create_connection((where, port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        rcode, rrs = read_xfr(s, zone, timeout=timeout)
    if rcode != 0:
        raise AssertionError(f"AXFR of {zone} answered with rcode {rcode}")
    if len(rrs) < 2 or rrs[0][1] != SOA or rrs[-1] != rrs[0]:
        raise AssertionError(f"AXFR of {zone} does not start and end with the same SOA")
    body = rrs[:-1]
    content = set(body)
    if len(content) != len(body):
        raise AssertionError(f"AXFR of {zone} repeats records")
    return rrs[0], content


def apply_ixfr(start, rrs):
    """Applies the RFC 1995 answer `rrs` to the set `start`; returns the resulting set. An AXFR-form
    answer (the second record is not an SOA) is the whole zone."""
    if len(rrs) == 1:
        return set(start)
    if rrs[1][1] != SOA:
        return set(rrs[:-1])
    state = set(start)
    new_soa = rrs[0]
    i = 1
    while i < len(rrs) - 1:
        old = rrs[i]
        if old not in state:
            raise AssertionError(f"IXFR deletes an SOA (serial {soa_serial_of(old)}) the client does not hold")
        state.discard(old)
        i += 1
        while rrs[i][1] != SOA:
            if rrs[i] not in state:
                raise AssertionError(f"IXFR deletes a record the client does not hold: {rrs[i][:2]}")
            state.discard(rrs[i])
            i += 1
        state.add(rrs[i])  # the SOA of the step's new version
        i += 1
        while i < len(rrs) - 1 and rrs[i][1] != SOA:
            state.add(rrs[i])
            i += 1
    if rrs[-1] != new_soa:
        raise AssertionError("IXFR does not end with the new SOA")
    return state


def bare_soa(serial):
    """An SOA rr tuple for ixfr() that carries only `serial`: all an IXFR request needs of the client's SOA."""
    return with_serial((b"\0", SOA, 1, 0, bytes(20)), serial)


def ixfr(port, zone, client_soa, where=hwtest.ADDR, timeout=60.0):
    with socket.create_connection((where, port), timeout=timeout) as s:
        return read_xfr(s, zone, "IXFR", client_soa=client_soa, timeout=timeout)


# ---- users -------------------------------------------------------------------------------------------
def nobody():
    """(uid, gid, user name, group name) of the unprivileged 'nobody' account."""
    pw = pwd.getpwnam("nobody")
    import grp

    return pw.pw_uid, pw.pw_gid, pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name


def as_user_argv(user, argv):
    """argv run as `user` (no groups) through setpriv or runuser; None when neither is available."""
    setpriv = shutil.which("setpriv")
    if setpriv:
        pw = pwd.getpwnam(user)
        return [setpriv, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", "--"] + list(argv)
    runuser = shutil.which("runuser") or (os.access("/usr/sbin/runuser", os.X_OK) and "/usr/sbin/runuser")
    if runuser:
        return [runuser, "-u", user, "--"] + list(argv)
    return None


def proc_status(pid):
    """/proc/<pid>/status as a dict of its fields (values as text)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def open_to_all(path):
    """Makes `path` and its parents up to /tmp traversable by any user (mkdtemp makes them 0700)."""
    p = Path(path)
    for d in [p] + list(p.parents):
        if str(d) in ("/", "/tmp"):
            break
        mode = d.stat().st_mode & 0o7777
        d.chmod(mode | 0o755)
