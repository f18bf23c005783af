#!/usr/bin/python3
"""The model that works with every provider: Headwater signs, the secondaries serve what it signed.

Headwater signs signed.example. (a [[dnssec_policy]], NSEC; and signed3.example. with NSEC3) and NOTIFYs
a real Knot and a real BIND secondary, which pull it. unbound, a validating resolver whose trust anchor is
the DS `headwaterctl dnssec ds` prints and whose only servers for the zones are the two secondaries (not
Headwater: it is hidden), must return validated answers (AD) for a name that exists, for a name that does
not (NXDOMAIN) and for a type a name lacks (NODATA). After a reload with a new record, the secondaries
follow by IXFR and unbound validates the new record as they serve it.
"""

import re
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.flags  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

ZONES = {"signed.example.": "nsec", "signed3.example.": "nsec3"}
SERIAL = 2026120501


def zone_text(serial, extra=""):
    return f"""$TTL 300
@   3600 IN SOA ns1 hostmaster {serial} 3600 600 1209600 300
@   NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.80
mail A  192.0.2.25
@   MX  10 mail
{extra}"""


class SigningSecondariesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater()
        cls.dir = hwtest.tempdir("signing-interop")
        cls.knot = hwtest.KnotSecondary(list(ZONES), 0)
        cls.bind = hwtest.BindSecondary(list(ZONES), 0)
        confs = []
        for zone, denial in ZONES.items():
            src = cls.dir / f"{zone}zone"
            src.write_text(zone_text(SERIAL))
            confs.append(hwtest.ZoneConf(zone, src, notify=[f"127.0.0.1:{cls.knot.port}", f"127.0.0.1:{cls.bind.port}"],
                                         notify_options={"dnssec_policy": denial}))
        policies = '[[dnssec_policy]]\nname = "nsec"\n\n[[dnssec_policy]]\nname = "nsec3"\ndenial = "nsec3"\n'
        cls.hw = hwtest.Headwater(confs, extra_toml=policies)
        cls.hw.start(timeout=60)
        for peer in (cls.knot, cls.bind):
            peer.primary_port = cls.hw.port
            peer.start()
        for zone in ZONES:
            for peer in (cls.knot, cls.bind):
                peer.wait_serial(zone, SERIAL)
        cls.unbound = {}
        for zone in ZONES:
            rc, out, stdout, stderr = cls.hw.ctl("dnssec", "ds", zone)
            assert rc == 0, stdout + stderr
            d = cls.dir / f"unbound-{zone}"
            d.mkdir()
            cls.unbound[zone] = hwtest.Unbound(d, zone, [cls.knot.port, cls.bind.port], out["ds"][0])

    @classmethod
    def tearDownClass(cls):
        cls.tmp = cls.dir
        hwtest.close_class_fixture(cls, *getattr(cls, "unbound", {}).values(), cls.knot, cls.bind)

    def validated(self, zone, name, rdtype, rcode):
        r = self.unbound[zone].resolve(name, rdtype)
        self.assertEqual(r.rcode(), rcode, f"{name} {rdtype} in {zone}:\n{r}")
        self.assertTrue(r.flags & dns.flags.AD, f"{name} {rdtype} in {zone} not validated:\n{r}")
        return r

    def test_1_answers_validate_through_the_secondaries(self):
        for zone in ZONES:
            with self.subTest(zone=zone):
                r = self.validated(zone, "www", "A", dns.rcode.NOERROR)
                self.assertTrue(any(rr.rdtype == dns.rdatatype.A for rr in r.answer))
                self.validated(zone, "nope", "A", dns.rcode.NXDOMAIN)
                r = self.validated(zone, "www", "MX", dns.rcode.NOERROR)  # NODATA
                self.assertFalse([rr for rr in r.answer if rr.rdtype == dns.rdatatype.MX])

    def test_2_a_reload_reaches_the_secondaries_and_validates(self):
        for zone in ZONES:
            self.hw.zone_path(zone).write_text(zone_text(SERIAL + 1, "new A 192.0.2.77\n"))
        rc, out, stdout, stderr = self.hw.ctl("reload")
        self.assertEqual(rc, 0, stdout + stderr)
        for zone in ZONES:
            for peer in (self.knot, self.bind):
                peer.wait_serial(zone, SERIAL + 1, timeout=30)
            with self.subTest(zone=zone):
                r = self.validated(zone, "new", "A", dns.rcode.NOERROR)
                self.assertIn("192.0.2.77", str(r.answer))
        # The secondaries took the change by IXFR, not by a whole transfer.
        time.sleep(0.5)
        ixfrs = re.findall(r"transfer zone=\S+ type=IXFR form=ixfr .* serial=%d .* outcome=ok" % (SERIAL + 1),
                           self.hw.log())
        self.assertGreaterEqual(len(ixfrs), 2 * len(ZONES), self.hw.log())


if __name__ == "__main__":
    hwtest.main()
