#!/usr/bin/python3
"""DNSSEC answers to queries with the DO bit (RFC 4035 section 3.1, RFC 5155 section 7.2).

A small zone is signed at test time (ldns-keygen, ldns-signzone with NSEC and with NSEC3; BIND's
dnssec-signzone for a true Opt-Out chain, in which the unsigned delegation has no NSEC3) and served by
Headwater and by a Knot primary from the same signed file. For every query of a list (positive, NXDOMAIN,
NODATA, empty non-terminal, wildcard, wildcard NODATA, signed and unsigned delegations, CNAME chains, a
CNAME to a delegation, DNAME) Headwater's answer must equal Knot's, section by section, record by record
(one RR at a time, so duplicates would show). Then unbound, a validating resolver on loopback with the
zone's DS as its trust anchor and Headwater as its only server (stub-zone), must set AD on the positive
and negative answers, and answer SERVFAIL for an RRset whose signature the test broke.
"""

import os
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402

ORIGIN = "example.com."
ZONE = """$ORIGIN example.com.
$TTL 3600
@          SOA   ns1 hostmaster 2026112601 3600 900 1209600 300
@          NS    ns1
ns1        A     192.0.2.53
www        A     192.0.2.80
www        TXT   "www"
cname      CNAME www
chain      CNAME cname
a.b.c      TXT   "deep"
*.wild     A     192.0.2.77
cw         CNAME x.wild
cnx        CNAME nothing
sub        NS    ns.sub
sub        DS    12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub     A     192.0.2.99
usub       NS    ns.usub
ns.usub    A     192.0.2.98
cname-ns   CNAME sub
cname-usub CNAME usub
dn         DNAME d.example.com.
x.d        A     192.0.2.5
broken     TXT   "its signature is damaged after signing"
"""

# (name, type): compared with Knot. Names relative to ORIGIN.
QUERIES = [
    ("www", "A"),                # positive
    ("@", "SOA"),                # the apex SOA (Headwater's fast path without DO)
    ("@", "DNSKEY"),
    ("nope", "A"),               # NXDOMAIN
    ("zz.b.c", "A"),             # NXDOMAIN below an empty non-terminal
    ("www", "MX"),               # NODATA
    ("b.c", "TXT"),              # NODATA at an empty non-terminal
    ("x.wild", "A"),             # wildcard expansion
    ("x.wild", "MX"),            # NODATA at a wildcard
    ("host.sub", "A"),           # referral, signed delegation (DS)
    ("host.usub", "A"),          # referral, unsigned delegation (proof of no DS)
    ("sub", "DS"),
    ("usub", "DS"),              # NODATA for DS at an unsigned cut
    ("cname-ns", "A"),           # CNAME to a delegation point
    ("cname-usub", "A"),
    ("chain", "A"),              # CNAME chain
    ("cnx", "A"),                # CNAME to a name that does not exist
    ("cw", "A"),                 # CNAME to a wildcard
    ("x.dn", "A"),               # DNAME
    ("www", "NSEC"),
]

# (name, type, rcode): answers unbound must validate (AD). None of them leads below a delegation (whose
# name servers are not on loopback). Under Opt-Out some are insecure instead (see INSECURE_UNDER_OPT_OUT).
VALIDATED = [
    ("www", "A", dns.rcode.NOERROR),
    ("chain", "A", dns.rcode.NOERROR),
    ("x.wild", "A", dns.rcode.NOERROR),
    ("cw", "A", dns.rcode.NOERROR),
    ("x.dn", "A", dns.rcode.NOERROR),
    ("nope", "A", dns.rcode.NXDOMAIN),
    ("zz.b.c", "A", dns.rcode.NXDOMAIN),
    ("cnx", "A", dns.rcode.NXDOMAIN),
    ("www", "MX", dns.rcode.NOERROR),
    ("b.c", "TXT", dns.rcode.NOERROR),
    ("x.wild", "MX", dns.rcode.NOERROR),
    ("sub", "DS", dns.rcode.NOERROR),
    ("usub", "DS", dns.rcode.NOERROR),
]


# Proofs that rest on an NSEC3 covering the next closer name: with the Opt-Out flag on that NSEC3 an
# unsigned delegation could hide in the span, so a validator calls the answer insecure, not secure
# (RFC 5155 section 6, Opt-Out): right rcode, no AD, and no SERVFAIL (that would be bogus).
INSECURE_UNDER_OPT_OUT = {("nope", "A"), ("zz.b.c", "A"), ("cnx", "A"), ("x.wild", "A"), ("cw", "A"),
                          ("x.wild", "MX")}


