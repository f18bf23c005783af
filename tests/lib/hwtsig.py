"""TSIG (RFC 8945) for Headwater's black-box tests: keys in every peer's syntax, requests signed at a
chosen time, answers taken apart and their MACs computed without dnspython's TSIG code, and signed
transfers verified message by message.
"""

import base64
import contextlib
import hashlib
import hmac
import os
import re
import struct
import subprocess
from pathlib import Path

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

from hwproc import ADDR, headwaterctl_bin, toml_str
from hwwire import _skip_name, tcp_connect, tcp_recv, tcp_send


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
