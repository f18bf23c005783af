#!/usr/bin/python3
"""A dynamic update (RFC 2136) reaches real Knot DNS and BIND secondaries by NOTIFY and IXFR within a
second of its answer.

One Headwater serves update.example. with allow_update for an admin key; Knot and BIND are its
secondaries (TSIG keys of their own, IXFR asked for, NOTIFY accepted with their key). The SOA says
refresh 3600 so only the NOTIFY explains a peer that follows at once. Each test sends an update with
dnspython (TCP, then UDP, then a burst of ten, which must reach the peers as its last serial), and
measures the time from the answer until each peer serves the new record; Headwater's log must show
each peer's transfer as an IXFR.

HW_PEERS=knot,bind limits the set; missing peers are skipped.
"""

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
import dns.update  # noqa: E402

ZONE = "update.example."
SERIAL = 2026120501
BUDGET = 1.0  # seconds from the UPDATE's answer until a secondary serves the record
ADMIN = hwtest.TsigKey("admin-key")


def zone_text():
    lines = [
        f"$ORIGIN {ZONE}",
        "$TTL 3600",
        f"@ IN SOA ns1.{ZONE} hostmaster.{ZONE} ( {SERIAL} 3600 3600 1209600 300 )",
        "@ IN NS ns1",
        "@ IN NS ns2.example.net.",
        "ns1 IN A 192.0.2.53",
    ]
    lines += [f"host-{i:03d} IN A 198.51.100.{i + 1}" for i in range(60)]
    return "\n".join(lines) + "\n"


PEERS = {"knot": hwtest.KnotNotified, "bind": hwtest.BindNotified}


class UpdateSecondariesTest(unittest.TestCase):
    hw = None
    peers = {}
    tmp = None

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("dynamic updates are Headwater's")
        cls.peers = {}
        try:
            names, cls.missing = hwtest.available_peers(PEERS)
            if not names:
                raise unittest.SkipTest(f"no peer available: {cls.missing or 'HW_PEERS selects none'}")
            cls.tmp = hwtest.tempdir("update-interop")
            source = cls.tmp / "update.example.zone"
            source.write_text(zone_text())
            cls.keys = {n: hwtest.TsigKey(f"{n}-key", "hmac-sha256") for n in names}
            peers_acl = hwtest.AclConf("peers", ["127.0.0.1/32"], list(cls.keys.values()))
            admin_acl = hwtest.AclConf("admin", ["127.0.0.0/8"], [ADMIN])
            cls.zone = hwtest.ZoneConf(ZONE, source, ["peers"], notify_options={"allow_update": ["admin"]})
            cls.hw = hwtest.Headwater([cls.zone], acl_networks=[], keys=list(cls.keys.values()) + [ADMIN],
                                      acls=[peers_acl, admin_acl])
            for n in names:
                cls.peers[n] = PEERS[n]([ZONE], cls.hw.port, keys={ZONE: cls.keys[n]})
            cls.zone.notify = [{"address": f"{hwtest.ADDR}:{p.port}", "key": cls.keys[n], "source": hwtest.ADDR}
                               for n, p in cls.peers.items()]
            cls.hw.start()
            for p in cls.peers.values():
                p.start()
            for p in cls.peers.values():
                p.wait_serial(ZONE, SERIAL, timeout=30)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls)

    def send(self, owner, address, tcp=True):
        m = dns.update.UpdateMessage(ZONE, keyring=ADMIN.keyring(), keyname=ADMIN.dns_name,
                                     keyalgorithm=ADMIN.wire_algorithm)
        m.replace(owner, 300, "A", address)
        query = dns.query.tcp if tcp else dns.query.udp
        r = query(m, hwtest.ADDR, port=self.hw.port, timeout=5)
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        return time.monotonic()

    def peer_has(self, peer, owner, address):
        q = dns.message.make_query(f"{owner}.{ZONE}", "A")
        try:
            r = dns.query.udp(q, hwtest.ADDR, port=peer.port, timeout=0.5)
        except Exception:
            return False
        return any(rd.to_text() == address for rrset in r.answer for rd in rrset)

    def measure(self, owner, address, t0, limit=BUDGET + 4.0):
        times = {}
        while len(times) < len(self.peers) and time.monotonic() - t0 < limit:
            for n, p in self.peers.items():
                if n not in times and self.peer_has(p, owner, address):
                    times[n] = time.monotonic() - t0
            time.sleep(0.01)
        print("\n  " + ", ".join(f"{n}: {'%.3f s' % times[n] if n in times else 'NOT within %.0f s' % limit}"
                                 for n in self.peers), flush=True)
        slow = {n: times.get(n) for n in self.peers if times.get(n) is None or times[n] > BUDGET}
        if slow:
            xfr = "\n".join(t["_line"] for t in hwtest.transfer_log(self.hw.log(), ZONE)[-10:])
            self.fail(f"not served within {BUDGET} s: {slow}\n{xfr}")

    def check_ixfr(self):
        serial = hwtest.soa_serial(self.hw.port, ZONE)
        for n in self.peers:
            lines = hwtest.transfer_log(self.hw.log(), ZONE, type="IXFR", form="ixfr", outcome="ok",
                                        key=self.keys[n].name + r"\.?", serial=str(serial))
            self.assertTrue(lines, f"{n} did not take serial {serial} by IXFR")

    def test_1_tcp_update(self):
        t0 = self.send("dyn-tcp", "203.0.113.1")
        self.measure("dyn-tcp", "203.0.113.1", t0)
        self.check_ixfr()

    def test_2_udp_update(self):
        t0 = self.send("dyn-udp", "203.0.113.2", tcp=False)
        self.measure("dyn-udp", "203.0.113.2", t0)
        self.check_ixfr()

    def test_3_burst(self):
        for i in range(10):
            t0 = self.send(f"burst-{i}", f"203.0.113.{10 + i}")
        self.measure("burst-9", "203.0.113.19", t0)
        for i in range(10):
            for n, p in self.peers.items():
                self.assertTrue(self.peer_has(p, f"burst-{i}", f"203.0.113.{10 + i}"), f"{n} lacks burst-{i}")


if __name__ == "__main__":
    hwtest.main()
