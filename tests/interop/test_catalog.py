#!/usr/bin/python3
"""Catalog zones (RFC 9432, producer side): Knot 3.2 and BIND 9.18 consume a catalog Headwater generates.

Headwater serves three member zones and `catalog.invalid.` ([[catalog]], NOTIFY to both consumers);
a.example. and b.example. are members at first, b.example. with catalog_group "grp". Knot interprets the
catalog (catalog-role: interpret) with two templates: `member` (the default) and `grp`, whose primary is
reached from 127.0.0.3, so Headwater's transfer log shows which template Knot chose for each member.
BIND consumes it with catalog-zones (BIND 9.18 has no group templates: it ignores the property).

The tests share the servers and run in name order:
1. Both consumers serve a.example. and b.example.; Knot transferred b.example. from 127.0.0.3 (its group
   template) and a.example. from 127.0.0.1.
2. A restart of Headwater with the same config keeps the catalog's serial and every member ID.
3. c.example. joins and b.example. leaves the config; `headwaterctl reconfigure`: both consumers serve
   c.example. and drop b.example. within seconds (times printed); a.example. keeps its member ID.
"""

import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.rdatatype  # noqa: E402

CATALOG = "catalog.invalid."
GROUP_VIA = "127.0.0.3"
BUDGET = 30.0  # seconds for a consumer to act on a catalog change (BIND waits min-update-interval)


class KnotConsumer(hwtest.KnotSecondary):
    """Knot interpreting the catalog: members get the `member` template, group "grp" the `grp` one."""

    def write_config(self):
        super().write_config()
        d = self.dir
        (d / "db").mkdir(exist_ok=True)  # the catalog database lives there; knotd 3.2 dies without it
        member = (f"    storage: {d / 'zones'}\n    zonefile-sync: -1\n    zonefile-load: none\n"
                  "    journal-content: none\n    semantic-checks: off\n    acl: local\n")
        self.edit_config(
            ("remote:\n", f"remote:\n  - id: primary-grp\n    address: {self.primary_addr}@{self.primary_port}\n"
                          f"    via: {GROUP_VIA}\n"),
            ("zone:\n", f"  - id: member\n{member}    master: primary\n"
                        f"  - id: grp\n{member}    master: primary-grp\nzone:\n"),
            (f"  - domain: {CATALOG}\n", f"  - domain: {CATALOG}\n    catalog-role: interpret\n"
                                         "    catalog-template: [member, grp]\n"))


class BindConsumer(hwtest.BindSecondary):
    """named with a catalog-zones clause for the catalog."""

    def write_config(self):
        super().write_config()
        self.edit_config(("    recursion no;\n",
                          "    recursion no;\n    allow-new-zones yes;\n"
                          f'    catalog-zones {{ zone "{CATALOG}" default-primaries port {self.primary_port} '
                          f"{{ {self.primary_addr}; }} min-update-interval 1; }};\n"))


def member_ids(port):
    """{member zone: ID} from an AXFR of the catalog, and the catalog's serial."""
    rrs = hwtest.xfr_rrs(hwtest.axfr(port, CATALOG))
    ids = {}
    serial = None
    for name, _, rd in rrs:
        labels = name.to_text().split(".")
        if rd.rdtype == dns.rdatatype.PTR and len(labels) == 5 and labels[1] == "zones":
            ids[rd.target.to_text()] = labels[0]
        if rd.rdtype == dns.rdatatype.SOA:
            serial = rd.serial
    return ids, serial


class CatalogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("catalog zones are Headwater's")
        cls.peers = {}
        cls.tmp = hwtest.tempdir("catalog")
        try:
            cls.zones = {}
            for name in ("a.example.", "b.example.", "c.example."):
                path = cls.tmp / f"{name}zone"
                hwtest.generate_zone(path, name, 20, 2026120501)
                cls.zones[name] = path
            cls.consumers = {"knot": KnotConsumer, "bind": BindConsumer}
            names, cls.missing = hwtest.available_peers({"knot": hwtest.KnotSecondary, "bind": hwtest.BindSecondary})
            # The consumers' ports must be known before Headwater's config names them as NOTIFY targets.
            cls.hw = hwtest.Headwater([], acl_networks=("127.0.0.0/8",))
            for n in names:
                cls.peers[n] = cls.consumers[n]([CATALOG], cls.hw.port)
            cls.set_members({"a.example.": "", "b.example.": "grp"}, extra=["c.example."])
            cls.hw.start(wait=False)
            hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, CATALOG) is not None, 30, what="catalog served")
            for p in cls.peers.values():
                p.start()
        except BaseException:
            hwtest.close_class_fixture(cls)
            raise

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls)

    @classmethod
    def set_members(cls, members, extra=()):
        """Headwater's zones: `members` ({zone: group}) in the catalog, `extra` outside it."""
        notify = [f"{hwtest.ADDR}:{p.port}" for p in cls.peers.values()]
        zones = []
        for name, group in members.items():
            options = {"catalog": CATALOG}
            if group:
                options["catalog_group"] = group
            zones.append(hwtest.ZoneConf(name, cls.zones[name], notify_options=options))
        zones += [hwtest.ZoneConf(name, cls.zones[name]) for name in extra]
        cls.hw.zones = zones
        for z in zones:
            if not cls.hw.zone_path(z.origin).exists():
                cls.hw.zone_path(z.origin).write_text(z.source.read_text())
        cls.hw.extra_toml = (f'[[catalog]]\nname = "{CATALOG}"\nallow_transfer = ["providers"]\n'
                             f"notify = [{', '.join(hwtest.toml_str(n) for n in notify)}]\n")

    def restart(self):
        self.hw.stop()
        self.hw.start()

    def wait_served(self, zone, served=True):
        for name, p in self.peers.items():
            def ok(p=p):
                if not p.proc.alive():
                    raise AssertionError(f"{name} exited:\n{p.proc.log_tail()}")
                return (p.serial(zone) is not None) == served
            try:
                hwtest.wait_for(ok, BUDGET, interval=0.3, what=f"{name} {'serving' if served else 'dropping'} {zone}")
            except AssertionError as e:
                raise AssertionError(f"{e}\n--- {name} log ---\n{p.proc.log_tail(40)}") from None

    def setUp(self):
        if not self.peers:
            self.skipTest(f"no consumer installed: {self.missing}")

    def test_1_consumers_serve_members(self):
        for zone in ("a.example.", "b.example."):
            self.wait_served(zone)
        self.assertIsNone(next(iter(self.peers.values())).serial("c.example."), "c.example. is not a member")
        if "knot" in self.peers:
            log = self.hw.log()
            b = hwtest.transfer_log(log, "b.example.", outcome="ok")
            a = hwtest.transfer_log(log, "a.example.", outcome="ok")
            self.assertTrue(any(t["peer"].startswith(GROUP_VIA + "#") for t in b), f"group template unused: {b}")
            self.assertFalse(any(t["peer"].startswith(GROUP_VIA + "#") for t in a), f"default template: {a}")

    def test_2_restart_keeps_ids_and_serial(self):
        before = member_ids(self.hw.port)
        self.assertEqual(set(before[0]), {"a.example.", "b.example."})
        self.restart()
        self.assertEqual(member_ids(self.hw.port), before)

    def test_3_member_added_and_removed(self):
        ids_before, serial_before = member_ids(self.hw.port)
        self.set_members({"a.example.": "", "c.example.": ""})
        self.hw.write_config()
        started = time.monotonic()
        rc, doc, out, err = self.hw.ctl("reconfigure")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(doc["added"], [])  # c.example. was served already, outside the catalog
        self.assertEqual(doc["removed"], ["b.example."])
        ids, serial = member_ids(self.hw.port)
        self.assertEqual(set(ids), {"a.example.", "c.example."})
        self.assertEqual(ids["a.example."], ids_before["a.example."])
        self.assertEqual(serial, serial_before + 1)
        self.wait_served("c.example.")
        print(f"\n[catalog] c.example. served by {', '.join(self.peers)} {time.monotonic() - started:.1f} s "
              "after reconfigure", file=sys.stderr)
        self.wait_served("b.example.", served=False)
        print(f"[catalog] b.example. dropped {time.monotonic() - started:.1f} s after reconfigure", file=sys.stderr)
        self.wait_served("a.example.")


if __name__ == "__main__":
    hwtest.main()
