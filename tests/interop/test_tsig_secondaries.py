#!/usr/bin/python3
"""Real secondaries (Knot DNS, BIND, NSD) transferring from Headwater with TSIG (RFC 8945).

Each peer has two keys of its own: hmac-sha256 for an all-types zone and a 20k-record zone (a
transfer of many messages, every one of which the peer verifies), and a second algorithm for a
third, multi-message zone (Knot hmac-sha512, BIND hmac-sha384, NSD hmac-md5). Headwater's rules
for those zones need 127.0.0.1/32 AND the peer's key, one rule per peer and key, so the log line
of each transfer names the rule and the key that let it through. Each peer, configured in its own
syntax (knot `key:` + `remote.key`, BIND `key {}` + `primaries { ... key }`, NSD `key:` +
`request-xfr: addr@port name`), must serve the expected serial within a bounded wait and give back
the source zone's records.

Peers missing on this machine are skipped; HW_PEERS=knot,bind limits the set.
"""

import re
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.rcode  # noqa: E402

ALL = "tsig-all.example."
ALL_SERIAL = 2024100101
BIG = "tsig-big.example."
BIG_RECORDS = 20000
BIG_SERIAL = 21
ALT = "tsig-alt.example."
ALT_RECORDS = 8000
ALT_SERIAL = 22
WAIT = 60.0

# The second algorithm of each peer (each supports it: knot 3.2 and BIND 9.18 all six, NSD 4.6
# hmac-md5/sha1/sha224/sha256/sha384/sha512 through OpenSSL).
SECOND_ALGORITHM = {"knot": "hmac-sha512", "bind": "hmac-sha384", "nsd": "hmac-md5"}
SHA256_ZONES = (ALL, BIG)


def key_name(peer, algorithm):
    return f"{peer}-{algorithm}"


class TsigSecondariesTest(unittest.TestCase):
    hw = None
    tmp = None
    peers = {}
    missing = {}

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("the rules and log lines checked here are Headwater's")
        cls.tmp = hwtest.tempdir("interop-tsig-data")
        cls.peers = {}
        cls.missing = {}
        try:
            cls.sources = {
                ALL: (hwtest.generate_zone(cls.tmp / "all.zone", ALL, 500, ALL_SERIAL, all_types=True), ALL_SERIAL),
                BIG: (hwtest.generate_zone(cls.tmp / "big.zone", BIG, BIG_RECORDS, BIG_SERIAL), BIG_SERIAL),
                ALT: (hwtest.generate_zone(cls.tmp / "alt.zone", ALT, ALT_RECORDS, ALT_SERIAL, seed="2"), ALT_SERIAL),
            }
            cls.expected = {z: hwtest.canon_set(hwtest.zone_file_rrs(p, z)) for z, (p, _) in cls.sources.items()}
            # Keys and rules for every wanted peer, whether or not it is installed: the config
            # stays the same, only the set of running peers changes.
            cls.peer_keys = {}  # peer -> {zone: TsigKey}
            keys, acls = [], []
            allow = {z: [] for z in cls.sources}
            for peer in hwtest.wanted_peers():
                sha256 = hwtest.TsigKey.keygen(key_name(peer, "hmac-sha256"), "hmac-sha256")
                second = hwtest.TsigKey.keygen(key_name(peer, SECOND_ALGORITHM[peer]), SECOND_ALGORITHM[peer])
                keys += [sha256, second]
                for key in (sha256, second):
                    acls.append(hwtest.AclConf(key.name, networks=["127.0.0.1/32"], keys=[key]))
                cls.peer_keys[peer] = {ALL: sha256, BIG: sha256, ALT: second}
                for zone in SHA256_ZONES:
                    allow[zone].append(sha256.name)
                allow[ALT].append(second.name)
            if not keys:
                raise unittest.SkipTest("no peer selected (HW_PEERS)")
            zones = [hwtest.ZoneConf(z, p, allow[z]) for z, (p, _) in cls.sources.items()]
            cls.hw = hwtest.Headwater(zones, acl_networks=[], keys=keys, acls=acls)
            cls.hw.start()
            for z, (_, serial) in cls.sources.items():
                hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, z) == serial, 30, what=f"primary {z}")
            # Start every peer at once; they transfer in parallel.
            for name in hwtest.wanted_peers():
                try:
                    cls.peers[name] = hwtest.SECONDARIES[name](list(cls.sources), cls.hw.port,
                                                               keys=cls.peer_keys[name]).start()
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
            try:
                peer.wait_serial(zone, serial, timeout=max(5.0, WAIT - (time.monotonic() - t0)))
            except AssertionError as e:
                mine = [ln["_line"] for ln in hwtest.transfer_log(self.hw.log(), zone)
                        if name in ln.get("key", "")]
                raise AssertionError(f"{e}\n--- Headwater's transfer lines for {zone} and {name}'s keys ---\n" +
                                     "\n".join(mine[-10:])) from None
        for zone in self.sources:
            key = self.peer_keys[name][zone]
            with self.subTest(peer=name, zone=zone):
                msgs = hwtest.axfr(peer.port, zone, timeout=30)
                self.assertEqual(msgs[0].rcode, dns.rcode.NOERROR, f"{name} refused AXFR of {zone}")
                rrs = hwtest.xfr_rrs(msgs)
                got = hwtest.canon_set(rrs)
                exp = self.expected[zone]
                self.assertEqual(len(rrs), len(got), f"{name}: duplicate records in {zone}")
                self.assertEqual(got, exp, f"{name} {zone}: " + hwtest.describe_diff(exp, got))
                # Headwater logged the transfer with this peer's key (verified) and its rule.
                lines = hwtest.transfer_log(self.hw.log(), zone, key=re.escape(key.name) + r"\.?", outcome="ok")
                self.assertTrue(lines, f"no transfer of {zone} with key={key.name} in the log:\n"
                                       + "\n".join(ln["_line"] for ln in hwtest.transfer_log(self.hw.log(), zone)))
                self.assertEqual(lines[-1]["rule"], key.name, lines[-1]["_line"])
                if zone in (BIG, ALT):
                    self.assertGreater(int(lines[-1]["messages"]), 1, lines[-1]["_line"])
        # No TSIG failure for this peer's keys, and the primary is still up.
        bad = [ln["_line"] for ln in hwtest.transfer_log(self.hw.log(), outcome="refused")
               if name in ln.get("key", "")]
        self.assertEqual(bad, [], "refusals of this peer's requests")
        self.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())

    def test_knot(self):
        self.check_peer("knot")

    def test_bind(self):
        self.check_peer("bind")

    def test_nsd(self):
        self.check_peer("nsd")

    def test_zones_need_the_key(self):
        # The rules name networks AND keys: an unsigned request from the right address is refused.
        for zone in self.sources:
            with self.subTest(zone=zone):
                msgs = hwtest.axfr(self.hw.port, zone)
                self.assertEqual(msgs[0].rcode, dns.rcode.REFUSED)


if __name__ == "__main__":
    hwtest.main()
