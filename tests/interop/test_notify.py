#!/usr/bin/python3
"""NOTIFY (RFC 1996) makes real Knot DNS, BIND and NSD secondaries follow Headwater's reloads at once.

One Headwater serves notify.example.; Knot, BIND and NSD are its secondaries, each with a TSIG key of
its own (hmac-sha256; Headwater's transfer rule needs 127.0.0.1 AND one of the three keys, and each
peer accepts NOTIFY only when signed with its key), asking for IXFR. The zone's SOA says refresh 3600,
retry 3600 (and BIND's min-refresh-time is 300 s anyway), so only a NOTIFY explains a peer that serves
a new serial within seconds. Headwater's zone lists, in this order, an unused loopback port (nothing
listens), a UDP socket that swallows every datagram (never answers), then the three peers, each with
its key and source 127.0.0.1; notify_retries 3, notify_retry_interval 1 s.

Checks, in order (the tests share the servers and run in name order):
1. Edit the zone file (new serial, a changed record), `headwaterctl reload`: every peer serves the new
   serial within 2 s (times printed), though two dead targets come first in the list; Headwater's log
   has `transfer ... type=IXFR form=ixfr outcome=ok` per peer key and `notify ... outcome=ack` per peer;
   `headwaterctl --json secondaries` shows the three in sync (lag 0) and their targets acknowledged.
2. NSD stopped, another change: Knot and BIND still update within 2 s; NSD shows behind (lag_serials >= 1,
   in_sync false) and its NOTIFY target retries (tries >= 2, pending) or ends in an error. NSD started
   again (same config and state), `headwaterctl notify ZONE 127.0.0.1:<nsd port>`: it catches up and
   shows in sync.
3. `status --json` carries the zone's notify targets.
4. The transfer log (server.transfer_log) is JSON lines, with transfer events for each peer's key.

HW_PEERS=knot,bind limits the set (the stop/start test uses NSD, else the last peer); missing peers
are skipped.
"""

import json
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.message  # noqa: E402
import dns.query  # noqa: E402

ZONE = "notify.example."
BASE_SERIAL = 2026112601
BUDGET = 2.0  # seconds from `headwaterctl reload` until a notified peer serves the new serial
RETRIES = 2
RETRY_INTERVAL = 1


def zone_text(serial, www):
    lines = [
        f"$ORIGIN {ZONE}",
        "$TTL 3600",
        f"@ IN SOA ns1.{ZONE} hostmaster.{ZONE} ( {serial} ; serial",
        "     3600 ; refresh (long: only NOTIFY explains a fast update)",
        "     3600 ; retry",
        "     1209600 ; expire",
        "     300 ) ; negative caching TTL",
        "@ IN NS ns1",
        "@ IN NS ns2.example.net.",
        "ns1 IN A 192.0.2.53",
        f"www 300 IN A {www}",
        'txt IN TXT "notify interop"',
    ]
    lines += [f"host-{i:03d} IN A 198.51.100.{i + 1}" for i in range(60)]
    return "\n".join(lines) + "\n"


class NsdNotified(hwtest.NsdSecondary):
    """IXFR (the shared helper says `request-xfr: AXFR`), NOTIFY only from 127.0.0.1 with the key, and
    the zone written to its file every second (zonefiles-write), so that after a restart NSD serves
    what it held before (it keeps zones in memory only otherwise, and would AXFR at start-up)."""

    def write_config(self):
        super().write_config()
        key = self.distinct_keys()[0].name
        self.edit_config(("request-xfr: AXFR ", "request-xfr: "),
                         ("allow-notify: 127.0.0.0/8 NOKEY", f"allow-notify: 127.0.0.1 {key}"),
                         ("    xfrd-reload-timeout: 0\n", "    xfrd-reload-timeout: 0\n    zonefiles-write: 1\n"))

    def file_serial(self, zone):
        """The serial of the zone file NSD wrote, or None."""
        return hwtest.zone_file_serial(self.dir / f"{zone}zone")


PEERS = {"knot": hwtest.KnotNotified, "bind": hwtest.BindNotified, "nsd": NsdNotified}


