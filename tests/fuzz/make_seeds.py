#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/), deterministically.

Run with Debian's /usr/bin/python3 (python3-dnspython):  /usr/bin/python3 tests/fuzz/make_seeds.py
Every run writes the same files: fixed message IDs, TSIG requests signed at a fixed time (kNow in
fuzz_common.h) with the keys of fuzz_tsig.cpp (secrets are a fill octet repeated), no randomness.
Files of a target's folder that this script does not write are left alone (hand-added seeds).
"""

import struct
import sys
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
REPO = HERE.parents[1]
NOW = 1_800_000_000  # fuzz_common.h kNow

# fuzz_tsig.cpp kKeys: name, algorithm, secret length, fill octet.
KEYS = [
    ("xfr-key", dns.tsig.HMAC_SHA256, 32, 0x42),
    ("md5-key", dns.tsig.HMAC_MD5, 16, 0x11),
    ("sha1-key", dns.tsig.HMAC_SHA1, 20, 0x22),
    ("sha224-key", dns.tsig.HMAC_SHA224, 28, 0x33),
    ("sha384-key", dns.tsig.HMAC_SHA384, 48, 0x44),
    ("sha512-key", dns.tsig.HMAC_SHA512, 64, 0x55),
]


def key(index):
    name, alg, length, fill = KEYS[index]
    return dns.tsig.Key(name, bytes([fill]) * length, alg)


def query(qname, rdtype, qid, edns=None, payload=1232, flags=0, opcode=dns.opcode.QUERY, dnssec=False,
          ednsflags=0):
    q = dns.message.make_query(qname, rdtype, use_edns=False)
    q.id = qid
    q.flags = flags
    q.set_opcode(opcode)
    if edns is not None:
        q.use_edns(edns=edns, payload=payload, ednsflags=(dns.flags.DO if dnssec else 0) | ednsflags)
    return q


def ixfr(zone, serial, qid, edns=None, payload=1232, soa_owner=None, compress=True):
    q = query(zone, "IXFR", qid, edns=edns, payload=payload)
    owner = dns.name.from_text(soa_owner or zone)
    rrset = dns.rrset.from_text(owner, 3600, "IN", "SOA",
                                f"ns1.{zone} hostmaster.{zone} {serial} 3600 900 86400 60")
    q.authority.append(rrset)
    return q.to_wire() if compress else q.to_wire(max_size=65535)


def sign_wire(wire, k, time_signed, fudge=300):
    """Appends a TSIG RR signed at time_signed (dnspython signs at the current time by itself)."""
    (qid,) = struct.unpack("!H", wire[:2])
    rd = dns.rdtypes.ANY.TSIG.TSIG(dns.rdataclass.ANY, dns.rdatatype.TSIG, k.algorithm, 0, fudge, b"", qid, 0,
                                   b"")
    rd, _ = dns.tsig.sign(wire, k, rd, time_signed)
    rdata = rd.to_wire()
    rr = k.name.to_wire() + struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata)) + rdata
    (ar,) = struct.unpack("!H", wire[10:12])
    return wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + rr


def write(target, files):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if isinstance(data, str):
            data = data.encode()
        (d / name).write_bytes(data)
    print(f"{target}: {len(files)} seeds", file=sys.stderr)


def message_seeds():
    z = "example.com."
    s = {}
    for i, (qname, rdtype) in enumerate([
            (z, "SOA"), (z, "NS"), (z, "MX"), (z, "ANY"), ("www." + z, "A"), ("mail." + z, "AAAA"),
            ("alias." + z, "A"), ("loop1." + z, "A"), ("x.wild." + z, "TXT"), ("a.b." + z, "A"),
            ("nothing." + z, "A"), ("x.here." + z, "A"), ("x.d1." + z, "TXT"), ("host.sub." + z, "A"),
            ("into-sub." + z, "A"), ("srv." + z, "SRV"), ("big." + z, "TXT"), ("example.org.", "A"),
            (".", "NS"), ("WwW.ExAmPlE.CoM.", "A"), ("ptr." + z, "PTR"), (z, "TYPE65280")]):
        s[f"q-{i:02d}-{rdtype}-{qname.rstrip('.') or 'root'}"] = query(qname, rdtype, 0x1000 + i).to_wire()
    s["edns-big-4096"] = query("big." + z, "TXT", 0x2001, edns=0, payload=4096, dnssec=True).to_wire()
    s["edns-small-100"] = query("big." + z, "TXT", 0x2002, edns=0, payload=100).to_wire()
    s["edns-version-1"] = query(z, "SOA", 0x2003, edns=1).to_wire()
    s["axfr"] = query(z, "AXFR", 0x2004).to_wire()
    s["ixfr"] = ixfr(z, 2026112600, 0x2005)
    s["notify"] = query(z, "SOA", 0x2006, opcode=dns.opcode.NOTIFY, flags=dns.flags.AA).to_wire()
    s["update"] = query(z, "SOA", 0x2007, opcode=dns.opcode.UPDATE).to_wire()
    ch = dns.message.make_query("version.bind.", "TXT", "CH", use_edns=False)
    ch.id = 0x2008
    s["class-ch"] = ch.to_wire()
    s["signed-soa"] = sign_wire(query(z, "SOA", 0x2009).to_wire(), key(0), NOW)
    resp = dns.message.make_response(query(z, "SOA", 0x200a))
    resp.answer.append(dns.rrset.from_text(z, 3600, "IN", "A", "192.0.2.1"))
    s["response"] = resp.to_wire()
    s["header-only"] = struct.pack("!HHHHHH", 0x200b, 0, 0, 0, 0, 0)
    s["cut-question"] = query(z, "SOA", 0x200c).to_wire()[:-3]
    # A pointer loop in the question name and a name that points forward.
    s["pointer-loop"] = struct.pack("!HHHHHH", 0x200d, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x06\x00\x01"
    s["pointer-forward"] = struct.pack("!HHHHHH", 0x200e, 0, 1, 0, 0, 0) + b"\xc0\x12\x00\x06\x00\x01\x00"
    return s


def tsig_seeds():
    z = "example.com."
    s = {}
    for i in range(len(KEYS)):
        alg = KEYS[i][0]
        s[f"signed-soa-{alg}"] = sign_wire(query(z, "SOA", 0x3000 + i).to_wire(), key(i), NOW)
        s[f"signed-axfr-{alg}"] = sign_wire(query(z, "AXFR", 0x3100 + i).to_wire(), key(i), NOW)
        s[f"signed-ixfr-{alg}"] = sign_wire(ixfr(z, 2026112600, 0x3200 + i), key(i), NOW)
    s["signed-edns-axfr"] = sign_wire(query(z, "AXFR", 0x3300, edns=0).to_wire(), key(0), NOW)
    s["signed-notify"] = sign_wire(query(z, "SOA", 0x3301, opcode=dns.opcode.NOTIFY).to_wire(), key(0), NOW)
    s["signed-www-a"] = sign_wire(query("www." + z, "A", 0x3302).to_wire(), key(0), NOW)
    s["badtime"] = sign_wire(query(z, "SOA", 0x3303).to_wire(), key(0), NOW - 1000)
    s["fudge-edge"] = sign_wire(query(z, "SOA", 0x3304).to_wire(), key(0), NOW - 300)
    unknown = dns.tsig.Key("unknown-key", bytes([0x42]) * 32, dns.tsig.HMAC_SHA256)
    s["badkey"] = sign_wire(query(z, "AXFR", 0x3305).to_wire(), unknown, NOW)
    wrong = dns.tsig.Key("xfr-key", bytes([0x43]) * 32, dns.tsig.HMAC_SHA256)
    s["badsig"] = sign_wire(query(z, "AXFR", 0x3306).to_wire(), wrong, NOW)
    alg_mismatch = dns.tsig.Key("xfr-key", bytes([0x42]) * 32, dns.tsig.HMAC_SHA512)
    s["wrong-algorithm"] = sign_wire(query(z, "AXFR", 0x3307).to_wire(), alg_mismatch, NOW)
    # Unsigned queries: the harness signs them itself with the key (ID % 6) and, for every 4th ID
    # (ID >> 3) % 4 == 0, with the server clock past the fudge.
    for i, (qname, rdtype) in enumerate([(z, "SOA"), (z, "AXFR"), ("www." + z, "TXT"), (z, "IXFR")]):
        for qid in (0x4001 + 8 * i, 0x4008 + 32 * i):
            if rdtype == "IXFR":
                s[f"unsigned-{rdtype}-{qid:04x}"] = ixfr(z, 2026112600, qid)
            else:
                s[f"unsigned-{rdtype}-{qid:04x}"] = query(qname, rdtype, qid).to_wire()
    return s


def ixfr_seeds():
    s = {}
    serials = [4294967290, 4294967295, 5, 6, 100]
    for zone in ("example.com.", "ratio.example.", "plain.example."):
        short = zone.split(".")[0]
        for n, serial in enumerate(serials + [7, 200, 4294967289, 2147483748, 0]):
            s[f"{short}-tcp-{serial}"] = ixfr(zone, serial, 0x5000 + n)
        s[f"{short}-edns-{serials[0]}"] = ixfr(zone, serials[0], 0x5100, edns=0, payload=4096)
        s[f"{short}-axfr"] = query(zone, "AXFR", 0x5101).to_wire()
    z = "example.com."
    s["edns-512-from-first"] = ixfr(z, serials[0], 0x5200, edns=0, payload=512)
    s["edns-100-from-wrap"] = ixfr(z, serials[1], 0x5201, edns=0, payload=100)
    s["edns-0-from-5"] = ixfr(z, 5, 0x5202, edns=0, payload=0)
    s["no-authority"] = query(z, "IXFR", 0x5203).to_wire()
    s["soa-other-owner"] = ixfr(z, 5, 0x5204, soa_owner="other.example.com.")
    s["uncompressed"] = ixfr(z, 6, 0x5205, compress=False)
    s["upper-case"] = ixfr("EXAMPLE.COM.", 6, 0x5206)
    s["unknown-zone"] = ixfr("example.org.", 6, 0x5207)
    two = dns.message.from_wire(ixfr(z, 6, 0x5208))
    two.authority.append(dns.rrset.from_text(z, 3600, "IN", "SOA",
                                             f"ns1.{z} hostmaster.{z} 5 3600 900 86400 60"))
    s["two-soas"] = two.to_wire()
    return s


MASTER_TRICKY = {
    "parentheses-and-comments": r"""$TTL 1h
