#!/usr/bin/python3
"""Knot DNS, BIND and NSD secondaries follow Headwater's reloads v1 -> v2 -> v3 by IXFR (RFC 1995).

Each peer gets its own Headwater (so every transfer line in that server's log is the peer's), takes
v1 by AXFR, then follows two reloads. The zone's SOA says refresh 2, retry 2 (Headwater sends no
NOTIFY yet); BIND is told to honour such short timers (min-refresh-time), NSD to ask for IXFR (the
shared helper makes it ask for AXFR only), Knot is also poked with `knotc zone-refresh`.

Checks: the peer serves each serial and, by AXFR from the peer, exactly the primary's records;
Headwater's log has, for v2 and v3, `type=IXFR form=ixfr outcome=ok` lines with fewer records than the
zone (an IXFR answered with the whole zone is logged as type=IXFR form=axfr); and the peer's own log
(its stderr, <peer dir>/<kind>.log) says it took v2 and v3 incrementally:
  knot: `[zone] IXFR, incoming, remote ..., finished, ...` then `zone updated, ..., serial A -> B`
  BIND: `transfer of 'zone/IN' from ...: got incremental response` then `Transfer completed: ...
        (serial B)` (named runs with -d 3: that line is a debug-3 message)
  NSD:  4.6 logs no transfer type, only `zone Z received update to serial B ... of N bytes`; the check
        is N < the wire size of a full AXFR of that version and no "Failed to apply IXFR cleanly".

HW_PEERS=knot,bind limits the set; missing peers are skipped.
"""

import re
import shutil
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

ZONE = "ixfr.example."
VERSIONS_DIR = hwtest.DATA / "ixfr-versions"
VERSIONS = {v: VERSIONS_DIR / f"ixfr.example.zone.v{v}" for v in (1, 2, 3)}
SERIALS = {v: 2024100100 + v for v in (1, 2, 3)}
WAIT = 30.0  # per version and peer; the SOA timers make the peers poll every 2 s


class BindIxfrSecondary(hwtest.BindSecondary):
    """BIND clamps SOA refresh/retry to min-refresh-time/min-retry-time (300 s by default)."""

    def write_config(self):
        super().write_config()
        conf = self.dir / "named.conf"
        text = conf.read_text()
        if "    recursion no;\n" not in text:
            raise AssertionError("hwtest.BindSecondary config changed: no 'recursion no;' to add options after")
        extra = "    min-refresh-time 1;\n    min-retry-time 1;\n    request-ixfr yes;\n"
        text = text.replace("    recursion no;\n", "    recursion no;\n" + extra, 1)
        conf.write_text(text)

    def argv(self):
        # -g ignores the logging statement; xfrin says "got incremental response" only at debug 3.
        return super().argv() + ["-d", "3"]

    def refresh(self, zone):
        pass  # no rndc channel configured; the SOA timers do it


class NsdIxfrSecondary(hwtest.NsdSecondary):
    """`request-xfr: AXFR ...` (the shared helper) makes NSD never try IXFR; without it NSD asks IXFR
    over TCP first."""

    def write_config(self):
        super().write_config()
        conf = self.dir / "nsd.conf"
        text = conf.read_text()
        if "request-xfr: AXFR " not in text:
            raise AssertionError("hwtest.NsdSecondary config changed: no 'request-xfr: AXFR'")
        conf.write_text(text.replace("request-xfr: AXFR ", "request-xfr: "))

    def refresh(self, zone):
        pass  # remote-control is off; the SOA timers do it


class KnotIxfrSecondary(hwtest.KnotSecondary):
    def refresh(self, zone):
        try:
            super().refresh(zone)
        except Exception:  # the SOA timers do it anyway
            pass


knot_transfers = hwtest.knot_transfers
bind_transfers = hwtest.bind_transfers


def nsd_received_bytes(log, zone):
    """{serial: (bytes, line)} from NSD's `zone Z received update to serial N ... of B bytes` lines.
    NSD 4.6 names neither IXFR nor AXFR for incoming transfers at any verbosity (its xfrd debug
    messages are compiled out), so the size is the only evidence NSD itself gives."""
    out = {}
    pat = re.compile(r"zone " + re.escape(zone) + r" received update to serial (\d+) .* of (\d+) bytes")
    for line in log.splitlines():
        m = pat.search(line)
        if m:
            out[int(m.group(1))] = (int(m.group(2)), line)
    return out


PEERS = {"knot": KnotIxfrSecondary, "bind": BindIxfrSecondary, "nsd": NsdIxfrSecondary}


def version_set(v):
    return hwtest.canon_set(hwtest.zone_file_rrs(VERSIONS[v], ZONE))


