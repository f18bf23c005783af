#!/usr/bin/python3
"""A whole ACME DNS-01 issuance on loopback: lego (Debian's `lego`, its rfc2136 provider) writes the
challenge to Headwater by a TSIG-signed UPDATE with a key that may only change TXT records under
_acme-challenge; Headwater NOTIFYs a Knot secondary, which takes the change by IXFR; pebble (Debian's
`pebble`, the ACME test CA) resolves the challenge through that secondary; lego ends with a certificate,
then removes the challenge record again (its cleanup is an update too).

pebble sleeps a random 0 to 15 s before it validates (as a real CA may take its time); lego's own
propagation check is off, since it would ask the zone's NS names on port 53.
"""

import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402
import hwtls  # noqa: E402

import dns.message  # noqa: E402
import dns.query  # noqa: E402

ZONE = "acme.example."
SERIAL = 2026120501
ACME = hwtest.TsigKey("acme-key")
KNOT_KEY = hwtest.TsigKey("knot-key")


def zone_text():
    return "\n".join([
        f"$ORIGIN {ZONE}", "$TTL 300",
        f"@ IN SOA ns1.{ZONE} hostmaster.{ZONE} ( {SERIAL} 3600 3600 1209600 60 )",
        "@ IN NS ns1", "ns1 IN A 127.0.0.1", "www IN A 127.0.0.1"]) + "\n"


class AcmeTest(unittest.TestCase):
    hw = None
    peers = {}
    tmp = None
    pebble = None

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("dynamic updates are Headwater's")
        for tool in ("pebble", "lego"):
            hwtest.require_tool(tool)
        names, missing = hwtest.available_peers({"knot": hwtest.KnotNotified})
        if "knot" not in names:
            raise unittest.SkipTest(f"needs Knot as the secondary: {missing}")
        cls.peers = {}
        try:
            cls.tmp = hwtest.tempdir("acme-data")
            source = cls.tmp / "acme.example.zone"
            source.write_text(zone_text())
            acls = [hwtest.AclConf("peers", ["127.0.0.1/32"], [KNOT_KEY]),
                    hwtest.AclConf("acme", keys=[ACME], update_names=["_acme-challenge.*"], update_types=["TXT"])]
            zone = hwtest.ZoneConf(ZONE, source, ["peers"], notify_options={"allow_update": ["acme"]})
            cls.hw = hwtest.Headwater([zone], acl_networks=[], keys=[ACME, KNOT_KEY], acls=acls)
            knot = hwtest.KnotNotified([ZONE], cls.hw.port, keys={ZONE: KNOT_KEY})
            cls.peers["knot"] = knot
            zone.notify = [{"address": f"{hwtest.ADDR}:{knot.port}", "key": KNOT_KEY, "source": hwtest.ADDR}]
            cls.hw.start()
            knot.start()
            knot.wait_serial(ZONE, SERIAL, timeout=30)
            cls.start_pebble(knot.port)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_pebble(cls, dns_port):
        pki = hwtls.Pki(cls.tmp / "pki")
        cert = pki.server("pebble", name="localhost", ips=(hwtest.ADDR,))
        cls.ca = pki.ca.cert_path
        cls.acme_port = hwtest.free_port()
        config = {"pebble": {
            "listenAddress": f"{hwtest.ADDR}:{cls.acme_port}",
            "managementListenAddress": f"{hwtest.ADDR}:{hwtest.free_port()}",
            "certificate": str(cert.cert_path), "privateKey": str(cert.key_path),
            "httpPort": hwtest.free_port(), "tlsPort": hwtest.free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        path = cls.tmp / "pebble.json"
        path.write_text(json.dumps(config))
        env = dict(os.environ, PEBBLE_WFE_NONCEREJECT="0")
        cls.pebble = hwtest.Process(["pebble", "-config", str(path), "-dnsserver", f"{hwtest.ADDR}:{dns_port}"],
                                    cls.tmp / "pebble.log", cwd=cls.tmp, env=env)
        hwtest.wait_for(lambda: "ACME directory available" in cls.pebble.log() or not cls.pebble.alive(), 20,
                        what="pebble to listen")
        if not cls.pebble.alive():
            raise AssertionError("pebble exited:\n" + cls.pebble.log())

    @classmethod
    def tearDownClass(cls):
        if cls.pebble:
            cls.pebble.stop()
            cls.pebble = None
        hwtest.close_class_fixture(cls)

    def test_issuance(self):
        env = dict(os.environ, LEGO_CA_CERTIFICATES=str(self.ca),
                   RFC2136_NAMESERVER=f"{hwtest.ADDR}:{self.hw.port}", RFC2136_TSIG_KEY=ACME.name + ".",
                   RFC2136_TSIG_SECRET=ACME.secret, RFC2136_TSIG_ALGORITHM="hmac-sha256.")
        knot = self.peers["knot"]
        argv = ["lego", "--server", f"https://{hwtest.ADDR}:{self.acme_port}/dir", "--email", "admin@acme.example",
                "--accept-tos", "--path", str(self.tmp / "lego"), "--dns", "rfc2136",
                "--dns.resolvers", f"{hwtest.ADDR}:{knot.port}", "--dns.disable-cp", "-d", f"www.{ZONE}".rstrip("."),
                "run"]
        t0 = time.monotonic()
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        took = time.monotonic() - t0
        print(f"\n  lego: {took:.1f} s", flush=True)
        detail = f"lego:\n{p.stdout}{p.stderr}\n--- pebble ---\n{self.pebble.log()[-3000:]}\n--- headwater ---\n" + \
            self.hw.log()[-3000:]
        self.assertEqual(p.returncode, 0, detail)
        crt = self.tmp / "lego" / "certificates" / "www.acme.example.crt"
        self.assertTrue(crt.exists() and "BEGIN CERTIFICATE" in crt.read_text(), detail)
        # The challenge was written and removed by the ACME key, through its rule.
        lines = [l for l in self.hw.log().splitlines() if " update zone=acme.example." in l]
        self.assertTrue(any("rcode=NOERROR" in l and "rule=acme" in l and "changed=yes" in l for l in lines), detail)
        r = dns.query.udp(dns.message.make_query(f"_acme-challenge.www.{ZONE}", "TXT"), hwtest.ADDR,
                          port=self.hw.port, timeout=3)
        self.assertEqual(r.answer, [], "the challenge record is cleaned up")


if __name__ == "__main__":
    hwtest.main()
