#!/usr/bin/python3
"""`headwaterctl reconfigure` and SIGHUP: the config read again and applied whole, or not at all.

One server, the tests run in name order and build on each other:
1. A zone added to the config is served after `reconfigure` (its response names it), the ones there
   before keep their serial and journal.
2. A changed ACL and a new TSIG key apply at once: an address left out of the ACL is refused, a key
   required by the new ACL lets the transfer through.
3. 1000 new zones with one broken file among them: reconfigure fails naming that file and line; none of
   the 1000 is served and everything served before still is.
3b. A zone whose file setting changed, in a reconfigure refused for another zone's file or for the new
   file's own serial: the running zone serves on, and nothing of the refused file reaches its history
   (restarted, it serves its own file's serial). With two such zones, the first of which loaded its new
   file before the second failed: the first is given back serving its own file.
4. A config with a syntax error, and one changing server.listen (a restart-only key): refused, saying
   what is wrong; nothing changes.
5. A zone removed stops being served (REFUSED); added back, it serves the same serial from its state.
6. SIGHUP applies the config too; zones reordered, one left out of the middle: only that one goes.
7. A NOTIFY target added by reconfigure gets a NOTIFY for the new zone.
8. [[zones_dir]] with a [[template]] and an include: a zone file dropped into the directory is served
   after reconfigure, with the template's ACL; a zone from an included file too.
9. Secondaries to verify given to a zone by reconfigure (with verify_interval and a new verify_key): `verify`
   checks them, and the periodic check runs for them.
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
import dns.opcode  # noqa: E402
import dns.rdatatype  # noqa: E402

SERIAL = 2026120501
KEY = hwtest.TsigKey("reconf-key")


def axfr_rcode(port, zone, source=hwtest.ADDR, key=None):
    q = dns.message.make_query(zone, dns.rdatatype.AXFR)
    if key:
        q.use_tsig(key.keyring(), keyname=key.dns_name, algorithm=key.wire_algorithm)
    r = dns.query.tcp(q, hwtest.ADDR, port=port, source=source, timeout=10)
    return r.rcode()


class ReconfigureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("reconfigure is Headwater's")
        cls.tmp = hwtest.tempdir("reconf-data")
        cls.files = {}
        for name in ("a.example.", "b.example.", "c.example."):
            cls.files[name] = hwtest.generate_zone(cls.tmp / f"{name}zone", name, 20, SERIAL)
        cls.hw = hwtest.Headwater([hwtest.ZoneConf("a.example.", cls.files["a.example."])],
                                  acl_networks=("127.0.0.0/8",))
        cls.hw.start()

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls)

    def set_zones(self, names, extra_toml=""):
        self.hw.zones = [hwtest.ZoneConf(n, self.files[n], notify=getattr(self, "notify_targets", {}).get(n, ()))
                         for n in names]
        for z in self.hw.zones:
            if not self.hw.zone_path(z.origin).exists():
                self.hw.zone_path(z.origin).write_text(z.source.read_text())
        self.hw.extra_toml = extra_toml
        self.hw.write_config()

    def reconfigure(self, ok=True):
        rc, doc, out, err = self.hw.ctl("reconfigure")
        if ok:
            self.assertEqual(rc, 0, out + err)
            self.assertTrue(doc and doc.get("ok"), out + err)
        else:
            self.assertEqual(rc, 1, out + err)
            self.assertFalse(doc.get("ok"), out)
        return doc

    def test_1_zone_added(self):
        self.assertIsNone(hwtest.soa_serial(self.hw.port, "b.example."))
        self.set_zones(["a.example.", "b.example."])
        doc = self.reconfigure()
        self.assertEqual(doc["added"], ["b.example."])
        self.assertEqual(doc["removed"], [])
        self.assertEqual(hwtest.soa_serial(self.hw.port, "b.example."), SERIAL)
        self.assertEqual(hwtest.soa_serial(self.hw.port, "a.example."), SERIAL)
        # Plain output for people.
        rc, _, out, _ = self.hw.ctl("reconfigure", json_output=False)
        self.assertEqual(rc, 0)
        self.assertIn("2 zone(s) served", out)

    def test_2_acl_and_key(self):
        self.assertEqual(axfr_rcode(self.hw.port, "a.example.", source=hwtest.OTHER_ADDR), dns.rcode.NOERROR)
        self.hw.acl_networks = ["127.0.0.1/32"]
        self.hw.keys = [KEY]
        self.hw.acls = [hwtest.AclConf("keyed", networks=["127.0.0.0/8"], keys=[KEY.name])]
        self.hw.zones = []
        self.set_zones(["a.example.", "b.example."])
        for z in self.hw.zones:
            z.allow_transfer = ["providers", "keyed"]
        self.hw.write_config()
        self.reconfigure()
        self.assertEqual(axfr_rcode(self.hw.port, "a.example.", source=hwtest.OTHER_ADDR), dns.rcode.REFUSED)
        self.assertEqual(axfr_rcode(self.hw.port, "a.example.", source=hwtest.OTHER_ADDR, key=KEY), dns.rcode.NOERROR)
        self.assertEqual(axfr_rcode(self.hw.port, "b.example."), dns.rcode.NOERROR)

    def test_3_one_broken_zone_among_1000_changes_nothing(self):
        zones_dir = self.hw.dir / "many"
        zones_dir.mkdir()
        lines = []
        for i in range(1000):
            name = f"z{i:04d}.many.example."
            text = (f"$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n"
                    f"www A 192.0.2.{i % 250 + 1}\n")
            if i == 617:
                text += "bad A 300.1.2.3\n"
            (zones_dir / f"{name}zone").write_text(text)
            lines += ["[[zone]]", f'name = "{name}"', f'file = "many/{name}zone"', 'allow_transfer = ["providers"]']
        before = self.hw.config_text()
        self.hw.config_path.write_text(before + "\n".join(lines) + "\n")
        doc = self.reconfigure(ok=False)
        self.assertIn("z0617.many.example.zone:6", doc["error"])
        self.assertIn("1 zone(s) do not load", doc["error"])
        self.assertIsNone(hwtest.soa_serial(self.hw.port, "z0001.many.example."))
        self.assertIsNone(hwtest.soa_serial(self.hw.port, "z0617.many.example."))
        self.assertEqual(hwtest.soa_serial(self.hw.port, "b.example."), SERIAL)
        _, status, _, _ = self.hw.ctl("status")
        self.assertEqual(len(status["zones"]), 2)
        # Fixed, the same 1000 go in at once.
        (zones_dir / "z0617.many.example.zone").write_text(
            "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n")
        started = time.monotonic()
        doc = self.reconfigure()
        print(f"\n[reconfigure] 1000 zones added in {time.monotonic() - started:.2f} s", file=sys.stderr)
        self.assertEqual(len(doc["added"]), 1000)
        self.assertEqual(hwtest.soa_serial(self.hw.port, "z0617.many.example."), 1)
        self.hw.config_path.write_text(before)
        doc = self.reconfigure()
        self.assertEqual(len(doc["removed"]), 1000)
        self.assertIsNone(hwtest.soa_serial(self.hw.port, "z0001.many.example."))

    def test_3b_refused_rebuild_leaves_the_zone_and_its_history(self):
        good = self.hw.config_path.read_text()
        self.assertEqual(good, self.hw.config_text())  # a restart below writes the same config
        moved = self.hw.dir / "b-moved.zone"
        hwtest.generate_zone(moved, "b.example.", 25, SERIAL + 5)
        (self.hw.dir / "broken.zone").write_text(
            "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nbad A 300.1.2.3\n")
        edited = good.replace('file = "zones/b.example.zone"', 'file = "b-moved.zone"')
        self.assertNotEqual(edited, good)
        # Another zone's file is broken: refused before the rebuilt zone's new file is journaled.
        self.hw.config_path.write_text(edited + '\n[[zone]]\nname = "broken.example"\nfile = "broken.zone"\n')
        doc = self.reconfigure(ok=False)
        self.assertIn("broken.zone:4", doc["error"])
        self.assertEqual(hwtest.soa_serial(self.hw.port, "b.example."), SERIAL)
        # The new file's serial went back: found only when the rebuilt zone opens on its history, last.
        hwtest.generate_zone(moved, "b.example.", 25, SERIAL - 1)
        self.hw.config_path.write_text(edited)
        doc = self.reconfigure(ok=False)
        self.assertIn("zone b.example.:", doc["error"])
        self.assertIn("backwards", doc["error"])
        self.assertEqual(hwtest.soa_serial(self.hw.port, "b.example."), SERIAL)
        # Two rebuilt zones: a's new file loads (and is journaled against a's history), then b's fails.
        # a is given back, serving its own file again, not the refused one.
        hwtest.generate_zone(self.hw.dir / "a-moved.zone", "a.example.", 25, SERIAL + 5)
        self.hw.config_path.write_text(edited.replace('file = "zones/a.example.zone"', 'file = "a-moved.zone"'))
        doc = self.reconfigure(ok=False)
        self.assertIn("zone b.example.:", doc["error"])
        for name in ("a.example.", "b.example."):
            self.assertEqual(hwtest.soa_serial(self.hw.port, name), SERIAL, name)
        # Restarted, each zone serves its own file, and still takes changes.
        self.hw.config_path.write_text(good)
        self.hw.stop()
        self.hw.start()
        for name in ("a.example.", "b.example."):
            self.assertEqual(hwtest.soa_serial(self.hw.port, name), SERIAL, name)
            _, status, _, _ = self.hw.ctl("status", name)
            zone = status["zones"][0]
            self.assertFalse(zone.get("last_error"), zone)
        hwtest.generate_zone(self.hw.zone_path("b.example."), "b.example.", 20, SERIAL + 1)
        rc, _, out, err = self.hw.ctl("reload", "b.example.")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(hwtest.soa_serial(self.hw.port, "b.example."), SERIAL + 1)
        hwtest.generate_zone(self.hw.zone_path("b.example."), "b.example.", 20, SERIAL)
        rc, _, out, err = self.hw.ctl("reload", "--force", "b.example.")
        self.assertEqual(rc, 0, out + err)

    def test_4_bad_configs_change_nothing(self):
        good = self.hw.config_path.read_text()
        self.hw.config_path.write_text(good + "\n[[zone]]\nname = \"c.example\"\nfile = \n")
        doc = self.reconfigure(ok=False)
        self.assertRegex(doc["error"], r"headwater\.toml:\d+:\d+:")
        self.hw.config_path.write_text(good.replace(f":{self.hw.port}", f":{hwtest.free_port()}") +
                                       f'\n[[zone]]\nname = "c.example"\nfile = "zones/c.example.zone"\n')
        (self.hw.dir / "zones" / "c.example.zone").write_text(self.files["c.example."].read_text())
        doc = self.reconfigure(ok=False)
        self.assertIn("need a restart: server.listen", doc["error"])
        self.assertIsNone(hwtest.soa_serial(self.hw.port, "c.example."))
        # What the running server cannot take on is said, never left unapplied in silence.
        self.hw.config_path.write_text(
            good.replace("[server]\n", f'[server]\nmetrics_listen = "127.0.0.1:{hwtest.free_port()}"\n', 1) +
            '\n[[alert]]\nurl = "http://127.0.0.1:9/hook"\n')
        doc = self.reconfigure(ok=False)
        self.assertIn("need a restart: server.metrics_listen, [[alert]]", doc["error"])
        self.hw.config_path.write_text(good)

    def test_5_removed_then_added_back(self):
        self.set_zones(["a.example."])
        doc = self.reconfigure()
        self.assertEqual(doc["removed"], ["b.example."])
        r = hwtest.query(self.hw.port, "b.example.", "SOA")
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)
        self.set_zones(["a.example.", "b.example."])
        doc = self.reconfigure()
        self.assertEqual(doc["added"], ["b.example."])
        self.assertEqual(hwtest.soa_serial(self.hw.port, "b.example."), SERIAL)

    def test_6_sighup(self):
        self.set_zones(["a.example.", "b.example.", "c.example."])
        self.hw.reload_signal()
        hwtest.wait_for(lambda: hwtest.soa_serial(self.hw.port, "c.example.") == SERIAL, 10, what="c served after HUP")

    def test_6b_reordered_and_one_removed_from_the_middle(self):
        """Zones are matched with the running ones by place first, then by name: a config whose zones
        moved keeps every running zone as it is (neither added nor rebuilt) and drops only the one
        left out."""
        self.set_zones(["c.example.", "a.example."])
        doc = self.reconfigure()
        self.assertEqual((doc["added"], doc["changed"], doc["removed"]), ([], [], ["b.example."]))
        self.assertEqual(hwtest.query(self.hw.port, "b.example.", "SOA").rcode(), dns.rcode.REFUSED)
        for name in ("a.example.", "c.example."):
            self.assertEqual(hwtest.soa_serial(self.hw.port, name), SERIAL)
        self.set_zones(["a.example.", "b.example.", "c.example."])
        doc = self.reconfigure()
        self.assertEqual((doc["added"], doc["changed"], doc["removed"]), (["b.example."], [], []))
        self.assertEqual(hwtest.soa_serial(self.hw.port, "b.example."), SERIAL)

    def test_7_notify_target_added(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
            listener.bind((hwtest.ADDR, 0))
            listener.settimeout(10)
            target = f"{hwtest.ADDR}:{listener.getsockname()[1]}"
            self.notify_targets = {"c.example.": [target]}
            self.set_zones(["a.example.", "b.example.", "c.example."])
            self.reconfigure()
            data, _ = listener.recvfrom(4096)
            m = dns.message.from_wire(data)
            self.assertEqual(m.opcode(), dns.opcode.NOTIFY)
            self.assertEqual(m.question[0].name.to_text(), "c.example.")

    def test_7b_sighup_keeps_the_notify_of_its_reload(self):
        """SIGHUP reloads the zones, then reconfigures: the NOTIFY the reload scheduled (notify_delay) must
        survive the reconfigure's new Notifier."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
            listener.bind((hwtest.ADDR, 0))
            listener.settimeout(10)
            self.notify_targets = {"c.example.": [f"{hwtest.ADDR}:{listener.getsockname()[1]}"]}
            self.set_zones(["a.example.", "b.example.", "c.example."])
            self.reconfigure()

            def next_notify_serial():
                """Answers the next NOTIFY (so it is not retried) and returns the serial its SOA carries."""
                data, sender = listener.recvfrom(4096)
                m = dns.message.from_wire(data)
                self.assertEqual(m.opcode(), dns.opcode.NOTIFY)
                self.assertEqual(m.question[0].name.to_text(), "c.example.")
                listener.sendto(dns.message.make_response(m).to_wire(), sender)
                return m.answer[0][0].serial if m.answer else None

            self.assertEqual(next_notify_serial(), SERIAL)  # the new target hears of what is served
            hwtest.generate_zone(self.hw.zone_path("c.example."), "c.example.", 20, SERIAL + 1)
            self.hw.reload_signal()
            self.assertEqual(next_notify_serial(), SERIAL + 1)
            self.assertEqual(hwtest.soa_serial(self.hw.port, "c.example."), SERIAL + 1)

    def test_8_zones_dir_template_include(self):
        d = self.hw.dir / "dropbox"
        d.mkdir()
        (self.hw.dir / "conf.d").mkdir()
        (self.hw.dir / "conf.d" / "extra.toml").write_text(
            '[[zone]]\nname = "inc.example"\nfile = "dropbox-inc.zone"\ntemplate = "standard"\n')
        (self.hw.dir / "dropbox-inc.zone").write_text(
            "$TTL 300\n@ SOA ns1 hostmaster 9 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n")
        self.set_zones(["a.example.", "b.example.", "c.example."],
                       extra_toml='[[template]]\nname = "standard"\nallow_transfer = ["keyed"]\n'
                                  '[[zones_dir]]\npath = "dropbox"\ntemplate = "standard"\n')
        self.hw.config_path.write_text('include = "conf.d/*.toml"\n' + self.hw.config_path.read_text())
        doc = self.reconfigure()
        self.assertEqual(doc["added"], ["inc.example."])
        (d / "dropped.example.zone").write_text(
            "$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n")
        doc = self.reconfigure()
        self.assertEqual(doc["added"], ["dropped.example."])
        self.assertEqual(hwtest.soa_serial(self.hw.port, "dropped.example."), 7)
        self.assertEqual(hwtest.soa_serial(self.hw.port, "inc.example."), 9)
        # The template's ACL: only the key opens it.
        self.assertEqual(axfr_rcode(self.hw.port, "dropped.example."), dns.rcode.REFUSED)
        self.assertEqual(axfr_rcode(self.hw.port, "dropped.example.", key=KEY), dns.rcode.NOERROR)

    def test_9_verification_follows_the_config(self):
        # The secondary: another Headwater serving the same file (it holds what is served, as a secondary
        # in sync would), its transfers open to the new key.
        key = hwtest.TsigKey("verify-key")
        peer = hwtest.Headwater([hwtest.ZoneConf("a.example.", self.hw.zone_path("a.example."))],
                                keys=[key], acl_networks=("127.0.0.0/8",))
        try:
            peer.start()
            secondary = f"{hwtest.ADDR}:{peer.port}"
            rc, doc, out, err = self.hw.ctl("verify", "a.example.")
            self.assertEqual(rc, 1, out + err)
            self.assertIn("no secondaries to check", doc["error"])
            self.hw.keys = [KEY, key]
            self.set_zones(["a.example.", "b.example.", "c.example."])
            self.hw.zones[0].notify_options.update(
                {"secondaries": [secondary], "verify_interval": "1s", "verify_key": key.name})
            self.hw.write_config()
            self.reconfigure()
            rc, doc, out, err = self.hw.ctl("verify", "a.example.")
            self.assertEqual(rc, 0, out + err)
            self.assertEqual([s["address"] for s in doc["secondaries"]], [secondary], doc)
            self.assertTrue(doc["in_sync"], doc)

            def scheduled():
                # The periodic check's entry (a manual verify records one too: wait for a newer one).
                _, d, _, _ = self.hw.ctl("secondaries", "a.example.")
                return [v for v in d.get("verification", []) if v.get("address") == secondary]

            first = scheduled()
            self.assertTrue(first, "the manual verify recorded nothing")
            hwtest.wait_for(lambda: scheduled() and scheduled()[0].get("at") != first[0].get("at"), 15,
                            interval=0.3, what="a periodic verification of the new secondary")
            self.assertTrue(scheduled()[0].get("in_sync"), scheduled())
        finally:
            peer.close()


if __name__ == "__main__":
    hwtest.main()
