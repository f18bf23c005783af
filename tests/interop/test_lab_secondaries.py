#!/usr/bin/python3
"""Lab mode against real secondaries (docs/lab.md): a fault is set for the secondary, the zone goes from
v1 to v2, and what the secondary did is read back from `headwaterctl lab report` (tests/lib/hwlab.py
runs the scenario; tools/lab-matrix.py runs every fault the same way).

Asserted reactions:
  Knot, cut-messages 3: keeps serving v1, and retries (every SOA refresh), each IXFR followed by an AXFR,
    every attempt cut by the lab.
  BIND, rcode notimp for IXFR only: falls back to AXFR after the NOTIMP and takes v2.
  NSD, ixfr-as-axfr: accepts the whole zone as the answer to its IXFR and takes v2.
  Knot, wrong-mac 2 (signed transfers): rejects the transfer, keeps v1 and tries again.
  Knot, sign-every 3: accepts the unsigned messages between signed ones (RFC 8945 §5.3.1) and takes v2;
  BIND 9.18 does not: it keeps v1 and keeps asking.

HW_PEERS=knot,bind limits the set; missing peers are skipped.
"""

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwlab  # noqa: E402
import hwtest  # noqa: E402

WATCH = 12.0  # seconds each secondary is watched after the fault is set (SOA refresh/retry: 2 s)


class LabSecondariesTest(unittest.TestCase):
    def scenario(self, kind, fault):
        hwtest.require_headwater("lab mode is Headwater's")
        if kind not in hwtest.wanted_peers(hwlab.PEERS):
            self.skipTest(f"{kind} not selected by HW_PEERS")
        hwtest.require_tool(hwlab.PEERS[kind].binary)
        outcome = hwlab.run(kind, fault, seconds=WATCH)
        self.assertIsNotNone(outcome.report, f"{kind} never seen after the fault was set")
        return outcome

    def test_knot_keeps_the_old_serial_and_retries_when_cut_after_three_messages(self):
        o = self.scenario("knot", "cut-messages 3 close")
        self.assertIsNone(o.reached_v2_after, o.describe())
        self.assertEqual(o.final_serial, hwlab.V1, o.describe())
        transfers = o.transfers()
        self.assertGreaterEqual(len(transfers), 3, o.describe())
        self.assertTrue(all(t["cause"] == "lab-cut" and t["messages"] == 3 for t in transfers), transfers)
        self.assertGreaterEqual(o.summary["ixfr_to_axfr"], 1, o.describe())
        self.assertGreaterEqual(len(o.summary["retry_gaps_ms"]), 2)

    def test_bind_falls_back_to_axfr_after_ixfr_notimp(self):
        o = self.scenario("bind", "rcode notimp ixfr")
        transfers = o.transfers()
        self.assertTrue(any(t["type"] == "IXFR" and t["rcode"] == "NOTIMP" for t in transfers), transfers)
        self.assertTrue(any(t["type"] == "AXFR" and t["outcome"] == "ok" and t["to"] == hwlab.V2
                            for t in transfers), transfers)
        self.assertGreaterEqual(o.summary["ixfr_to_axfr"], 1, o.describe())
        self.assertIsNotNone(o.reached_v2_after, o.describe())

    def test_nsd_accepts_the_whole_zone_as_the_answer_to_its_ixfr(self):
        o = self.scenario("nsd", "ixfr-as-axfr")
        transfers = o.transfers()
        self.assertTrue(any(t["type"] == "IXFR" and t["form"] == "axfr" and t["outcome"] == "ok" for t in transfers),
                        transfers)
        self.assertEqual(o.final_serial, hwlab.V2, o.describe())

    def test_knot_rejects_a_transfer_whose_second_mac_is_wrong(self):
        o = self.scenario("knot", "wrong-mac 2")
        self.assertIsNone(o.reached_v2_after, o.describe())
        self.assertEqual(o.final_serial, hwlab.V1, o.describe())
        self.assertGreaterEqual(len(o.transfers()), 2, o.describe())
        self.assertTrue(all(t["key"] == "lab-key." for t in o.transfers()), o.transfers())

    def test_knot_accepts_sign_every_third_message(self):
        o = self.scenario("knot", "sign-every 3")
        self.assertEqual(o.final_serial, hwlab.V2, o.describe())

    def test_bind_rejects_sign_every_third_message(self):
        o = self.scenario("bind", "sign-every 3")
        self.assertIsNone(o.reached_v2_after, o.describe())
        self.assertEqual(o.final_serial, hwlab.V1, o.describe())
        self.assertGreaterEqual(len(o.transfers()), 2, o.describe())


if __name__ == "__main__":
    hwtest.main()
