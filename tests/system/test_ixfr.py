#!/usr/bin/python3
"""IXFR (RFC 1995) from Headwater's journal: v1 -> v2 -> v3 -> v4 reloads, an IXFR from every earlier
serial applied to that version gives v4 exactly, the fallbacks (unknown serial -> AXFR form, up to date
-> one SOA, UDP too small -> SOA only), the same after a restart, and the reload serial rules
(policy bump, refused backwards serial, reload --force starting a new history).

The versions are tests/data/ixfr-versions/ixfr.example.zone.v1..v4; each adds, removes and changes
records, changes a TTL and changes the apex.
"""

import shutil
import socket
import sys
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
import dns.rrset  # noqa: E402
import dns.zone  # noqa: E402

ZONE = "ixfr.example."
VERSIONS_DIR = hwtest.DATA / "ixfr-versions"
VERSIONS = {v: VERSIONS_DIR / f"ixfr.example.zone.v{v}" for v in (1, 2, 3, 4)}
SERIALS = {v: 2024100100 + v for v in (1, 2, 3, 4)}
UNKNOWN_SERIAL = 2024100050  # older than v1, never served
SOA = dns.rdatatype.SOA


def version_set(v):
    return hwtest.canon_set(hwtest.zone_file_rrs(VERSIONS[v], ZONE))


def ixfr_query(serial, edns=False):
    q = dns.message.make_query(ZONE, dns.rdatatype.IXFR, use_edns=False)
    q.flags = 0
    if edns:
        q.use_edns(0, payload=1232)
    # RFC 1995 section 3: the client's SOA goes in the authority section; only its serial matters.
    q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", f". . {serial} 0 0 0 0"))
    return q


def ixfr_tcp(port, serial, timeout=20.0):
    """One IXFR over a fresh TCP connection: [(name, ttl, rdata)] of every answer, in wire order
    (closing SOA included). dns.query.xfr ends the read by RFC 1995's rules."""
    rrs = []
    for m in dns.query.xfr(hwtest.ADDR, ZONE, rdtype=dns.rdatatype.IXFR, serial=serial, port=port, timeout=timeout,
                           lifetime=timeout, relativize=False):
        if m.rcode() != dns.rcode.NOERROR:
            raise AssertionError(f"IXFR from {serial}: rcode {dns.rcode.to_text(m.rcode())}")
        rrs += [(rrset.name, rrset.ttl, rd) for rrset in m.answer for rd in rrset]
    return rrs


def classify(rrs):
    """'soa' (one SOA), 'ixfr' (SOA(new), SOA(old), ...) or 'axfr' (SOA, then zone data)."""
    if len(rrs) == 1 and rrs[0][2].rdtype == SOA:
        return "soa"
    if len(rrs) >= 2 and rrs[0][2].rdtype == SOA and rrs[1][2].rdtype == SOA:
        return "ixfr"
    return "axfr"


def apply_ixfr(start, rrs):
    """Applies an incremental answer to the canon set `start` strictly: every deletion must be in the
    set, every addition must be new, each step's old SOA must be the current one. Returns the result."""
    current = set(start)
    new_soa = rrs[0]
    assert rrs[-1][2].rdtype == SOA and rrs[-1][2].serial == new_soa[2].serial, "IXFR does not end with the new SOA"
    body = rrs[1:-1]
    i = 0
    while i < len(body):
        old = body[i]
        assert old[2].rdtype == SOA, f"step does not start with an SOA: {old}"
        old_c = hwtest.canon(*old)
        assert old_c in current, f"step's old SOA {old[2].serial} is not the current SOA"
        current.discard(old_c)
        i += 1
        while i < len(body) and body[i][2].rdtype != SOA:
            c = hwtest.canon(*body[i])
            assert c in current, f"deletion of a record not present: {body[i][0]} {body[i][1]} {body[i][2]}"
            current.discard(c)
            i += 1
        assert i < len(body), "step without its new SOA"
        current.add(hwtest.canon(*body[i]))  # the step's new SOA
        i += 1
        while i < len(body) and body[i][2].rdtype != SOA:
            c = hwtest.canon(*body[i])
            assert c not in current, f"addition of a record already present: {body[i][0]} {body[i][2]}"
            current.add(c)
            i += 1
    return current


