#!/usr/bin/python3
"""A ZSK rollover timed by what the secondaries serve, with validation never broken.

Headwater signs roll.example. with a KSK and a ZSK (timers in seconds: DNSKEY TTL 2 s, every TTL of the
zone 2 s) and NOTIFYs a real Knot and a real BIND secondary, each transferring from an address of its own
(127.0.0.2, 127.0.0.3), so they are two secondaries in Headwater's ledger. unbound validates through the
two secondaries; its trust anchor is the DS of the parent zone example., which a second Headwater serves
signed, with the DS of roll.example. in it.

`headwaterctl dnssec rollover roll.example. zsk` starts a rollover: the successor is published, signs
once both secondaries serve its DNSKEY and the DNSKEY TTL has passed, and the old ZSK leaves once both
serve the zone re-signed and the zone's largest TTL has passed. unbound is asked all along (a name that
exists and a new name that does not, each time): every answer validates, none is SERVFAIL. At the end both
secondaries serve the KSK and the new ZSK only.

Then, with Knot stopped, a second rollover publishes its successor and stays there, `dnssec status` naming
the secondary it waits for, also across a restart of Headwater; once Knot is back and has transferred the
zone, the rollover completes.

CskRolloverTest rolls a CSK under a parent zone served by a second Headwater (see its docstring).
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
import dns.rdata  # noqa: E402
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


PARENT = "example."
PARENT_POLICY = """[[dnssec_policy]]
name = "parent"
keys = "csk"
dnskey_ttl = "2s"
"""


class ParentZone:
    """The parent zone example., signed by a second Headwater, delegating `child` with the DS records the
    test gives it (the registrar's copy): the trust anchor of the tests' unbound is the parent's DS, so the
    chain to the child runs through the DS served here."""

    def __init__(self, tmp, child):
        self.label = child[: -len(PARENT) - 1]
        self.serial = 1
        src = tmp / "example.zone"
        src.write_text(self.text([]))  # the DS is written once the child has its key
        self.hw = hwtest.Headwater([hwtest.ZoneConf(PARENT, src, notify_options={"dnssec_policy": "parent"})],
                                   acl_networks=("127.0.0.0/8",), extra_toml=PARENT_POLICY)
        self.port = self.hw.port
        self.path = self.hw.zone_path(PARENT)
        self.anchor = None

    def text(self, ds_lines):
        return (f"$TTL 2\n@ 2 IN SOA ns.example. hostmaster.example. {self.serial} 3600 600 1209600 2\n"
                f"@ NS ns\nns A 192.0.2.250\n{self.label} NS ns1.{self.label}\nns1.{self.label} A 192.0.2.53\n"
                + "".join(f"{self.label} 2 IN DS {d}\n" for d in ds_lines))

    def start(self, child_ds_line):
        """Serves the parent with the child's DS ("<child> IN DS ..." as `dnssec ds` gives it)."""
        self.path.write_text(self.text([child_ds_line.split(" DS ", 1)[1]]))
        self.hw.start(timeout=60)
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "ds", PARENT)
        assert rc == 0, stdout + stderr
        self.anchor = out["ds"][0]

    def publish(self, ds_lines):
        """The registrar: the DS RRset becomes `ds_lines` (RDATA text), and the parent is reloaded."""
        self.serial += 1
        self.path.write_text(self.text(ds_lines))
        rc, out, stdout, stderr = self.hw.ctl("reload", PARENT)
        assert rc == 0, stdout + stderr

    def close(self):
        self.hw.close()


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
        cls.parent = ParentZone(cls.dir, ZONE)
        cls.parent.start(out["ds"][0])
        d = cls.dir / "unbound"
        d.mkdir()
        cls.unbound = hwtest.Unbound(d, PARENT, [cls.parent.port], cls.parent.anchor,
                                     stubs={ZONE: [cls.knot.port, cls.bind.port]})
        cls.asked = 0

    @classmethod
    def tearDownClass(cls):
        cls.tmp = cls.dir
        extras = [getattr(cls, "unbound", None), getattr(cls, "parent", None)]
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
        for name, rcode in (("www.roll", dns.rcode.NOERROR), (f"nx{self.asked}.roll", dns.rcode.NXDOMAIN)):
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


CHILD = "csk.example."
CHILD_SERIAL = 2026120801

CHILD_TEXT = f"""$TTL 2
@   2 IN SOA hidden hostmaster {CHILD_SERIAL} 3600 600 1209600 2
@   NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.80
"""

