#!/usr/bin/python3
"""Prometheus metrics (server.metrics_listen): a real Prometheus scrapes Headwater while a real Knot
secondary follows a change.

One Headwater serves example.com. with GET /metrics on a free loopback port, a Knot secondary NOTIFYed
and allowed to transfer, and Debian's prometheus scraping Headwater every second (its own loopback port,
a throw-away TSDB directory).

Checks:
1. /metrics answers 200 with the text format's content type and passes `promtool check metrics`; HEAD
   gives no body; another path is 404, POST is 405.
2. After Knot took the zone, the zone is changed and reloaded; Knot pulls the new serial. Prometheus's
   targets API shows the job up, and its query API returns headwater_secondary_serial = the new serial and
   headwater_secondary_lag_serials = 0 for Knot's address, and headwater_zone_serial = the new serial.
3. `promtool test rules` passes on examples/prometheus/headwater-rules.test.yml (the example rules with
   test series), and every metric the example rules and the Grafana dashboard name is one Headwater
   exports.
"""

import json
import re
import shutil
import subprocess
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

ZONE = "example.com."
EXAMPLES = hwtest.REPO / "examples"


class MetricsHeadwater(hwtest.Headwater):
    """Headwater with server.metrics_listen on a free port."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics_port = hwtest.free_port()

    def config_text(self):
        text = super().config_text()
        return text.replace("[server]\n", f'[server]\nmetrics_listen = "{hwtest.ADDR}:{self.metrics_port}"\n', 1)

    def http(self, path="/metrics", method="GET"):
        req = urllib.request.Request(f"http://{hwtest.ADDR}:{self.metrics_port}{path}", method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()


def prometheus_config(target, port):
    return (f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: headwater\n    static_configs:\n"
            f"      - targets: ['{target}']\n") + (f"  - job_name: self\n    static_configs:\n"
                                                  f"      - targets: ['{hwtest.ADDR}:{port}']\n")


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("metrics are Headwater's")
        cls.prometheus = hwtest.require_tool("prometheus")
        cls.promtool = hwtest.require_tool("promtool")
        if "knot" not in hwtest.wanted_peers():
            raise unittest.SkipTest("HW_PEERS leaves Knot out")
        hwtest.require_tool("knotd")
        cls.tmp = hwtest.tempdir("metrics")
        cls.hw = cls.knot = cls.prom = None
        try:
            cls.knot_port = hwtest.free_port()
            cls.hw = MetricsHeadwater([hwtest.ZoneConf(ZONE, hwtest.EXAMPLE_ZONE,
                                                       notify=[f"{hwtest.ADDR}:{cls.knot_port}"])])
            cls.hw.start()
            cls.knot = hwtest.KnotSecondary([ZONE], cls.hw.port)
            cls.knot.port = cls.knot_port
            cls.knot.start()
            cls.prom_port = hwtest.free_port()
            conf = cls.tmp / "prometheus.yml"
            conf.write_text(prometheus_config(f"{hwtest.ADDR}:{cls.hw.metrics_port}", cls.prom_port))
            cls.prom = hwtest.Process([cls.prometheus, f"--config.file={conf}",
                                       f"--storage.tsdb.path={cls.tmp / 'tsdb'}",
                                       f"--web.listen-address={hwtest.ADDR}:{cls.prom_port}",
                                       "--log.level=warn"], cls.tmp / "prometheus.log", cwd=cls.tmp)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in (cls.prom, cls.knot, cls.hw):
            if p is None:
                continue
            if p is cls.prom:
                p.stop()
            else:
                p.close()
        hwtest.cleanup_dir(cls.tmp)

    def prom_api(self, path, **params):
        url = f"http://{hwtest.ADDR}:{self.prom_port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, ConnectionError, ValueError):
            return None

    def prom_value(self, query):
        """The single value of an instant query, or None."""
        r = self.prom_api("query", query=query)
        if not r or r.get("status") != "success" or len(r["data"]["result"]) != 1:
            return None
        return r["data"]["result"][0]["value"][1]

    def test_1_endpoint(self):
        status, headers, body = self.hw.http()
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers)
        self.assertIn(f'headwater_zone_serial{{zone="{ZONE}"}} {hwtest.EXAMPLE_SERIAL}\n', body)
        self.assertRegex(body, r'headwater_queries_total\{transport="udp",rcode="NOERROR"\} [1-9]')
        check = subprocess.run([self.promtool, "check", "metrics"], input=body, capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, "", "promtool lint findings")
        status, headers, body = self.hw.http(method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertEqual(self.hw.http("/")[0], 404)
        self.assertEqual(self.hw.http(method="POST")[0], 405)

    def test_2_prometheus_sees_knot_follow(self):
        self.knot.wait_serial(ZONE, hwtest.EXAMPLE_SERIAL)
        path = self.hw.zone_path(ZONE)
        new_serial = hwtest.EXAMPLE_SERIAL + 1
        path.write_text(hwtest.set_soa_serial(path.read_text(), new_serial) + "metrics-test 300 IN A 192.0.2.99\n")
        rc, out, _, err = self.hw.ctl("reload", ZONE)
        self.assertEqual(rc, 0, f"{out} {err}")
        self.knot.wait_serial(ZONE, new_serial, timeout=30)

        def target_up():
            r = self.prom_api("targets")
            if not r:
                return False
            return [t for t in r["data"]["activeTargets"] if t["labels"]["job"] == "headwater" and t["health"] == "up"]

        hwtest.wait_for(target_up, 60, interval=0.5, what="prometheus to scrape headwater")
        labels = f'zone="{ZONE}",secondary="{hwtest.ADDR}"'
        hwtest.wait_for(lambda: self.prom_value(f"headwater_secondary_serial{{{labels}}}") == str(new_serial), 30,
                        interval=0.5, what=f"prometheus to hold the secondary serial {new_serial}:\n"
                        + self.hw.http()[2])
        self.assertEqual(self.prom_value(f"headwater_secondary_lag_serials{{{labels}}}"), "0")
        self.assertEqual(self.prom_value(f"headwater_secondary_lag_seconds{{{labels}}}"), "0")
        self.assertEqual(self.prom_value(f'headwater_zone_serial{{zone="{ZONE}"}}'), str(new_serial))
        ok = self.prom_value(f'sum(headwater_transfers_total{{zone="{ZONE}",outcome="ok"}})')
        self.assertIsNotNone(ok)
        self.assertGreaterEqual(int(ok), 2)  # the first AXFR and the IXFR after the change

    def test_3_example_rules_and_dashboard(self):
        rules = EXAMPLES / "prometheus"
        work = self.tmp / "rules"
        shutil.copytree(rules, work)
        for args in (["check", "rules", "headwater-rules.yml"], ["test", "rules", "headwater-rules.test.yml"]):
            r = subprocess.run([self.promtool, *args], cwd=work, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        exported = set(re.findall(r"^# TYPE (\S+) ", self.hw.http()[2], re.M))
        named = set(re.findall(r"\b(headwater_[a-z_]+)", (rules / "headwater-rules.yml").read_text()))
        dashboard = json.loads((EXAMPLES / "grafana" / "headwater.json").read_text())
        for panel in dashboard["panels"]:
            for t in panel["targets"]:
                named |= set(re.findall(r"\b(headwater_[a-z_]+)", t["expr"]))
        self.assertTrue(named)
        self.assertEqual(named - exported, set(), "metrics named by the examples but not exported")


if __name__ == "__main__":
    hwtest.main()
