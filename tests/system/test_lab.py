#!/usr/bin/python3
"""Lab mode (docs/lab.md): faults served on purpose to one peer, seen on the wire by dnspython clients.

One Headwater with server.lab = true serves a generated zone of several AXFR messages to 127.0.0.0/8.
Each test sets a fault for 127.0.0.1 (or for a TSIG key) with `headwaterctl lab set`, checks what that
peer gets, checks that 127.0.0.2 (another peer) is served as usual and that the faulted peer gets another
zone as usual (faults are per zone and peer), and clears the fault. Also: with
lab = false a [[lab]] table stops start-up and `lab set` is refused; a fault that does not read is a
start-up error; `lab report` shows what the peer did.
"""

import socket
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rrset  # noqa: E402
import dns.tsig  # noqa: E402
import dns.exception  # noqa: E402
import dns.flags  # noqa: E402

ZONE = "lab.example."
UNTOUCHED = "untouched.example."  # served beside ZONE, never faulted
SERIAL = 2026120501
PEER = hwtest.ADDR          # the peer the faults aim at
OTHER = hwtest.OTHER_ADDR   # another peer, never faulted


def full_axfr(port, source):
    messages = hwtest.axfr(port, ZONE, source=source, timeout=20.0)
    return messages


class LabModeTest(unittest.TestCase):
    hw = None
    key = None
    notify_sock = None

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("lab mode is Headwater's")
        cls.tmp = hwtest.tempdir("hw-lab-test")
        try:
            src = hwtest.generate_zone(cls.tmp / "lab.zone", ZONE, 6000, SERIAL)
            cls.key = hwtest.TsigKey.keygen("lab-key")
            # A NOTIFY target that records what it gets and answers nothing.
            cls.notify_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            cls.notify_sock.bind((hwtest.ADDR, 0))
            cls.notify_port = cls.notify_sock.getsockname()[1]
            zone = hwtest.ZoneConf(ZONE, src, notify=[f"{hwtest.ADDR}:{cls.notify_port}"],
                                   notify_options={"notify_retries": 0, "notify_delay": "0s"})
            untouched = hwtest.ZoneConf(UNTOUCHED, hwtest.generate_zone(cls.tmp / "untouched.zone", UNTOUCHED,
                                                                        3000, SERIAL))
            cls.hw = hwtest.Headwater([zone, untouched], acl_networks=("127.0.0.0/8",), keys=[cls.key],
                                      server_options={"lab": True})
            cls.hw.start()
            cls.reference = full_axfr(cls.hw.port, OTHER)
            cls.untouched = hwtest.axfr(cls.hw.port, UNTOUCHED, source=PEER, timeout=20.0)
            assert len(cls.reference) >= 3, f"the zone should need several messages, got {len(cls.reference)}"
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.notify_sock:
            cls.notify_sock.close()
        hwtest.close_class_fixture(cls)

    def setUp(self):
        self.set_at = None

    def tearDown(self):
        rc, doc, out, err = self.hw.ctl("lab", "clear")
        self.assertEqual(rc, 0, out + err)

    def lab_set(self, peer, *fault):
        rc, doc, out, err = self.hw.ctl("lab", "set", ZONE, peer, *fault)
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(any(f["peer"].rstrip(".") == peer.rstrip(".") and f["fault"].split()[0] == fault[0]
                            for f in doc["faults"]), doc)
        return doc

    def assert_other_peer_unaffected(self):
        got = full_axfr(self.hw.port, OTHER)
        self.assertEqual(hwtest.canon_set(hwtest.xfr_rrs(got)), hwtest.canon_set(hwtest.xfr_rrs(self.reference)))
        self.assertEqual(len(got), len(self.reference))
        self.assert_other_zone_unaffected()

    def assert_other_zone_unaffected(self):
        """The faulted peer, asking for another zone, gets it as before the fault: the same messages."""
        got = hwtest.axfr(self.hw.port, UNTOUCHED, source=PEER, timeout=20.0)
        self.assertEqual([m.wire[2:] for m in got], [m.wire[2:] for m in self.untouched])  # all but the IDs
        r = hwtest.query(self.hw.port, UNTOUCHED, "SOA", source=PEER, timeout=2.0)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(r.answer[0][0].serial, SERIAL)

    # ---- failure ----
    def test_cut_after_two_messages_closes_the_connection(self):
        self.lab_set(PEER, "cut-messages", "2")
        with self.assertRaises(EOFError):
            full_axfr(self.hw.port, PEER)
        self.assert_other_peer_unaffected()
        self.wait_cut_logged(messages="2")

    def wait_cut_logged(self, **match):
        # The server logs a cut transfer after it has closed the connection, so the client can see the
        # end before the line is written: wait for it rather than read the log once.
        try:
            hwtest.wait_for(lambda: hwtest.transfer_log(self.hw.log(), ZONE, outcome="aborted", cause="lab-cut",
                                                        **match), 10, what=f"a lab-cut transfer line with {match}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.hw.log()[-2000:]}") from None

    def raw_axfr_octets(self, source):
        """Sends an AXFR from source and reads octets until the primary ends the connection: (the octets,
        how it ended: "eof" or "reset")."""
        q = dns.message.make_query(ZONE, "AXFR").to_wire()
        with socket.create_connection((hwtest.ADDR, self.hw.port), timeout=20, source_address=(source, 0)) as s:
            s.sendall(len(q).to_bytes(2, "big") + q)
            got = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    return got, "reset"
                if not chunk:
                    return got, "eof"
                got += chunk

    def test_cut_bytes_ends_the_stream_at_that_octet(self):
        # 1000 octets fall inside the first message: the peer gets exactly those, then FIN.
        self.lab_set(PEER, "cut-bytes", "1000", "close")
        got, how = self.raw_axfr_octets(PEER)
        self.assertEqual((len(got), how), (1000, "eof"))
        first_len = int.from_bytes(got[:2], "big")
        self.assertGreater(first_len + 2, 1000, "the first message should be longer than the cut")
        # Beyond the first message: whole messages up to the one the cut falls in, then part of that.
        ends, at = [], 0
        for m in self.reference:
            at += 2 + len(m.wire)
            ends.append(at)
        cut = ends[0] + 100
        self.lab_set(PEER, "cut-bytes", str(cut), "close")
        got, how = self.raw_axfr_octets(PEER)
        self.assertEqual((len(got), how), (cut, "eof"))
        self.assertEqual(int.from_bytes(got[:2], "big") + 2, ends[0])
        self.wait_cut_logged(bytes=str(cut))
        self.assert_other_peer_unaffected()

    def test_cut_with_reset(self):
        self.lab_set(PEER, "cut-bytes", "1000", "reset")
        got, how = self.raw_axfr_octets(PEER)
        # An RST can overtake octets not yet read; never more than the cut, and never a clean end.
        self.assertEqual(how, "reset")
        self.assertLessEqual(len(got), 1000)
        self.assert_other_peer_unaffected()

    def test_rcode_answers_the_transfer(self):
        self.lab_set(PEER, "rcode", "notimp")
        got = full_axfr(self.hw.port, PEER)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].rcode, dns.rcode.NOTIMP)
        self.assert_other_peer_unaffected()
        hwtest.wait_for(lambda: hwtest.transfer_log(self.hw.log(), ZONE, cause="lab-refused", rcode="NOTIMP"), 10,
                        what="the lab-refused transfer line")

    def test_rcode_for_ixfr_only_leaves_axfr(self):
        self.lab_set(PEER, "rcode", "refused", "ixfr")
        got = full_axfr(self.hw.port, PEER)
        self.assertEqual(got[0].rcode, dns.rcode.NOERROR)
        q = dns.message.make_query(ZONE, "IXFR")
        q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", f". . {SERIAL - 1} 0 0 0 0"))
        r = dns.query.tcp(q, hwtest.ADDR, port=self.hw.port, source=PEER, timeout=10)
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)

    # ---- shape ----
    def test_records_per_message(self):
        self.lab_set(PEER, "records", "100")
        got = full_axfr(self.hw.port, PEER)
        self.assertTrue(all(m.ancount <= 100 for m in got), [m.ancount for m in got])
        self.assertGreater(len(got), len(self.reference))
        self.assertEqual(hwtest.canon_set(hwtest.xfr_rrs(got)), hwtest.canon_set(hwtest.xfr_rrs(self.reference)))

    # ---- timing ----
    def test_delay_before_the_first_message(self):
        self.lab_set(PEER, "delay", "1500ms")
        started = time.monotonic()
        got = full_axfr(self.hw.port, PEER)
        self.assertGreaterEqual(time.monotonic() - started, 1.4)
        self.assertEqual(len(got), len(self.reference))

    # ---- TSIG ----
    def signed_xfr(self):
        return list(dns.query.xfr(hwtest.ADDR, ZONE, port=self.hw.port, source=PEER, keyring=self.key.keyring(),
                                  keyname=self.key.dns_name, keyalgorithm=self.key.wire_algorithm, timeout=20))

    def test_wrong_mac_on_message_two_fails_verification(self):
        self.lab_set(self.key.name, "wrong-mac", "2")
        with self.assertRaises(dns.tsig.BadSignature):
            self.signed_xfr()
        self.assert_other_peer_unaffected()

    def test_sign_every_third_message_still_verifies(self):
        self.lab_set(self.key.name, "sign-every", "3")
        messages = self.signed_xfr()  # dnspython digests the unsigned ones into the next signed one
        self.assertGreaterEqual(len(messages), 3)
        self.assertTrue(messages[0].had_tsig)
        self.assertFalse(messages[1].had_tsig)
        self.assertTrue(messages[-1].had_tsig)

    def test_badtime(self):
        self.lab_set(self.key.name, "badtime")
        with self.assertRaises(dns.tsig.PeerBadTime):
            self.signed_xfr()

    # ---- UDP SOA ----
    def test_soa_tc_then_tcp_is_answered(self):
        self.lab_set(PEER, "soa-tc")
        r = hwtest.query(self.hw.port, ZONE, "SOA", source=PEER)
        self.assertTrue(r.flags & dns.flags.TC)
        self.assertEqual(len(r.answer), 0)
        r = hwtest.query(self.hw.port, ZONE, "SOA", tcp=True, source=PEER)
        self.assertEqual(r.answer[0][0].serial, SERIAL)
        r = hwtest.query(self.hw.port, ZONE, "SOA", source=OTHER)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assert_other_zone_unaffected()

    def test_drop_soa(self):
        self.lab_set(PEER, "drop-soa")
        with self.assertRaises(dns.exception.Timeout):
            hwtest.query(self.hw.port, ZONE, "SOA", source=PEER, timeout=1.0)
        self.assertEqual(hwtest.query(self.hw.port, ZONE, "SOA", source=OTHER).answer[0][0].serial, SERIAL)
        self.assert_other_zone_unaffected()

    # ---- NOTIFY ----
    def notifies(self, seconds):
        self.notify_sock.settimeout(0.2)
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                wire, _ = self.notify_sock.recvfrom(65535)
                got.append(dns.message.from_wire(wire))
            except socket.timeout:
                continue
        return got

    def test_notify_faults(self):
        self.notifies(0.5)  # whatever start-up sent
        self.lab_set(PEER, "notify-serial", "42")
        rc, doc, out, err = self.hw.ctl("notify", ZONE)
        self.assertEqual(rc, 0, out + err)
        got = self.notifies(2.0)
        self.assertTrue(got, "no NOTIFY arrived")
        self.assertEqual(got[0].answer[0][0].serial, 42)

        self.lab_set(PEER, "no-notify")
        rc, doc, out, err = self.hw.ctl("notify", ZONE)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.notifies(2.0), [])
        # Held back on purpose: the target says so, and it is not a failure (no retries, no give-up).
        rc, doc, out, err = self.hw.ctl("status")
        targets = [t for z in doc["zones"] if z["name"] == ZONE for t in z["notify"]]
        self.assertEqual([t["status"] for t in targets], ["withheld"], targets)

    # ---- the report ----
    def test_report_shows_the_cut_and_the_soa_queries(self):
        self.lab_set(PEER, "cut-messages", "1")
        hwtest.query(self.hw.port, ZONE, "SOA", source=PEER)
        for _ in range(2):
            with self.assertRaises(EOFError):
                full_axfr(self.hw.port, PEER)
        rc, doc, out, err = self.hw.ctl("lab", "report", ZONE, PEER)
        self.assertEqual(rc, 0, out + err)
        peers = [p for p in doc["peers"] if p["address"] == PEER]
        self.assertEqual(len(peers), 1, doc)
        summary = peers[0]["summary"]
        self.assertGreaterEqual(summary["aborted"], 2, summary)
        self.assertGreaterEqual(summary["soa_udp"], 1, summary)
        self.assertEqual(len(summary["retry_gaps_ms"]), summary["aborted"] + summary["transfers_ok"]
                         + summary["refused"] - 1)
        cuts = [e for e in peers[0]["events"] if e["kind"] == "transfer" and e["transfer"]["cause"] == "lab-cut"]
        self.assertGreaterEqual(len(cuts), 2)
        html = self.hw.dir / "report.html"
        rc, doc, out, err = self.hw.ctl("lab", "report", ZONE, "--html", html, json_output=False)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("aborted", out)
        page = html.read_text()
        self.assertIn("<svg", page)
        self.assertIn(PEER, page)

    def test_lab_mode_is_logged_loudly(self):
        self.assertRegex(self.hw.log(), r" warning LAB MODE \(server.lab = true\)")
        self.lab_set(PEER, "badtime")
        self.assertIn(f'lab: fault set: zone={ZONE} peer={PEER} fault="badtime"', self.hw.log())

    # ---- bad input ----
    def test_bad_fault_is_refused_with_its_usage(self):
        rc, doc, out, err = self.hw.ctl("lab", "set", ZONE, PEER, "cut-messages", "many")
        self.assertEqual(rc, 1)
        self.assertIn("cut-messages N [close|reset]", doc["error"])
        rc, doc, out, err = self.hw.ctl("lab", "set", "nowhere.example", PEER, "badtime")
        self.assertEqual(rc, 1)
        self.assertIn("not served here", doc["error"])


