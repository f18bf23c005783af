#!/usr/bin/python3
"""Lab mode against real secondaries (docs/lab.md): a fault is set for the secondary, the zone goes from
v1 to v2, and what the secondary did is read back from `headwaterctl lab report` (tests/lib/hwlab.py
runs the scenario; tools/lab-matrix.py runs every fault the same way). Every fault has one scenario
here, with the secondary whose reaction says the most (docs/secondary-behaviour.md has all three).

Timing: delay 3s (NSD waits it out), rate (BIND takes a paced transfer), stall (Knot gives up before
  the stall ends and asks for AXFR).
Shape: records 1 (NSD takes one record per message), ixfr-as-axfr (NSD takes the whole zone as the
  answer to its IXFR), ixfr-uncondensed (Knot applies two steps in one answer, a deleted record put
  back), ixfr-condensed (BIND applies the net difference).
Failure: cut-messages close (Knot keeps v1, retries, IXFR then AXFR), cut-messages reset (BIND the
  same, faster), cut-bytes (a message cut in the middle: NSD keeps v1 and backs off), rcode servfail
  (Knot falls back to AXFR each time), rcode refused (NSD retries IXFR only, backing off), rcode notimp
  (NSD turns to AXFR and stays there), rcode notimp for IXFR only (BIND falls back and takes v2),
  wrong-mac (Knot rejects), sign-every 3 (Knot accepts, BIND 9.18 rejects), badtime (BIND keeps
  asking IXFR).
NOTIFY: no-notify (NSD finds v2 by its refresh), notify-serial (BIND asks the SOA whatever the hint).
UDP: soa-tc (BIND goes straight to the transfer over TCP), drop-soa (BIND keeps v1 and never asks for a
  transfer; NSD transfers on the NOTIFY without asking the SOA).

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
    def scenario(self, kind, fault, seconds=WATCH, **options):
        hwtest.require_headwater("lab mode is Headwater's")
        if kind not in hwtest.wanted_peers(hwlab.PEERS):
            self.skipTest(f"{kind} not selected by HW_PEERS")
        hwtest.require_tool(hwlab.PEERS[kind].binary)
        outcome = hwlab.run(kind, fault, seconds=seconds, **options)
        self.assertIsNotNone(outcome.report, f"{kind} never seen after the fault was set")
        return outcome

    def assert_kept_v1(self, o, attempts):
        """The secondary never took v2 and tried at least `attempts` transfers; returns them."""
        self.assertIsNone(o.reached_v2_after, o.describe())
        self.assertEqual(o.final_serial, hwlab.V1, o.describe())
        transfers = o.transfers()
        self.assertGreaterEqual(len(transfers), attempts, o.describe())
        return transfers

    def took_v2(self, o):
        """The secondary serves v2; returns the transfer that brought it (from v1, answered in full)."""
        self.assertIsNotNone(o.reached_v2_after, o.describe())
        self.assertEqual(o.final_serial, hwlab.V2, o.describe())
        done = [t for t in o.transfers() if t["outcome"] == "ok" and t["to"] == hwlab.V2]
        self.assertEqual(len(done), 1, o.transfers())
        return done[0]

    def events(self, o, kind):
        return [e for e in o.report["events"] if e["kind"] == kind]

    # ---- timing ----
    def test_nsd_waits_out_a_delay_before_the_first_message(self):
        o = self.scenario("nsd", "delay 3s", until_v2=True)
        t = self.took_v2(o)
        self.assertGreaterEqual(t["duration_ms"], 3000, t)
        self.assertGreaterEqual(o.reached_v2_after, 3.0, o.describe())

    def test_bind_takes_a_paced_transfer(self):
        rate = 100000
        o = self.scenario("bind", f"rate {rate}", until_v2=True)
        t = self.took_v2(o)
        # Each message waits until the octets before it are due; the last one's own octets (at most
        # 64 KiB and its prefix) are not waited for.
        self.assertGreaterEqual(t["duration_ms"], (t["bytes"] - 65537) * 1000 // rate, t)

    def test_knot_gives_up_on_a_stalled_transfer_and_asks_for_axfr(self):
        o = self.scenario("knot", "stall 2 8s", seconds=15.0)
        transfers = self.assert_kept_v1(o, 2)
        first, second = transfers[0], transfers[1]
        self.assertEqual((first["type"], first["cause"]), ("IXFR", "peer-closed"), transfers)
        self.assertEqual(second["type"], "AXFR", transfers)
        # Knot's next attempt starts while the first is still stalled: it closed the connection itself.
        started = [e["t_ms"] - e["transfer"]["duration_ms"] for e in self.events(o, "transfer")]
        self.assertLess(started[1] - started[0], 8000, started)
        self.assertGreaterEqual(o.summary["ixfr_to_axfr"], 1, o.describe())

    # ---- shape ----
    def test_nsd_takes_one_record_per_message(self):
        o = self.scenario("nsd", "records 1", until_v2=True)
        t = self.took_v2(o)
        self.assertEqual(t["messages"], t["records"], t)
        self.assertGreaterEqual(t["records"], hwlab.ADDED, t)

    def assert_serves_v2_records(self, o):
        """What check_v2_records() found on the secondary: v1's records mid deleted are back, v2's are in."""
        self.assertEqual(o.checked, {"kept": True, "added": True}, o.describe())

    @staticmethod
    def check_v2_records(peer):
        def has(name):
            try:
                r = hwtest.query(peer.port, f"{name}.{hwlab.ZONE}", "TXT", tcp=True)
            except Exception:
                return False
            return any(rr.rdtype == 16 for rr in r.answer)

        return {"kept": has("lab-kept-0") and has(f"lab-kept-{hwlab.KEPT - 1}"),
                "added": has("lab-added-0") and has(f"lab-added-{hwlab.ADDED - 1}")}

    def test_knot_applies_an_uncondensed_ixfr_of_two_steps(self):
        o = self.scenario("knot", "ixfr-uncondensed", until_v2=True, check=self.check_v2_records)
        t = self.took_v2(o)
        self.assertEqual((t["type"], t["from"]), ("IXFR", hwlab.V1), t)
        # Both steps, one after the other: mid's deletions and v2's re-additions of the KEPT records,
        # the ADDED records in two halves, and two SOAs per step besides the opening and closing ones.
        self.assertEqual(t["records"], hwlab.ADDED + 2 * hwlab.KEPT + 6, t)
        self.assert_serves_v2_records(o)

    def test_bind_applies_a_condensed_ixfr(self):
        o = self.scenario("bind", "ixfr-condensed", until_v2=True, check=self.check_v2_records)
        t = self.took_v2(o)
        self.assertEqual((t["type"], t["from"]), ("IXFR", hwlab.V1), t)
        # One difference sequence, v1 to v2: the KEPT records' delete-and-add cancelled out.
        self.assertEqual(t["records"], hwlab.ADDED + 4, t)
        self.assert_serves_v2_records(o)

    def test_knot_keeps_the_old_serial_and_retries_when_cut_after_three_messages(self):
        o = self.scenario("knot", "cut-messages 3 close")
        self.assertIsNone(o.reached_v2_after, o.describe())
        self.assertEqual(o.final_serial, hwlab.V1, o.describe())
        transfers = o.transfers()
        self.assertGreaterEqual(len(transfers), 3, o.describe())
        self.assertTrue(all(t["cause"] == "lab-cut" and t["messages"] == 3 for t in transfers), transfers)
        self.assertGreaterEqual(o.summary["ixfr_to_axfr"], 1, o.describe())
        self.assertGreaterEqual(len(o.summary["retry_gaps_ms"]), 2)

    def test_bind_keeps_v1_and_retries_when_reset_after_three_messages(self):
        o = self.scenario("bind", "cut-messages 3 reset")
        transfers = self.assert_kept_v1(o, 4)
        self.assertTrue(all(t["cause"] == "lab-cut" and t["messages"] == 3 for t in transfers), transfers)
        self.assertGreaterEqual(o.summary["ixfr_to_axfr"], 2, o.describe())

    def test_nsd_keeps_v1_and_backs_off_when_a_message_is_cut_in_the_middle(self):
        o = self.scenario("nsd", "cut-bytes 30000 close")
        transfers = self.assert_kept_v1(o, 3)
        # Exactly 30000 octets, inside the first message (of about 64 KiB).
        self.assertTrue(all(t["cause"] == "lab-cut" and t["bytes"] == 30000 and t["messages"] == 1
                            for t in transfers), transfers)
        gaps = o.summary["retry_gaps_ms"]
        self.assertGreater(gaps[1], 1.5 * gaps[0], gaps)  # each wait longer than the one before

    def test_knot_falls_back_to_axfr_after_each_servfail(self):
        o = self.scenario("knot", "rcode servfail")
        transfers = self.assert_kept_v1(o, 4)
        self.assertTrue(all(t["rcode"] == "SERVFAIL" for t in transfers), transfers)
        self.assertEqual([t["type"] for t in transfers[:4]], ["IXFR", "AXFR", "IXFR", "AXFR"], transfers)
        self.assertGreaterEqual(o.summary["ixfr_to_axfr"], 2, o.describe())

    def test_nsd_retries_ixfr_only_and_backs_off_after_refused(self):
        o = self.scenario("nsd", "rcode refused")
        transfers = self.assert_kept_v1(o, 3)
        self.assertTrue(all(t["type"] == "IXFR" and t["rcode"] == "REFUSED" for t in transfers), transfers)
        gaps = o.summary["retry_gaps_ms"]
        self.assertGreater(gaps[1], 1.5 * gaps[0], gaps)

    def test_nsd_turns_to_axfr_after_notimp_and_stays_there(self):
        o = self.scenario("nsd", "rcode notimp")
        transfers = self.assert_kept_v1(o, 3)
        self.assertTrue(all(t["rcode"] == "NOTIMP" for t in transfers), transfers)
        self.assertEqual(transfers[0]["type"], "IXFR", transfers)
        self.assertEqual({t["type"] for t in transfers[1:]}, {"AXFR"}, transfers)

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

    def test_bind_keeps_asking_ixfr_after_badtime(self):
        o = self.scenario("bind", "badtime")
        transfers = self.assert_kept_v1(o, 3)
        self.assertTrue(all(t["type"] == "IXFR" and t["rcode"] == "NOTAUTH" for t in transfers), transfers)
        self.assertEqual(o.summary["axfr_requests"], 0, o.describe())

    # ---- NOTIFY ----
    def test_nsd_finds_v2_by_its_refresh_without_a_notify(self):
        o = self.scenario("nsd", "no-notify", until_v2=True)
        self.took_v2(o)
        # The NOTIFY of v2 was held back; on a slow machine the one of v1 (at the start) can fall in the
        # window too, and the fault holds that one back as well: none may have been sent.
        notifies = self.events(o, "notify")
        self.assertEqual([e["outcome"] for e in notifies if e["serial"] == hwlab.V2], ["skipped"], notifies)
        self.assertEqual({e["outcome"] for e in notifies}, {"skipped"}, notifies)

    def test_bind_asks_the_soa_whatever_serial_the_notify_names(self):
        o = self.scenario("bind", "notify-serial 1", until_v2=True)
        # The NOTIFY of v2; on a slow machine the one of v1 (at the start) can fall in the window too.
        notifies = [e for e in self.events(o, "notify") if e["serial"] == hwlab.V2]  # what is served
        self.assertTrue(notifies, o.report["events"])
        self.assertEqual(notifies[0]["lab"], "lab: notify-serial 1", notifies)  # beside what was said
        self.took_v2(o)
        self.assertGreaterEqual(o.summary["soa_udp"], 1, o.describe())

    # ---- UDP ----
    def test_bind_goes_to_the_transfer_after_a_truncated_soa_answer(self):
        o = self.scenario("bind", "soa-tc", until_v2=True)
        soa = self.events(o, "soa")
        self.assertTrue(soa and all(e["outcome"] == "tc" for e in soa), soa)
        t = self.took_v2(o)
        self.assertEqual(t["transport"], "tcp", t)
        self.assertEqual(o.summary["soa_tcp"], 0, o.describe())  # no second SOA query over TCP first

    def test_bind_keeps_v1_and_asks_for_no_transfer_while_its_soa_queries_are_dropped(self):
        o = self.scenario("bind", "drop-soa")
        self.assert_kept_v1(o, 0)
        self.assertEqual(o.transfers(), [], o.describe())
        soa = self.events(o, "soa")
        self.assertGreaterEqual(len(soa), 2, soa)
        self.assertTrue(all(e["outcome"] == "dropped" and e["transport"] == "udp" for e in soa), soa)

    def test_nsd_transfers_on_the_notify_without_asking_the_soa(self):
        o = self.scenario("nsd", "drop-soa", until_v2=True)
        self.took_v2(o)
        self.assertEqual(self.events(o, "soa"), [], o.report["events"])


if __name__ == "__main__":
    hwtest.main()