def answers(port):
    """The server on port answers a query at all (SERVFAIL included)."""
    try:
        dns.query.udp(dns.message.make_query(ZONE, "SOA"), hwtest.ADDR, port=port, timeout=0.5)
        return True
    except Exception:
        return False


def key_of(entry):
    return (entry.get("key") or "").rstrip(".").lower()


class NotifyInteropTest(unittest.TestCase):
    hw = None
    peers = {}
    hole = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("NOTIFY targets, secondaries view and transfer log are Headwater's")
        cls.peers = {}
        cls.serial = BASE_SERIAL
        try:
            names, cls.missing = hwtest.available_peers(PEERS)
            if not names:
                raise unittest.SkipTest(f"no peer available: {cls.missing or 'HW_PEERS selects none'}")
            cls.tmp = hwtest.tempdir("notify-data")
            source = cls.tmp / "notify.example.zone"
            source.write_text(zone_text(cls.serial, "192.0.2.80"))
            cls.keys = {n: hwtest.TsigKey(f"{n}-key", "hmac-sha256") for n in names}
            acl = hwtest.AclConf("peers", ["127.0.0.1/32"], list(cls.keys.values()))
            cls.zone = hwtest.ZoneConf(ZONE, source, ["peers"], notify_options={
                "notify_retries": RETRIES, "notify_retry_interval": RETRY_INTERVAL})
            cls.hw = hwtest.Headwater([cls.zone], acl_networks=[], keys=list(cls.keys.values()), acls=[acl],
                                      transfer_log="transfers.jsonl")
            for n in names:
                cls.peers[n] = PEERS[n]([ZONE], cls.hw.port, keys={ZONE: cls.keys[n]})
            cls.hole = hwtest.SilentUdp()
            cls.unused = f"{hwtest.ADDR}:{hwtest.free_port()}"  # nothing ever binds it
            cls.dead_targets = [cls.unused, cls.hole.address]
            cls.targets = {n: f"{hwtest.ADDR}:{p.port}" for n, p in cls.peers.items()}
            cls.zone.notify = list(cls.dead_targets) + [
                {"address": cls.targets[n], "key": cls.keys[n], "source": hwtest.ADDR} for n in names]
            cls.hw.start()
            for p in cls.peers.values():
                p.start()
            for p in cls.peers.values():
                p.wait_serial(ZONE, cls.serial, timeout=30)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls, cls.hole)
        cls.hole = None

    # -- helpers --
    def change_and_reload(self, www):
        """Writes the next version and reloads; returns (new serial, monotonic time before the reload)."""
        serial = type(self).serial + 1
        self.hw.zone_path(ZONE).write_text(zone_text(serial, www))
        t0 = time.monotonic()
        rc, doc, out, err = self.hw.ctl("reload", ZONE)
        self.assertEqual(rc, 0, f"reload: {out}{err}")
        type(self).serial = serial
        return serial, t0

    def measure(self, names, serial, t0, limit=BUDGET + 3.0):
        """Seconds from t0 until each peer serves serial (None when not within limit)."""
        times = {}
        while len(times) < len(names) and time.monotonic() - t0 < limit:
            for n in names:
                if n not in times and self.peers[n].serial(ZONE) == serial:
                    times[n] = time.monotonic() - t0
            time.sleep(0.02)
        out = {n: times.get(n) for n in names}
        print("\n  " + ", ".join(f"{n}: {'%.3f s' % t if t is not None else 'NOT within %.0f s' % limit}"
                                 for n, t in out.items()), flush=True)
        return out

    def assert_fast(self, times, serial):
        slow = {n: t for n, t in times.items() if t is None or t > BUDGET}
        if slow:
            self.fail(f"peers not serving {serial} within {BUDGET} s: {slow}\n" + self.diagnostics())

    def diagnostics(self):
        rc, doc, out, err = self.hw.ctl("secondaries", ZONE)
        notify = "\n".join(n["_line"] for n in hwtest.notify_log(self.hw.log(), ZONE)[-12:])
        xfr = "\n".join(t["_line"] for t in hwtest.transfer_log(self.hw.log(), ZONE)[-12:])
        return (f"--- secondaries ---\n{out}{err}\n--- notify lines ---\n{notify}\n"
                f"--- transfer lines ---\n{xfr}")

    def secondaries(self):
        rc, doc, out, err = self.hw.ctl("secondaries", ZONE)
        self.assertEqual(rc, 0, f"secondaries: {out}{err}")
        self.assertTrue(doc and doc.get("ok"), out)
        return doc

    def peer_entry(self, doc, name):
        mine = [s for s in doc.get("secondaries", []) if key_of(s) == self.keys[name].name
                and s.get("address") == hwtest.ADDR]
        return mine[0] if mine else None

    def notify_entry(self, doc, target):
        mine = [t for t in doc.get("notify", []) if t.get("target") == target]
        return mine[0] if mine else None

    def wait_doc(self, predicate, timeout, what):
        """Polls `secondaries` until predicate(doc) holds; returns the doc (fails with the last one)."""
        deadline = time.monotonic() + timeout
        while True:
            doc = self.secondaries()
            if predicate(doc):
                return doc
            if time.monotonic() > deadline:
                self.fail(f"timed out waiting for {what}:\n{json.dumps(doc, indent=1)}\n" + self.diagnostics())
            time.sleep(0.2)

    def in_sync(self, doc, name, serial):
        e = self.peer_entry(doc, name)
        return bool(e and e.get("in_sync") is True and e.get("lag_serials") == 0 and e.get("holds") == serial
                    and e.get("lag_seconds") == 0)

    def acked(self, doc, name, serial):
        t = self.notify_entry(doc, self.targets[name])
        return bool(t and t.get("acknowledged_serial") == serial and t.get("acknowledged_at")
                    and not t.get("error") and t.get("pending") is False)

    def check_dead_targets(self, doc, serial):
        for target in self.dead_targets:
            t = self.notify_entry(doc, target)
            self.assertIsNotNone(t, f"no notify entry for {target}: {doc.get('notify')}")
            self.assertEqual(t.get("serial"), serial, t)
            self.assertGreaterEqual(t.get("tries") or 0, 1, t)
            self.assertNotEqual(t.get("acknowledged_serial"), serial, f"{target} never answers: {t}")
        self.assertGreater(self.hole.count, 0, "the silent target got no NOTIFY at all")

    def check_log(self, name, serial):
        key = self.keys[name].name
        ixfr = hwtest.transfer_log(self.hw.log(), ZONE, type="IXFR", form="ixfr", outcome="ok",
                                   key=key + r"\.?", serial=str(serial))
        self.assertTrue(ixfr, f"no `type=IXFR form=ixfr outcome=ok serial={serial}` line for {name} ({key}):\n"
                        + self.diagnostics())
        acks = hwtest.notify_log(self.hw.log(), ZONE, target=self.targets[name], serial=str(serial),
                                 outcome="ack")
        self.assertTrue(acks, f"no `notify ... outcome=ack` for {name} serial {serial}:\n" + self.diagnostics())

    # -- tests (name order) --
    def test_1_reload_notifies_every_peer(self):
        names = list(self.peers)
        serial, t0 = self.change_and_reload("192.0.2.81")
        times = self.measure(names, serial, t0)
        self.assert_fast(times, serial)
        for n in names:
            with self.subTest(peer=n):
                self.assertEqual(hwtest.soa_serial(self.peers[n].port, ZONE), serial)
                r = hwtest.query(self.peers[n].port, f"www.{ZONE}", "A")
                self.assertEqual([rd.address for rr in r.answer for rd in rr], ["192.0.2.81"], f"{n}: {r}")
                hwtest.wait_for(lambda n=n: hwtest.notify_log(self.hw.log(), ZONE, target=self.targets[n],
                                                              serial=str(serial), outcome="ack"), 3,
                                interval=0.1, what=f"notify ack line for {n}")
                self.check_log(n, serial)
        doc = self.wait_doc(lambda d: all(self.in_sync(d, n, serial) and self.acked(d, n, serial) for n in names),
                            5, f"all peers in sync at {serial} and acknowledged")
        self.assertEqual(doc.get("serial"), serial)
        self.assertEqual(doc.get("name", "").lower(), ZONE)
        for n in names:
            e = self.peer_entry(doc, n)
            lt = e.get("last_transfer") or {}
            self.assertEqual((lt.get("type"), lt.get("form"), lt.get("to")), ("IXFR", "ixfr", serial), e)
            self.assertEqual(lt.get("from"), serial - 1, e)
            self.assertEqual(key_of(self.notify_entry(doc, self.targets[n])), self.keys[n].name)
        self.check_dead_targets(doc, serial)

    def test_2_stopped_peer_falls_behind_then_catches_up(self):
        victim = "nsd" if "nsd" in self.peers else list(self.peers)[-1]
        others = [n for n in self.peers if n != victim]
        peer = self.peers[victim]
        # Make sure it holds the current serial first (when test 1 was skipped or failed), and has it
        # on disk, so that it comes back with it.
        peer.wait_serial(ZONE, self.serial, timeout=10)
        held = self.serial
        if hasattr(peer, "file_serial"):
            hwtest.wait_for(lambda: peer.file_serial(ZONE) == held, 10, interval=0.1,
                            what=f"{victim} to write serial {held} to its zone file")
        peer.proc.stop()
        serial, t0 = self.change_and_reload("192.0.2.82")
        times = self.measure(others, serial, t0)
        if others:
            self.assert_fast(times, serial)
        for n in others:
            self.check_log(n, serial)

        target = self.targets[victim]

        def behind_and_retrying(d):
            e, t = self.peer_entry(d, victim), self.notify_entry(d, target)
            return bool(e and t and e.get("in_sync") is False and (e.get("lag_serials") or 0) >= 1
                        and e.get("holds") == held and t.get("serial") == serial
                        and t.get("acknowledged_serial") != serial
                        and ((t.get("tries") or 0) >= 2 or t.get("error")))

        doc = self.wait_doc(behind_and_retrying, 2 * RETRY_INTERVAL + 3, f"{victim} behind with NOTIFY retries")
        e, t = self.peer_entry(doc, victim), self.notify_entry(doc, target)
        print(f"\n  {victim} stopped: lag_serials={e.get('lag_serials')} lag_seconds={e.get('lag_seconds')} "
              f"notify tries={t.get('tries')} pending={t.get('pending')} error={t.get('error')}", flush=True)
        for n in others:
            self.assertTrue(self.in_sync(doc, n, serial) or self.wait_doc(
                lambda d, n=n: self.in_sync(d, n, serial), 3, f"{n} in sync"))
        # The retries end (retries + 1 tries, backoff 1, 2, 4 s) with an error; the others unaffected.
        doc = self.wait_doc(lambda d: bool(self.notify_entry(d, target).get("error"))
                            and self.notify_entry(d, target).get("pending") is False,
                            RETRY_INTERVAL * (2 ** (RETRIES + 1)) + 3, f"{victim}'s NOTIFY retries to end")
        t = self.notify_entry(doc, target)
        print(f"  {victim} NOTIFY gave up: tries={t.get('tries')} error={t.get('error')!r}", flush=True)
        self.assertEqual(t.get("tries"), RETRIES + 1, t)
        self.assertFalse(self.peer_entry(doc, victim).get("in_sync"), doc)
        failed = hwtest.notify_log(self.hw.log(), ZONE, target=target, serial=str(serial), outcome="error")
        self.assertTrue(failed, f"no `notify ... outcome=error` line for {victim}:\n" + self.diagnostics())

        # Started again with the same config and state: it serves what it held (nothing has told it
        # otherwise, its refresh timer is an hour), until re-notified.
        peer.start()
        hwtest.wait_for(lambda: answers(peer.port) or not peer.proc.alive(), 15, interval=0.1,
                        what=f"{victim} to answer again")
        self.assertTrue(peer.proc.alive(), peer.proc.log_tail())
        before = peer.serial(ZONE)
        self.assertEqual(before, held, f"{victim} restarted serving {before}, not the {held} it held: the "
                         f"re-notify would prove nothing\n{peer.proc.log_tail()}")
        t1 = time.monotonic()
        rc, ndoc, out, err = self.hw.ctl("notify", ZONE, target)
        self.assertEqual(rc, 0, f"notify: {out}{err}")
        # docs/control.md says `targets` lists where it was sent (strings) next to `serial`; the server
        # answers with every target's state instead: accept either, as long as this one is named.
        sent = [t if isinstance(t, str) else t.get("target") for t in ndoc.get("targets", [])]
        self.assertIn(target, sent, out)
        caught = self.measure([victim], serial, t1, limit=10)
        print(f"  {victim} served {before} on restart; caught up after re-notify: "
              f"{'%.3f s' % caught[victim] if caught[victim] is not None else 'no'}", flush=True)
        self.assertIsNotNone(caught[victim], f"{victim} did not catch up:\n{peer.proc.log_tail()}\n"
                             + self.diagnostics())
        self.assertLessEqual(caught[victim], BUDGET, f"{victim} caught up after {caught[victim]:.3f} s")
        self.check_log(victim, serial)
        self.wait_doc(lambda d: self.in_sync(d, victim, serial) and self.acked(d, victim, serial), 5,
                      f"{victim} in sync and acknowledged at {serial}")

    def test_3_status_shows_notify_targets(self):
        rc, doc, out, err = self.hw.ctl("status", ZONE)
        self.assertEqual(rc, 0, f"status: {out}{err}")
        zones = [z for z in doc.get("zones", []) if z.get("name", "").lower() == ZONE]
        self.assertEqual(len(zones), 1, out)
        notify = zones[0].get("notify")
        self.assertIsInstance(notify, list, out)
        self.assertEqual([t.get("target") for t in notify], self.dead_targets + list(self.targets.values()), out)
        for n in self.peers:
            t = [t for t in notify if t.get("target") == self.targets[n]][0]
            self.assertEqual(t.get("acknowledged_serial"), self.serial, t)

    def test_4_transfer_log_is_json_lines(self):
        path = self.hw.dir / "transfers.jsonl"
        self.assertTrue(path.exists(), f"no transfer log at {path}")
        events = []
        for i, line in enumerate(path.read_text().splitlines()):
            try:
                events.append(json.loads(line))
            except ValueError as e:
                self.fail(f"line {i + 1} of {path} is not JSON ({e}): {line!r}")
        self.assertTrue(events, "transfer log is empty")
        for ev in events:
            self.assertIn("time", ev)
            self.assertIn("event", ev)
        kinds = sorted({ev["event"] for ev in events})
        print(f"\n  transfer log: {len(events)} lines, events {kinds}", flush=True)
        for n in self.peers:
            with self.subTest(peer=n):
                mine = [ev for ev in events if ev.get("event") == "transfer" and key_of(ev) == self.keys[n].name]
                self.assertTrue(mine, f"no transfer event for {n}'s key: {events[-5:]}")
                self.assertTrue(all(ev.get("zone", "").lower() == ZONE for ev in mine), mine)
                ixfr = [ev for ev in mine if ev.get("type") == "IXFR" and ev.get("form") == "ixfr"
                        and ev.get("outcome") == "ok" and ev.get("to") == BASE_SERIAL + 1]
                self.assertTrue(ixfr, f"no ok IXFR to {BASE_SERIAL + 1} for {n}: {mine}")
                self.assertTrue(str(ixfr[0].get("peer", "")).startswith(hwtest.ADDR + "#"), ixfr[0])
                acks = [ev for ev in events if ev.get("event") == "notify" and ev.get("outcome") == "ack"
                        and str(ev.get("key", "")).rstrip(".") == self.keys[n].name.rstrip(".")]
                self.assertTrue(acks, f"no notify ack event for {n}: {events[-5:]}")


if __name__ == "__main__":
    hwtest.main()