class IxfrSecondariesTest(unittest.TestCase):
    pairs = {}  # peer name -> (Headwater, Secondary)
    missing = {}

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("reloads by headwaterctl and Headwater's transfer log")
        cls.pairs = {}
        cls.missing = {}
        try:
            # Every pair starts at once, so the first AXFRs run in parallel.
            for name in hwtest.wanted_peers(PEERS):
                try:
                    hwtest.require_tool(PEERS[name].binary)
                except unittest.SkipTest as e:
                    cls.missing[name] = str(e)
                    continue
                hw = hwtest.Headwater([hwtest.ZoneConf(ZONE, VERSIONS[1])])
                cls.pairs[name] = (hw, None)
                hw.start()
                peer = PEERS[name]([ZONE], hw.port)
                cls.pairs[name] = (hw, peer)
                peer.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for hw, peer in cls.pairs.values():
            if peer:
                peer.close()
            hw.close()
        cls.pairs = {}

    def peer_set(self, peer, full_bytes, v):
        messages = hwtest.axfr(peer.port, ZONE, timeout=10.0)
        self.assertTrue(messages and messages[0].rcode == 0, f"AXFR from {peer.kind} failed")
        full_bytes[v] = sum(len(m.wire) for m in messages)
        return hwtest.canon_set(hwtest.xfr_rrs(messages))

    def follow(self, name):
        if name in self.missing:
            self.skipTest(self.missing[name])
        if name not in self.pairs:
            self.skipTest(f"{name} not selected by HW_PEERS")
        hw, peer = self.pairs[name]
        zone_records = len(version_set(1))
        full_bytes = {}  # version -> wire bytes of an AXFR of it (from the peer)
        for v in (1, 2, 3):
            if v > 1:
                shutil.copyfile(VERSIONS[v], hw.zone_path(ZONE))
                rc, doc, out, err = hw.ctl("reload", ZONE)
                self.assertEqual(rc, 0, f"reload of v{v}: {out}{err}")
                self.assertEqual(hwtest.soa_serial(hw.port, ZONE), SERIALS[v])
                peer.refresh(ZONE)
            try:
                peer.wait_serial(ZONE, SERIALS[v], timeout=WAIT)
            except AssertionError as e:
                raise AssertionError(f"{e}\n--- headwater transfer lines ---\n" + "\n".join(
                    t["_line"] for t in hwtest.transfer_log(hw.log(), ZONE))) from None
            got = self.peer_set(peer, full_bytes, v)
            self.assertEqual(got, version_set(v), f"{name} at v{v}: " + hwtest.describe_diff(version_set(v), got))

        lines = hwtest.transfer_log(hw.log(), ZONE, outcome="ok")
        summary = "\n".join(t["_line"] for t in hwtest.transfer_log(hw.log(), ZONE))
        self.assertTrue(lines, f"no transfer lines in headwater's log:\n{hw.log()[-3000:]}")
        first = [t for t in lines if t.get("serial") == str(SERIALS[1])]
        self.assertTrue(first, f"no transfer of v1 logged:\n{summary}")
        for v in (2, 3):
            with self.subTest(version=v):
                ixfrs = [t for t in lines if t.get("type") == "IXFR" and t.get("serial") == str(SERIALS[v])]
                self.assertTrue(ixfrs, f"{name} did not take v{v} by IXFR:\n{summary}")
                incremental = [t for t in ixfrs
                               if t.get("form") == "ixfr" and int(t.get("records", "0")) < zone_records]
                self.assertTrue(incremental, f"{name}'s IXFR of v{v} was answered in AXFR form:\n{summary}")
                axfrs = [t for t in lines if t.get("type") == "AXFR" and t.get("serial") == str(SERIALS[v])]
                self.assertFalse(axfrs, f"{name} also took v{v} by AXFR:\n{summary}")
        self.check_peer_log(name, peer, full_bytes)

    def check_peer_log(self, name, peer, full_bytes):
        """The secondary's own log says it took v2 and v3 incrementally (IXFR, not a fallback to AXFR)."""
        log = peer.proc.log()

        def show(pattern):
            return "\n".join(line for line in log.splitlines() if re.search(pattern, line))[-4000:]

        for v in (2, 3):
            with self.subTest(peer_log=name, version=v):
                serial = SERIALS[v]
                if name == "knot":
                    got = knot_transfers(log).get(serial)
                    self.assertTrue(got, f"knot logged no transfer of {serial}:\n"
                                         + show(r"incoming|zone updated"))
                    self.assertEqual(got[0], "IXFR", f"knot took {serial} by {got[0]}: {got[1]}")
                elif name == "bind":
                    got = bind_transfers(log).get(serial)
                    self.assertTrue(got, f"named logged no transfer of {serial}:\n"
                                         + show(r"incremental response|Transfer completed"))
                    self.assertEqual(got[0], "IXFR", f"named took {serial} by {got[0]}: {got[1]}")
                elif name == "nsd":
                    got = nsd_received_bytes(log, ZONE).get(serial)
                    self.assertTrue(got, f"nsd logged no update to {serial}:\n" + show(r"received update"))
                    self.assertLess(got[0], full_bytes[v],
                                    f"nsd received {got[0]} bytes for {serial}, no less than the "
                                    f"{full_bytes[v]}-byte AXFR of it: {got[1]}")
                    self.assertNotIn("Failed to apply IXFR cleanly", log)

    def test_knot_follows_reloads_by_ixfr(self):
        self.follow("knot")

    def test_bind_follows_reloads_by_ixfr(self):
        self.follow("bind")

    def test_nsd_follows_reloads_by_ixfr(self):
        self.follow("nsd")


if __name__ == "__main__":
    hwtest.main()