def axfr_form_set(rrs):
    assert rrs[0][2].rdtype == SOA and rrs[-1][2].rdtype == SOA
    return hwtest.canon_set(rrs[:-1])


def udp_ixfr(port, serial):
    """An IXFR over UDP (EDNS, 1232 octets): (the response, [(name, ttl, rdata)] in wire order)."""
    q = ixfr_query(serial, edns=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3.0)
        s.sendto(q.to_wire(), (hwtest.ADDR, port))
        while True:
            wire, _ = s.recvfrom(65535)
            r = dns.message.from_wire(wire, one_rr_per_rrset=True)  # keeps the wire order
            if r.id == q.id:
                return r, [(rrset.name, rrset.ttl, rd) for rrset in r.answer for rd in rrset]


class _Base(unittest.TestCase):
    hw = None

    @classmethod
    def start_server(cls):
        hwtest.require_headwater("IXFR from a journal, reload rules and status are Headwater's")
        cls.hw = hwtest.Headwater([hwtest.ZoneConf(ZONE, VERSIONS[1])])
        try:
            cls.hw.start()
            hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, ZONE) == SERIALS[1], 30, what="v1 served")
            for v in (2, 3, 4):
                cls.reload_version(v)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def reload_version(cls, v, *extra):
        shutil.copyfile(VERSIONS[v], cls.hw.zone_path(ZONE))
        rc, doc, out, err = cls.hw.ctl("reload", *extra, ZONE)
        if rc != 0:
            raise AssertionError(f"reload of v{v} failed ({rc}): {out}{err}")
        served = hwtest.soa_serial(cls.hw.port, ZONE)
        if served != SERIALS[v]:
            raise AssertionError(f"after reloading v{v} serial {served} is served, not {SERIALS[v]}")

    @classmethod
    def tearDownClass(cls):
        if cls.hw:
            cls.hw.close()
            cls.hw = None

    def fail_with_log(self, msg):
        self.fail(f"{msg}\n--- server log ---\n{self.hw.proc.log_tail(30)}")

    # -- checks shared by the fresh and the restarted server --
    def check_ixfr_from_each_version(self):
        v4 = version_set(4)
        for v in (1, 2, 3):
            with self.subTest(from_version=v):
                rrs = ixfr_tcp(self.hw.port, SERIALS[v])
                self.assertEqual(classify(rrs), "ixfr",
                                 f"IXFR from v{v}: not incremental; first records {[str(r[2]) for r in rrs[:3]]}")
                self.assertEqual(rrs[0][2].serial, SERIALS[4], "first SOA is not the current one")
                self.assertEqual(rrs[1][2].serial, SERIALS[v], "second SOA is not the client's")
                # Incremental means smaller than the zone: each diff here touches < 70 of ~210 records.
                self.assertLess(len(rrs), len(v4), "an 'incremental' answer as large as the zone")
                got = apply_ixfr(version_set(v), rrs)
                self.assertEqual(got, v4, hwtest.describe_diff(v4, got))

    def check_ixfr_with_dnspython(self):
        """dnspython's own IXFR client (dns.query.inbound_xfr) applied to each version's zone."""
        v4 = version_set(4)
        for v in (1, 2, 3):
            with self.subTest(from_version=v):
                z = dns.zone.from_file(str(VERSIONS[v]), origin=ZONE, relativize=False)
                # With no query given, dnspython asks for an IXFR from the zone's own serial.
                dns.query.inbound_xfr(hwtest.ADDR, z, port=self.hw.port, timeout=20, lifetime=20)
                got = hwtest.canon_set(list(z.iterate_rdatas()))
                self.assertEqual(got, v4, hwtest.describe_diff(v4, got))

    def check_unknown_serial_gets_axfr_form(self):
        rrs = ixfr_tcp(self.hw.port, UNKNOWN_SERIAL)
        self.assertEqual(classify(rrs), "axfr", f"first records {[str(r[2]) for r in rrs[:3]]}")
        self.assertEqual(rrs[0][2].serial, SERIALS[4])
        got = axfr_form_set(rrs)
        self.assertEqual(got, version_set(4), hwtest.describe_diff(version_set(4), got))

    def check_current_serial_gets_one_soa(self):
        for serial, what in ((SERIALS[4], "equal"), (SERIALS[4] + 5, "newer")):
            with self.subTest(client=what):
                rrs = ixfr_tcp(self.hw.port, serial)
                self.assertEqual(classify(rrs), "soa", f"{len(rrs)} records: {[str(r[2]) for r in rrs[:3]]}")
                self.assertEqual(rrs[0][2].serial, SERIALS[4])


