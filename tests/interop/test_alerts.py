#!/usr/bin/python3
"""Webhook alerts ([[alert]]): one alert per incident, delivered by POST, never in the way of serving.

One Headwater serves alerts.example. with a Knot secondary listed in `secondaries` (verify_interval 1s)
and NOTIFYed, plus a NOTIFY target on a loopback port where nothing listens (notify_retries 0). Four
webhooks, in this order: a TCP port that accepts connections but never answers (timeout 2s, retries 3),
a port where nothing listens, then a local HTTP receiver (python http.server in this process) taking every
event as JSON with transfer_failures = 2, and the same receiver taking drift_start/drift_end as Slack's
`text` form.

Checks (in name order, sharing the servers):
1. NOTIFY to the dead target is given up: exactly one notify_giveup alert, and none more after another
   change (the same incident: the target never acknowledged in between).
2. Knot in sync (the verification says so); Knot stopped and the zone changed: exactly one drift_start for
   Knot (JSON and text), even after several more checks; Knot started again (it transfers the new
   version): exactly one drift_end. Meanwhile the two broken webhooks are retried (logged), the reloads
   return at once and queries are answered: an unreachable webhook delays nothing. The metrics'
   headwater_alerts_total counts the receiver's posts as delivered and the broken webhooks' as failed.
3. AXFR refused three times in a row for 127.0.0.2 (outside the transfer ACL): exactly one
   transfer_failures alert, at the second.
4. A syntax error in the zone file: one reload_failed per failing streak (reload twice: one alert; fixed,
   broken again: a second one).
"""

import json
import re
import socket
import sys
import threading
import time
import unittest
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

ZONE = "alerts.example."
SERIAL = 2026120501
INTERVAL = 1


def zone_text(serial, extra=""):
    return (f"$ORIGIN {ZONE}\n$TTL 300\n@ IN SOA ns1 hostmaster ( {serial} ; serial\n 3600 3600 1209600 300 )\n"
            f"@ IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A 192.0.2.80\n{extra}")


