#!/usr/bin/python3
"""Zone transfers over TLS (RFC 9103) to real BIND 9.18 and NSD 4.6 secondaries, with TSIG, following a
reload by NOTIFY.

One Headwater serves two zones, each transferable only over TLS (acl transports = ["tls"]) with the
peer's TSIG key from 127.0.0.1:
- strict.xot.example.: strict TLS (the secondary checks Headwater's certificate against the test CA
  and the name primary.headwater.test; RFC 9103 §9.3);
- mutual.xot.example.: mutual TLS as well: the rule also needs a client certificate for
  xfr.secondary.test that server.tls_client_ca verifies.
The SOA says refresh 3600, so only a NOTIFY (plain UDP, to the secondary's own port) explains a peer
that serves a new serial within seconds of `headwaterctl reload`; the transfer that follows must again
be over TLS (the zone refuses plain TCP).

NSD 4.6's XoT (request-xfr ... tls-auth) is checked the same way; HW_PEERS=bind or nsd limits the set.
Last, a BIND secondary told to expect another name in the certificate must get nothing: the strict
configuration is really strict.
"""

import re
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402
import hwtls  # noqa: E402

STRICT = "strict.xot.example."
MUTUAL = "mutual.xot.example."
ZONES = (STRICT, MUTUAL)
BASE_SERIAL = 2026120501
CLIENT_NAME = "xfr.secondary.test"
BUDGET = 10.0  # seconds from `headwaterctl reload` until a notified peer serves the new serial


def zone_text(zone, serial, www):
    lines = [
        f"$ORIGIN {zone}",
        "$TTL 3600",
        f"@ IN SOA ns1.{zone} hostmaster.{zone} ( {serial} ; serial",
        "     3600 ; refresh (long: only NOTIFY explains a fast update)",
        "     3600 ; retry",
        "     1209600 ; expire",
        "     300 ) ; negative caching TTL",
        "@ IN NS ns1",
        "ns1 IN A 192.0.2.53",
        f"www 300 IN A {www}",
    ]
    lines += [f"host-{i:03d} IN A 198.51.100.{i + 1}" for i in range(80)]
    return "\n".join(lines) + "\n"


class Tls:
    """What the secondaries need: the CA that signed Headwater's certificate, the name in it, and the
    client certificate for mutual TLS."""

    def __init__(self, pki, client):
        self.ca = pki.ca.cert_path
        self.name = hwtls.SERVER_NAME
        self.client = client


class BindXot(hwtest.BindSecondary):
    """named pulling each zone over XoT: `tls` blocks with ca-file and remote-hostname (strict), plus
    cert-file and key-file for the mutual zone; primaries `... key K tls NAME`."""

    tls = None  # set before start

    def write_config(self):
        super().write_config()
        t = self.tls
        blocks = (f'tls strict {{ ca-file "{t.ca}"; remote-hostname "{t.name}"; }};\n'
                  f'tls mutual {{ ca-file "{t.ca}"; remote-hostname "{t.name}"; '
                  f'cert-file "{t.client.cert_path}"; key-file "{t.client.key_path}"; }};\n')
        replacements = []
        for z in self.zones:
            key = self.key_for(z).name
            which = "mutual" if z == MUTUAL else "strict"
            replacements.append((f'zone "{z}" {{ type secondary; primaries port {self.primary_port} '
                                 f'{{ {self.primary_addr} key "{key}"; }};',
                                 f'zone "{z}" {{ type secondary; primaries port {self.primary_port} '
                                 f'{{ {self.primary_addr} key "{key}" tls {which}; }};'))
        self.edit_config(*replacements, ("\ncontrols { };\n", "\ncontrols { };\n" + blocks))


class NsdXot(hwtest.NsdSecondary):
    """nsd pulling each zone over XoT: tls-auth clauses (auth-domain-name; client-cert and client-key
    for the mutual zone), the CA in server: tls-cert-bundle, and request-xfr ... KEY TLS-AUTH."""

    tls = None

    def write_config(self):
        super().write_config()
        t = self.tls
        auth = (f'tls-auth:\n    name: "strict"\n    auth-domain-name: "{t.name}"\n'
                f'tls-auth:\n    name: "mutual"\n    auth-domain-name: "{t.name}"\n'
                f'    client-cert: "{t.client.cert_path}"\n    client-key: "{t.client.key_path}"\n')
        replacements = [("remote-control:\n", f'    tls-cert-bundle: "{t.ca}"\nremote-control:\n'),
                        ("    control-enable: no\n", "    control-enable: no\n" + auth)]
        for z in self.zones:
            key = self.key_for(z).name
            which = "mutual" if z == MUTUAL else "strict"
            replacements.append((f"    name: \"{z}\"\n    zonefile: \"{z}zone\"\n"
                                 f"    request-xfr: AXFR {self.primary_addr}@{self.primary_port} {key}\n",
                                 f"    name: \"{z}\"\n    zonefile: \"{z}zone\"\n"
                                 f"    request-xfr: AXFR {self.primary_addr}@{self.primary_port} {key} {which}\n"))
        self.edit_config(*replacements)


class BindWrongName(BindXot):
    """BindXot told to expect another name in Headwater's certificate: strict TLS must stop it."""

    def write_config(self):
        super().write_config()
        self.edit_config((f'remote-hostname "{self.tls.name}"', 'remote-hostname "not-the-primary.headwater.test"'))


