#!/usr/bin/python3
"""One broken zone never stops the rest at start-up. Three zones: a good one; one whose file has a syntax
error and that was never served (no state); one served by an earlier run whose file is broken now (out-of-
zone data) before the restart. The server starts; the good zone answers; the never-served one answers
SERVFAIL (queries and AXFR) and gets no NOTIFY; the other serves the serial of the earlier run from the state
directory. `headwaterctl status` and the log name both broken zones with file:line; `--check-config` exits 1
naming them; once a file is fixed, `headwaterctl reload` serves it and NOTIFY goes out. A server where every
zone is broken still starts (as BIND and Knot do) and can be mended through the control socket."""

import re
import select
import socket
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwfaults  # noqa: E402
import hwtest  # noqa: E402

import dns.message  # noqa: E402
import dns.opcode  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

GOOD = "example.com."
BROKEN = "broken.example."
STALE = "stale.example."
BROKEN_SERIAL = 7
STALE_SERIAL = 5  # served by the first run, from the state directory after the restart


def generated(origin, serial):
    return hwtest.gen_zone.Generator(origin, serial, "1", False).generate(20)


def with_bad_line(text, line):
    """`text` with `line` appended, and the 1-based line number it lands on."""
    if not text.endswith("\n"):
        text += "\n"
    return text + line + "\n", text.count("\n") + 1


def zone_entry(doc, zone):
    for z in doc.get("zones", []):
        if z.get("name", "").lower() == zone.lower():
            return z
    raise AssertionError(f"{zone} not in {doc}")