def absolute(name):
    return ORIGIN if name == "@" else f"{name}.{ORIGIN}"


def run(argv, cwd):
    p = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"{argv[0]} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout


def ask(port, name, rdtype, tcp=True):
    """The answer to a DO query, parsed one RR per RRset (dnspython would merge duplicates otherwise)."""
    q = dns.message.make_query(absolute(name), rdtype, use_edns=0, want_dnssec=True, payload=1232)
    q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, hwtest.ADDR, port=port, timeout=5, one_rr_per_rrset=True)
    return dns.query.udp(q, hwtest.ADDR, port=port, timeout=5, one_rr_per_rrset=True, ignore_unexpected=True)


def section_text(section):
    """Sorted presentation lines of a section, one per RR (owner lower-cased)."""
    lines = []
    for rrset in section:
        for rd in rrset:
            lines.append(f"{rrset.name.to_text().lower()} {rrset.ttl} {dns.rdatatype.to_text(rrset.rdtype)} "
                         f"{rd.to_text()}")
    return sorted(lines)


def summary(r):
    flags = dns.flags.to_text(r.flags & (dns.flags.AA | dns.flags.TC | dns.flags.QR))
    return {
        "rcode": dns.rcode.to_text(r.rcode()),
        "flags": flags,
        "do": bool(r.ednsflags & dns.flags.DO),
        "answer": section_text(r.answer),
        "authority": section_text(r.authority),
        "additional": section_text(r.additional),
    }


class SignedZone:
    """The zone signed in `d` with keys made there; `path` is the signed master file, `ds` the KSK's DS."""

    def __init__(self, d, variant):
        self.dir = d
        src = d / "example.com.zone"
        src.write_text(ZONE)
        ksk = run([hwtest.require_tool("ldns-keygen"), "-a", "ECDSAP256SHA256", "-k", "example.com"], d).strip()
        zsk = run([hwtest.require_tool("ldns-keygen"), "-a", "ECDSAP256SHA256", "example.com"], d).strip()
        self.ds = (d / f"{ksk}.ds").read_text().strip()
        self.path = d / f"example.com.{variant}.signed"
        if variant == "nsec":
            run([hwtest.require_tool("ldns-signzone"), "-o", ORIGIN, "-f", self.path, src, ksk, zsk], d)
        elif variant == "nsec3":
            run([hwtest.require_tool("ldns-signzone"), "-n", "-s", "abcd", "-t", "1", "-o", ORIGIN, "-f",
                 self.path, src, ksk, zsk], d)
        elif variant == "nsec3-ldns-optout":
            # ldns sets the Opt-Out flag but still gives the unsigned delegation an NSEC3.
            run([hwtest.require_tool("ldns-signzone"), "-n", "-p", "-o", ORIGIN, "-f", self.path, src, ksk, zsk], d)
        elif variant == "nsec3-optout":
            # BIND leaves the unsigned delegation out of the chain (RFC 5155 section 6).
            keyed = d / "with-keys.zone"
            keyed.write_text(ZONE + (d / f"{ksk}.key").read_text() + (d / f"{zsk}.key").read_text())
            run([hwtest.require_tool("dnssec-signzone"), "-3", "-", "-A", "-H", "0", "-o", ORIGIN, "-f", self.path,
                 "-K", d, keyed, ksk, zsk], d)
        else:
            raise ValueError(variant)
        self.break_signature("broken.example.com.", "TXT")

    def break_signature(self, owner, covered):
        """Flips one octet of the signature of the RRSIG over (owner, covered): the record still parses."""
        import dns.zone

        z = dns.zone.from_file(str(self.path), origin=ORIGIN, relativize=False)
        node = z.find_node(owner)
        sigs = node.find_rdataset(dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.from_text(covered))
        old = next(iter(sigs))
        sig = bytearray(old.signature)
        sig[10] ^= 0x55
        new = old.replace(signature=bytes(sig))
        sigs.remove(old)
        sigs.add(new)
        z.to_file(str(self.path), relativize=False, want_origin=True)