class Receiver:
    """An HTTP server on loopback that records every POST: (path, parsed JSON body)."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.posts.append((self.path, json.loads(body), self.headers.get("Content-Type")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((hwtest.ADDR, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, path, event=None, **match):
        with self.lock:
            posts = list(self.posts)
        out = []
        for p, body, _ in posts:
            if p != path:
                continue
            if event and body.get("event") != event:
                continue
            if all(body.get(k) == v for k, v in match.items()):
                out.append(body)
        return out

    def texts(self, needle):
        with self.lock:
            return [b["text"] for p, b, _ in self.posts if p == "/text" and needle in b.get("text", "")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class AlertHeadwater(hwtest.Headwater):
    def __init__(self, *args, alerts_toml="", **kwargs):
        super().__init__(*args, **kwargs)
        self.alerts_toml = alerts_toml
        self.metrics_port = hwtest.free_port()

    def config_text(self):
        text = super().config_text().replace(
            "[server]\n", f'[server]\nmetrics_listen = "{hwtest.ADDR}:{self.metrics_port}"\n', 1)
        return text + self.alerts_toml

    def alerts_metric(self, outcome):
        url = f"http://{hwtest.ADDR}:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            m = re.search(rf'^headwater_alerts_total{{outcome="{outcome}"}} (\d+)$', r.read().decode(), re.M)
        return int(m.group(1)) if m else None


class AlertsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("alerts are Headwater's")
        if "knot" not in hwtest.wanted_peers():
            raise unittest.SkipTest("HW_PEERS leaves Knot out")
        hwtest.require_tool("knotd")
        cls.tmp = hwtest.tempdir("alerts")
        cls.receiver = Receiver()
        # Accepts (the kernel completes the handshake) and never reads or answers.
        cls.blackhole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cls.blackhole.bind((hwtest.ADDR, 0))
        cls.blackhole.listen(64)
        closed_port = hwtest.free_port()
        cls.dead_notify = f"{hwtest.ADDR}:{hwtest.free_port()}"
        cls.hw = cls.knot = None
        try:
            source = cls.tmp / "alerts.example.zone"
            source.write_text(zone_text(SERIAL))
            cls.knot_port = hwtest.free_port()
            knot_addr = f"{hwtest.ADDR}:{cls.knot_port}"
            cls.knot_secondary = knot_addr
            alerts = (
                f'\n[[alert]]\nurl = "http://{hwtest.ADDR}:{cls.blackhole.getsockname()[1]}/hook"\n'
                'timeout = "2s"\nretries = 3\nretry_interval = "500ms"\n'
                f'\n[[alert]]\nurl = "http://{hwtest.ADDR}:{closed_port}/hook"\nretries = 3\nretry_interval = "500ms"\n'
                f'\n[[alert]]\nurl = "http://{hwtest.ADDR}:{cls.receiver.port}/hook"\ntransfer_failures = 2\n'
                f'\n[[alert]]\nurl = "http://{hwtest.ADDR}:{cls.receiver.port}/text"\nformat = "text"\n'
                'events = ["drift_start", "drift_end"]\n')
            zone = hwtest.ZoneConf(ZONE, source, notify=[knot_addr, cls.dead_notify],
                                   notify_options={"notify_retries": 0, "notify_retry_interval": "1s",
                                                   "secondaries": [knot_addr], "verify_interval": f"{INTERVAL}s"})
            cls.hw = AlertHeadwater([zone], alerts_toml=alerts)
            cls.hw.start()
            cls.knot = hwtest.KnotSecondary([ZONE], cls.hw.port)
            cls.knot.port = cls.knot_port
            cls.knot.start()
            cls.knot.wait_serial(ZONE, SERIAL)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in (cls.knot, cls.hw):
            if p is not None:
                p.close()
        cls.receiver.close()
        cls.blackhole.close()
        hwtest.cleanup_dir(cls.tmp)

    def change(self, serial, extra=""):
        """Writes the zone with `serial` and reloads; asserts the reload returns promptly and succeeds."""
        self.hw.zone_path(ZONE).write_text(zone_text(serial, extra))
        rc, out, _, err = self.hw.ctl("reload", ZONE, timeout=10)  # raises if the reload hangs
        return rc, out, err

    def diagnostics(self):
        return (f"\n--- received ---\n{json.dumps(self.receiver.posts, indent=1)}"
                f"\n--- headwater log ---\n{self.hw.proc.log_tail(80)}")

    def test_1_notify_giveup_once_per_incident(self):
        target = self.dead_notify
        hwtest.wait_for(lambda: self.receiver.events("/hook", "notify_giveup", target=target), 15,
                        what="the notify_giveup alert" + self.diagnostics())
        self.assertEqual(self.change(SERIAL + 1)[0], 0)
        # The next give-up (one try, then 1 s) is the same incident: no second alert.
        hwtest.wait_for(lambda: len(hwtest.notify_log(self.hw.log(), ZONE, target=target, outcome="error")) >= 2,
                        15, what="the second NOTIFY give-up")
        time.sleep(1)
        self.assertEqual(len(self.receiver.events("/hook", "notify_giveup", target=target)), 1, self.diagnostics())
        body = self.receiver.events("/hook", "notify_giveup")[0]
        self.assertEqual(body["zone"], ZONE)
        self.assertIn("given up", body["summary"])

    def test_2_drift_once_each_way(self):
        secondary = self.knot_secondary
        self.knot.wait_serial(ZONE, SERIAL + 1)

        def in_sync():
            rc, out, _, _ = self.hw.ctl("secondaries", ZONE)
            verified = (out or {}).get("verification", []) if rc == 0 else []
            return any(v["address"] == secondary and v["in_sync"] for v in verified)

        hwtest.wait_for(in_sync, 15, what="a verification finding Knot in sync")
        starts_before = len(self.receiver.events("/hook", "drift_start", secondary=secondary))
        ends_before = len(self.receiver.events("/hook", "drift_end", secondary=secondary))

        self.knot.proc.stop()
        self.assertEqual(self.change(SERIAL + 2)[0], 0)
        t0 = time.monotonic()
        # Queries keep being answered while two webhooks are failing.
        self.assertEqual(hwtest.soa_serial(self.hw.port, ZONE), SERIAL + 2)
        hwtest.wait_for(lambda: len(self.receiver.events("/hook", "drift_start", secondary=secondary)) > starts_before,
                        15, what="the drift_start alert" + self.diagnostics())
        print(f"drift_start received {time.monotonic() - t0:.1f}s after the reload", file=sys.stderr)
        time.sleep(4 * INTERVAL)  # several more checks of the stopped secondary
        self.assertEqual(len(self.receiver.events("/hook", "drift_start", secondary=secondary)), starts_before + 1,
                         self.diagnostics())
        self.assertEqual(len(self.receiver.events("/hook", "drift_end", secondary=secondary)), ends_before)
        self.assertEqual(len(self.receiver.texts(f"drift_start zone {ZONE} {secondary}")), starts_before + 1)

        self.knot.start()  # a fresh Knot (no zone state kept) transfers the served version
        self.knot.wait_serial(ZONE, SERIAL + 2)
        hwtest.wait_for(lambda: len(self.receiver.events("/hook", "drift_end", secondary=secondary)) > ends_before,
                        15, what="the drift_end alert" + self.diagnostics())
        time.sleep(3 * INTERVAL)
        self.assertEqual(len(self.receiver.events("/hook", "drift_end", secondary=secondary)), ends_before + 1)
        self.assertEqual(len(self.receiver.events("/hook", "drift_start", secondary=secondary)), starts_before + 1)
        self.assertEqual(len(self.receiver.texts(f"drift_end zone {ZONE} {secondary}")), ends_before + 1)
        body = self.receiver.events("/hook", "drift_end", secondary=secondary)[-1]
        self.assertEqual(body["zone"], ZONE)
        self.assertTrue(body["in_sync"])
        # The broken webhooks were tried and retried, and never held anything up.
        log = self.hw.log()
        self.assertIn("to alert[0] (127.0.0.1) failed", log)
        self.assertIn("to alert[1] (127.0.0.1) failed", log)
        # The metrics count what the receiver got, and the alerts the broken webhooks never took.
        hwtest.wait_for(lambda: self.hw.alerts_metric("delivered") == len(self.receiver.posts), 10,
                        what="headwater_alerts_total{outcome=delivered} to match the receiver's posts")
        hwtest.wait_for(lambda: (self.hw.alerts_metric("failed") or 0) >= 2, 30,
                        what="headwater_alerts_total{outcome=failed} for the two broken webhooks")

    def test_3_transfer_failures(self):
        for _ in range(3):
            messages = hwtest.axfr(self.hw.port, ZONE, source=hwtest.OTHER_ADDR)
            self.assertEqual(messages[0].flags & 0xF, 5)  # REFUSED
        hwtest.wait_for(lambda: self.receiver.events("/hook", "transfer_failures", secondary=hwtest.OTHER_ADDR), 10,
                        what="the transfer_failures alert" + self.diagnostics())
        time.sleep(1)
        alerts = self.receiver.events("/hook", "transfer_failures", secondary=hwtest.OTHER_ADDR)
        self.assertEqual(len(alerts), 1, self.diagnostics())
        self.assertEqual(alerts[0]["failures_in_a_row"], 2)

    def test_4_reload_failed_once_per_streak(self):
        self.hw.zone_path(ZONE).write_text(zone_text(SERIAL + 3, "broken IN A not-an-address\n"))
        for _ in range(2):
            self.assertNotEqual(self.hw.ctl("reload", ZONE, timeout=10)[0], 0)
        hwtest.wait_for(lambda: self.receiver.events("/hook", "reload_failed", zone=ZONE), 10,
                        what="the reload_failed alert" + self.diagnostics())
        time.sleep(1)
        self.assertEqual(len(self.receiver.events("/hook", "reload_failed")), 1, self.diagnostics())
        self.assertIn("not-an-address", self.receiver.events("/hook", "reload_failed")[0]["error"])
        self.assertEqual(self.change(SERIAL + 3)[0], 0)
        self.hw.zone_path(ZONE).write_text(zone_text(SERIAL + 4, "broken IN A not-an-address\n"))
        self.assertNotEqual(self.hw.ctl("reload", ZONE, timeout=10)[0], 0)
        hwtest.wait_for(lambda: len(self.receiver.events("/hook", "reload_failed")) == 2, 10,
                        what="the second reload_failed alert" + self.diagnostics())


if __name__ == "__main__":
    hwtest.main()