class LabOffTest(unittest.TestCase):
    def setUp(self):
        hwtest.require_headwater("lab mode is Headwater's")

    def test_lab_table_without_lab_mode_stops_start_up(self):
        zone = hwtest.ZoneConf("example.com", hwtest.EXAMPLE_ZONE)
        hw = hwtest.Headwater([zone], extra_toml='[[lab]]\nzone = "example.com"\npeer = "*"\nfault = "badtime"\n')
        try:
            hw.write_config()
            p = hwtest.subprocess.run([hwtest.headwater_bin(), "--check-config", hw.config_path],
                                      capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1)
            self.assertIn("lab faults need server.lab = true", p.stderr)
        finally:
            hw.close()

    def test_bad_fault_in_the_config_is_reported(self):
        zone = hwtest.ZoneConf("example.com", hwtest.EXAMPLE_ZONE)
        hw = hwtest.Headwater([zone], server_options={"lab": True},
                              extra_toml='[[lab]]\nzone = "example.com"\npeer = "*"\nfault = "explode"\n')
        try:
            hw.write_config()
            p = hwtest.subprocess.run([hwtest.headwater_bin(), "--check-config", hw.config_path],
                                      capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1)
            self.assertIn('lab[0].fault: unknown fault "explode"', p.stderr)
        finally:
            hw.close()

    def test_lab_command_is_refused_when_off(self):
        zone = hwtest.ZoneConf("example.com", hwtest.EXAMPLE_ZONE)
        with hwtest.Headwater([zone]) as hw:
            hw.start()
            rc, doc, out, err = hw.ctl("lab", "set", "example.com", "*", "badtime")
            self.assertEqual(rc, 1)
            self.assertIn("lab mode is off", doc["error"])
            self.assertNotIn("LAB MODE", hw.log())


if __name__ == "__main__":
    hwtest.main()
