#!/usr/bin/python3
"""`headwaterctl bump` and `headwaterctl journal` against the real server: a bump serves the next serial,
records an SOA-only change that an IXFR delivers, and writes the serial into the zone file in place (only
that token changes), so a later reload of the file is consistent. The journal lists the history."""

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_ixfr  # noqa: E402  (reuses its IXFR reader and classifier)

ZONE = test_ixfr.ZONE


class BumpTest(unittest.TestCase):
    def setUp(self):
        hwtest.require_headwater()
        self.hw = hwtest.Headwater([hwtest.ZoneConf(ZONE, test_ixfr.VERSIONS[1])])
        self.hw.start()
        self.path = Path(self.hw.zone_path(ZONE))
        self.original = self.path.read_text()

    def tearDown(self):
        self.hw.close()

    def serial(self):
        return hwtest.soa_serial(self.hw.port, ZONE)

    def test_bump_serves_journals_and_rewrites_the_file(self):
        s1 = test_ixfr.SERIALS[1]
        rc, out, stdout, stderr = self.hw.ctl("bump", ZONE)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertEqual(out["old_serial"], s1)
        self.assertEqual(out["serial"], s1 + 1)
        self.assertEqual(self.serial(), s1 + 1)

        # Only the serial token changed in the file.
        text = self.path.read_text()
        self.assertEqual(text.replace(str(s1 + 1), str(s1), 1), self.original)

        # The SOA-only change is in the history and an IXFR delivers it.
        rrs = test_ixfr.ixfr_tcp(self.hw.port, s1)
        self.assertEqual(test_ixfr.classify(rrs), "ixfr")
        self.assertEqual(len(rrs), 4)  # new SOA, old SOA, new SOA, new SOA: nothing else changed

        # A reload of the rewritten file changes nothing.
        rc, out, stdout, stderr = self.hw.ctl("reload", ZONE)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertEqual(out["zones"][0]["outcome"], "unchanged")

        rc, out, stdout, _ = self.hw.ctl("journal", ZONE)
        self.assertEqual(rc, 0)
        self.assertEqual([(e["from"], e["to"], e["removed"], e["added"]) for e in out["entries"]],
                         [(s1, s1 + 1, 0, 0)])
        self.assertEqual(out["ixfr_from"], s1)
        rc, _, text_out, _ = self.hw.ctl("journal", ZONE, json_output=False)
        self.assertEqual(rc, 0)
        self.assertRegex(text_out, r"FROM\s+TO\s+WHEN\s+REMOVED\s+ADDED\s+BYTES")
        self.assertIn(f"{s1}  {s1 + 1}", text_out)

    def test_bump_set_and_policy(self):
        s1 = test_ixfr.SERIALS[1]
        rc, out, stdout, stderr = self.hw.ctl("bump", ZONE, "--set", s1 + 100)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertEqual(self.serial(), s1 + 100)
        self.assertIn(str(s1 + 100), self.path.read_text())

        rc, out, stdout, stderr = self.hw.ctl("bump", ZONE, "--set", s1)  # older: refused
        self.assertEqual(rc, 1)
        self.assertFalse(out["ok"])
        self.assertEqual(self.serial(), s1 + 100)

        rc, out, stdout, stderr = self.hw.ctl("bump", ZONE, "--policy", "unixtime")
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertGreater(out["serial"], s1 + 100)
        self.assertEqual(self.serial(), out["serial"])

        rc, out, stdout, stderr = self.hw.ctl("bump", ZONE, "--policy", "sometimes")
        self.assertEqual(rc, 1)
        self.assertIn("unknown serial policy", out["error"])
        rc, _, stdout, stderr = self.hw.ctl("bump", json_output=False)  # no zone
        self.assertEqual(rc, 2, stdout + stderr)

    def test_edit_after_bump_is_bumped_again(self):
        s1 = test_ixfr.SERIALS[1]
        self.assertEqual(self.hw.ctl("bump", ZONE)[0], 0)
        # The operator edits a record without touching the (rewritten) serial.
        text = self.path.read_text()
        self.path.write_text(text + "\nadded-by-hand 300 IN A 192.0.2.250\n")
        rc, out, stdout, stderr = self.hw.ctl("reload", ZONE)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertEqual(out["zones"][0]["outcome"], "updated")
        self.assertEqual(self.serial(), s1 + 2)
        self.assertIn("serial_policy", out["zones"][0].get("note", ""))
        r = hwtest.query(self.hw.port, "added-by-hand." + ZONE, "A")
        self.assertEqual(len(r.answer), 1)


if __name__ == "__main__":
    hwtest.main()