@ IN SOA ns1 hostmaster ( 1 ; serial
   2h 1h ; refresh retry
   2w 5m ) ; expire minimum
  NS ns1 ; owner reused
ns1 1800 IN A 192.0.2.1
ns1 IN 1800 AAAA 2001:db8::1 ; class before TTL
txt IN TXT "semi;colon" "quote\"inside" ( "in" "parens" )
""",
    "escapes-in-names": r"""$ORIGIN example.com.
$TTL 300
@ SOA ns1 host\.master 2 3600 900 86400 60
@ NS ns1
ns1 A 192.0.2.1
a\.dot TXT "label with a dot"
sp\032ace TXT "space"
\@at TXT "at sign"
UPPER.case A 192.0.2.2
*.wild MX 10 mail.example.net.
""",
    "generic-rfc3597": r"""$TTL 300
@ IN SOA ns1 hostmaster 3 3600 900 86400 60
@ IN NS ns1
ns1 IN A 192.0.2.1
x IN TYPE65280 \# 4 0a000001
y IN TYPE1 \# 4 c0000201
z IN A \# 4 c0000202
e IN TYPE65000 \# 0
""",
    "relative-origin-and-dnssec": r"""$TTL 300
@ IN SOA ns1 hostmaster 4 3600 900 86400 60
@ IN NS ns1
ns1 IN A 192.0.2.1
$ORIGIN sub
@ IN NS ns1.example.com.
@ IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
$ORIGIN example.com.
@ IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
@ 300 IN RRSIG SOA 13 2 300 20260101000000 20250101000000 12345 example.com. ZmFrZXNpZ25hdHVyZWZha2VzaWduYXR1cmVmYWtlc2lnbmF0dXJlZmFrZXNpZw==
@ IN NSEC ns1.example.com. NS SOA RRSIG NSEC DNSKEY
@ IN CAA 0 issue "letsencrypt.org"
_sip._tcp IN SRV 10 60 5060 sip
@ IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
@ IN SSHFP 4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
@ IN NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .
@ IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
""",
    "cname-conflict": """$TTL 300