class NotifyCatcher:
    """A NOTIFY target on loopback: records (zone, serial) of every NOTIFY and acknowledges it (RFC 1996
    §4.7), so that no retries muddle what was sent."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((hwtest.ADDR, 0))
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"{hwtest.ADDR}:{self.port}"

    def _run(self):
        while self.running:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            try:
                data, peer = self.sock.recvfrom(65535)
                m = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 (a stray datagram is not a NOTIFY)
                continue
            if m.opcode() != dns.opcode.NOTIFY or not m.question:
                continue
            serial = next((rr[0].serial for rr in m.answer if rr.rdtype == dns.rdatatype.SOA), None)
            with self.lock:
                self.got.append((m.question[0].name.to_text().lower(), serial))
            self.sock.sendto(dns.message.make_response(m).to_wire(), peer)

    def for_zone(self, zone):
        with self.lock:
            return [serial for name, serial in self.got if name == zone.lower()]

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


class Scenario:
    """The three zones, served by a first run, then restarted with both broken files in place."""

    def __init__(self):
        self.notify = NotifyCatcher()
        self.tmp = hwtest.tempdir("startup-src")
        opts = {"notify_delay": 0}
        (self.tmp / "broken.zone").write_text(generated(BROKEN, BROKEN_SERIAL))
        (self.tmp / "stale.zone").write_text(generated(STALE, STALE_SERIAL))
        zones = [hwtest.ZoneConf(GOOD, hwtest.EXAMPLE_ZONE, notify=[self.notify.address], notify_options=opts),
                 hwtest.ZoneConf(BROKEN, self.tmp / "broken.zone", notify=[self.notify.address],
                                 notify_options=opts),
                 hwtest.ZoneConf(STALE, self.tmp / "stale.zone", notify=[self.notify.address],
                                 notify_options=opts)]
        self.hw = hwfaults.Headwater(zones)
        self.broken_path = self.hw.zone_path(BROKEN)
        self.stale_path = self.hw.zone_path(STALE)
        # A syntax error in a zone never served: no snapshot will exist for it.
        text, self.broken_line = with_bad_line(generated(BROKEN, BROKEN_SERIAL), "bad 300 IN A 999.1.2.3")
        self.broken_path.write_text(text)

    def start(self):
        # First run: the stale zone is served at STALE_SERIAL and its snapshot written.
        self.hw.start()
        snapshot = self.hw.dir / "state" / "zones" / "stale.example.snapshot"
        hwtest.wait_for(snapshot.exists, 10, what="the snapshot of the first run")
        assert hwtest.soa_serial(self.hw.port, STALE) == STALE_SERIAL
        assert not (self.hw.dir / "state" / "zones" / "broken.example.snapshot").exists()
        rc = self.hw.stop()
        assert rc == 0, f"first run exited {rc}:\n{self.hw.proc.log_tail()}"
        # Before the restart its file goes bad: a newer serial with data outside the zone.
        text = hwtest.set_soa_serial(generated(STALE, STALE_SERIAL), STALE_SERIAL + 1)
        text, self.stale_line = with_bad_line(text, "www.elsewhere.example. 300 IN A 192.0.2.9")
        self.stale_path.write_text(text)
        self.log_from = len(self.hw.log())
        with self.notify.lock:
            self.notify.got.clear()
        self.hw.restart(timeout=30)  # waits for the first zone (the good one) to answer SOA
        return self

    def log(self):
        """The log of the second run."""
        return self.hw.log()[self.log_from:]

    def close(self):
        self.hw.close()
        self.notify.close()
        hwtest.cleanup_dir(self.tmp)


class BrokenZonesAtStartupTest(unittest.TestCase):
    """Read-only checks on one server started with the scenario's broken zones."""

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("start-up with broken zones is Headwater's behaviour")
        cls.s = Scenario()
        try:
            cls.s.start()
        except BaseException:
            cls.s.close()
            raise
        cls.hw = cls.s.hw

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())

    def test_good_zone_answers_soa_and_axfr(self):
        self.assertEqual(hwtest.soa_serial(self.hw.port, GOOD), hwtest.EXAMPLE_SERIAL)
        self.assertEqual(hwtest.soa_serial(self.hw.port, GOOD, tcp=True), hwtest.EXAMPLE_SERIAL)
        messages = hwtest.axfr(self.hw.port, GOOD)
        self.assertTrue(all(m.rcode == dns.rcode.NOERROR for m in messages))
        expected = hwtest.canon_set(hwtest.zone_file_rrs(hwtest.EXAMPLE_ZONE, GOOD))
        got = hwtest.canon_set(hwtest.xfr_rrs(messages))
        self.assertEqual(got, expected, hwtest.describe_diff(expected, got))

    def test_never_loaded_zone_answers_servfail(self):
        for tcp in (False, True):
            for qname, rdtype in ((BROKEN, "SOA"), ("www." + BROKEN, "A"), ("nothing." + BROKEN, "TXT")):
                with self.subTest(tcp=tcp, qname=qname):
                    r = hwtest.query(self.hw.port, qname, rdtype, tcp=tcp)
                    self.assertEqual(r.rcode(), dns.rcode.SERVFAIL, r)
                    self.assertEqual(len(r.answer), 0)
        messages = hwtest.axfr(self.hw.port, BROKEN)
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages[0].rcode, dns.rcode.SERVFAIL)
        # Names outside every zone are still refused, not SERVFAIL: only that zone is off the air.
        self.assertEqual(hwtest.query(self.hw.port, "example.org.", "SOA").rcode(), dns.rcode.REFUSED)

    def test_zone_with_state_serves_its_last_good_version(self):
        self.assertEqual(hwtest.soa_serial(self.hw.port, STALE), STALE_SERIAL)
        messages = hwtest.axfr(self.hw.port, STALE)
        self.assertTrue(all(m.rcode == dns.rcode.NOERROR for m in messages))
        names = {n.to_text().lower() for n, _, _ in hwtest.xfr_rrs(messages)}
        self.assertNotIn("www.elsewhere.example.", names)

    def test_status_json_names_each_failure(self):
        rc, doc, out, err = self.hw.ctl("status")
        self.assertEqual(rc, 0, out + err)
        good = zone_entry(doc, GOOD)
        self.assertEqual(good["serial"], hwtest.EXAMPLE_SERIAL)
        self.assertEqual(good["served_from"], "file")
        self.assertIsNone(good["last_error"])

        broken = zone_entry(doc, BROKEN)
        self.assertIsNone(broken["serial"])
        self.assertIsNone(broken["served_from"])
        self.assertIsNone(broken["loaded_at"])
        self.assertIn(f"{self.s.broken_path}:{self.s.broken_line}:", broken["last_error"] or "")
        self.assertIn("999.1.2.3", broken["last_error"])

        stale = zone_entry(doc, STALE)
        self.assertEqual(stale["serial"], STALE_SERIAL)
        self.assertEqual(stale["served_from"], "state")
        self.assertIn(f"{self.s.stale_path}:{self.s.stale_line}:", stale["last_error"] or "")

    def test_status_text_says_what_is_served(self):
        rc, _, out, err = self.hw.ctl("status", json_output=False)
        self.assertEqual(rc, 0, out + err)
        lines = out.splitlines()

        def under(zone):
            i = next(i for i, line in enumerate(lines) if line.split()[:1] == [zone])
            return lines[i + 1]

        self.assertRegex(under(BROKEN), rf"NOT SERVED.*{re.escape(str(self.s.broken_path))}:{self.s.broken_line}:")
        self.assertRegex(under(STALE), rf"served from the state directory at serial {STALE_SERIAL}\b.*"
                                       rf"{re.escape(str(self.s.stale_path))}:{self.s.stale_line}:")
        self.assertNotIn("NOT SERVED", under(GOOD))

    def test_log_names_each_failure_and_sums_up(self):
        log = self.s.log()
        broken = [line for line in log.splitlines() if f"zone={BROKEN}" in line and "not served" in line]
        self.assertEqual(len(broken), 1, log)
        self.assertIn(f"{self.s.broken_path}:{self.s.broken_line}:", broken[0])
        stale = [line for line in log.splitlines() if f"zone={STALE} serving serial={STALE_SERIAL} from the state"
                 in line]
        self.assertEqual(len(stale), 1, log)
        self.assertIn(f"{self.s.stale_path}:{self.s.stale_line}:", stale[0])
        summary = [line for line in log.splitlines() if "started with 2 of 3 zones not loaded" in line]
        self.assertEqual(len(summary), 1, log)
        self.assertIn(f"not served: {BROKEN}", summary[0])
        self.assertIn(f"served from the state directory: {STALE} (serial {STALE_SERIAL})", summary[0])
        self.assertIn("headwater serving 2 of 3 zone(s)", log)

    def test_check_config_names_each_broken_zone(self):
        p = subprocess.run([hwtest.headwater_bin(), "--check-config", str(self.hw.config_path)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, rf"(?m)^zone {re.escape(BROKEN)}: {re.escape(str(self.s.broken_path))}:"
                                   rf"{self.s.broken_line}: ")
        self.assertRegex(p.stderr, rf"(?m)^zone {re.escape(STALE)}: {re.escape(str(self.s.stale_path))}:"
                                   rf"{self.s.stale_line}: ")
        self.assertIn("2 of 3 zone(s) broken", p.stderr)
        self.assertRegex(p.stdout, rf"zone example\.com\.?: serial {hwtest.EXAMPLE_SERIAL}, \d+ records, OK")

    def test_startup_notify_only_for_served_zones(self):
        hwtest.wait_for(lambda: self.s.notify.for_zone(GOOD) and self.s.notify.for_zone(STALE), 10,
                        what="the start-up NOTIFYs")
        self.assertEqual(set(self.s.notify.for_zone(GOOD)), {hwtest.EXAMPLE_SERIAL})
        self.assertEqual(set(self.s.notify.for_zone(STALE)), {STALE_SERIAL})
        time.sleep(0.5)
        self.assertEqual(self.s.notify.for_zone(BROKEN), [])

    def test_other_commands_cope_with_a_zone_not_served(self):
        self.assertEqual(hwtest.axfr(self.hw.port, BROKEN)[0].rcode, dns.rcode.SERVFAIL)
        rc, doc, out, err = self.hw.ctl("secondaries", BROKEN)
        self.assertEqual(rc, 0, out + err)
        self.assertIsNone(doc["serial"])
        peer = next(p for p in doc["secondaries"] if p["address"] == hwtest.ADDR)
        self.assertIsNone(peer["lag_serials"])
        self.assertEqual(peer["last_transfer"]["outcome"], "refused")
        rc, _, out, err = self.hw.ctl("secondaries", BROKEN, json_output=False)
        self.assertEqual(rc, 0, out + err)
        rc, doc, out, err = self.hw.ctl("journal", BROKEN)
        self.assertEqual(rc, 0, out + err)
        self.assertIsNone(doc["serial"])
        rc, doc, out, err = self.hw.ctl("notify", BROKEN)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("not served", doc["error"])
        rc, doc, out, err = self.hw.ctl("bump", BROKEN)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("not served", doc["error"])
        rc, doc, out, err = self.hw.ctl("verify", BROKEN, "--secondary", self.s.notify.address)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("not served", doc["error"])
        self.assertIn(f"{self.s.broken_path}:{self.s.broken_line}:", doc["error"])
        self.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())