class DnssecAnswers:
    """The checks for one signing variant (subclassed per variant below)."""

    variant = None
    insecure = set()  # VALIDATED queries a validator calls insecure for this variant

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("compares Headwater with Knot")
        cls.dir = hwtest.tempdir(f"dnssec-{cls.variant}")
        cls.hw = cls.knot = cls.unbound = None
        try:
            cls.zone = SignedZone(cls.dir, cls.variant)
            cls.hw = hwtest.Headwater([hwtest.ZoneConf(ORIGIN, cls.zone.path)]).start()
            cls.knot = hwtest.KnotPrimary({ORIGIN: cls.zone.path}, allow_transfer=False).start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in (cls.unbound, cls.knot, cls.hw):
            if p:
                p.close()
        hwtest.cleanup_dir(cls.dir)

    def test_answers_match_knot(self):
        for name, rdtype in QUERIES:
            with self.subTest(query=f"{name} {rdtype}"):
                ours = summary(ask(self.hw.port, name, rdtype))
                knots = summary(ask(self.knot.port, name, rdtype))
                self.assertEqual(ours, knots)
                self.assertTrue(ours["do"])

    def test_answers_differ_with_and_without_do(self):
        # Without DO nothing DNSSEC is added: the same query with DO has strictly more.
        q = dns.message.make_query(absolute("nope"), "A", use_edns=0, payload=1232)
        plain = dns.query.tcp(q, hwtest.ADDR, port=self.hw.port, timeout=5)
        self.assertEqual([dns.rdatatype.to_text(r.rdtype) for r in plain.authority], ["SOA"])
        signed = ask(self.hw.port, "nope", "A")
        types = {dns.rdatatype.to_text(r.rdtype) for r in signed.authority}
        self.assertIn("RRSIG", types)
        self.assertTrue(types & {"NSEC", "NSEC3"}, types)

    def test_udp_answers_match_tcp(self):
        # 1232 octets hold every answer of this zone: UDP gives the same records, without TC.
        for name, rdtype in QUERIES:
            with self.subTest(query=f"{name} {rdtype}"):
                udp = ask(self.hw.port, name, rdtype, tcp=False)
                self.assertFalse(udp.flags & dns.flags.TC)
                self.assertEqual(summary(udp), summary(ask(self.hw.port, name, rdtype)))

    def test_a_validator_accepts_the_answers(self):
        cls = type(self)
        if cls.unbound is None:
            cls.unbound = hwtest.Unbound(self.dir, ORIGIN, [self.hw.port], self.zone.ds)
        secure = 0
        for name, rdtype, rcode in VALIDATED:
            with self.subTest(query=f"{name} {rdtype}"):
                r = cls.unbound.resolve(name, rdtype)
                self.assertEqual(dns.rcode.to_text(r.rcode()), dns.rcode.to_text(rcode),
                                 f"{r}\n--- unbound log ---\n{cls.unbound.proc.log_tail()}")
                want_ad = (name, rdtype) not in self.insecure
                self.assertEqual(bool(r.flags & dns.flags.AD), want_ad,
                                 f"AD should be {want_ad}:\n{r}\n--- unbound log ---\n{cls.unbound.proc.log_tail()}")
                secure += want_ad
        self.assertGreaterEqual(secure, 6)  # positive answers and NODATA at names with data or an NSEC3
        # The damaged signature: bogus, so SERVFAIL (and the check above is not vacuous).
        r = cls.unbound.resolve("broken", "TXT")
        self.assertEqual(r.rcode(), dns.rcode.SERVFAIL, f"{r}\n{cls.unbound.proc.log_tail()}")


class NsecAnswers(DnssecAnswers, unittest.TestCase):
    variant = "nsec"


class Nsec3Answers(DnssecAnswers, unittest.TestCase):
    variant = "nsec3"


class Nsec3LdnsOptOutAnswers(DnssecAnswers, unittest.TestCase):
    variant = "nsec3-ldns-optout"
    insecure = INSECURE_UNDER_OPT_OUT


class Nsec3OptOutAnswers(DnssecAnswers, unittest.TestCase):
    variant = "nsec3-optout"
    # usub has no NSEC3: its DS is denied by the Opt-Out span covering it (RFC 5155 section 7.2.4).
    insecure = INSECURE_UNDER_OPT_OUT | {("usub", "DS")}

    def test_the_unsigned_delegation_has_no_nsec3(self):
        # Otherwise this variant would test nothing the others do not.
        import dns.dnssec

        owner = dns.dnssec.nsec3_hash("usub.example.com.", None, 0, 1).lower()
        self.assertNotIn(owner, self.zone.path.read_text().lower())
        r = ask(self.hw.port, "host.usub", "A")
        nsec3 = [x for x in r.authority if x.rdtype == dns.rdatatype.NSEC3]
        self.assertEqual(len(nsec3), 2, r)  # closest provable encloser + Opt-Out span (RFC 5155 7.2.7)
        self.assertTrue(any(rd.flags & 1 for x in nsec3 for rd in x))


if __name__ == "__main__":
    hwtest.main()
