#!/usr/bin/python3
"""Deterministic zone generator for Headwater's tests and benchmarks.

    gen_zone.py --origin example.com. --records N --serial S [--all-types] [--seed K]

Writes an RFC 1035 master file to stdout (or --output FILE). The content depends only on
--origin, --records, --seed and --all-types; --serial only changes the SOA (and the ZONEMD
digest with --all-types), so two serials of the same zone differ in exactly that.

The output has exactly N resource records (counting the SOA once) unless N is smaller than the
fixed part (apex, and with --all-types the block of every type), in which case the fixed part
alone is written.

The mix is meant to look like a real zone: hosts with A/AAAA, MX, long TXT records made of
several strings (with escapes), CNAMEs (to in-zone and out-of-zone targets), SRV, CAA and NS
delegations with glue; TTLs vary per RRset but are uniform within one (RFC 2181 section 5.2).
The text exercises the parser too: $ORIGIN/$TTL, relative and absolute owners, blank owners
(continuation of the previous owner), optional class and TTL fields, comments and parentheses.

--all-types adds one or more records of every type that ldns 1.8.3 (the server's parser), BIND's
named-checkzone and dnspython all parse, a wildcard, an empty non-terminal, mixed-case owners,
RFC 3597 generic records (an unknown type, a zero-length one, and a known type written in the
generic form) and, when dnspython is available, a ZONEMD (RFC 8976) with a correct SHA-384 digest.
"""

import argparse
import base64
import hashlib
import random
import sys

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
    "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu "
    "api app auth billing blog cdn chat cloud crm db dev docs files forum git grafana imap "
    "intranet jira kb ldap login mail media monitor mx news ntp portal proxy queue shop smtp "
    "sso stage static status store support test vpn webmail wiki www"
).split()

TTLS = (60, 300, 900, 3600, 3600, 3600, 86400)

# Types that BIND, ldns and dnspython parse; the all-types block has at least one of each.
ALL_TYPES = (
    "SOA NS A AAAA CNAME MX TXT SPF PTR HINFO RP AFSDB SRV NAPTR CERT DNAME DS DNSKEY RRSIG NSEC "
    "NSEC3 NSEC3PARAM CDS CDNSKEY TLSA SMIMEA SSHFP OPENPGPKEY CAA URI LOC KX IPSECKEY EUI48 "
    "EUI64 CSYNC ZONEMD SVCB HTTPS APL DHCID L32 L64 NID LP HIP GPOS WKS RT X25 ISDN NSAP PX DLV"
).split()


class Out:
    """Collects lines and counts resource records."""

    def __init__(self):
        self.lines = []
        self.count = 0

    def comment(self, text):
        self.lines.append("; " + text)

    def blank(self):
        self.lines.append("")

    def raw(self, text):
        self.lines.append(text)

    def rr(self, owner, rtype, rdata, ttl=None, klass=False):
        parts = [owner]
        if ttl is not None:
            parts.append(str(ttl))
        if klass:
            parts.append("IN")
        parts.append(rtype)
        parts.append(rdata)
        self.lines.append("\t".join(parts))
        self.count += 1


def b64(rng, n):
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(n))).decode()


def hexs(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n)).hex().upper()


