#!/usr/bin/python3
"""Real secondaries (Knot DNS, BIND, NSD) transferring zones from Headwater.

Each peer runs as a child of the test with its own temporary directory and loopback port, is
configured as a secondary of Headwater for three zones (the bundled example, the --all-types
generated zone and a 20k-record one), and must end up serving the expected SOA serial and
giving back, by AXFR, the same record set as the source file.

Peers missing on this machine are skipped with a message; HW_PEERS=knot,bind limits the set.
"""

import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.rcode  # noqa: E402

ALL = "all-types.example."
ALL_SERIAL = 2024080101
BIG = "big.example."
BIG_RECORDS = 20000
BIG_SERIAL = 3
WAIT = 60.0


class SecondariesTest(unittest.TestCase):
    hw = None
    peers = {}
    missing = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = hwtest.tempdir("interop-data")
        cls.sources = {
            "example.com.": (hwtest.EXAMPLE_ZONE, hwtest.EXAMPLE_SERIAL),
            ALL: (hwtest.generate_zone(cls.tmp / "all.zone", ALL, 500, ALL_SERIAL, all_types=True), ALL_SERIAL),
            BIG: (hwtest.generate_zone(cls.tmp / "big.zone", BIG, BIG_RECORDS, BIG_SERIAL), BIG_SERIAL),
        }
        cls.expected = {z: hwtest.canon_set(hwtest.zone_file_rrs(path, z)) for z, (path, _) in cls.sources.items()}
        cls.hw = hwtest.Headwater([hwtest.ZoneConf(z, path) for z, (path, _) in cls.sources.items()])
        cls.peers = {}
        cls.missing = {}
        try:
            cls.hw.start()
            for z, (_, serial) in cls.sources.items():
                hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, z) == serial, 30, what=f"primary {z}")
            # Start every peer at once; they transfer in parallel.
            for name in hwtest.wanted_peers():
                try:
                    cls.peers[name] = hwtest.SECONDARIES[name](list(cls.sources), cls.hw.port).start()
                except unittest.SkipTest as e:
                    cls.missing[name] = str(e)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls)

    def peer(self, name):
        if name in self.missing:
            self.skipTest(f"{name}: {self.missing[name]}")
        if name not in self.peers:
            self.skipTest(f"{name} not selected (HW_PEERS)")
        return self.peers[name]

    def check_peer(self, name):
        peer = self.peer(name)
        t0 = time.monotonic()
        for zone, (_, serial) in self.sources.items():
            peer.wait_serial(zone, serial, timeout=max(5.0, WAIT - (time.monotonic() - t0)))
        for zone in self.sources:
            with self.subTest(peer=name, zone=zone):
                msgs = hwtest.axfr(peer.port, zone, timeout=30)
                self.assertEqual(msgs[0].rcode, dns.rcode.NOERROR, f"{name} refused AXFR of {zone}")
                rrs = hwtest.xfr_rrs(msgs)
                got = hwtest.canon_set(rrs)
                exp = self.expected[zone]
                self.assertEqual(len(rrs), len(got), f"{name}: duplicate records in {zone}")
                self.assertEqual(got, exp, f"{name} {zone}: " + hwtest.describe_diff(exp, got))
        # The primary logged no transfer trouble and is still up.
        self.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())

    def test_knot(self):
        self.check_peer("knot")

    def test_bind(self):
        self.check_peer("bind")

    def test_nsd(self):
        self.check_peer("nsd")

    def test_zz_knot_follows_a_reload(self):
        """After a reload with a new serial, a refresh brings Knot the new version.

        Knot asks for IXFR first (RFC 1995); whatever Headwater answers (IXFR, an AXFR-style
        answer or a fallback), Knot must end up with the new content.
        """
        peer = self.peer("knot")
        peer.wait_serial("example.com.", hwtest.EXAMPLE_SERIAL, WAIT)
        path = self.hw.zone_path("example.com")
        path.write_text((hwtest.DATA / "example.com.zone.v2").read_text())
        if self.hw.kind == "knot":
            self.hw.reload_signal()
        else:
            rc, doc, out, err = self.hw.ctl("reload", "example.com")
            self.assertEqual(rc, 0, out + err)
        hwtest.wait_for(lambda: hwtest.soa_serial(self.hw.port, "example.com") == 2024060102, 10,
                        what="primary to serve the new serial")
        peer.refresh("example.com.")
        peer.wait_serial("example.com.", 2024060102, WAIT)
        got = hwtest.canon_set(hwtest.xfr_rrs(hwtest.axfr(peer.port, "example.com.")))
        exp = hwtest.canon_set(hwtest.zone_file_rrs(hwtest.DATA / "example.com.zone.v2", "example.com."))
        self.assertEqual(got, exp, hwtest.describe_diff(exp, got))


if __name__ == "__main__":
    hwtest.main()