@ IN SOA ns1 hostmaster 5 3600 900 86400 60
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN CNAME ns1
www IN A 192.0.2.2
""",
    "out-of-zone-and-two-soas": """$TTL 300
@ IN SOA ns1 hostmaster 6 3600 900 86400 60
@ IN SOA ns2 hostmaster 7 3600 900 86400 60
@ IN NS ns1
ns1.example.org. IN A 192.0.2.1
""",
    "no-ttl-soa-minimum": """@ IN SOA ns1 hostmaster 8 3600 900 86400 60
@ IN NS ns1
ns1 A 192.0.2.1
long IN TXT "%s"
""" % ("x" * 255),
    "bad-directive": """$GENERATE 1-10 host$ A 192.0.2.$
$TTL 99999999999
""",
}


def master_seeds():
    s = dict(MASTER_TRICKY)
    for name in ("example.com.zone.v1", "example.com.zone.v2", "example.com.zone.broken"):
        s[name] = (REPO / "tests" / "data" / name).read_text()
    for name, text in s.items():
        assert "$include" not in text.lower(), name
    return s


def main():
    write("fuzz_message", message_seeds())
    write("fuzz_tsig", tsig_seeds())
    write("fuzz_ixfr", ixfr_seeds())
    write("fuzz_master_file", master_seeds())


if __name__ == "__main__":
    main()