def txt_strings(rng, n_strings, max_len):
    """Several character-strings, each at most 255 octets, some with escapes."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 =-_.:/+"
    out = []
    for _ in range(n_strings):
        length = rng.randint(1, max_len)
        s = "".join(rng.choice(alphabet) for _ in range(length))
        r = rng.random()
        if r < 0.1:
            s = s[: max(0, length - 2)] + '\\"'
        elif r < 0.15:
            s = s[: max(0, length - 4)] + "\\059"  # ';' as a decimal escape
        out.append('"' + s + '"')
    return " ".join(out)


class Generator:
    def __init__(self, origin, serial, seed, all_types):
        self.origin = origin if origin.endswith(".") else origin + "."
        self.serial = serial
        self.rng = random.Random(f"{seed}/{self.origin.lower()}/{all_types}")
        self.all_types = all_types
        self.used = set()
        self.hosts = []  # owners (relative) that have address records, targets for CNAME/MX/SRV
        self.addr4 = 0
        self.addr6 = 0

    # ---- helpers -------------------------------------------------------------------------
    def fresh(self, base):
        """A relative owner name not used yet (case-insensitively)."""
        name = base
        i = 1
        while name.lower() in self.used:
            i += 1
            name = f"{base}{i}"
        self.used.add(name.lower())
        return name

    def ipv4(self):
        self.addr4 += 1
        n = self.addr4
        # 10.0.0.0/8 keeps millions of distinct addresses.
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    def ipv6(self):
        self.addr6 += 1
        n = self.addr6
        return f"2001:db8:{(n >> 32) & 0xFFFF:x}:{(n >> 16) & 0xFFFF:x}::{n & 0xFFFF:x}"

    def ttl(self):
        return self.rng.choice(TTLS)

    def fqdn(self, rel):
        return rel + "." + self.origin

    # ---- fixed parts ---------------------------------------------------------------------
    def apex(self, out):
        out.raw(f"$ORIGIN {self.origin}")
        out.raw("$TTL 3600")
        out.raw(
            f"@\tIN\tSOA\tns1.{self.origin} hostmaster.{self.origin} (\n"
            f"\t\t{self.serial}\t; serial\n"
            "\t\t7200\t\t; refresh\n"
            "\t\t3600\t\t; retry\n"
            "\t\t1209600\t\t; expire\n"
            "\t\t300 )\t\t; negative TTL"
        )
        out.count += 1
        out.rr("", "NS", "ns1", ttl=86400)
        out.rr("", "NS", "ns2." + self.origin, ttl=86400)
        out.rr("", "MX", "10 mail", ttl=3600)
        out.rr("", "MX", "20 mail2", ttl=3600)
        out.rr("", "TXT", '"v=spf1 mx -all"', ttl=3600)
        out.rr("", "CAA", '0 issue "letsencrypt.org"', ttl=3600)
        out.rr("", "A", "192.0.2.1", ttl=3600)
        out.rr("", "AAAA", "2001:db8::1", ttl=3600)
        out.blank()
        for h, a4, a6 in (("ns1", "192.0.2.53", "2001:db8::53"), ("ns2", "198.51.100.53", "2001:db8:1::53")):
            self.used.add(h)
            out.rr(h, "A", a4, ttl=86400, klass=True)
            out.rr("", "AAAA", a6, ttl=86400)
        for h in ("mail", "mail2"):
            self.used.add(h)
            self.hosts.append(h)
            out.rr(h, "A", self.ipv4())
        self.used.add("www")
        self.hosts.append("www")
        out.rr("www", "A", "192.0.2.80", ttl=300)
        out.rr("", "AAAA", "2001:db8::80", ttl=300)
        out.blank()

    def all_types_block(self, out):
        o = self.origin
        rng = self.rng
        ds_digest = hexs(rng, 32)
        key = b64(rng, 132)
        out.comment("---- one or more of every type ----")
        for n in ("t-a t-aaaa t-cname t-mx t-txt t-spf t-ptr t-hinfo t-rp t-afsdb _sip._tcp t-naptr "
                  "t-cert t-dname t-ds t-nsec t-tlsa t-smimea t-sshfp t-openpgpkey t-caa _http._tcp "
                  "t-loc t-kx t-ipseckey t-eui48 t-eui64 t-svcb _8443._foo.t-https t-apl t-dhcid "
                  "t-l32 t-l64 t-nid t-lp t-hip t-gpos t-wks t-rt t-x25 t-isdn t-nsap t-px t-dlv "
                  "t-unknown t-empty t-generic wild ent mixedcase upper").split():
            self.used.add(n.lower())
        out.rr("t-a", "A", "192.0.2.10")
        out.rr("", "A", "192.0.2.11")
        out.rr("", "RRSIG", f"A 8 2 3600 20300101000000 20200101000000 12345 {o} {b64(rng, 256)}")
        out.rr("", "NSEC", f"t-aaaa.{o} A RRSIG NSEC")
        out.rr("", "RRSIG", f"NSEC 8 2 3600 20300101000000 20200101000000 12345 {o} {b64(rng, 256)}")
        out.rr("t-aaaa", "AAAA", "2001:db8::10")
        out.rr("", "AAAA", "2001:db8:0:0:0:0:0:11")
        # In-zone target with different case; the chase must find t-a.
        out.rr("t-cname", "CNAME", "T-A." + o)
        out.rr("t-mx", "MX", f"0 t-a.{o}")
        out.rr("", "MX", "10 mail.example.net.")
        out.rr("t-txt", "TXT", txt_strings(rng, 5, 255))
        out.rr("", "TXT", '"" "empty string first" "tab\\009and\\255high"')
        out.rr("t-spf", "SPF", '"v=spf1 ip4:192.0.2.0/24 -all"')
        out.rr("t-ptr", "PTR", "t-a")
        out.rr("t-hinfo", "HINFO", '"Generic PC" "Linux"')
        out.rr("t-rp", "RP", f"hostmaster.{o} t-txt.{o}")
        out.rr("t-afsdb", "AFSDB", "1 t-a")
        out.rr("_sip._tcp", "SRV", "10 60 5060 t-a")
        out.rr("", "SRV", "20 0 5061 sip.example.net.")
        out.rr("t-naptr", "NAPTR", '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .')
        out.rr("", "NAPTR", '102 10 "S" "SIP+D2T" "" _sip._tcp')
        out.rr("t-cert", "CERT", f"PGP 0 0 {b64(rng, 90)}")
        out.rr("t-dname", "DNAME", "dname-target.example.net.")
        out.rr("t-ds", "DS", f"12345 8 2 {ds_digest}")
        out.rr("@", "DNSKEY", f"257 3 8 {key}")
        out.rr("@", "DNSKEY", f"256 3 13 {b64(rng, 64)}")
        out.rr("@", "RRSIG", f"SOA 8 2 3600 20300101000000 20200101000000 12345 {o} {b64(rng, 256)}")
        out.rr("@", "RRSIG", f"DNSKEY 8 2 3600 20300101000000 20200101000000 12345 {o} {b64(rng, 256)}")
        out.rr("@", "NSEC3PARAM", "1 0 10 AABBCCDD")
        out.rr("@", "CDS", f"12345 8 2 {ds_digest}")
        out.rr("@", "CDNSKEY", f"257 3 8 {key}")
        out.rr("@", "CSYNC", "66 3 A NS AAAA")
        h1 = "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"
        h2 = "2vptu5timamqttgl4luu9kg21e0aor3s"
        out.rr(h1, "NSEC3", f"1 0 10 AABBCCDD {h2} A RRSIG")
        out.rr(h2, "NSEC3", f"1 1 10 AABBCCDD {h1} NS SOA MX TXT AAAA RRSIG DNSKEY NSEC3PARAM")
        out.rr("_443._tcp.t-tlsa", "TLSA", f"3 1 1 {hexs(rng, 32)}")
        out.rr("_25._tcp.t-tlsa", "TLSA", f"2 0 1 {hexs(rng, 32)}")
        out.rr("t-smimea", "SMIMEA", f"3 1 1 {hexs(rng, 32)}")
        out.rr("t-sshfp", "SSHFP", f"4 2 {hexs(rng, 32)}")
        out.rr("", "SSHFP", f"1 1 {hexs(rng, 20)}")
        out.rr("t-openpgpkey", "OPENPGPKEY", b64(rng, 120))
        out.rr("t-caa", "CAA", '0 issue "ca.example.net; account=230123"')
        out.rr("", "CAA", '128 tbs "Unknown"')
        out.rr("", "CAA", '0 iodef "mailto:security@example.com"')
        out.rr("_http._tcp", "URI", '10 1 "https://www.example.com/path?q=1"')
        out.rr("t-loc", "LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 1.00m 10000.00m 10.00m")
        out.rr("t-kx", "KX", "10 t-a")
        out.rr("t-ipseckey", "IPSECKEY", f"10 1 2 192.0.2.38 {b64(rng, 40)}")
        out.rr("", "IPSECKEY", f"10 3 2 gw.example.net. {b64(rng, 40)}")
        out.rr("t-eui48", "EUI48", "00-00-5e-00-53-2a")
        out.rr("t-eui64", "EUI64", "00-00-5e-ef-10-00-00-2a")
        out.rr("t-svcb", "SVCB", "1 t-a alpn=h2,h3 port=8443 ipv4hint=192.0.2.10")
        out.rr("", "SVCB", "0 svc.example.net.")
        out.rr("_8443._foo.t-https", "HTTPS", "1 . alpn=h2")
        out.rr("t-apl", "APL", "1:192.0.2.0/24 !2:2001:db8::/32")
        out.rr("t-dhcid", "DHCID", "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=")
        out.rr("t-l32", "L32", "10 10.1.2.0")
        out.rr("t-l64", "L64", "10 2001:0db8:1140:1000")
        out.rr("t-nid", "NID", "10 0014:4fff:ff20:ee64")
        out.rr("t-lp", "LP", "10 t-l64")
        out.rr("t-hip", "HIP", f"2 200100107B1A74DF365639CC39F1D578 {b64(rng, 132)}")
        out.rr("t-gpos", "GPOS", '"-32.6882" "116.8652" "10.0"')
        out.rr("t-wks", "WKS", "192.0.2.25 6 25 80 443")
        out.rr("t-rt", "RT", "10 t-a")
        out.rr("t-x25", "X25", '"311061700956"')
        out.rr("t-isdn", "ISDN", '"150862028003217" "004"')
        out.rr("t-nsap", "NSAP", "0x47000580005a0000000001e133ffffff00016100")
        out.rr("t-px", "PX", f"10 t-a.{o} px.example.net.")
        out.rr("t-dlv", "DLV", f"12345 8 2 {ds_digest}")
        # RFC 3597: an unknown type, a zero-length unknown, and A written generically.
        out.rr("t-unknown", "TYPE65280", "\\# 4 0a0b0c0d")
        out.rr("t-empty", "TYPE65281", "\\# 0")
        out.rr("t-generic", "TYPE1", "\\# 4 C000020B")
        # Wildcard (with a sibling below it), an empty non-terminal (ent has no records).
        out.rr("*.wild", "A", "192.0.2.99")
        out.rr("", "TXT", '"wildcard"')
        out.rr("explicit.wild", "A", "192.0.2.98")
        out.rr("host.sub.ent", "A", "192.0.2.97")
        # Mixed-case owners (names compare case-insensitively, RFC 4343).
        out.rr("MixedCase", "A", "192.0.2.96")
        out.rr("UPPER.MixedCase", "TXT", '"Case Preserved"')
        # A signed delegation: NS and DS at the cut, glue below it.
        out.rr("secure", "NS", "ns.secure")
        out.rr("", "DS", f"54321 13 2 {hexs(rng, 32)}")
        out.rr("ns.secure", "A", "192.0.2.95")
        self.used.update({"secure", "ns.secure", "*.wild", "explicit.wild", "host.sub.ent",
                          "upper.mixedcase"})
        self.hosts.append("t-a")
        out.blank()

    # ---- the realistic mix ---------------------------------------------------------------
    def group(self, out, budget):
        """One group of related records, at most `budget` records; returns nothing."""
        rng = self.rng
        kinds = (("host", 40), ("v6", 8), ("cname", 12), ("txt", 8), ("mx", 5), ("srv", 6),
                 ("caa", 2), ("deleg", 6))
        kinds = [(k, w) for k, w in kinds if budget >= {"deleg": 4, "mx": 3}.get(k, 2)]
        if not kinds:
            return self.single(out)
        total = sum(w for _, w in kinds)
        r = rng.uniform(0, total)
        for kind, w in kinds:
            r -= w
            if r <= 0:
                break
        word = rng.choice(WORDS)
        ttl = self.ttl()
        if kind == "host":
            name = self.fresh(f"{word}-{rng.randint(1, 999)}")
            n4 = min(rng.choice((1, 1, 1, 2)), budget - 1)
            out.rr(name, "A", self.ipv4(), ttl=ttl)
            for _ in range(n4 - 1):
                out.rr("", "A", self.ipv4(), ttl=ttl)
            if budget - n4 >= 1 and rng.random() < 0.5:
                out.rr("", "AAAA", self.ipv6(), ttl=ttl)
            self.hosts.append(name)
        elif kind == "v6":
            name = self.fresh(f"{word}-v6-{rng.randint(1, 999)}")
            out.rr(name, "AAAA", self.ipv6(), ttl=ttl, klass=True)
            out.rr("", "AAAA", self.ipv6(), ttl=ttl)
            self.hosts.append(name)
        elif kind == "cname":
            name = self.fresh(f"{word}-alias")
            if rng.random() < 0.8 and self.hosts:
                target = rng.choice(self.hosts)
                if rng.random() < 0.5:
                    target = self.fqdn(target)
            else:
                target = f"{word}.cdn.example.net."
            out.rr(name, "CNAME", target, ttl=ttl)
            # A CNAME owner holds no other data (RFC 1034 section 3.6.2); pad with a host.
            name2 = self.fresh(f"{word}-{rng.randint(1, 999)}")
            out.rr(name2, "A", self.ipv4(), ttl=ttl)
            self.hosts.append(name2)
        elif kind == "txt":
            name = self.fresh(f"_{word}-txt")
            out.rr(name, "TXT", txt_strings(rng, rng.randint(2, 5), 255), ttl=ttl)
            out.rr("", "TXT", f'"{word}-verification={hexs(rng, 16).lower()}"', ttl=ttl)
        elif kind == "mx":
            name = self.fresh(f"{word}-mail")
            hosts = rng.sample(self.hosts, 2) if len(self.hosts) >= 2 else ["mail", "mail2"]
            out.rr(name, "A", self.ipv4(), ttl=ttl)
            out.rr("", "MX", f"10 {hosts[0]}", ttl=ttl)
            out.rr("", "MX", f"20 {self.fqdn(hosts[1])}", ttl=ttl)
            self.hosts.append(name)
        elif kind == "srv":
            svc = rng.choice(("_sip._udp", "_xmpp-client._tcp", "_ldap._tcp", "_imaps._tcp", "_caldavs._tcp"))
            name = self.fresh(f"{svc}.{word}")
            target = rng.choice(self.hosts) if self.hosts else "www"
            out.rr(name, "SRV", f"{rng.randint(0, 20)} {rng.randint(0, 100)} {rng.randint(1, 65535)} {target}", ttl=ttl)
            out.rr("", "SRV", f"{rng.randint(21, 40)} 0 {rng.randint(1, 65535)} {self.fqdn(target)}", ttl=ttl)
        elif kind == "caa":
            name = self.fresh(f"{word}-caa")
            out.rr(name, "CAA", '0 issue "pki.example.net"', ttl=ttl)
            out.rr("", "CAA", '0 issuewild ";"', ttl=ttl)
        elif kind == "deleg":
            name = self.fresh(f"{word}-zone")
            # Nothing but glue may live under a cut (RFC 1034 section 4.2.1): fresh() keeps
            # later groups from reusing the name, and their names never contain a dot-suffix.
            out.rr(name, "NS", f"ns1.{name}", ttl=86400)
            out.rr("", "NS", f"ns2.{self.fqdn(name)}", ttl=86400)
            out.rr(f"ns1.{name}", "A", self.ipv4(), ttl=86400)
            if budget >= 5:
                out.rr("", "AAAA", self.ipv6(), ttl=86400)
            out.rr(f"ns2.{name}", "A", self.ipv4(), ttl=86400)

    def single(self, out):
        name = self.fresh(f"h{self.rng.randint(1, 99999)}")
        out.rr(name, "A", self.ipv4())
        self.hosts.append(name)

    def generate(self, records):
        out = Out()
        out.comment(f"Generated by gen_zone.py: origin {self.origin}, {records} records requested, "
                    f"all-types={'yes' if self.all_types else 'no'}")
        self.apex(out)
        if self.all_types:
            self.all_types_block(out)
        fixed = out.count + (1 if self.all_types else 0)  # ZONEMD comes last
        if records < fixed:
            print(f"gen_zone.py: --records {records} is below the fixed part ({fixed}); writing that",
                  file=sys.stderr)
        target = max(records, fixed) - (1 if self.all_types else 0)
        while out.count < target:
            before = out.count
            self.group(out, target - out.count)
            if self.rng.random() < 0.02:
                out.blank()
            assert out.count > before
        text = "\n".join(out.lines) + "\n"
        if self.all_types:
            text += self.zonemd(text)
        return text

    def zonemd(self, text):
        """ZONEMD (RFC 8976) at the apex, with a real digest when dnspython is available."""
        try:
            import dns.zone
            import dns.zonetypes

            zone = dns.zone.from_text(text, origin=self.origin, relativize=False)
            rd = zone.compute_digest(dns.zonetypes.DigestHashAlgorithm.SHA384,
                                     dns.zonetypes.DigestScheme.SIMPLE)
            return f"{self.origin}\t3600\tIN\tZONEMD\t{rd.to_text()}\n"
        except ImportError:
            digest = hashlib.sha384(text.encode()).hexdigest()
            return f"{self.origin}\t3600\tIN\tZONEMD\t{self.serial} 1 1 {digest}\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--origin", required=True)
    p.add_argument("--records", type=int, required=True, help="total number of resource records")
    p.add_argument("--serial", type=int, default=1)
    p.add_argument("--all-types", action="store_true")
    p.add_argument("--seed", default="1")
    p.add_argument("--output", "-o", help="write here instead of stdout")
    args = p.parse_args(argv)
    if not 0 <= args.serial < 2**32:
        p.error("--serial must be in 0..4294967295")
    text = Generator(args.origin, args.serial, args.seed, args.all_types).generate(args.records)
    if args.output:
        with open(args.output, "w", encoding="ascii") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