class ReloadAfterFixTest(unittest.TestCase):
    """Mending the files of the scenario's broken zones with `headwaterctl reload`."""

    def setUp(self):
        hwtest.require_headwater("start-up with broken zones is Headwater's behaviour")
        self.s = Scenario()
        self.addCleanup(self.s.close)
        self.s.start()
        self.hw = self.s.hw

    def test_reload_serves_the_fixed_zone_and_notifies(self):
        # Still broken: still not served, and the reload says so.
        rc, doc, out, err = self.hw.ctl("reload", BROKEN)
        self.assertEqual(rc, 1, out + err)
        self.assertIsNone(zone_entry(doc, BROKEN)["serial"])
        self.assertEqual(hwtest.query(self.hw.port, BROKEN, "SOA").rcode(), dns.rcode.SERVFAIL)

        self.s.broken_path.write_text(generated(BROKEN, BROKEN_SERIAL))
        rc, doc, out, err = self.hw.ctl("reload", BROKEN)
        self.assertEqual(rc, 0, out + err)
        entry = zone_entry(doc, BROKEN)
        self.assertEqual((entry["outcome"], entry["serial"], entry["old_serial"]), ("updated", BROKEN_SERIAL, None))
        self.assertEqual(hwtest.soa_serial(self.hw.port, BROKEN), BROKEN_SERIAL)
        messages = hwtest.axfr(self.hw.port, BROKEN)
        expected = hwtest.canon_set(hwtest.zone_file_rrs(self.s.broken_path, BROKEN))
        got = hwtest.canon_set(hwtest.xfr_rrs(messages))
        self.assertEqual(got, expected, hwtest.describe_diff(expected, got))
        hwtest.wait_for(lambda: self.s.notify.for_zone(BROKEN), 10, what="NOTIFY for the fixed zone")
        self.assertEqual(set(self.s.notify.for_zone(BROKEN)), {BROKEN_SERIAL})
        rc, doc, out, err = self.hw.ctl("status", BROKEN)
        status = zone_entry(doc, BROKEN)
        self.assertEqual((status["serial"], status["served_from"], status["last_error"]),
                         (BROKEN_SERIAL, "file", None))
        rc, doc, out, err = self.hw.ctl("journal", BROKEN)
        self.assertEqual(rc, 0, out + err)
        self.assertIsNotNone(doc["journal"], "the fixed zone keeps no history")

        # From now on the usual rule: a failed reload keeps the served version.
        text, _ = with_bad_line(hwtest.set_soa_serial(generated(BROKEN, 0), BROKEN_SERIAL + 1), "x IN BOGUS 1")
        self.s.broken_path.write_text(text)
        rc, doc, out, err = self.hw.ctl("reload", BROKEN)
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(zone_entry(doc, BROKEN)["serial"], BROKEN_SERIAL)
        self.assertEqual(hwtest.soa_serial(self.hw.port, BROKEN), BROKEN_SERIAL)

    def test_reload_of_the_zone_served_from_state_continues_its_history(self):
        text = hwtest.set_soa_serial(generated(STALE, STALE_SERIAL), STALE_SERIAL + 1)
        text += "new 300 IN A 192.0.2.99\n"
        self.s.stale_path.write_text(text)
        rc, doc, out, err = self.hw.ctl("reload", STALE)
        self.assertEqual(rc, 0, out + err)
        entry = zone_entry(doc, STALE)
        self.assertEqual((entry["serial"], entry["old_serial"]), (STALE_SERIAL + 1, STALE_SERIAL))
        self.assertEqual(hwtest.soa_serial(self.hw.port, STALE), STALE_SERIAL + 1)
        rc, doc, out, err = self.hw.ctl("journal", STALE)
        self.assertEqual(rc, 0, out + err)
        self.assertIn((STALE_SERIAL, STALE_SERIAL + 1), [(e["from"], e["to"]) for e in doc["entries"]])
        rc, doc, out, err = self.hw.ctl("status", STALE)
        self.assertEqual(zone_entry(doc, STALE)["served_from"], "file")
        hwtest.wait_for(lambda: STALE_SERIAL + 1 in self.s.notify.for_zone(STALE), 10,
                        what="NOTIFY for the new serial")

    def test_sighup_serves_the_fixed_zone(self):
        self.s.broken_path.write_text(generated(BROKEN, BROKEN_SERIAL))
        self.hw.reload_signal()
        hwtest.wait_for(lambda: hwtest.soa_serial(self.hw.port, BROKEN) == BROKEN_SERIAL, 10,
                        what="the fixed zone served after SIGHUP")