class IxfrHistoryTest(_Base):
    """One server: v1, then v2, v3, v4 by `headwaterctl reload`; read-only checks."""

    @classmethod
    def setUpClass(cls):
        cls.start_server()

    def test_ixfr_from_each_earlier_serial_tcp(self):
        self.check_ixfr_from_each_version()

    def test_ixfr_applied_by_dnspython(self):
        self.check_ixfr_with_dnspython()

    def test_unknown_serial_gets_full_zone_in_axfr_form(self):
        self.check_unknown_serial_gets_axfr_form()

    def test_current_or_newer_serial_gets_single_soa(self):
        self.check_current_serial_gets_one_soa()

    def test_udp_small_diff_is_incremental(self):
        r, rrs = udp_ixfr(self.hw.port, SERIALS[3])
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertFalse(r.flags & dns.flags.TC, "TC set: the v3->v4 diff fits one UDP message")
        self.assertEqual(classify(rrs), "ixfr", str(r))
        got = apply_ixfr(version_set(3), rrs)
        self.assertEqual(got, version_set(4), hwtest.describe_diff(version_set(4), got))

    def test_udp_large_diff_gets_soa_only(self):
        r, rrs = udp_ixfr(self.hw.port, SERIALS[1])  # v1 -> v4 adds 45 long TXT records: several KB
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(classify(rrs), "soa", f"{len(rrs)} records over UDP: {str(r)[:500]}")
        self.assertEqual(rrs[0][2].serial, SERIALS[4])

    def test_udp_current_serial_gets_single_soa(self):
        r, rrs = udp_ixfr(self.hw.port, SERIALS[4])
        self.assertEqual(classify(rrs), "soa", str(r))

    def test_status_shows_ixfr_from(self):
        rc, doc, out, err = self.hw.ctl("status", ZONE)
        self.assertEqual(rc, 0, out + err)
        zones = [z for z in doc["zones"] if z["name"].lower() == ZONE]
        self.assertEqual(len(zones), 1, out)
        self.assertIn("ixfr_from", zones[0], out)
        self.assertEqual(zones[0]["ixfr_from"], SERIALS[1], out)
        self.assertEqual(zones[0]["serial"], SERIALS[4], out)

    def test_transfer_log_says_ixfr(self):
        ixfr_tcp(self.hw.port, SERIALS[2])
        lines = hwtest.wait_for(lambda: hwtest.transfer_log(self.hw.log(), ZONE, type="IXFR", outcome="ok"), 5,
                                what="a type=IXFR transfer log line")
        self.assertTrue(lines)


class IxfrRestartTest(_Base):
    """The journal and snapshot bring back the served version and its history after a restart."""

    @classmethod
    def setUpClass(cls):
        cls.start_server()
        try:
            rc = cls.hw.stop()
            if rc != 0:
                raise AssertionError(f"headwater exited with {rc} on SIGTERM")
            cls.hw.start()
            served = hwtest.soa_serial(cls.hw.port, ZONE)
            if served != SERIALS[4]:
                raise AssertionError(f"after the restart serial {served} is served, not {SERIALS[4]}")
        except BaseException:
            cls.tearDownClass()
            raise

    def test_ixfr_from_each_earlier_serial_after_restart(self):
        self.check_ixfr_from_each_version()

    def test_ixfr_applied_by_dnspython_after_restart(self):
        self.check_ixfr_with_dnspython()

    def test_unknown_serial_after_restart(self):
        self.check_unknown_serial_gets_axfr_form()

    def test_current_serial_after_restart(self):
        self.check_current_serial_gets_one_soa()

    def test_status_after_restart(self):
        rc, doc, out, err = self.hw.ctl("status", ZONE)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(doc["zones"][0]["ixfr_from"], SERIALS[1], out)


