#!/usr/bin/python3
"""Catalog zones (RFC 9432 version 2) as Headwater generates and serves them, checked with dnspython.

Two catalogs, cat-a.invalid. and cat-b.invalid.; member zones m1..m3.example.
1. The generated catalog has exactly the records RFC 9432 §4 asks for: SOA, NS invalid., version TXT "2",
   one PTR per member under zones., a group TXT for the member with catalog_group; the ACL applies (a
   client outside it is refused) and a TSIG-only catalog is transferred with the key.
2. A restart with the same config keeps the serial and the IDs (the ID file in state_dir is the record).
3. m2 moves from cat-a to cat-b and m3 leaves: cat-a gets the next serial, keeps m2 with a coo property
   naming cat-b (§5.1), drops m3; an IXFR from the old serial carries exactly that difference; cat-b
   lists m2 under an ID of its own.
3b. By reconfigure: a member added (the catalogs move one place down: still the running ones), then a
   catalog's name turned into an ordinary zone (the catalog is replaced, not served beside it).
4. A malformed ID file stops start-up with a message naming the file and line.
"""

import subprocess
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
import dns.rdatatype  # noqa: E402

CAT_A = "cat-a.invalid."
CAT_B = "cat-b.invalid."
KEY = hwtest.TsigKey("cat-key", "hmac-sha256")


def catalog_rrs(port, catalog, key=None):
    """{(owner, type): set of rdata texts} of an AXFR of `catalog`."""
    out = {}
    kw = {"keyring": KEY.keyring(), "keyname": KEY.dns_name, "keyalgorithm": KEY.wire_algorithm} if key else {}
    for m in dns.query.xfr(hwtest.ADDR, catalog, port=port, timeout=10, lifetime=10, relativize=False, **kw):
        for rrset in m.answer:
            for rd in rrset:
                out.setdefault((rrset.name.to_text(), dns.rdatatype.to_text(rd.rdtype)), set()).add(rd.to_text())
    return out


def members(rrs, catalog):
    """{member: id} and {id: {property: value}} from catalog_rrs."""
    ids, props = {}, {}
    for (owner, rtype), values in rrs.items():
        labels = owner[: -len(catalog)].rstrip(".").split(".")
        if rtype == "PTR" and len(labels) == 2 and labels[1] == "zones":
            ids[next(iter(values))] = labels[0]
        elif len(labels) == 3 and labels[2] == "zones":
            props.setdefault(labels[1], {})[labels[0]] = next(iter(values))
    return ids, props


class CatalogSystemTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("catalog zones are Headwater's")
        cls.tmp = hwtest.tempdir("catalog-sys")
        cls.files = {}
        for name in ("m1.example.", "m2.example.", "m3.example."):
            cls.files[name] = hwtest.generate_zone(cls.tmp / f"{name}zone", name, 20, 2026120501)
        cls.hw = hwtest.Headwater([], keys=[KEY], acls=[hwtest.AclConf("keyed", keys=[KEY.name])])
        cls.configure({"m1.example.": (CAT_A, ""), "m2.example.": (CAT_A, "grp"), "m3.example.": (CAT_A, "")})
        cls.hw.start()

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls)

    @classmethod
    def configure(cls, layout):
        zones = []
        for name, (catalog, group) in layout.items():
            options = {"catalog": catalog}
            if group:
                options["catalog_group"] = group
            zones.append(hwtest.ZoneConf(name, cls.files[name], notify_options=options))
        cls.hw.zones = zones
        for z in zones:
            cls.hw.zone_path(z.origin).write_text(z.source.read_text())
        cls.hw.extra_toml = (f'[[catalog]]\nname = "{CAT_A}"\nallow_transfer = ["providers"]\n'
                             f'[[catalog]]\nname = "{CAT_B}"\nallow_transfer = ["keyed"]\n')

    def restart(self):
        self.hw.stop()
        self.hw.start()

    def test_1_generated_records_and_access(self):
        rrs = catalog_rrs(self.hw.port, CAT_A)
        self.assertEqual(rrs[(CAT_A, "NS")], {"invalid."})
        self.assertEqual(rrs[("version." + CAT_A, "TXT")], {'"2"'})
        ids, props = members(rrs, CAT_A)
        self.assertEqual(set(ids), {"m1.example.", "m2.example.", "m3.example."})
        self.assertEqual(len(set(ids.values())), 3, "IDs are unique")
        self.assertEqual(props, {ids["m2.example."]: {"group": '"grp"'}})
        self.assertEqual(len(rrs), 3 + 3 + 1, sorted(rrs))  # SOA NS version, 3 PTR, 1 group
        # Outside the ACL: refused.
        q = dns.message.make_query(CAT_A, dns.rdatatype.AXFR)
        r = dns.query.tcp(q, hwtest.ADDR, port=self.hw.port, source=hwtest.OTHER_ADDR, timeout=5)
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)
        # A catalog needing TSIG: refused without the key, transferred with it (empty: no member yet).
        r = dns.query.tcp(dns.message.make_query(CAT_B, dns.rdatatype.AXFR), hwtest.ADDR, port=self.hw.port,
                          timeout=5)
        self.assertNotEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(members(catalog_rrs(self.hw.port, CAT_B, key=True), CAT_B)[0], {})

    def test_2_restart_keeps_serial_and_ids(self):
        before = catalog_rrs(self.hw.port, CAT_A)
        ids_file = self.hw.dir / "state" / "catalogs" / f"{CAT_A}ids"
        self.assertEqual(len(ids_file.read_text().splitlines()), 3)
        self.restart()
        self.assertEqual(catalog_rrs(self.hw.port, CAT_A), before)

    def test_3_move_and_remove(self):
        old = catalog_rrs(self.hw.port, CAT_A)
        old_serial = next(int(s.split()[2]) for s in old[(CAT_A, "SOA")])
        old_ids, _ = members(old, CAT_A)
        self.configure({"m1.example.": (CAT_A, ""), "m2.example.": (CAT_B, "")})
        self.restart()
        new = catalog_rrs(self.hw.port, CAT_A)
        new_serial = next(int(s.split()[2]) for s in new[(CAT_A, "SOA")])
        self.assertEqual(new_serial, old_serial + 1)
        ids, props = members(new, CAT_A)
        self.assertEqual(ids, {"m1.example.": old_ids["m1.example."], "m2.example.": old_ids["m2.example."]})
        self.assertEqual(props, {old_ids["m2.example."]: {"coo": CAT_B}})
        b_ids, _ = members(catalog_rrs(self.hw.port, CAT_B, key=True), CAT_B)
        self.assertEqual(set(b_ids), {"m2.example."})
        # The change is in the journal: an IXFR from the old serial has exactly the difference.
        added, removed, section = set(), set(), None
        msgs = dns.query.xfr(hwtest.ADDR, CAT_A, rdtype=dns.rdatatype.IXFR, serial=old_serial, port=self.hw.port,
                             timeout=10, lifetime=10, relativize=False)
        soas = 0
        for m in msgs:
            for rrset in m.answer:
                for rd in rrset:
                    if rd.rdtype == dns.rdatatype.SOA:
                        soas += 1
                        section = "removed" if soas % 2 == 0 else "added"
                        continue
                    (removed if section == "removed" else added).add((rrset.name.to_text(), rd.to_text()))
        self.assertGreaterEqual(soas, 4, "an incremental answer")
        oid = old_ids
        self.assertEqual(removed, {(f"{oid['m3.example.']}.zones.{CAT_A}", "m3.example."),
                                   (f"group.{oid['m2.example.']}.zones.{CAT_A}", '"grp"')})
        self.assertEqual(added, {(f"coo.{oid['m2.example.']}.zones.{CAT_A}", CAT_B)})

    def test_3b_reconfigure_adds_a_member_and_turns_a_catalog_into_a_zone(self):
        """A member added by reconfigure moves the catalogs one place down the zone list: they are still
        the running catalogs (reloaded, not rebuilt). Then a catalog's name becomes an ordinary zone past
        the members: the running catalog is replaced (changed), not served beside a new zone."""
        serial = next(int(s.split()[2]) for s in catalog_rrs(self.hw.port, CAT_A)[(CAT_A, "SOA")])
        self.configure({"m1.example.": (CAT_A, ""), "m2.example.": (CAT_B, ""), "m3.example.": (CAT_A, "")})
        self.hw.write_config()
        rc, doc, out, err = self.hw.ctl("reconfigure")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual((doc["added"], doc["changed"], doc["removed"]), (["m3.example."], [], []))
        rrs = catalog_rrs(self.hw.port, CAT_A)
        self.assertEqual(next(int(s.split()[2]) for s in rrs[(CAT_A, "SOA")]), serial + 1)
        self.assertIn("m3.example.", members(rrs, CAT_A)[0])

        self.files[CAT_B] = hwtest.generate_zone(self.tmp / f"{CAT_B}zone", CAT_B, 5, 7)
        self.configure({"m1.example.": (CAT_A, ""), "m2.example.": (CAT_A, ""), "m3.example.": (CAT_A, "")})
        self.hw.zones.append(hwtest.ZoneConf(CAT_B, self.files[CAT_B]))
        self.hw.zone_path(CAT_B).write_text(self.files[CAT_B].read_text())
        self.hw.extra_toml = f'[[catalog]]\nname = "{CAT_A}"\nallow_transfer = ["providers"]\n'
        self.hw.write_config()
        rc, doc, out, err = self.hw.ctl("reconfigure")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual((doc["added"], doc["changed"], doc["removed"]), ([], [CAT_B], []))
        self.assertEqual(hwtest.soa_serial(self.hw.port, CAT_B), 7)

    def test_4_malformed_id_file(self):
        tmp = hwtest.tempdir("catalog-sys-bad")
        try:
            (tmp / "state" / "catalogs").mkdir(parents=True)
            (tmp / "state" / "catalogs" / f"{CAT_A}ids").write_text("m1.example. 01 listed\nm2.example. 01 gone\n")
            (tmp / "m1.zone").write_text(self.files["m1.example."].read_text())
            conf = tmp / "headwater.toml"
            conf.write_text(f'[server]\nlisten = ["127.0.0.1:{hwtest.free_port()}"]\nstate_dir = "state"\n'
                            'control_socket = "hw.sock"\n'
                            f'[[catalog]]\nname = "{CAT_A}"\n[[zone]]\nname = "m1.example"\nfile = "m1.zone"\n'
                            f'catalog = "{CAT_A}"\n')
            p = subprocess.run([hwtest.headwater_bin(), "--config", str(conf)], capture_output=True, text=True,
                               timeout=30)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(f"{CAT_A}ids:2: expected", p.stdout + p.stderr)
        finally:
            hwtest.cleanup_dir(tmp)


if __name__ == "__main__":
    hwtest.main()