class EveryZoneBrokenTest(unittest.TestCase):
    """No zone loads: the server still starts (BIND and Knot do too), says so, and takes a fix."""

    def setUp(self):
        hwtest.require_headwater("start-up with broken zones is Headwater's behaviour")
        self.tmp = hwtest.tempdir("startup-all")
        self.addCleanup(hwtest.cleanup_dir, self.tmp)
        (self.tmp / "broken.zone").write_text(with_bad_line(generated(BROKEN, 3), "bad IN A 1.2.3")[0])
        zones = [hwtest.ZoneConf(BROKEN, self.tmp / "broken.zone"),
                 hwtest.ZoneConf(GOOD, self.tmp / "missing.zone")]
        (self.tmp / "missing.zone").write_text("")
        self.hw = hwfaults.Headwater(zones)
        self.addCleanup(self.hw.close)
        self.hw.zone_path(GOOD).unlink()  # a missing file

    def test_starts_and_mends(self):
        self.hw.start(wait=False)

        def up():
            self.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())
            return self.hw.socket_path.exists() and self.hw.ctl("status")[0] == 0

        hwtest.wait_for(up, 30, what="the control socket")
        rc, doc, out, err = self.hw.ctl("status")
        for zone in (BROKEN, GOOD):
            self.assertIsNone(zone_entry(doc, zone)["serial"])
        self.assertIn(str(self.hw.zone_path(GOOD)), zone_entry(doc, GOOD)["last_error"])
        hwtest.wait_for(lambda: "no zone is served" in self.hw.log(), 10, what="the log line")
        self.assertIn("headwater serving 0 of 2 zone(s)", self.hw.log())
        self.assertEqual(hwtest.query(self.hw.port, GOOD, "SOA").rcode(), dns.rcode.SERVFAIL)
        p = subprocess.run([hwtest.headwater_bin(), "--check-config", str(self.hw.config_path)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, rf"(?m)^zone {re.escape(GOOD)}: {re.escape(str(self.hw.zone_path(GOOD)))}: "
                                   r".*No such file or directory")
        self.assertIn("2 of 2 zone(s) broken", p.stderr)

        self.hw.zone_path(GOOD).write_text(hwtest.EXAMPLE_ZONE.read_text())
        rc, doc, out, err = self.hw.ctl("reload")
        self.assertEqual(rc, 1, out + err)  # the other zone is still broken
        self.assertEqual(zone_entry(doc, GOOD)["outcome"], "updated")
        self.assertEqual(hwtest.soa_serial(self.hw.port, GOOD), hwtest.EXAMPLE_SERIAL)
        self.assertEqual(hwtest.query(self.hw.port, BROKEN, "SOA").rcode(), dns.rcode.SERVFAIL)


if __name__ == "__main__":
    hwtest.main()
