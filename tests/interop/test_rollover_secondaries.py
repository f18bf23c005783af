#!/usr/bin/python3
"""A ZSK rollover timed by what the secondaries serve, with validation never broken.

Headwater signs roll.example. with a KSK and a ZSK (timers in seconds: DNSKEY TTL 2 s, every TTL of the
zone 2 s) and NOTIFYs a real Knot and a real BIND secondary, each transferring from an address of its own
(127.0.0.2, 127.0.0.3), so they are two secondaries in Headwater's ledger. unbound validates through the
two secondaries with the zone's DS as trust anchor.

`headwaterctl dnssec rollover roll.example. zsk` starts a rollover: the successor is published, signs
once both secondaries serve its DNSKEY and the DNSKEY TTL has passed, and the old ZSK leaves once both
serve the zone re-signed and the zone's largest TTL has passed. unbound is asked all along (a name that
exists and a new name that does not, each time): every answer validates, none is SERVFAIL. At the end both
secondaries serve the KSK and the new ZSK only.

Then, with Knot stopped, a second rollover publishes its successor and stays there, `dnssec status` naming
the secondary it waits for, also across a restart of Headwater; once Knot is back and has transferred the
zone, the rollover completes.
"""

import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.dnssec  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

ZONE = "roll.example."
SERIAL = 2026120701
KNOT_SOURCE = "127.0.0.2"
BIND_SOURCE = "127.0.0.3"

ZONE_TEXT = f"""$TTL 2
@   2 IN SOA ns1 hostmaster {SERIAL} 3600 600 1209600 2
@   NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.80
"""

POLICY = """[[dnssec_policy]]
name = "rolling"
keys = "ksk+zsk"
dnskey_ttl = "2s"
propagation_delay = "1s"
"""


class KnotFrom(hwtest.KnotSecondary):
    """Knot transferring from KNOT_SOURCE."""

    def write_config(self):
        super().write_config()
        self.edit_config((f"via: {hwtest.ADDR}", f"via: {KNOT_SOURCE}"))


class BindFrom(hwtest.BindSecondary):
    """BIND transferring (and asking for the SOA) from BIND_SOURCE."""

    def write_config(self):
        super().write_config()
        self.edit_config((f"transfer-source {hwtest.ADDR};", f"transfer-source {BIND_SOURCE};"),
                         (f"query-source address {hwtest.ADDR};", f"query-source address {BIND_SOURCE};"))


class RolloverSecondariesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater()
        cls.dir = hwtest.tempdir("rollover-interop")
        cls.knot = KnotFrom([ZONE], 0)
        cls.bind = BindFrom([ZONE], 0)
        src = cls.dir / "roll.zone"
        src.write_text(ZONE_TEXT)
        zone = hwtest.ZoneConf(ZONE, src, notify=[f"127.0.0.1:{cls.knot.port}", f"127.0.0.1:{cls.bind.port}"],
                               notify_options={"dnssec_policy": "rolling"})
        cls.hw = hwtest.Headwater([zone], acl_networks=("127.0.0.0/8",), extra_toml=POLICY)
        cls.hw.start(timeout=60)
        for peer in (cls.knot, cls.bind):
            peer.primary_port = cls.hw.port
            peer.start()
        for peer in (cls.knot, cls.bind):
            peer.wait_serial(ZONE, SERIAL)
        rc, out, stdout, stderr = cls.hw.ctl("dnssec", "ds", ZONE)
        assert rc == 0, stdout + stderr
        d = cls.dir / "unbound"
        d.mkdir()
        cls.unbound = hwtest.Unbound(d, ZONE, [cls.knot.port, cls.bind.port], out["ds"][0])
        cls.asked = 0

    @classmethod
    def tearDownClass(cls):
        cls.tmp = cls.dir
        extras = [cls.unbound] if hasattr(cls, "unbound") else []
        hwtest.close_class_fixture(cls, *extras, cls.knot, cls.bind)

    def status(self):
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "status", ZONE)
        self.assertEqual(rc, 0, stdout + stderr)
        return out

    def zsks(self, status):
        """{tag: state} of the zone's ZSKs."""
        return {k["tag"]: k["state"] for k in status["keys"] if k["role"] == "zsk"}

    def served_dnskey_tags(self, port):
        q = dns.message.make_query(ZONE, "DNSKEY")
        r = dns.query.udp(q, hwtest.ADDR, port=port, timeout=5)
        return sorted(dns.dnssec.key_id(rd) for rrset in r.answer for rd in rrset)

    def validates(self, context):
        """unbound answers a name that exists and a new one that does not, each validated."""
        RolloverSecondariesTest.asked += 1
        for name, rcode in (("www", dns.rcode.NOERROR), (f"nx{self.asked}", dns.rcode.NXDOMAIN)):
            r = self.unbound.resolve(name, "A")
            self.assertEqual(r.rcode(), rcode, f"{name} during {context}:\n{r}\n{self.hw.log()[-4000:]}")
            self.assertTrue(r.flags & dns.flags.AD, f"{name} not validated during {context}:\n{r}")

    def roll(self, seen, until, timeout, check_validation=True):
        """Polls `dnssec status` (and unbound) until `until(zsks)`; records every ZSK state seen."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            zsks = self.zsks(st)
            for tag, state in zsks.items():
                if not seen.get(tag) or seen[tag][-1] != state:
                    seen.setdefault(tag, []).append(state)
            if check_validation:
                self.validates(f"ZSK states {zsks}, rollover: {st['rollover']}")
            if until(zsks):
                return st
            if time.monotonic() > deadline:
                self.fail(f"rollover stuck: {zsks}, {st['rollover']}\n{self.hw.log()[-4000:]}")
            time.sleep(0.25)

    def test_1_a_zsk_rollover_keeps_validating_through_both_secondaries(self):
        self.validates("the start")
        old = [t for t, s in self.zsks(self.status()).items() if s == "active"]
        self.assertEqual(len(old), 1)
        old = old[0]
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", ZONE, "zsk")
        self.assertEqual(rc, 0, stdout + stderr)
        seen = {}
        st = self.roll(seen, lambda z: z.get(old) == "removed", timeout=90)
        new = [t for t in seen if t != old]
        self.assertEqual(len(new), 1, seen)
        new = new[0]
        # The successor went published -> active, the old key active -> retired -> removed, in order.
        self.assertEqual(seen[new], ["published", "active"], seen)
        self.assertEqual(seen[old], ["active", "retired", "removed"], seen)
        self.assertEqual(self.zsks(st)[new], "active")
        # Both secondaries end with the KSK and the new ZSK in the DNSKEY RRset, not the old one.
        ksk = [k["tag"] for k in st["keys"] if k["role"] == "ksk"]
        final = self.hw.ctl("dnssec", "status", ZONE)[1]["serial"]
        for peer in (self.knot, self.bind):
            peer.wait_serial(ZONE, final, timeout=30)
            self.assertEqual(self.served_dnskey_tags(peer.port), sorted(ksk + [new]), peer.kind)
        self.validates("the end")
        log = self.hw.log()
        self.assertIn(f"dnssec rollover: key {new} signs from now", log)
        self.assertIn(f"dnssec rollover: key {old} removed from the DNSKEY RRset", log)

    def test_2_a_stopped_secondary_holds_the_rollover_back(self):
        before = {t for t, s in self.zsks(self.status()).items() if s == "active"}
        self.knot.proc.stop()
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", ZONE, "zsk")
        self.assertEqual(rc, 0, stdout + stderr)
        # Longer than every timer of the zone: the successor stays published, waiting for Knot's address.
        time.sleep(8)
        st = self.status()
        zsks = self.zsks(st)
        successor = [t for t, s in zsks.items() if s == "published"]
        self.assertEqual(len(successor), 1, f"{zsks} {st['rollover']}")
        self.assertEqual({t for t, s in zsks.items() if s == "active"}, before)
        self.assertIn(f"waiting: {KNOT_SOURCE} serves", st["rollover"]["status"])
        self.assertNotIn(BIND_SOURCE, st["rollover"]["status"], self.hw.log()[-6000:] + self.bind.proc.log_tail(40))
        # A restart of Headwater empties its ledger (BIND, up to date, transfers nothing after it): the
        # secondaries are remembered with the serial they held, so Knot still holds the rollover back and
        # BIND does not.
        self.hw.stop()
        self.hw.start(timeout=60)
        time.sleep(5)
        st = self.status()
        self.assertEqual(self.zsks(st)[successor[0]], "published", f"{st['rollover']}\n{self.hw.log()[-4000:]}")
        self.assertIn(f"waiting: {KNOT_SOURCE} serves", st["rollover"]["status"])
        self.assertNotIn(BIND_SOURCE, st["rollover"]["status"])
        # Knot back (empty: it keeps no zone file here), it transfers the zone, and the rollover completes.
        self.knot.start()
        seen = {}
        self.roll(seen, lambda z: z.get(successor[0]) == "active" and all(
            z.get(t) == "removed" for t in before), timeout=90)


if __name__ == "__main__":
    hwtest.main()
