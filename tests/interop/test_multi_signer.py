#!/usr/bin/python3
"""Multi-signer (RFC 8901 model 2): another provider signs the same zone with keys of its own, and a
resolver that takes the DNSKEY RRset from one provider validates what the other signed.

Headwater signs ms.example. with a KSK and a ZSK and NOTIFYs a Knot and a BIND secondary. Provider B is
simulated as the other signer: its own KSK and ZSK made by BIND's dnssec-keygen, the zone (with
Headwater's DNSKEYs added, as model 2 asks of every signer) signed by dnssec-signzone, and served by a
second Headwater that serves it as it is. The zone's `multi_signer` points at B's server, and its
`foreign_dnskeys` file holds B's KSK (the operator's word, which authenticates what B's server serves).
A third server, C, serves the zone signed by keys nobody gave: it is also in `multi_signer`, and its keys
must never be published (an impostor, or a spoofed answer).

Checks:
1. Headwater fetches B's DNSKEYs (`dnssec foreign` lists B's KSK from the file and its ZSK fetched, and
   none of C's), and both secondaries then serve a DNSKEY RRset with Headwater's two keys and B's two,
   signed by Headwater's KSK.
2. The answer B signed (www A, RRSIG by B's ZSK) validates against the DNSKEY RRset Knot serves for
   Headwater (dnspython), and the CDNSKEY/CDS name both signers' KSKs.
3. unbound, with both KSKs' DS as trust anchors and all three servers as the zone's stub, validates
   answers and NXDOMAINs throughout.
"""

import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.dnssec  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

ZONE = "ms.example."
SERIAL = 2026120801

ZONE_TEXT = f"""$TTL 2
@   2 IN SOA hidden hostmaster {SERIAL} 3600 600 1209600 2
@   NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.80
"""

POLICY = """[[dnssec_policy]]
name = "multi"
keys = "ksk+zsk"
dnskey_ttl = "2s"
"""


def query(port, name, rdtype):
    q = dns.message.make_query(name, rdtype, want_dnssec=True)
    return dns.query.tcp(q, hwtest.ADDR, port=port, timeout=5)


def rrset_of(response, name, rdtype, covers=dns.rdatatype.NONE):
    return response.find_rrset(response.answer, dns.name.from_text(name), dns.rdataclass.IN,
                               dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype, covers)


def other_signer(d, ours):
    """A provider that signs the zone with keys of its own (dnssec-keygen, dnssec-signzone), every signer's
    DNSKEY in its zone (RFC 8901 §2.1.2): its KSK's .key line, its KSK's DS, and the signed zone text."""
    d.mkdir()
    made = []
    for flags in (["-f", "KSK"], []):
        r = subprocess.run([hwtest.require_tool("dnssec-keygen"), "-q", "-K", str(d), "-a", "ECDSAP256SHA256",
                            *flags, ZONE], capture_output=True, text=True, check=True)
        made.append(Path(d / r.stdout.strip()))
    ksk_line = next(line for line in Path(f"{made[0]}.key").read_text().splitlines()
                    if line and not line.startswith(";"))
    ds = subprocess.run([hwtest.require_tool("dnssec-dsfromkey"), "-2", f"{made[0]}.key"],
                        capture_output=True, text=True, check=True).stdout.strip()
    unsigned = d / "ms.zone"
    unsigned.write_text(ZONE_TEXT + "".join(f"{rr}\n" for rr in ours.to_text().splitlines()))
    signed = d / "ms.zone.signed"
    subprocess.run([hwtest.require_tool("dnssec-signzone"), "-S", "-K", str(d), "-o", ZONE, "-f", str(signed),
                    str(unsigned)], cwd=d, capture_output=True, check=True)
    return ksk_line, ds, signed.read_text()


class MultiSignerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater()
        cls.dir = hwtest.tempdir("multi-signer")
        cls.knot = hwtest.KnotSecondary([ZONE], 0)
        cls.bind = hwtest.BindSecondary([ZONE], 0)
        # The other signers' servers, their ports known before Headwater's config names them.
        placeholder = cls.dir / "placeholder.zone"
        placeholder.write_text(ZONE_TEXT)
        cls.provider_b = hwtest.Headwater([hwtest.ZoneConf(ZONE, placeholder)], acl_networks=("127.0.0.0/8",))
        cls.impostor = hwtest.Headwater([hwtest.ZoneConf(ZONE, placeholder)], acl_networks=("127.0.0.0/8",))
        src = cls.dir / "ms.zone"
        src.write_text(ZONE_TEXT)
        cls.pinned = cls.dir / "provider-b.dnskey"
        cls.pinned.write_text("; provider B's KSK, as its operator gave it\n")
        zone = hwtest.ZoneConf(ZONE, src, notify=[f"127.0.0.1:{cls.knot.port}", f"127.0.0.1:{cls.bind.port}"],
                               notify_options={"dnssec_policy": "multi", "foreign_dnskeys": str(cls.pinned),
                                               "multi_signer": [f"127.0.0.1:{cls.provider_b.port}",
                                                                f"127.0.0.1:{cls.impostor.port}"],
                                               "multi_signer_interval": "1s"})
        cls.hw = hwtest.Headwater([zone], acl_networks=("127.0.0.0/8",), extra_toml=POLICY)
        cls.hw.start(timeout=60)
        for peer in (cls.knot, cls.bind):
            peer.primary_port = cls.hw.port
            peer.start()
        ours = rrset_of(query(cls.hw.port, ZONE, "DNSKEY"), ZONE, "DNSKEY")
        cls.our_keys = sorted(dns.dnssec.key_id(rd) for rd in ours)
        b_ksk_line, cls.b_ksk_ds, b_signed = other_signer(cls.dir / "b-keys", ours)
        _, _, c_signed = other_signer(cls.dir / "c-keys", ours)
        for server, text in ((cls.provider_b, b_signed), (cls.impostor, c_signed)):
            server.zone_path(ZONE).write_text(text)
            server.start(timeout=60)
        cls.b_keys = sorted(dns.dnssec.key_id(rd) for rd in rrset_of(query(cls.provider_b.port, ZONE, "DNSKEY"),
                                                                     ZONE, "DNSKEY")
                            if dns.dnssec.key_id(rd) not in cls.our_keys)
        cls.c_keys = sorted(dns.dnssec.key_id(rd) for rd in rrset_of(query(cls.impostor.port, ZONE, "DNSKEY"),
                                                                     ZONE, "DNSKEY")
                            if dns.dnssec.key_id(rd) not in cls.our_keys)
        # The operator gives B's KSK: from then on, what B's server serves is taken.
        cls.pinned.write_text(cls.pinned.read_text() + b_ksk_line + "\n")
        rc, out, stdout, stderr = cls.hw.ctl("dnssec", "ds", ZONE)
        assert rc == 0, stdout + stderr
        cls.our_ds = out["ds"][0]
        cls.unbound = None

    @classmethod
    def tearDownClass(cls):
        cls.tmp = cls.dir
        hwtest.close_class_fixture(cls, cls.unbound, cls.knot, cls.bind, cls.provider_b, cls.impostor)

    def test_the_other_signers_keys_are_published_and_what_it_signs_validates(self):
        self.assertEqual(len(self.b_keys), 2, "B's KSK and ZSK")
        deadline = time.monotonic() + 30
        while True:
            rc, out, stdout, stderr = self.hw.ctl("dnssec", "foreign", ZONE)
            self.assertEqual(rc, 0, stdout + stderr)
            listed = sorted(k["tag"] for k in out["foreign"])
            if listed == self.b_keys:
                break
            self.assertLess(time.monotonic(), deadline, f"{out}\n{self.hw.log()[-3000:]}")
            time.sleep(0.25)
        self.assertEqual({k["role"]: k["source"] for k in out["foreign"]}, {"ksk": "file", "zsk": "fetched"})
        # C's keys, signed by no KSK the operator gave, are never taken.
        self.assertTrue(set(self.c_keys).isdisjoint(listed), (self.c_keys, listed))
        self.assertIn("is not signed by a KSK given in foreign_dnskeys", self.hw.log())
        serial = out["serial"]
        everyone = sorted(self.our_keys + self.b_keys)
        rc, st, stdout, stderr = self.hw.ctl("dnssec", "status", ZONE)
        our_ksk = [k["tag"] for k in st["keys"] if k["role"] == "ksk"]
        b_ksk = [k["tag"] for k in out["foreign"] if k["role"] == "ksk"]
        for peer in (self.knot, self.bind):
            peer.wait_serial(ZONE, serial, timeout=30)
            r = query(peer.port, ZONE, "DNSKEY")
            dnskeys = rrset_of(r, ZONE, "DNSKEY")
            self.assertEqual(sorted(dns.dnssec.key_id(rd) for rd in dnskeys), everyone, peer.kind)
            sigs = rrset_of(r, ZONE, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
            self.assertEqual([s.key_tag for s in sigs], our_ksk, f"{peer.kind}: signed by our KSK alone")
            dns.dnssec.validate(dnskeys, sigs, {dns.name.from_text(ZONE): dnskeys})
            # RFC 8901 §8: the CDS/CDNSKEY name every signer's KSK.
            cdnskey = rrset_of(query(peer.port, ZONE, "CDNSKEY"), ZONE, "CDNSKEY")
            self.assertEqual(sorted(dns.dnssec.key_id(rd) for rd in cdnskey), sorted(our_ksk + b_ksk), peer.kind)
            cds = rrset_of(query(peer.port, ZONE, "CDS"), ZONE, "CDS")
            self.assertEqual(sorted(rd.key_tag for rd in cds), sorted(our_ksk + b_ksk), peer.kind)

            # What B signed, checked against the DNSKEY RRset this secondary serves for Headwater.
            b_answer = query(self.provider_b.port, f"www.{ZONE}", "A")
            www = rrset_of(b_answer, f"www.{ZONE}", "A")
            www_sigs = rrset_of(b_answer, f"www.{ZONE}", dns.rdatatype.RRSIG, dns.rdatatype.A)
            self.assertTrue(all(s.key_tag in self.b_keys for s in www_sigs), www_sigs)
            dns.dnssec.validate(www, www_sigs, {dns.name.from_text(ZONE): dnskeys})

        d = self.dir / "unbound"
        d.mkdir()
        anchors = self.our_ds + "\n" + self.b_ksk_ds
        MultiSignerTest.unbound = hwtest.Unbound(d, ZONE, [self.knot.port, self.bind.port, self.provider_b.port],
                                                 anchors)
        for n in range(12):
            for name, rcode in (("www", dns.rcode.NOERROR), (f"nx{n}", dns.rcode.NXDOMAIN)):
                r = self.unbound.resolve(name, "A")
                self.assertEqual(r.rcode(), rcode, f"{name}:\n{r}")
                self.assertTrue(r.flags & dns.flags.AD, f"{name} not validated:\n{r}")
            time.sleep(0.5)


if __name__ == "__main__":
    hwtest.main()
