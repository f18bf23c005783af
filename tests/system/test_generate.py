#!/usr/bin/python3
"""$GENERATE in master files: what Headwater serves equals what BIND's named-checkzone expands.

The same file (every modifier, step, TTL/class in both orders, quoted RDATA, escapes) is loaded by
Headwater and served; its AXFR is compared record by record with `named-checkzone -i none -D`'s output.
Knot 3.2 (kzonecheck) has no $GENERATE: the test records that it refuses the file, so a Knot that learns
the directive is noticed (and then compared). A broken $GENERATE line is reported with the file's name
and the directive's line by --check-config.
"""

import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.zone  # noqa: E402

ORIGIN = "gen.example."
ZONE = """$TTL 300
@ IN SOA ns1 hostmaster 7 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
$GENERATE 1-40 host$ A 192.0.2.$
$GENERATE 0-250/10 ${5,3,x}.rev 60 IN PTR h$$-${0,4,N}example.net.
$GENERATE 1-3 mx$ MX "10 mail$"
$GENERATE 1-2 txt$ TXT "a b$"
$GENERATE 1-2 \\$x${-1} CNAME a$
$GENERATE 10-12 n${0,0,n} IN 70 TXT ${0,3}
$GENERATE 8-9 o${0,0,o}.X${0,2,X} 90 AAAA 2001:db8::${0,4,x}
$GENERATE 1-4/3 ${0,5,n}.ip6 PTR node$.
$GENERATE 3-3 srv$ SRV "0 0 $ target$"
"""


class GenerateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("$GENERATE is compared with Headwater's expansion")
        cls.tmp = hwtest.tempdir("generate")
        cls.zone = cls.tmp / "gen.example.zone"
        cls.zone.write_text(ZONE)

    @classmethod
    def tearDownClass(cls):
        hwtest.cleanup_dir(cls.tmp)

    def bind_expansion(self):
        tool = hwtest.require_tool("named-checkzone")
        out = self.tmp / "bind.zone"
        # -i none: no integrity checks (they would look up out-of-zone names with the system resolver).
        p = subprocess.run([tool, "-i", "none", "-D", "-o", str(out), ORIGIN, str(self.zone)], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        z = dns.zone.from_file(str(out), origin=ORIGIN, relativize=False)
        return list(z.iterate_rdatas())

    def test_served_zone_equals_bind_expansion(self):
        expected = hwtest.canon_set(self.bind_expansion())
        self.assertEqual(len(expected), 3 + 40 + 26 + 3 + 2 + 2 + 3 + 2 + 2 + 1)
        with hwtest.Headwater([hwtest.ZoneConf(ORIGIN, self.zone)]) as hw:
            hw.start()
            got = hwtest.canon_set(hwtest.xfr_rrs(hwtest.axfr(hw.port, ORIGIN)))
        self.assertEqual(got, expected, hwtest.describe_diff(expected, got))

    def test_knot_has_no_generate(self):
        tool = hwtest.require_tool("kzonecheck")
        p = subprocess.run([tool, "-v", "-o", ORIGIN, str(self.zone)], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            self.fail("kzonecheck now accepts $GENERATE: compare its expansion too (docs/zones.md says it has none)")
        self.assertIn("invalid directive", p.stdout + p.stderr)
        self.assertRegex(p.stdout + p.stderr, r"line 5\b")

    def check_config(self, zone_text):
        zone = self.tmp / "broken.zone"
        zone.write_text(zone_text)
        conf = self.tmp / "broken.toml"
        conf.write_text(f'[server]\nlisten = ["127.0.0.1:{hwtest.free_port()}"]\nstate_dir = "state"\n'
                        f'[[acl]]\nname = "providers"\nnetworks = ["127.0.0.1/32"]\n'
                        f'[[zone]]\nname = "gen.example"\nfile = "broken.zone"\nallow_transfer = ["providers"]\n')
        (self.tmp / "state").mkdir(exist_ok=True)
        return subprocess.run([hwtest.headwater_bin(), "--check-config", str(conf)], capture_output=True, text=True,
                              timeout=60, cwd=self.tmp)

    def test_errors_name_file_and_line(self):
        head = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n"
        cases = {
            "$GENERATE 250-260 h$ A 192.0.2.$\n": r"broken\.zone:5: \$GENERATE \(value 256\)",
            "$GENERATE 9-1 h$ A 192.0.2.1\n": r"broken\.zone:5: \$GENERATE: invalid range",
            "\n$GENERATE 1-2 h${1,2,q} A 192.0.2.1\n": r"broken\.zone:6: bad \$GENERATE modifier",
            "$GENERATE 0-2000000 h$ A 192.0.2.1\n": r"broken\.zone:5: .*more than 1048576",
        }
        for line, pattern in cases.items():
            with self.subTest(line=line.strip()):
                p = self.check_config(head + line)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertRegex(p.stderr, pattern)
        ok = self.check_config(head + "$GENERATE 1-3 h$ A 192.0.2.$\n")
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)


if __name__ == "__main__":
    hwtest.main()
