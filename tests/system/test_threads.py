#!/usr/bin/python3
"""TCP and UDP served on several threads (server.tcp_threads, server.udp_threads): concurrent transfers
each get one whole version while reloads swap versions under them, SOA answers never go back to an older
serial, and the server stops cleanly."""

import concurrent.futures
import sys
import threading
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwfaults  # noqa: E402
import hwtest  # noqa: E402

ZONE = "threads.example."
RECORDS = 8000
VERSIONS = (1, 2, 3)  # serial k is generated with seed k: every version differs in most records


class ThreadedServingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("server.tcp_threads and server.udp_threads are Headwater's")
        cls.tmp = hwtest.tempdir("threads-data")
        cls.addClassCleanup(hwtest.cleanup_dir, cls.tmp)
        cls.texts, cls.expected = {}, {}
        for serial in VERSIONS:
            path = hwtest.generate_zone(cls.tmp / f"v{serial}.zone", ZONE, RECORDS, serial, seed=str(serial))
            cls.texts[serial] = path.read_text()
            cls.expected[serial] = hwtest.canon_set(hwtest.zone_file_rrs(path, ZONE))
        cls.hw = hwfaults.Headwater([hwtest.ZoneConf(ZONE, cls.tmp / "v1.zone")],
                                    server_options={"tcp_threads": 4, "udp_threads": 3})
        cls.addClassCleanup(cls.hw.close)
        cls.hw.start(timeout=60)
        hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, ZONE) == 1, 30, what="serial 1")

    def test_transfers_and_queries_across_reloads(self):
        self.assertIn("UDP on 3 thread(s), TCP on 4", self.hw.log())
        stop = threading.Event()
        seen = {"udp": [], "tcp": []}
        errors = []

        def poll_soa(transport):
            # One client asking in turn: once it saw a serial, it must never get an older one back.
            while not stop.is_set():
                serial = hwtest.soa_serial(self.hw.port, ZONE, tcp=transport == "tcp", timeout=5)
                if serial is None:
                    errors.append(f"no SOA answer over {transport}")
                    return
                seen[transport].append(serial)

        def transfer(_):
            with hwtest.tcp_connect(self.hw.port, timeout=60) as s:
                return hwtest.read_axfr(s, ZONE)[1]

        pollers = [threading.Thread(target=poll_soa, args=(t,)) for t in ("udp", "tcp")]
        for p in pollers:
            p.start()
        results = []
        try:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                for serial in VERSIONS[1:]:
                    batch = [pool.submit(transfer, i) for i in range(6)]
                    # Reload while the batch runs: transfers started on the old version finish on it.
                    self.hw.zone_path(ZONE).write_text(self.texts[serial])
                    rc, doc, out, err = self.hw.ctl("reload", ZONE)
                    self.assertEqual(rc, 0, out + err)
                    results += [f.result() for f in batch]
                results += list(pool.map(transfer, range(6)))  # all on the last version
        finally:
            stop.set()
            for p in pollers:
                p.join(30)
        self.assertEqual(errors, [])

        served = set()
        for i, messages in enumerate(results):
            with self.subTest(transfer=i):
                rrs = hwtest.xfr_rrs(messages)
                serial = rrs[0][2].serial
                self.assertIn(serial, VERSIONS)
                got = hwtest.canon_set(rrs)
                self.assertEqual(len(rrs), len(self.expected[serial]), "duplicated or missing records")
                self.assertEqual(got, self.expected[serial], hwtest.describe_diff(self.expected[serial], got))
                served.add(serial)
        self.assertIn(3, served, "the transfers after the last reload must carry serial 3")
        for transport, serials in seen.items():
            with self.subTest(transport=transport):
                self.assertGreater(len(serials), 10)
                self.assertEqual(serials, sorted(serials), "an SOA answer went back to an older serial")
                self.assertEqual(serials[-1], 3)

    def test_zz_stops_cleanly(self):
        # Runs last (alphabetical order): SIGTERM with the TCP threads idle ends the process with status 0.
        self.assertEqual(self.hw.proc.stop(), 0, self.hw.proc.log_tail())
        self.assertIn("headwater stopped", self.hw.log())


if __name__ == "__main__":
    hwtest.main()
