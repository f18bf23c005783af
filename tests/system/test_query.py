#!/usr/bin/python3
"""Queries against a running Headwater serving tests/data/example.com.zone.v1 (RFC 1034 section 4.3.2)."""

import random
import socket
import struct
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.opcode  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

A, AAAA, NS, SOA, CNAME, MX, TXT = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.NS, dns.rdatatype.SOA,
                                    dns.rdatatype.CNAME, dns.rdatatype.MX, dns.rdatatype.TXT)


def rrset(section, name, rdtype):
    name = dns.name.from_text(name)
    for r in section:
        if r.name == name and r.rdtype == rdtype:
            return r
    return None


class QueryTest(unittest.TestCase):
    hw = None

    @classmethod
    def setUpClass(cls):
        cls.hw = hwtest.Headwater([hwtest.ZoneConf("example.com", hwtest.EXAMPLE_ZONE)])
        try:
            cls.hw.start()
        except BaseException:
            cls.hw.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.hw:
            cls.hw.close()

    def q(self, name, rdtype, **kw):
        return hwtest.query(self.hw.port, name, rdtype, **kw)

    def assertAlive(self):
        self.assertTrue(self.hw.proc.alive(), "server exited:\n" + self.hw.proc.log_tail())
        self.assertEqual(hwtest.soa_serial(self.hw.port, "example.com"), hwtest.EXAMPLE_SERIAL,
                         "server no longer answers SOA")

    def assertSoaInAuthority(self, r):
        soa = rrset(r.authority, "example.com.", SOA)
        self.assertIsNotNone(soa, f"no SOA in authority:\n{r}")
        self.assertEqual(soa[0].serial, hwtest.EXAMPLE_SERIAL)

    # ---- answers from the zone ----
    def test_soa_at_apex_is_authoritative(self):
        for tcp in (False, True):
            with self.subTest(tcp=tcp):
                r = self.q("example.com", "SOA", tcp=tcp)
                self.assertEqual(r.rcode(), dns.rcode.NOERROR)
                self.assertTrue(r.flags & dns.flags.QR)
                self.assertTrue(r.flags & dns.flags.AA, "AA not set")
                self.assertEqual(len(r.question), 1)
                self.assertEqual(r.question[0].name, dns.name.from_text("example.com."))
                soa = rrset(r.answer, "example.com.", SOA)
                self.assertIsNotNone(soa, str(r))
                self.assertEqual(soa[0].serial, hwtest.EXAMPLE_SERIAL)
                self.assertEqual(soa[0].mname, dns.name.from_text("ns1.example.com."))

    def test_exact_match(self):
        r = self.q("www.example.com", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        a = rrset(r.answer, "www.example.com.", A)
        self.assertIsNotNone(a, str(r))
        self.assertEqual({rd.address for rd in a}, {"192.0.2.80"})
        self.assertEqual(a.ttl, 300)

    def test_apex_ns_and_mx(self):
        r = self.q("example.com", "NS")
        self.assertTrue(r.flags & dns.flags.AA)
        ns = rrset(r.answer, "example.com.", NS)
        self.assertEqual({rd.target.to_text() for rd in ns}, {"ns1.example.com.", "ns2.example.net."})
        r = self.q("example.com", "MX")
        mx = rrset(r.answer, "example.com.", MX)
        self.assertEqual({(rd.preference, rd.exchange.to_text()) for rd in mx},
                         {(10, "mail.example.com."), (20, "mail.backup.example.net.")})

    def test_query_name_case_is_preserved(self):
        # RFC 4343: matching is case-insensitive; the question is copied as sent (resolvers
        # using 0x20 randomisation compare it byte for byte).
        r = self.q("WwW.ExAmPlE.cOm", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertTrue(r.answer, str(r))
        self.assertEqual(r.question[0].name.to_text(), "WwW.ExAmPlE.cOm.")

    def test_cname_with_in_zone_target_is_chased(self):
        r = self.q("ftp.example.com", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        cname = rrset(r.answer, "ftp.example.com.", CNAME)
        self.assertIsNotNone(cname, str(r))
        self.assertEqual(cname[0].target.to_text(), "www.example.com.")
        a = rrset(r.answer, "www.example.com.", A)
        self.assertIsNotNone(a, f"CNAME target not chased:\n{r}")
        self.assertEqual({rd.address for rd in a}, {"192.0.2.80"})
        # RFC 1034 section 3.6.2: the CNAME comes first.
        self.assertEqual(r.answer[0].rdtype, CNAME)

    def test_cname_with_out_of_zone_target(self):
        r = self.q("cdn.example.com", "AAAA")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        cname = rrset(r.answer, "cdn.example.com.", CNAME)
        self.assertIsNotNone(cname, str(r))
        self.assertEqual(cname[0].target.to_text(), "example.cdn.example.net.")
        self.assertEqual(len(r.answer), 1, str(r))

    def test_cname_query_for_cname_type(self):
        r = self.q("ftp.example.com", "CNAME")
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertIsNotNone(rrset(r.answer, "ftp.example.com.", CNAME), str(r))

    def test_nodata(self):
        r = self.q("www.example.com", "MX")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(r.answer, [])
        self.assertSoaInAuthority(r)

    def test_empty_non_terminal_is_nodata(self):
        # _tcp.example.com has no records but _sip._tcp.example.com exists (RFC 8020).
        r = self.q("_tcp.example.com", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR, str(r))
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(r.answer, [])
        self.assertSoaInAuthority(r)

    def test_nxdomain(self):
        r = self.q("does-not-exist.example.com", "A")
        self.assertEqual(r.rcode(), dns.rcode.NXDOMAIN)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(r.answer, [])
        self.assertSoaInAuthority(r)
        # RFC 2308 section 3: the SOA's TTL is min(SOA TTL, SOA MINIMUM) = 300.
        self.assertLessEqual(rrset(r.authority, "example.com.", SOA).ttl, 3600)

    def test_referral_with_glue(self):
        r = self.q("www.dev.example.com", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertFalse(r.flags & dns.flags.AA, "AA set on a referral")
        self.assertEqual(r.answer, [])
        ns = rrset(r.authority, "dev.example.com.", NS)
        self.assertIsNotNone(ns, f"no NS in authority:\n{r}")
        self.assertEqual({rd.target.to_text() for rd in ns}, {"ns1.dev.example.com.", "ns2.dev.example.com."})
        glue = {(rs.name.to_text(), rs.rdtype, rd.address) for rs in r.additional if rs.rdtype in (A, AAAA)
                for rd in rs}
        self.assertIn(("ns1.dev.example.com.", A, "192.0.2.130"), glue, str(r))
        self.assertIn(("ns2.dev.example.com.", A, "192.0.2.131"), glue, str(r))
        self.assertIn(("ns2.dev.example.com.", AAAA, "2001:db8::131"), glue, str(r))

    def test_referral_at_the_cut_and_for_glue_names(self):
        # A query for the cut itself or for a name below it (even one with glue) is a referral.
        for name, rdtype in (("dev.example.com", "A"), ("ns1.dev.example.com", "A"), ("dev.example.com", "NS")):
            with self.subTest(name=name, rdtype=rdtype):
                r = self.q(name, rdtype)
                self.assertEqual(r.rcode(), dns.rcode.NOERROR)
                self.assertFalse(r.flags & dns.flags.AA, str(r))
                self.assertIsNotNone(rrset(r.authority, "dev.example.com.", NS), str(r))

    def test_referral_without_glue(self):
        r = self.q("host.partner.example.com", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertFalse(r.flags & dns.flags.AA)
        ns = rrset(r.authority, "partner.example.com.", NS)
        self.assertIsNotNone(ns, str(r))
        self.assertEqual([rd.target.to_text() for rd in ns], ["ns.partner.example.net."])

    def test_refused_outside_served_zones(self):
        for name in ("example.org", "com", ".", "example.com.evil.test"):
            with self.subTest(name=name):
                r = self.q(name, "SOA")
                self.assertEqual(r.rcode(), dns.rcode.REFUSED, str(r))
                self.assertFalse(r.flags & dns.flags.AA)
                self.assertEqual(r.answer, [])

    # ---- EDNS, truncation, TCP ----
    def test_edns_opt_echoed(self):
        r = self.q("www.example.com", "A", edns=0, payload=1232)
        self.assertEqual(r.edns, 0, "no OPT in the answer to an EDNS query")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertGreaterEqual(r.payload, 512)
        r = self.q("www.example.com", "A")
        self.assertEqual(r.edns, -1, "OPT in the answer to a query without EDNS (RFC 6891 section 7)")

    def test_edns_unknown_version_is_badvers(self):
        # RFC 6891 section 6.1.3: a version we do not implement gets BADVERS with an OPT.
        q = hwtest.make_query("www.example.com", "A", edns=1)
        r = dns.query.udp(q, hwtest.ADDR, port=self.hw.port, timeout=3)
        self.assertEqual(r.rcode(), dns.rcode.BADVERS, str(r))
        self.assertEqual(r.edns, 0)

    def test_large_answer_truncated_over_udp_and_complete_over_tcp(self):
        # 7 TXT strings of 100 octets: more than 512 octets (RFC 1035 section 4.2.1).
        r = self.q("big.example.com", "TXT")
        self.assertTrue(r.flags & dns.flags.TC, "TC not set on an answer over 512 octets without EDNS")
        r = self.q("big.example.com", "TXT", tcp=True)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(len(rrset(r.answer, "big.example.com.", TXT)), 7)
        r = self.q("big.example.com", "TXT", edns=0, payload=4096)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(len(rrset(r.answer, "big.example.com.", TXT)), 7)

    def test_tcp_pipelining_three_queries_one_connection(self):
        # RFC 7766 section 6.2.1.1: answers may come in any order; match them by ID.
        queries = [hwtest.make_query(n, t) for n, t in
                   (("www.example.com", "A"), ("example.com", "SOA"), ("nope.example.com", "A"))]
        ids = [q.id for q in queries]
        self.assertEqual(len(set(ids)), 3)
        with hwtest.tcp_connect(self.hw.port, timeout=5) as s:
            s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in queries)))
            answers = {}
            for _ in queries:
                m = dns.message.from_wire(hwtest.tcp_recv(s))
                answers[m.id] = m
            self.assertEqual(set(answers), set(ids))
            self.assertEqual(answers[ids[0]].rcode(), dns.rcode.NOERROR)
            self.assertTrue(answers[ids[0]].answer)
            self.assertEqual(rrset(answers[ids[1]].answer, "example.com.", SOA)[0].serial, hwtest.EXAMPLE_SERIAL)
            self.assertEqual(answers[ids[2]].rcode(), dns.rcode.NXDOMAIN)
            # The connection stays usable for a fourth, sequential query.
            q4 = hwtest.make_query("mail.example.com", "AAAA")
            hwtest.tcp_send(s, q4.to_wire())
            m = dns.message.from_wire(hwtest.tcp_recv(s))
            self.assertEqual(m.id, q4.id)
            self.assertEqual(m.rcode(), dns.rcode.NOERROR)

    def test_tcp_query_split_across_segments(self):
        q = hwtest.make_query("www.example.com", "A").to_wire()
        frame = struct.pack("!H", len(q)) + q
        with hwtest.tcp_connect(self.hw.port, timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for chunk in (frame[:1], frame[1:7], frame[7:]):
                s.sendall(chunk)
                time.sleep(0.05)
            m = dns.message.from_wire(hwtest.tcp_recv(s))
            self.assertEqual(m.rcode(), dns.rcode.NOERROR)
            self.assertTrue(m.answer)

    # ---- malformed input ----
    def udp_raw(self, payload, timeout=1.0):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(payload, (hwtest.ADDR, self.hw.port))
            try:
                return s.recv(65535)
            except socket.timeout:
                return None

    def test_short_garbage_gets_no_answer(self):
        for junk in (b"", b"\x00", b"\x12\x34\x01", b"\xff" * 11):
            with self.subTest(junk=junk):
                self.assertIsNone(self.udp_raw(junk, timeout=0.5), "answered a packet shorter than a header")
        self.assertAlive()

    def test_header_only_with_qdcount_one_is_formerr(self):
        # ID 0xBEEF, RD, QDCOUNT=1 but no question follows.
        wire = struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0)
        reply = self.udp_raw(wire, timeout=2.0)
        self.assertIsNotNone(reply, "no answer to a readable header")
        rid, flags = struct.unpack("!HH", reply[:4])
        self.assertEqual(rid, 0xBEEF)
        self.assertTrue(flags & 0x8000, "QR not set")
        self.assertEqual(flags & 0xF, dns.rcode.FORMERR)
        self.assertAlive()

    def test_malformed_over_tcp_is_formerr_and_no_crash(self):
        wire = struct.pack("!HHHHHH", 0x1234, 0, 1, 0, 0, 0) + b"\x03www"  # truncated name
        with hwtest.tcp_connect(self.hw.port, timeout=5) as s:
            hwtest.tcp_send(s, wire)
            try:
                reply = hwtest.tcp_recv(s)
            except (EOFError, ConnectionError, socket.timeout):
                reply = None
        if reply is not None:
            rid, flags = struct.unpack("!HH", reply[:4])
            self.assertEqual(rid, 0x1234)
            self.assertEqual(flags & 0xF, dns.rcode.FORMERR)
        self.assertAlive()

    def test_assorted_malformed_packets_do_not_crash(self):
        base = hwtest.make_query("www.example.com", "A").to_wire()
        loop = struct.pack("!HHHHHH", 7, 0, 1, 0, 0, 0) + b"\xc0\x0c" + b"\x00\x01\x00\x01"  # pointer to itself
        fwd = struct.pack("!HHHHHH", 8, 0, 1, 0, 0, 0) + b"\xc0\x20" + b"\x00\x01\x00\x01"  # forward pointer
        long_label = struct.pack("!HHHHHH", 9, 0, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"
        counts = struct.pack("!HHHHHH", 10, 0, 1, 0xFFFF, 0xFFFF, 0xFFFF) + base[12:]
        two_q = struct.pack("!HHHHHH", 11, 0, 2, 0, 0, 0) + base[12:] * 2
        truncated_opt = base[:10] + b"\x00\x01" + base[12:] + b"\x00\x00\x29\x04"
        update = bytearray(base)
        update[2] = 0x28  # opcode UPDATE
        response = bytearray(base)
        response[2] |= 0x80  # QR set: must not be answered (no reflection loops)
        for name, pkt in (("self-pointer", loop), ("forward-pointer", fwd), ("64-octet label", long_label),
                          ("huge counts", counts), ("two questions", two_q), ("truncated OPT", truncated_opt),
                          ("opcode UPDATE", bytes(update)), ("trailing junk", base + b"\x00" * 7)):
            with self.subTest(name=name):
                reply = self.udp_raw(pkt, timeout=0.5)
                if reply is not None and len(reply) >= 4:
                    self.assertTrue(reply[2] & 0x80, "reply without QR")
        with self.subTest(name="QR set"):
            self.assertIsNone(self.udp_raw(bytes(response), timeout=0.5), "answered a response")
        self.assertAlive()

    def test_notimp_for_unknown_opcode(self):
        q = hwtest.make_query("example.com", "SOA")
        q.set_opcode(dns.opcode.STATUS)
        r = dns.query.udp(q, hwtest.ADDR, port=self.hw.port, timeout=3)
        self.assertEqual(r.rcode(), dns.rcode.NOTIMP, str(r))

    def test_random_mutations_do_not_crash(self):
        # A deterministic mini-fuzz: mutated copies of valid queries, over UDP and TCP.
        rng = random.Random(5936)
        seeds = [hwtest.make_query(n, t, edns=e).to_wire() for n, t, e in
                 (("www.example.com", "A", None), ("ftp.example.com", "A", 0), ("www.dev.example.com", "AAAA", 0),
                  ("example.com", "AXFR", None), ("nope.example.com", "TXT", 0), ("example.com", "IXFR", None))]

        def mutate(wire):
            b = bytearray(wire)
            for _ in range(rng.randint(1, 6)):
                op = rng.random()
                if op < 0.6 and b:
                    b[rng.randrange(len(b))] = rng.randrange(256)
                elif op < 0.8 and b:
                    del b[rng.randrange(len(b)):]
                else:
                    b[rng.randrange(len(b) + 1):0] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            return bytes(b)

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.setblocking(False)
            for i in range(3000):
                u.sendto(mutate(rng.choice(seeds)), (hwtest.ADDR, self.hw.port))
                if i % 50 == 0:
                    time.sleep(0.005)
                    try:
                        while u.recv(65535):
                            pass
                    except BlockingIOError:
                        pass
        for _ in range(20):
            try:
                with hwtest.tcp_connect(self.hw.port, timeout=2) as s:
                    for _ in range(10):
                        hwtest.tcp_send(s, mutate(rng.choice(seeds)))
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65535):
                        pass
            except OSError:
                pass  # the server may close a connection that sent garbage
        self.assertAlive()


class ZoneCornerCasesTest(unittest.TestCase):
    """Answers from the --all-types generated zone: wildcards, empty non-terminals, DS, DNAME."""

    Z = "all-types.example."
    hw = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = hwtest.tempdir("corner")
        path = hwtest.generate_zone(cls.tmp / "all.zone", cls.Z, 300, 1, all_types=True)
        cls.hw = hwtest.Headwater([hwtest.ZoneConf(cls.Z, path)])
        try:
            cls.hw.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.hw:
            cls.hw.close()
        hwtest.cleanup_dir(cls.tmp)

    def q(self, name, rdtype):
        return hwtest.query(self.hw.port, name + "." + self.Z, rdtype, edns=0)

    def test_wildcard_answer(self):
        # RFC 4592 section 3.3.1: synthesised from *.wild, owner = the query name.
        r = self.q("anything.wild", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        a = rrset(r.answer, "anything.wild." + self.Z, A)
        self.assertIsNotNone(a, str(r))
        self.assertEqual([rd.address for rd in a], ["192.0.2.99"])

    def test_wildcard_nodata_and_explicit_names(self):
        r = self.q("anything.wild", "MX")
        self.assertEqual((r.rcode(), r.answer), (dns.rcode.NOERROR, []))
        self.assertIsNotNone(rrset(r.authority, self.Z, SOA))
        # An existing name is not covered by the wildcard (RFC 4592 section 2.2.1) ...
        r = self.q("explicit.wild", "TXT")
        self.assertEqual((r.rcode(), r.answer), (dns.rcode.NOERROR, []), str(r))
        # ... nor is anything below it.
        r = self.q("below.explicit.wild", "A")
        self.assertEqual(r.rcode(), dns.rcode.NXDOMAIN, str(r))

    def test_empty_non_terminals(self):
        for name in ("ent", "sub.ent"):
            with self.subTest(name=name):
                r = self.q(name, "A")
                self.assertEqual((r.rcode(), r.answer), (dns.rcode.NOERROR, []), str(r))
                self.assertTrue(r.flags & dns.flags.AA)

    def test_ds_at_a_cut_is_answered_by_the_parent(self):
        # RFC 4035 section 3.1.4.1: DS lives on the parent side of the cut.
        r = self.q("secure", "DS")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA, str(r))
        self.assertIsNotNone(rrset(r.answer, "secure." + self.Z, dns.rdatatype.DS), str(r))
        r = self.q("secure", "A")
        self.assertFalse(r.flags & dns.flags.AA)
        self.assertIsNotNone(rrset(r.authority, "secure." + self.Z, NS), str(r))

    def test_unknown_type_answer(self):
        r = self.q("t-unknown", "TYPE65280")
        rs = rrset(r.answer, "t-unknown." + self.Z, 65280)
        self.assertIsNotNone(rs, str(r))
        self.assertEqual(rs[0].data, bytes.fromhex("0a0b0c0d"))

    def test_dname_substitution(self):
        # RFC 6672 section 3.2: below a DNAME the answer is the DNAME plus a synthesised CNAME.
        r = self.q("host.t-dname", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR, str(r))
        self.assertIsNotNone(rrset(r.answer, "t-dname." + self.Z, dns.rdatatype.DNAME), str(r))
        cname = rrset(r.answer, "host.t-dname." + self.Z, CNAME)
        self.assertIsNotNone(cname, str(r))
        self.assertEqual(cname[0].target.to_text(), "host.dname-target.example.net.")


if __name__ == "__main__":
    hwtest.main()