class ReloadSerialRulesTest(_Base):
    """Each test gets its own server with history v1..v4: the tests change the served version."""

    def setUp(self):
        type(self).start_server()

    def tearDown(self):
        type(self).tearDownClass()

    def write_zone(self, text):
        self.hw.zone_path(ZONE).write_text(text)

    def test_unchanged_serial_is_bumped_by_policy(self):
        text = VERSIONS[4].read_text() + 'policy-edit     IN  TXT   "edited without a new serial"\n'
        self.write_zone(text)
        rc, doc, out, err = self.hw.ctl("reload", ZONE)
        self.assertEqual(rc, 0, out + err)
        bumped = SERIALS[4] + 1  # serial_policy "increment" (the default)
        self.assertEqual(hwtest.soa_serial(self.hw.port, ZONE), bumped, out)
        expected = {c for c in version_set(4) if c[2] != SOA}
        rrs = ixfr_tcp(self.hw.port, SERIALS[4])
        self.assertEqual(classify(rrs), "ixfr", f"first records {[str(r[2]) for r in rrs[:3]]}")
        self.assertEqual(rrs[0][2].serial, bumped)
        got = apply_ixfr(version_set(4), rrs)
        got_no_soa = {c for c in got if c[2] != SOA}
        added = hwtest.canon_set(hwtest.zone_file_rrs(self.hw.zone_path(ZONE), ZONE)) - version_set(4)
        self.assertEqual(got_no_soa, expected | added, hwtest.describe_diff(expected | added, got_no_soa))
        self.assertEqual(len([c for c in got if c[2] == SOA]), 1, "not exactly one SOA after applying")
        # An IXFR from v1 now runs through the bumped version too.
        got1 = apply_ixfr(version_set(1), ixfr_tcp(self.hw.port, SERIALS[1]))
        self.assertEqual(got1, got)

    def test_backwards_serial_is_refused(self):
        self.write_zone(hwtest.set_soa_serial(VERSIONS[4].read_text(), SERIALS[4] - 10))
        rc, doc, out, err = self.hw.ctl("reload", ZONE)
        self.assertEqual(rc, 1, f"a serial that went backwards was accepted: {out}{err}")
        self.assertEqual(hwtest.soa_serial(self.hw.port, ZONE), SERIALS[4])
        # The history is untouched.
        got = apply_ixfr(version_set(2), ixfr_tcp(self.hw.port, SERIALS[2]))
        self.assertEqual(got, version_set(4))

    def test_force_backwards_serial_starts_new_history(self):
        # Backwards from v4 but still newer than v1: an IXFR from v1 is "from an older serial".
        old = SERIALS[2]
        text = hwtest.set_soa_serial(VERSIONS[4].read_text(), old)
        self.write_zone(text)
        rc, doc, out, err = self.hw.ctl("reload", "--force", ZONE)
        self.assertEqual(rc, 0, f"reload --force failed: {out}{err}")
        self.assertEqual(hwtest.soa_serial(self.hw.port, ZONE), old)
        expected = hwtest.canon_set(hwtest.zone_file_rrs(self.hw.zone_path(ZONE), ZONE))
        for serial in (SERIALS[1], UNKNOWN_SERIAL):
            with self.subTest(client_serial=serial):
                rrs = ixfr_tcp(self.hw.port, serial)
                self.assertEqual(classify(rrs), "axfr",
                                 f"IXFR from {serial} after --force: first records {[str(r[2]) for r in rrs[:3]]}")
                got = axfr_form_set(rrs)
                self.assertEqual(got, expected, hwtest.describe_diff(expected, got))


if __name__ == "__main__":
    hwtest.main()
