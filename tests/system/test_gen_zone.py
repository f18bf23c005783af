#!/usr/bin/python3
"""The zone generator (tests/data/gen_zone.py) and the bundled zones, checked by other parsers.

ldns (Headwater's parser), BIND's named-checkzone and dnspython must accept the output and agree
on every record; the output must be deterministic and have exactly --records records.
"""

import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.rdatatype  # noqa: E402
import dns.zone  # noqa: E402

GEN = hwtest.DATA / "gen_zone.py"


def gen(*args):
    p = subprocess.run([hwtest.PYTHON, str(GEN), *args], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    return p.stdout


class GenZoneTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = hwtest.tempdir("gen")
        cls.all_text = gen("--origin", "example.com.", "--records", "300", "--serial", "42", "--all-types")
        cls.all_path = cls.tmp / "all.zone"
        cls.all_path.write_text(cls.all_text)
        cls.mix_path = cls.tmp / "mix.zone"
        cls.mix_path.write_text(gen("--origin", "mix.example", "--records", "5000", "--serial", "1"))

    @classmethod
    def tearDownClass(cls):
        hwtest.cleanup_dir(cls.tmp)

    def ldns_rrs(self, path, origin):
        ldns = hwtest.require_tool("ldns-read-zone")
        p = subprocess.run([ldns, str(path)], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        z = dns.zone.from_text(p.stdout, origin=origin, relativize=False)
        return list(z.iterate_rdatas())

    def named_checkzone(self, origin, path):
        tool = hwtest.require_tool("named-checkzone")
        # -i none: no integrity checks (they would look up out-of-zone names with the system resolver).
        p = subprocess.run([tool, "-i", "none", origin, str(path)], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_exact_count_and_deterministic(self):
        for n in (20, 1000, 5000):
            with self.subTest(records=n):
                text = gen("--origin", "count.example.", "--records", str(n), "--serial", "9")
                z = dns.zone.from_text(text, origin="count.example.", relativize=False)
                self.assertEqual(len(list(z.iterate_rdatas())), n)
                self.assertEqual(text, gen("--origin", "count.example.", "--records", str(n), "--serial", "9"))
        a = gen("--origin", "x.example", "--records", "500", "--serial", "1").splitlines()
        b = gen("--origin", "x.example", "--records", "500", "--serial", "2").splitlines()
        self.assertEqual([i for i, (x, y) in enumerate(zip(a, b)) if x != y], [4], "serial changes one line only")

    def test_all_types_has_every_type(self):
        z = dns.zone.from_text(self.all_text, origin="example.com.", relativize=False)
        rrs = list(z.iterate_rdatas())
        self.assertEqual(len(rrs), 300)
        types = {dns.rdatatype.to_text(rd.rdtype) for _, _, rd in rrs}
        self.assertEqual(set(hwtest.gen_zone.ALL_TYPES) - types, set())
        self.assertIn("TYPE65280", types)
        names = {n.to_text() for n, _, _ in rrs}
        self.assertIn("*.wild.example.com.", names)
        self.assertNotIn("ent.example.com.", {n.lower() for n in names})  # empty non-terminal
        self.assertIn("host.sub.ent.example.com.", names)
        self.assertTrue(any(n != n.lower() for n in names), "no mixed-case owner")
        z.verify_digest()  # ZONEMD (RFC 8976) is correct

    def test_ldns_agrees_with_dnspython(self):
        for path, origin in ((self.all_path, "example.com."), (self.mix_path, "mix.example.")):
            with self.subTest(zone=origin):
                exp = hwtest.canon_set(hwtest.zone_file_rrs(path, origin))
                got = hwtest.canon_set(self.ldns_rrs(path, origin))
                self.assertEqual(got, exp, hwtest.describe_diff(exp, got))

    def test_named_checkzone_accepts(self):
        out = self.named_checkzone("example.com", self.all_path)
        self.assertIn("loaded serial 42", out)
        self.named_checkzone("mix.example", self.mix_path)

    def test_bundled_example_zones(self):
        for name in ("example.com.zone.v1", "example.com.zone.v2"):
            with self.subTest(file=name):
                path = hwtest.DATA / name
                self.named_checkzone("example.com", path)
                exp = hwtest.canon_set(hwtest.zone_file_rrs(path, "example.com."))
                self.assertEqual(hwtest.canon_set(self.ldns_rrs(path, "example.com.")), exp)
        broken = hwtest.DATA / "example.com.zone.broken"
        ldns = hwtest.require_tool("ldns-read-zone")
        p = subprocess.run([ldns, str(broken)], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("line 26", p.stderr + p.stdout)


if __name__ == "__main__":
    hwtest.main()