CHILD_POLICY = """[[dnssec_policy]]
name = "csk-rolling"
keys = "csk"
dnskey_ttl = "2s"
propagation_delay = "1s"
ds_check_interval = "1s"
"""

class CskRolloverTest(unittest.TestCase):
    """A CSK rollover whose DS step is decided by the parent's servers.

    Headwater signs csk.example. with a CSK alone and NOTIFYs a Knot and a BIND secondary (from
    127.0.0.2 and 127.0.0.3); a second Headwater serves the signed parent zone example. with the child's DS
    and is the child's `parent`. unbound's trust anchor is the parent's DS: every answer about the child
    validates only through the DS the parent serves, the DNSKEY RRset the secondaries serve, and the
    signatures over the data. The test plays the registrar: when the child's CDS appears at the
    secondaries, it waits (the rollover must wait too, saying so), then replaces the DS in the parent zone
    and reloads it; the child sees it at the parent and removes the old CSK."""

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater()
        cls.dir = hwtest.tempdir("csk-rollover-interop")
        cls.knot = KnotFrom([CHILD], 0)
        cls.bind = BindFrom([CHILD], 0)
        cls.parent = ParentZone(cls.dir, CHILD)
        src = cls.dir / "csk.zone"
        src.write_text(CHILD_TEXT)
        zone = hwtest.ZoneConf(CHILD, src, notify=[f"127.0.0.1:{cls.knot.port}", f"127.0.0.1:{cls.bind.port}"],
                               notify_options={"dnssec_policy": "csk-rolling",
                                               "parent": [f"127.0.0.1:{cls.parent.port}"]})
        cls.hw = hwtest.Headwater([zone], acl_networks=("127.0.0.0/8",), extra_toml=CHILD_POLICY)
        cls.hw.start(timeout=60)
        for peer in (cls.knot, cls.bind):
            peer.primary_port = cls.hw.port
            peer.start()
        for peer in (cls.knot, cls.bind):
            peer.wait_serial(CHILD, CHILD_SERIAL)
        rc, out, stdout, stderr = cls.hw.ctl("dnssec", "ds", CHILD)
        assert rc == 0, stdout + stderr
        cls.parent.start(out["ds"][0])
        d = cls.dir / "unbound"
        d.mkdir()
        cls.unbound = hwtest.Unbound(d, PARENT, [cls.parent.port], cls.parent.anchor,
                                     stubs={CHILD: [cls.knot.port, cls.bind.port]})
        cls.asked = 0

    @classmethod
    def tearDownClass(cls):
        cls.tmp = cls.dir
        extras = [getattr(cls, "unbound", None), getattr(cls, "parent", None)]
        hwtest.close_class_fixture(cls, *extras, cls.knot, cls.bind)

    def status(self):
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "status", CHILD)
        self.assertEqual(rc, 0, stdout + stderr)
        return out

    def validates(self, context):
        CskRolloverTest.asked += 1
        for name, rcode in (("www.csk", dns.rcode.NOERROR), (f"nx{self.asked}.csk", dns.rcode.NXDOMAIN)):
            r = self.unbound.resolve(name, "A")
            self.assertEqual(r.rcode(), rcode, f"{name} during {context}:\n{r}\n{self.hw.log()[-4000:]}")
            self.assertTrue(r.flags & dns.flags.AD, f"{name} not validated during {context}:\n{r}")

    def served(self, port, rdtype):
        q = dns.message.make_query(CHILD, rdtype)
        return [rd for rrset in dns.query.udp(q, hwtest.ADDR, port=port, timeout=5).answer for rd in rrset
                if rrset.rdtype == dns.rdatatype.from_text(rdtype)]

    def publish_ds(self, cds):
        """The registrar: the parent's DS RRset becomes what the CDS says."""
        self.parent.publish([rd.to_text() for rd in cds])

    def test_a_csk_rollover_follows_the_parent_and_keeps_validating(self):
        self.validates("the start")
        keys = self.status()["keys"]
        self.assertEqual([k["role"] for k in keys], ["csk"])
        old = keys[0]["tag"]
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", CHILD, "ksk")
        self.assertNotEqual(rc, 0, "a CSK zone has no KSK: the role must be csk")
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", CHILD, "csk")
        self.assertEqual(rc, 0, stdout + stderr)
        seen = {}
        registrar_done = False
        cds_since = None
        deadline = time.monotonic() + 120
        while True:
            st = self.status()
            states = {k["tag"]: k["state"] + ("+cds" if k.get("cds") else "") for k in st["keys"]}
            for tag, state in states.items():
                if not seen.get(tag) or seen[tag][-1] != state:
                    seen.setdefault(tag, []).append(state)
            self.validates(f"keys {states}, rollover: {st['rollover']}")
            if states.get(old) == "removed":
                break
            new = [t for t in states if t != old]
            cds = self.served(self.knot.port, "CDS") if new else []
            if cds and not registrar_done:
                if cds_since is None:
                    cds_since = time.monotonic()
                elif time.monotonic() - cds_since > 6:
                    # Every other timer has run out: only the parent holds the old key now.
                    self.assertEqual(states[old], "retired", st)
                    self.assertIn(f"waiting: the parent's DS for key {new[0]}", st["rollover"]["status"])
                    self.assertIn(f"serves DS {old}", st["rollover"]["status"])
                    self.assertEqual(sorted(dns.dnssec.key_id(rd) for rd in self.served(self.knot.port, "CDNSKEY")),
                                     new)
                    self.publish_ds(cds)
                    registrar_done = True
            if time.monotonic() > deadline:
                self.fail(f"rollover stuck: {states}, {st['rollover']}\n{self.hw.log()[-4000:]}")
            time.sleep(0.25)
        self.assertTrue(registrar_done, seen)
        new = [t for t in seen if t != old]
        self.assertEqual(len(new), 1, seen)
        new = new[0]
        # The successor signs from its start, gets its CDS, then loses it when the old key leaves; the old
        # key goes active -> retired (signing the DNSKEY RRset only) -> removed.
        self.assertEqual(seen[new], ["active", "active+cds", "active"], seen)
        self.assertEqual(seen[old], ["active", "retired", "removed"], seen)
        final = self.status()["serial"]
        for peer in (self.knot, self.bind):
            peer.wait_serial(CHILD, final, timeout=30)
            self.assertEqual([dns.dnssec.key_id(rd) for rd in self.served(peer.port, "DNSKEY")], [new], peer.kind)
            self.assertEqual(self.served(peer.port, "CDS"), [], peer.kind)
        self.validates("the end")
        log = self.hw.log()
        self.assertIn("the parent servers serve DS for key(s)", log)
        self.assertIn(f"dnssec rollover: key {old} removed from the DNSKEY RRset", log)
        CskRolloverTest.rolled = (old, new)

    def test_b_verify_checks_the_parents_ds(self):
        """`verify --delegation`: the DS the parent serves names the key that signs the DNSKEY RRset; a DS
        left for the removed key alone is reported as breaking the chain."""
        old, new = getattr(self, "rolled", (None, None))
        if new is None:
            self.skipTest("the rollover did not complete")
        rc, out, stdout, stderr = self.hw.ctl("verify", "--delegation", CHILD)
        self.assertEqual(rc, 0, stdout + stderr)
        (parent,) = out["delegation"]["parents"]
        self.assertEqual(parent["ds"]["matching"], [new], parent)
        self.assertTrue(parent["ds"]["ok"])
        rc, _, stdout, stderr = self.hw.ctl("verify", "--delegation", CHILD, json_output=False)
        self.assertIn(f"ok {new}", stdout)
        # A DS that dnspython computes from the DNSKEY Knot serves (a digest made independently) is
        # accepted; one naming the removed key alone breaks the chain, and verify says why.
        key = self.served(self.knot.port, "DNSKEY")[0]
        self.publish_ds([dns.dnssec.make_ds(CHILD, key, "SHA384")])
        rc, out, stdout, stderr = self.hw.ctl("verify", "--delegation", CHILD)
        self.assertEqual(rc, 0, stdout + stderr)
        stale = dns.rdata.from_text("IN", "DS", f"{old} 13 2 " + "00" * 32)
        self.publish_ds([stale])
        rc, out, stdout, stderr = self.hw.ctl("verify", "--delegation", CHILD)
        self.assertEqual(rc, 1, stdout + stderr)
        (parent,) = out["delegation"]["parents"]
        self.assertFalse(parent["ds"]["ok"])
        self.assertEqual(parent["ds"]["served"], [old])
        self.assertTrue(any("matches no key that signs the DNSKEY RRset" in p for p in parent["problems"]), parent)


if __name__ == "__main__":
    hwtest.main()