PEERS = {"bind": BindXot, "nsd": NsdXot}


class XotSecondariesTest(unittest.TestCase):
    hw = None
    peers = {}

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("XoT is Headwater's")
        cls.names, cls.missing = hwtest.available_peers(PEERS)
        if not cls.names:
            raise unittest.SkipTest(f"no XoT peer available: {cls.missing}")
        cls.tmp = hwtest.tempdir("xot-interop")
        try:
            cls.start_all()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_all(cls):
        pki = hwtls.Pki(cls.tmp / "pki")
        server = pki.server()
        client = pki.client("client", CLIENT_NAME)
        cls.tls_port = hwtest.free_port()
        cls.sources = {}
        for z in ZONES:
            cls.sources[z] = cls.tmp / (z + "zone")
            cls.sources[z].write_text(zone_text(z, BASE_SERIAL, "192.0.2.80"))
        keys = {name: hwtest.TsigKey(f"xot-{name}") for name in cls.names}
        for name in cls.names:
            peer_class = PEERS[name]
            peer_class.tls = Tls(pki, client)
            cls.peers[name] = peer_class(list(ZONES), cls.tls_port, keys={z: keys[name] for z in ZONES})
        acls = [hwtest.AclConf("strict", networks=["127.0.0.1/32"], keys=list(keys.values()), transports=["tls"]),
                hwtest.AclConf("mutual", networks=["127.0.0.1/32"], keys=list(keys.values()), transports=["tls"],
                               tls_names=[CLIENT_NAME])]
        notify = [f"{hwtest.ADDR}:{p.port}" for p in cls.peers.values()]
        zones = [hwtest.ZoneConf(STRICT, cls.sources[STRICT], allow_transfer=["strict"], notify=notify),
                 hwtest.ZoneConf(MUTUAL, cls.sources[MUTUAL], allow_transfer=["mutual"], notify=notify)]
        cls.hw = hwtest.Headwater(zones, acl_networks=(), keys=list(keys.values()), acls=acls, server_options={
            "listen_tls": [f"{hwtest.ADDR}:{cls.tls_port}"],
            "tls_certificate": str(server.cert_path),
            "tls_key": str(server.key_path),
            "tls_client_ca": str(pki.ca.cert_path),
        })
        cls.hw.start()
        cls.keys = keys
        for p in cls.peers.values():
            p.start()

    @classmethod
    def tearDownClass(cls):
        for p in cls.peers.values():
            p.close()
        cls.peers = {}
        if cls.hw:
            cls.hw.close()
        hwtest.cleanup_dir(cls.tmp)

    def transfers(self, name, zone, serial):
        return hwtest.transfer_log(self.hw.log(), zone, outcome="ok", key=fr"xot-{name}\.?", serial=str(serial))

    def test_1_initial_transfer_over_tls(self):
        for name, peer in self.peers.items():
            for z in ZONES:
                with self.subTest(peer=name, zone=z):
                    peer.wait_serial(z, BASE_SERIAL, timeout=60)
                    lines = self.transfers(name, z, BASE_SERIAL)
                    self.assertTrue(lines, self.hw.log()[-3000:])
                    self.assertTrue(all(ln["transport"].startswith("tls") for ln in lines), lines)
        # Nothing was transferred over plain TCP, and nothing was refused for want of TLS.
        self.assertFalse(hwtest.transfer_log(self.hw.log(), None, transport="tcp", outcome="ok"))

    def test_2_reload_followed_by_notify(self):
        new_serial = BASE_SERIAL + 1
        for z in ZONES:
            self.hw.zone_path(z).write_text(zone_text(z, new_serial, "192.0.2.81"))
        start = time.monotonic()
        rc, out, stdout, stderr = self.hw.ctl("reload")
        self.assertEqual(rc, 0, stdout + stderr)
        for name, peer in self.peers.items():
            for z in ZONES:
                with self.subTest(peer=name, zone=z):
                    peer.wait_serial(z, new_serial, timeout=BUDGET)
                    print(f"{name} serves {z} serial {new_serial} {time.monotonic() - start:.2f} s after the reload",
                          file=sys.stderr)
                    lines = self.transfers(name, z, new_serial)
                    self.assertTrue(lines, self.hw.log()[-3000:])
                    self.assertTrue(all(ln["transport"].startswith("tls") for ln in lines), lines)
                    self.assertTrue(hwtest.notify_log(self.hw.log(), z, outcome="ack", serial=str(new_serial)))

    def test_3_strict_tls_refuses_the_wrong_name(self):
        # The other side of strict TLS: a secondary expecting another name never gets the zone (it checks
        # our certificate before it sends the request), so the configuration above is really strict.
        if "bind" not in self.peers:
            self.skipTest("needs BIND")
        peer = BindWrongName([STRICT], self.tls_port, keys={STRICT: self.keys["bind"]})
        self.addCleanup(peer.close)
        peer.start()
        before = len(hwtest.transfer_log(self.hw.log(), STRICT))
        hwtest.wait_for(lambda: re.search(r"(?i)(certificate|tls).*(fail|error|verif)", peer.proc.log()), 30,
                        what="BIND to report the TLS verification failure")
        self.assertIsNone(peer.serial(STRICT))
        self.assertEqual(len(hwtest.transfer_log(self.hw.log(), STRICT)), before, "a request got through")


if __name__ == "__main__":
    hwtest.main()
