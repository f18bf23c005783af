#!/usr/bin/python3
"""The delegation check (`headwaterctl verify --delegation`, and `parent` with verify_interval) against
parent servers that are real Knot DNS instances serving the parent zone `example.` on loopback.

Headwater serves child.example.: SOA MNAME hidden.child.example. (the hidden primary), apex NS
ns1.child.example. (glue 192.0.2.1) and ns.provider-b.test. (outside the zone). Three parents serve
`example.` with a delegation for child.example.:
- good: exactly the two NS names, ns1's glue right;
- missing: only ns1.child.example. (a provider missing);
- hidden: both, plus hidden.child.example. with glue 127.0.0.1 (Headwater's own address).

Checks:
1. `verify --delegation --parent good`: exit 0, status ok.
2. `--parent missing`: exit 1, status mismatch, "misses ns.provider-b.test.".
3. `--parent hidden`: exit 1, the hidden primary flagged by name and by its glue address.
4. With `parent = [good, missing]` and verify_interval 1s (a Knot secondary as the zone's secondary), the log
   says "delegation ... problem starts" once for `missing` and never for `good`, and the metrics say
   headwater_delegation_ok 1 for good, 0 for missing.
"""

import re
import sys
import time
import unittest
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

ZONE = "child.example."
CHILD = f"""$ORIGIN {ZONE}
$TTL 3600
@ IN SOA hidden.child.example. hostmaster ( 2026120501 ; serial
  3600 3600 1209600 300 )
@ IN NS ns1
@ IN NS ns.provider-b.test.
ns1 IN A 192.0.2.1
hidden IN A 127.0.0.1
www IN A 192.0.2.80
"""


def parent_zone(ns_lines, glue_lines):
    return ("$ORIGIN example.\n$TTL 86400\n@ IN SOA ns.example. hostmaster.example. ( 1 ; serial\n"
            " 3600 3600 1209600 300 )\n@ IN NS ns.example.\nns IN A 192.0.2.250\n"
            + "".join(f"child IN NS {n}\n" for n in ns_lines) + "".join(f"{g}\n" for g in glue_lines))


GOOD = parent_zone(["ns1.child.example.", "ns.provider-b.test."], ["ns1.child IN A 192.0.2.1"])
MISSING = parent_zone(["ns1.child.example."], ["ns1.child IN A 192.0.2.1"])
HIDDEN = parent_zone(["ns1.child.example.", "ns.provider-b.test.", "hidden.child.example."],
                     ["ns1.child IN A 192.0.2.1", "hidden.child IN A 127.0.0.1"])


class DelegationHeadwater(hwtest.Headwater):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics_port = hwtest.free_port()

    def config_text(self):
        text = super().config_text()
        return text.replace("[server]\n", f'[server]\nmetrics_listen = "{hwtest.ADDR}:{self.metrics_port}"\n', 1)

    def metrics(self):
        with urllib.request.urlopen(f"http://{hwtest.ADDR}:{self.metrics_port}/metrics", timeout=10) as r:
            return r.read().decode()


class DelegationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("the delegation check is Headwater's")
        hwtest.require_tool("knotd")
        cls.tmp = hwtest.tempdir("delegation")
        cls.parents = {}
        cls.hw = cls.secondary = None
        try:
            for name, text in (("good", GOOD), ("missing", MISSING), ("hidden", HIDDEN)):
                f = cls.tmp / f"{name}.example.zone"
                f.write_text(text)
                cls.parents[name] = hwtest.KnotPrimary({"example.": f}).start()
            child = cls.tmp / "child.example.zone"
            child.write_text(CHILD)
            cls.secondary_port = hwtest.free_port()
            secondary = f"{hwtest.ADDR}:{cls.secondary_port}"
            options = {"secondaries": [secondary], "verify_interval": "1s",
                       "parent": [cls.parents["good"].address, cls.parents["missing"].address]}
            cls.hw = DelegationHeadwater([hwtest.ZoneConf(ZONE, child, notify=[secondary], notify_options=options)])
            cls.hw.start()
            cls.secondary = hwtest.KnotSecondary([ZONE], cls.hw.port)
            cls.secondary.port = cls.secondary_port
            cls.secondary.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in [cls.secondary, cls.hw, *cls.parents.values()]:
            if p is not None:
                p.close()
        hwtest.cleanup_dir(cls.tmp)

    def verify(self, parent):
        rc, out, stdout, err = self.hw.ctl("verify", ZONE, "--delegation", "--parent", self.parents[parent].address)
        self.assertIsNotNone(out, f"{stdout}{err}")
        parents = out["delegation"]["parents"]
        self.assertEqual(len(parents), 1, out)
        return rc, parents[0], out

    def test_1_good_parent(self):
        rc, p, out = self.verify("good")
        self.assertEqual((rc, p["status"], p["ok"]), (0, "ok", True), out)
        self.assertEqual(sorted(p["ns"]), ["ns.provider-b.test.", "ns1.child.example."])
        self.assertEqual(p["glue"]["ns1.child.example."], ["192.0.2.1"])
        self.assertEqual(out["delegation"]["hidden_primary"], "hidden.child.example.")
        # The human form names the parent and the status.
        r = hwtest.run_ctl("verify", ZONE, "--delegation", "--parent", self.parents["good"].address,
                           socket_path=self.hw.socket_path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, rf"{re.escape(self.parents['good'].address)}\s+ok\s")

    def test_2_parent_misses_a_provider(self):
        rc, p, out = self.verify("missing")
        self.assertEqual((rc, p["status"], p["ok"]), (1, "mismatch", False), out)
        self.assertIn("misses ns.provider-b.test. (an apex NS name)", p["problems"])

    def test_3_parent_lists_the_hidden_primary(self):
        rc, p, out = self.verify("hidden")
        self.assertEqual((rc, p["status"]), (1, "mismatch"), out)
        self.assertIn("lists hidden.child.example., the hidden primary (the SOA MNAME)", p["problems"])
        self.assertIn("glue hidden.child.example. 127.0.0.1 is the hidden primary's address", p["problems"])

    def test_4_continuous(self):
        good, missing = self.parents["good"].address, self.parents["missing"].address

        def starts(parent):
            return re.findall(rf"delegation zone={re.escape(ZONE)} parent={re.escape(parent)} problem starts",
                              self.hw.log())

        hwtest.wait_for(lambda: starts(missing), 20, what="the delegation problem for the missing parent\n"
                        + self.hw.proc.log_tail(40))
        time.sleep(3)  # more checks: the problem is logged once
        self.assertEqual(len(starts(missing)), 1, self.hw.proc.log_tail(60))
        self.assertEqual(starts(good), [])
        metrics = self.hw.metrics()
        self.assertIn(f'headwater_delegation_ok{{zone="{ZONE}",parent="{good}"}} 1\n', metrics)
        self.assertIn(f'headwater_delegation_ok{{zone="{ZONE}",parent="{missing}"}} 0\n', metrics)


if __name__ == "__main__":
    hwtest.main()
