#!/usr/bin/python3
"""SIGTERM with transfers in flight (server.shutdown_grace, TCP on several threads): the server stops as
soon as the last transfer ends, never later than the grace period, and cuts what is still running then."""

import signal
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwfaults  # noqa: E402
import hwtest  # noqa: E402

ZONE = "shutdown.example."
RECORDS = 200000  # megabytes of AXFR: more than the socket buffers hold, so a reader that stops stalls it


class ShutdownTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("server.shutdown_grace is Headwater's")
        cls.tmp = hwtest.tempdir("shutdown-data")
        cls.addClassCleanup(hwtest.cleanup_dir, cls.tmp)
        cls.zone = hwtest.generate_zone(cls.tmp / "shutdown.zone", ZONE, RECORDS, 7)

    def start(self, grace):
        hw = hwfaults.Headwater([hwtest.ZoneConf(ZONE, self.zone)],
                                server_options={"tcp_threads": 4, "shutdown_grace": grace})
        self.addCleanup(hw.close)
        hw.start(timeout=60)
        hwtest.wait_for(lambda: hwtest.soa_serial(hw.port, ZONE) == 7, 60, what="the zone")
        return hw

    def terminate(self, hw):
        """SIGTERM, once the server has logged that it is waiting for the transfers."""
        hw.proc.signal(signal.SIGTERM)
        hwtest.wait_for(lambda: "no new queries" in hw.log(), 10, what="the shutdown to begin")
        return time.monotonic()

    def wait_exit(self, hw, timeout):
        """The exit status, and when the process was seen gone."""
        hwtest.wait_for(lambda: not hw.proc.alive(), timeout, interval=0.05, what="headwater to exit")
        return hw.proc.proc.wait(), time.monotonic()

    def test_idle_server_stops_at_once(self):
        hw = self.start(grace=30)
        asked = self.terminate(hw)
        rc, gone = self.wait_exit(hw, 10)
        self.assertEqual(rc, 0, hw.proc.log_tail())
        self.assertLess(gone - asked, 3.0, "no transfer ran: nothing to wait for")
        self.assertIn("headwater stopped", hw.log())

    def test_stops_when_the_last_transfer_ends(self):
        hw = self.start(grace=30)
        staller = hwfaults.start_stalled_axfr(hw.port, ZONE)
        self.addCleanup(staller.close)
        asked = self.terminate(hw)
        self.assertIn("letting 1 transfer(s) finish", hw.log())
        time.sleep(1.0)
        self.assertTrue(hw.proc.alive(), "stopped while a transfer was in flight, long before the grace period")

        # The reader takes the rest; the transfer completes and the server goes right after it.
        staller.settimeout(30)
        soas = 1  # the first message, read by start_stalled_axfr, opens with the SOA
        while soas < 2:
            soas += sum(1 for rr in hwfaults.message_rrs(hwtest.tcp_recv(staller)) if rr[1] == hwfaults.SOA)
        done = time.monotonic()
        rc, gone = self.wait_exit(hw, 10)
        self.assertEqual(rc, 0, hw.proc.log_tail())
        self.assertLess(gone - done, 3.0, "the server must stop when the last transfer ends")
        self.assertLess(gone - asked, 30.0)
        self.assertTrue(hwtest.transfer_log(hw.log(), ZONE, outcome="ok"), hw.proc.log_tail())
        self.assertNotIn("grace period over", hw.log())

    def test_stalled_transfer_is_cut_after_the_grace_period(self):
        grace = 2
        hw = self.start(grace=grace)
        staller = hwfaults.start_stalled_axfr(hw.port, ZONE)
        self.addCleanup(staller.close)
        asked = self.terminate(hw)
        rc, gone = self.wait_exit(hw, grace + 10)
        self.assertEqual(rc, 0, hw.proc.log_tail())
        self.assertGreaterEqual(gone - asked, grace - 0.5)
        self.assertLess(gone - asked, grace + 5.0)
        self.assertIn("grace period over, cutting 1 transfer(s)", hw.log())


if __name__ == "__main__":
    hwtest.main()
