#!/usr/bin/python3
"""AXFR (RFC 5936) from a running Headwater: content, framing, refusals, large zones."""

import re
import socket
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.zone  # noqa: E402

ALL = "all-types.example."
ALL_SERIAL = 2024070101
BIG = "big.example."
BIG_RECORDS = 10000
BIG_SERIAL = 7
SOA = dns.rdatatype.SOA


class AxfrTest(unittest.TestCase):
    hw = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = hwtest.tempdir("axfr-data")
        cls.all_path = hwtest.generate_zone(cls.tmp / "all-types.zone", ALL, 400, ALL_SERIAL, all_types=True)
        cls.big_path = hwtest.generate_zone(cls.tmp / "big.zone", BIG, BIG_RECORDS, BIG_SERIAL)
        cls.zones = [hwtest.ZoneConf("example.com", hwtest.EXAMPLE_ZONE), hwtest.ZoneConf(ALL, cls.all_path),
                     hwtest.ZoneConf(BIG, cls.big_path)]
        cls.hw = hwtest.Headwater(cls.zones)
        try:
            cls.hw.start()
            for z, serial in ((ALL, ALL_SERIAL), (BIG, BIG_SERIAL)):
                hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, z) == serial, 30,
                                what=f"{z} serial {serial}")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.hw:
            cls.hw.close()
        hwtest.cleanup_dir(cls.tmp)

    def expected(self, zone):
        path = {ALL: self.all_path, BIG: self.big_path, "example.com.": hwtest.EXAMPLE_ZONE}[zone]
        return hwtest.canon_set(hwtest.zone_file_rrs(path, zone))

    def check_framing(self, zone, query, messages):
        """RFC 5936 section 2.2: SOA first and last, question in the first message, one ID."""
        self.assertTrue(messages, "no answer")
        first, last = messages[0], messages[-1]
        self.assertEqual(first.rcode, dns.rcode.NOERROR, str(first.msg))
        for i, m in enumerate(messages):
            with self.subTest(message=i):
                self.assertEqual(m.id, query.id, "message ID differs from the query's")
                self.assertTrue(m.flags & 0x8000, "QR not set")
                self.assertEqual(m.rcode, dns.rcode.NOERROR)
                self.assertFalse(m.flags & 0x0200, "TC set on a TCP transfer message")
                self.assertLessEqual(len(m.wire), 65535)
                self.assertLessEqual(m.qdcount, 1)
                if m.qdcount:
                    self.assertEqual(m.msg.question[0].name, dns.name.from_text(zone))
                    self.assertEqual(m.msg.question[0].rdtype, dns.rdatatype.AXFR)
                self.assertGreater(m.ancount, 0, "empty message inside a transfer")
        self.assertEqual(first.qdcount, 1, "question not copied into the first message")
        rrs = [rr for m in messages for rr in m.rrs()]
        self.assertEqual(rrs[0][2].rdtype, SOA, "first record is not the SOA")
        self.assertEqual(rrs[0][0], dns.name.from_text(zone))
        self.assertEqual(rrs[-1][2].rdtype, SOA, "last record is not the SOA")
        self.assertEqual(rrs[0][2], rrs[-1][2], "opening and closing SOA differ")
        self.assertEqual(first.rrs()[0][2].rdtype, SOA, "first message does not start with the SOA")
        self.assertEqual(last.rrs()[-1][2].rdtype, SOA, "last message does not end with the SOA")
        inner = [rr for rr in rrs[1:-1] if rr[2].rdtype == SOA]
        self.assertEqual(inner, [], "SOA inside the transfer")
        return rrs

    # ---- content ----
    def test_all_types_zone_equals_file(self):
        msgs = hwtest.axfr(self.hw.port, ALL)
        got_rrs = hwtest.xfr_rrs(msgs)
        got = hwtest.canon_set(got_rrs)
        exp = self.expected(ALL)
        self.assertEqual(len(got_rrs), len(got), "duplicate records in the transfer")
        self.assertEqual(got, exp, hwtest.describe_diff(exp, got))
        # Every type in the generator's list made it through.
        types = {dns.rdatatype.to_text(rd.rdtype) for _, _, rd in got_rrs}
        missing = set(hwtest.gen_zone.ALL_TYPES) - types
        self.assertEqual(missing, set())
        self.assertIn(65280, {int(rd.rdtype) for _, _, rd in got_rrs})

    def test_dnspython_xfr_builds_the_same_zone(self):
        # dnspython's own transfer reader checks the SOA framing independently of ours.
        z = dns.zone.from_xfr(dns.query.xfr(hwtest.ADDR, ALL, port=self.hw.port, timeout=10, lifetime=60,
                                            relativize=False), relativize=False)
        got = hwtest.canon_set(z.iterate_rdatas())
        exp = self.expected(ALL)
        self.assertEqual(got, exp, hwtest.describe_diff(exp, got))

    def test_framing_message_by_message(self):
        for zone in ("example.com.", ALL, BIG):
            with self.subTest(zone=zone):
                with hwtest.tcp_connect(self.hw.port, timeout=30) as s:
                    q, msgs = hwtest.read_axfr(s, zone)
                self.check_framing(zone, q, msgs)

    def test_aa_set_on_every_message(self):
        # RFC 5936 section 2.2.1: "If the RCODE is 0 (NoError), then the AA bit MUST be 1."
        msgs = hwtest.axfr(self.hw.port, BIG)
        without = [i for i, m in enumerate(msgs) if not m.flags & 0x0400]
        self.assertEqual(without, [], f"AA clear on {len(without)} of {len(msgs)} messages")

    def test_big_zone_spans_several_messages(self):
        with hwtest.tcp_connect(self.hw.port, timeout=30) as s:
            q, msgs = hwtest.read_axfr(s, BIG)
        rrs = self.check_framing(BIG, q, msgs)
        self.assertGreater(len(msgs), 1, "10k records in one message")
        self.assertEqual(len(rrs), BIG_RECORDS + 1)
        self.assertTrue(all(len(m.wire) <= 65535 for m in msgs))
        got = hwtest.canon_set(rrs[:-1])
        exp = self.expected(BIG)
        self.assertEqual(got, exp, hwtest.describe_diff(exp, got))

    def test_several_transfers_and_queries_on_one_connection(self):
        # RFC 5936 section 4.1 / RFC 7766: a client may reuse the connection.
        with hwtest.tcp_connect(self.hw.port, timeout=30) as s:
            q1, m1 = hwtest.read_axfr(s, "example.com.")
            self.check_framing("example.com.", q1, m1)
            soa_q = hwtest.make_query("example.com", "SOA")
            hwtest.tcp_send(s, soa_q.to_wire())
            r = dns.message.from_wire(hwtest.tcp_recv(s))
            self.assertEqual(r.id, soa_q.id)
            self.assertEqual(r.answer[0][0].serial, hwtest.EXAMPLE_SERIAL)
            q2, m2 = hwtest.read_axfr(s, ALL)
            self.check_framing(ALL, q2, m2)

    def test_soa_query_over_tcp_and_udp(self):
        for tcp in (False, True):
            self.assertEqual(hwtest.soa_serial(self.hw.port, ALL, tcp=tcp), ALL_SERIAL)

    def test_concurrent_transfers(self):
        # Eight clients at once, each must get the whole zone from one version.
        import concurrent.futures

        exp = self.expected(BIG)

        def one(_):
            with hwtest.tcp_connect(self.hw.port, timeout=60) as s:
                q, msgs = hwtest.read_axfr(s, BIG)
            return q, msgs

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(8)))
        for i, (q, msgs) in enumerate(results):
            with self.subTest(client=i):
                rrs = self.check_framing(BIG, q, msgs)
                self.assertEqual(hwtest.canon_set(rrs[:-1]), exp)

    def test_slow_reader_gets_the_whole_transfer(self):
        # docs/interop.md / RFC 7766: a long transfer to a slow reader is not cut.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect((hwtest.ADDR, self.hw.port))
        with s:
            q = hwtest.make_query(BIG, "AXFR")
            hwtest.tcp_send(s, q.to_wire())
            first = hwtest.XfrMessage(hwtest.tcp_recv(s))
            time.sleep(3.0)
            rest = []
            soas = first.soa_count()
            while soas < 2:
                m = hwtest.XfrMessage(hwtest.tcp_recv(s))
                rest.append(m)
                soas += m.soa_count()
        rrs = self.check_framing(BIG, q, [first] + rest)
        self.assertEqual(len(rrs), BIG_RECORDS + 1)

    def test_question_case_is_preserved(self):
        with hwtest.tcp_connect(self.hw.port, timeout=30) as s:
            q, msgs = hwtest.read_axfr(s, "ExAmPlE.CoM.")
        self.assertEqual(msgs[0].rcode, dns.rcode.NOERROR)
        self.assertEqual(msgs[0].msg.question[0].name.to_text(), "ExAmPlE.CoM.")
        self.assertEqual(len(hwtest.xfr_rrs(msgs)), len(self.expected("example.com.")))

    # ---- refusals ----
    def test_refused_outside_acl(self):
        q = hwtest.make_query("example.com", "AXFR")
        r = dns.query.tcp(q, hwtest.ADDR, port=self.hw.port, timeout=10, source=hwtest.OTHER_ADDR)
        self.assertEqual(r.rcode(), dns.rcode.REFUSED, str(r))
        self.assertEqual(r.answer, [], "records sent to a refused client")
        # The refused client still gets ordinary answers.
        self.assertEqual(hwtest.query(self.hw.port, "example.com", "SOA", source=hwtest.OTHER_ADDR).rcode(),
                         dns.rcode.NOERROR)

    def test_notauth_for_unknown_zone(self):
        for zone in ("example.net", "sub.example.com"):
            with self.subTest(zone=zone):
                q = hwtest.make_query(zone, "AXFR")
                r = dns.query.tcp(q, hwtest.ADDR, port=self.hw.port, timeout=10)
                self.assertEqual(r.rcode(), dns.rcode.NOTAUTH, str(r))
                self.assertEqual(r.answer, [])

    def test_axfr_over_udp_is_formerr(self):
        q = hwtest.make_query("example.com", "AXFR")
        r = dns.query.udp(q, hwtest.ADDR, port=self.hw.port, timeout=5)
        self.assertEqual(r.rcode(), dns.rcode.FORMERR, str(r))
        self.assertEqual(r.answer, [])

    # ---- other clients ----
    def test_kdig(self):
        kdig = hwtest.require_tool("kdig")
        p = subprocess.run([kdig, f"@{hwtest.ADDR}", "-p", str(self.hw.port), "+tcp", "+timeout=10", "+retry=0",
                            ALL, "AXFR"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotRegex(p.stdout + p.stderr, r"(?i)error|failed|refused|malformed")
        m = re.search(r"Received \d+ B \((\d+) messages?, (\d+) records?\)", p.stdout)
        self.assertIsNotNone(m, p.stdout[-2000:])
        self.assertEqual(int(m.group(2)), len(self.expected(ALL)) + 1)
        self.assertEqual(p.stdout.count("\tSOA\t"), 2)

    def test_dig(self):
        dig = hwtest.require_tool("dig")
        p = subprocess.run([dig, f"@{hwtest.ADDR}", "-p", str(self.hw.port), "+norecurse", "+time=10", "+tries=1",
                            BIG, "AXFR"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("Transfer failed", p.stdout)
        m = re.search(r"XFR size: (\d+) records \(messages (\d+), bytes (\d+)\)", p.stdout)
        self.assertIsNotNone(m, p.stdout[-2000:])
        self.assertEqual(int(m.group(1)), BIG_RECORDS + 1)
        self.assertGreater(int(m.group(2)), 1)

    def test_client_closing_mid_transfer_does_not_hurt(self):
        s = hwtest.tcp_connect(self.hw.port, timeout=10)
        q = hwtest.make_query(BIG, "AXFR")
        hwtest.tcp_send(s, q.to_wire())
        hwtest.tcp_recv(s)  # first message only
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        s.close()
        self.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())
        self.assertEqual(hwtest.soa_serial(self.hw.port, BIG), BIG_SERIAL)
        self.assertEqual(len(hwtest.xfr_rrs(hwtest.axfr(self.hw.port, "example.com."))),
                         len(self.expected("example.com.")))


if __name__ == "__main__":
    hwtest.main()
