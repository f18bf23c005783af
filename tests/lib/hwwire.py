"""DNS on the wire for Headwater's black-box tests: queries, TCP framing, transfers read message by
message in their raw form (what dnspython would normalise), and RR sets compared in canonical form.
"""

import contextlib
import socket
import struct

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone

from hwproc import ADDR


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
