#!/usr/bin/python3
"""Verification of the secondaries (headwaterctl verify, verify_interval) against real servers on loopback.

One Headwater serves verify.example. (62 records: SOA, NS, MX, SRV, TXT, A/AAAA, a CNAME, a delegation
with glue; SOA refresh and retry 3600, so no secondary refreshes on its own during the test); Knot and
BIND are its secondaries. Besides them:
- `posing`: knotd as a primary of its own, loaded from a copy of the zone file with one record altered
  (www A) and one removed (info TXT, the only record of its name), same serial: a server posing as a
  secondary that someone edited by hand;
- `refusing`: the same copy in a knotd that refuses every transfer (no transfer ACL);
- `signed`: knotd serving the right copy, transfers only with a TSIG key Headwater also has;
- a UDP socket that swallows datagrams (nothing on TCP), and a port where nothing listens at all.

VerifyTest (the tests share the servers and run in name order; the last one changes the zone):
1. `headwaterctl verify ZONE --secondary knot --secondary bind` exits 0, the table says in-sync for both,
   --json says in_sync, method axfr, differences 0; the same without --secondary (the zone's
   `secondaries`); a server that cannot be reached gives exit 3; `--key` signs the AXFR to `signed` (in
   sync by axfr), and without it or with a key `signed` does not know the transfer fails and the sample
   (58 questions: every RRset) finds it in sync.
2. posing: "differs", exactly (www A, different) and (info TXT, missing), by AXFR.
3. refusing: transfer_error set, method "sample"; with --sample 1000 exactly those two answers, the
   removed one as "expected an answer, got NXDOMAIN/NODATA".
4. the silent and the closed port: "unreachable", exit 1, within a bounded time (--query-timeout 500).
5. A secondary that missed two changes (stopped, the zone reloaded twice, started again cut off from the
   primary: its primary now points at a dead port, and it kept its copy on disk): "behind" by exactly 2
   serials, exit 1, and exactly the changed RRsets listed (the SOA, www A, a new TXT, a removed A).

IntervalTest: a zone with secondaries = [peer, posing] and verify_interval = "2s": `secondaries --json`
gets a "verification" entry per secondary (in sync / differs), the transfer log gets "verify" lines for
both, the server log exactly one "drift starts" warning for posing over several intervals; posing
reloaded with the right copy: exactly one "drift ends".

SignedVerifyTest: a zone Headwater signs, transferred to a real Knot: in sync with dnssec ok (by AXFR and
by sample); knotd primaries serving hand-edited copies (a damaged RRSIG and an expired one; an extra
DNSKEY): "differs", naming the bad signatures and the extra key tag; signature_warn longer than the
signatures live: every signature counted as expiring, still in sync.

ConfigTest: verify_interval = "5x", verify_interval without secondaries and an unknown verify_key are
reported by `headwater --check-config` with file:line (tests/unit/conf/verify_config_test.cpp checks the
loader itself).

HW_PEERS=knot,bind limits the secondaries; the posing servers need knotd whatever HW_PEERS says. A
missing peer is skipped here, and fails under CI=true (hwtest.require_tool).
"""

import json
import re
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

ZONE = "verify.example."
DRIFT_ZONE = "drift.example."
SERIAL = 2026112701
ALTERED_WWW = "192.0.2.99"
INFO_TXT = 'info IN TXT "only record of this name"'


def zone_text(origin, serial, www="192.0.2.80", drop=(), extra=()):
    """The test zone: 22 named records plus 40 hosts (62). drop: lines left out; extra: lines added."""
    lines = [
        "@ IN NS ns1",
        "@ IN NS ns2.example.net.",
        "@ IN MX 10 mail",
        "@ IN MX 20 mail2.example.net.",
        '@ IN TXT "v=spf1 mx -all"',
        "@ IN A 192.0.2.1",
        "@ IN AAAA 2001:db8::1",
        "ns1 IN A 192.0.2.53",
        "mail IN A 192.0.2.25",
        "mail IN AAAA 2001:db8::25",
        f"www 300 IN A {www}",
        "www IN AAAA 2001:db8::80",
        "ftp IN CNAME www",
        "_sip._tcp IN SRV 10 60 5060 sip",
        "sip IN A 192.0.2.60",
        "_xmpp-server._tcp IN SRV 5 0 5269 www",
        INFO_TXT,
        'multi IN TXT "one" "two" "three"',
        "sub IN NS ns.sub",
        "sub IN NS ns2.example.net.",
        "ns.sub IN A 192.0.2.153",
        "ns.sub IN AAAA 2001:db8::153",
    ]
    lines += [f"host-{i:03d} IN A 198.51.100.{i + 1}" for i in range(40)]
    lines = [line for line in lines if line not in drop] + list(extra)
    head = [
        f"$ORIGIN {origin}",
        "$TTL 3600",
        f"@ IN SOA ns1.{origin} hostmaster.{origin} ( {serial} ; serial",
        "     3600 ; refresh (long: no secondary refreshes on its own during the test)",
        "     3600 ; retry",
        "     1209600 ; expire",
        "     300 ) ; negative caching TTL",
    ]
    return "\n".join(head + lines) + "\n"


def posing_text(origin, serial):
    """The zone as an edited copy serves it: www A altered, info TXT removed, same serial."""
    return zone_text(origin, serial, www=ALTERED_WWW, drop=(INFO_TXT,))


def posing_diffs(origin):
    return {("different", f"www.{origin}", "A"), ("missing", f"info.{origin}", "TXT")}


class KnotKeeping(hwtest.KnotSecondary):
    """A Knot secondary that writes its zone to disk at once (zonefile-sync: 0) and loads it on start
    (zonefile-load: whole), so that after a restart it serves the serial it held."""

    def write_config(self):
        super().write_config()
        self.edit_config(("    zonefile-sync: -1\n    zonefile-load: none\n",
                          "    zonefile-sync: 0\n    zonefile-load: whole\n"))

    def file_serial(self, zone):
        return hwtest.zone_file_serial(self.dir / "zones" / f"{zone.rstrip('.')}.zone")


class BindKeeping(hwtest.BindSecondary):
    """BIND keeps secondary zones on disk anyway; text format (not raw) so the test can read the serial."""

    def write_config(self):
        super().write_config()
        self.edit_config(("    recursion no;\n", "    recursion no;\n    masterfile-format text;\n"))

    def file_serial(self, zone):
        return hwtest.zone_file_serial(self.dir / f"{zone}db")


PEERS = {"knot": KnotKeeping, "bind": BindKeeping}


def address(peer):
    return f"{hwtest.ADDR}:{peer.port}"


def diffs_of(entry):
    """{(kind, owner, type)} of a secondary's listed RRset differences (owners lower-cased)."""
    return {(d.get("kind"), d.get("owner", "").lower(), d.get("type")) for d in entry.get("rrsets", [])}


class VerifyMixin:
    hw = None

    def verify(self, *args, zone=ZONE, json_output=True):
        """`headwaterctl verify ZONE args`; returns (rc, doc, stdout, stderr, seconds)."""
        t0 = time.monotonic()
        rc, doc, out, err = self.hw.ctl("verify", zone, *args, json_output=json_output, timeout=90)
        return rc, doc, out, err, time.monotonic() - t0

    def entry(self, doc, addr):
        self.assertTrue(doc and doc.get("ok"), f"verify failed: {doc}")
        mine = [s for s in doc.get("secondaries", []) if s.get("address") == addr]
        self.assertEqual(len(mine), 1, f"no single entry for {addr}:\n{json.dumps(doc, indent=1)}")
        return mine[0]

    def dump(self, doc):
        return json.dumps(doc, indent=1)[:6000]


class VerifyTest(VerifyMixin, unittest.TestCase):
    peers = {}
    posing = None
    refusing = None
    signed = None
    silent = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("verification is Headwater's")
        cls.peers = {}
        try:
            names, cls.missing = hwtest.available_peers(PEERS)
            if not names:
                raise unittest.SkipTest(f"no secondary available: {cls.missing or 'HW_PEERS selects none'}")
            hwtest.require_tool("knotd")  # the posing servers, whatever HW_PEERS says
            cls.tmp = hwtest.tempdir("verify-data")
            source = cls.tmp / "verify.example.zone"
            source.write_text(zone_text(ZONE, SERIAL))
            posing = cls.tmp / "posing.zone"
            posing.write_text(posing_text(ZONE, SERIAL))
            cls.posing = hwtest.KnotPrimary({ZONE: posing})
            cls.refusing = hwtest.KnotPrimary({ZONE: posing}, allow_transfer=False)
            # The right copy, transfers only with this key (Headwater knows it and another one).
            cls.key = hwtest.TsigKey("verify-key", "hmac-sha256")
            cls.other_key = hwtest.TsigKey("other-key", "hmac-sha512")
            cls.signed = hwtest.KnotPrimary({ZONE: source}, key=cls.key)
            cls.silent = hwtest.SilentUdp()
            cls.closed = f"{hwtest.ADDR}:{hwtest.free_port()}"  # nothing ever binds it
            cls.zone = hwtest.ZoneConf(ZONE, source, ["providers"])
            cls.hw = hwtest.Headwater([cls.zone], transfer_log="transfers.jsonl", keys=[cls.key, cls.other_key])
            for n in names:
                cls.peers[n] = PEERS[n]([ZONE], cls.hw.port)
            cls.zone.notify_options["secondaries"] = [address(p) for p in cls.peers.values()]
            cls.hw.start()
            cls.posing.start(wait=False)
            cls.refusing.start(wait=False)
            cls.signed.start(wait=False)
            for p in cls.peers.values():
                p.start()
            cls.posing.wait_ready()
            cls.refusing.wait_ready()
            cls.signed.wait_ready()
            for p in cls.peers.values():
                p.wait_serial(ZONE, SERIAL, timeout=30)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls, cls.posing, cls.refusing, cls.silent, cls.signed)
        cls.posing = cls.refusing = cls.silent = cls.signed = None

    # -- 1: in sync --
    def test_1_in_sync(self):
        addrs = {n: address(p) for n, p in self.peers.items()}
        args = [a for n in addrs for a in ("--secondary", addrs[n])]
        rc, doc, out, err, took = self.verify(*args)
        self.assertEqual(rc, 0, f"verify of in-sync secondaries: exit {rc}\n{out}{err}")
        self.assertIs(doc.get("in_sync"), True, self.dump(doc))
        self.assertEqual(doc.get("serial"), SERIAL, self.dump(doc))
        self.assertEqual(doc.get("zone", "").lower(), ZONE)
        self.assertEqual(len(doc.get("secondaries", [])), len(addrs), self.dump(doc))
        for n, a in addrs.items():
            with self.subTest(peer=n):
                e = self.entry(doc, a)
                self.assertEqual(e.get("status"), "in-sync", self.dump(e))
                self.assertIs(e.get("in_sync"), True, self.dump(e))
                self.assertEqual(e.get("method"), "axfr", self.dump(e))
                self.assertEqual(e.get("differences"), 0, self.dump(e))
                self.assertEqual(e.get("rrsets"), [], self.dump(e))
                self.assertEqual((e.get("serial"), e.get("lag_serials"), e.get("content_serial")),
                                 (SERIAL, 0, SERIAL), self.dump(e))
                self.assertIsNone(e.get("transfer_error"), self.dump(e))
                # 62 records + the SOA, the closing SOA not counted.
                self.assertEqual(e.get("checked"), 63, self.dump(e))
                for proto in ("udp", "tcp"):
                    probe = e.get(proto) or {}
                    self.assertTrue(probe.get("answered") and probe.get("aa"), f"{proto}: {probe}")
                    self.assertEqual(probe.get("serial"), SERIAL, f"{proto}: {probe}")
        print(f"\n  in sync: {', '.join(f'{n} ({a})' for n, a in addrs.items())} checked in {took:.2f} s", flush=True)

        # The table: one row per secondary saying in-sync.
        rc, _, out, err, _ = self.verify(*args, json_output=False)
        self.assertEqual(rc, 0, out + err)
        self.assertIn(f"serving serial {SERIAL}", out)
        header = [line for line in out.splitlines() if line.startswith("SECONDARY")]
        self.assertEqual(len(header), 1, out)
        self.assertIn("STATUS", header[0])
        for n, a in addrs.items():
            rows = [line.split() for line in out.splitlines() if line.startswith(a + " ")]
            self.assertEqual(len(rows), 1, f"no table row for {n} ({a}):\n{out}")
            self.assertEqual(rows[0][1], "in-sync", out)
            self.assertEqual(rows[0][2], str(SERIAL), out)

    def test_1b_configured_secondaries(self):
        """No --secondary: the zone's `secondaries` are checked."""
        rc, doc, out, err, _ = self.verify()
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(sorted(s.get("address") for s in doc.get("secondaries", [])),
                         sorted(address(p) for p in self.peers.values()), self.dump(doc))
        self.assertTrue(all(s.get("status") == "in-sync" for s in doc["secondaries"]), self.dump(doc))

    def test_1c_server_unreachable_exits_3(self):
        p = hwtest.run_ctl("verify", ZONE, socket_path=self.tmp / "nobody.sock")
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)

    def test_1d_usage_errors(self):
        rc, doc, out, err, _ = self.verify("--secondary", "not an address")
        self.assertEqual(rc, 1, out + err)
        self.assertFalse(doc.get("ok"), out)
        self.assertIn("not an address", doc.get("error", ""))
        rc, doc, out, err, _ = self.verify("--secondary", address(self.posing), "--key", "no-such-key")
        self.assertEqual(rc, 1, out + err)
        self.assertFalse(doc.get("ok"), out)
        self.assertIn("no-such-key", doc.get("error", ""))
        # Exit 1 alone would also be a secondary out of sync: the answer must be the error.
        rc, doc, out, err, _ = self.verify(zone="nowhere.example.")
        self.assertEqual(rc, 1, out + err)
        self.assertFalse(doc.get("ok"), out)
        self.assertIn("unknown zone", doc.get("error", ""), out)

    def test_1e_tsig(self):
        """--key signs the AXFR (and checks every answer's TSIG); without the right key the transfer is
        refused and the sample (which covers this zone) finds the copy in sync all the same."""
        a = self.signed.address
        rc, doc, out, err, _ = self.verify("--secondary", a, "--key", self.key.name)
        self.assertEqual(rc, 0, out + err)
        e = self.entry(doc, a)
        self.assertEqual((e.get("status"), e.get("method"), e.get("checked"), e.get("differences")),
                         ("in-sync", "axfr", 63, 0), self.dump(e))
        self.assertIsNone(e.get("transfer_error"), self.dump(e))
        for args in ([], ["--key", self.other_key.name]):
            with self.subTest(key=args):
                rc, doc, out, err, _ = self.verify("--secondary", a, *args)
                self.assertEqual(rc, 0, out + err)
                e = self.entry(doc, a)
                self.assertEqual((e.get("status"), e.get("method"), e.get("checked"), e.get("differences")),
                                 ("in-sync", "sample", 58, 0), self.dump(e))
                self.assertTrue(e.get("transfer_error"), self.dump(e))
                print(f"\n  AXFR {'signed with ' + args[1] if args else 'unsigned'}: {e.get('transfer_error')!r}",
                      flush=True)

    # -- 2: an edited copy, by AXFR --
    def test_2_posing_differs_by_axfr(self):
        a = self.posing.address
        rc, doc, out, err, _ = self.verify("--secondary", a)
        self.assertEqual(rc, 1, f"a differing secondary must fail the check:\n{out}{err}")
        self.assertIs(doc.get("in_sync"), False)
        e = self.entry(doc, a)
        self.assertEqual((e.get("status"), e.get("in_sync"), e.get("method")), ("differs", False, "axfr"),
                         self.dump(e))
        self.assertEqual((e.get("serial"), e.get("lag_serials")), (SERIAL, 0), self.dump(e))
        self.assertEqual(e.get("differences"), 2, self.dump(e))
        self.assertEqual(diffs_of(e), posing_diffs(ZONE), self.dump(e))
        www = [d for d in e["rrsets"] if d["type"] == "A"][0]
        self.assertTrue(any("192.0.2.80" in r for r in www.get("served", [])), www)
        self.assertTrue(any(ALTERED_WWW in r for r in www.get("theirs", [])), www)
        info = [d for d in e["rrsets"] if d["type"] == "TXT"][0]
        self.assertEqual(info.get("theirs"), [], info)
        self.assertEqual(len(info.get("served", [])), 1, info)

        rc, _, out, err, _ = self.verify("--secondary", a, json_output=False)
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, rf"(?m)^{re.escape(a)}\s+differs\s+{SERIAL}\b", out)
        self.assertRegex(out, rf"(?m)^\s+different www\.{re.escape(ZONE)} A$", out)
        self.assertRegex(out, rf"(?m)^\s+missing info\.{re.escape(ZONE)} TXT$", out)

    # -- 3: the same copy, transfers refused: by sample --
    def test_3_refusing_differs_by_sample(self):
        a = self.refusing.address
        rc, doc, out, err, _ = self.verify("--secondary", a)
        self.assertEqual(rc, 1, out + err)
        e = self.entry(doc, a)
        self.assertTrue(e.get("transfer_error"), f"a refused AXFR must be reported:\n{self.dump(e)}")
        self.assertEqual((e.get("status"), e.get("method")), ("differs", "sample"), self.dump(e))
        print(f"\n  refused transfer: {e.get('transfer_error')!r}; default sample: {e.get('checked')} questions, "
              f"{e.get('differences')} differ", flush=True)

        rc, doc, out, err, _ = self.verify("--secondary", a, "--sample", "1000")
        self.assertEqual(rc, 1, out + err)
        e = self.entry(doc, a)
        self.assertTrue(e.get("transfer_error"), self.dump(e))
        self.assertEqual((e.get("status"), e.get("in_sync"), e.get("method")), ("differs", False, "sample"),
                         self.dump(e))
        # Every RRset of the zone asked: 6 at the apex, 12 names, 40 hosts (the delegation as a referral, its
        # glue not asked).
        self.assertEqual(e.get("checked"), 58, self.dump(e))
        self.assertEqual(e.get("differences"), 2, self.dump(e))
        got = {(m.get("name", "").lower(), m.get("type")): m for m in e.get("answers", [])}
        self.assertEqual(set(got), {(f"www.{ZONE}", "A"), (f"info.{ZONE}", "TXT")}, self.dump(e))
        www = got[(f"www.{ZONE}", "A")]
        self.assertEqual(www.get("expect"), "answer", www)
        self.assertTrue(any(ALTERED_WWW in r for r in www.get("theirs", [])), www)
        info = got[(f"info.{ZONE}", "TXT")]
        self.assertEqual(info.get("expect"), "answer", info)
        self.assertEqual(info.get("theirs"), [], info)
        self.assertRegex(info.get("detail", ""), r"NXDOMAIN|NODATA|nxdomain|nodata", info)

        rc, _, out, err, _ = self.verify("--secondary", a, "--sample", "1000", json_output=False)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("checked by sample", out)
        self.assertRegex(out, rf"(?m)^\s+info\.{re.escape(ZONE)} TXT \(.*expected answer\)", out)

        # Asked to skip the transfer, the posing server is checked by sample too, with the same result.
        rc, doc, out, err, _ = self.verify("--secondary", self.posing.address, "--no-transfer", "--sample", "1000")
        self.assertEqual(rc, 1, out + err)
        e = self.entry(doc, self.posing.address)
        self.assertEqual((e.get("status"), e.get("method"), e.get("differences")), ("differs", "sample", 2),
                         self.dump(e))

    # -- 4: no answer --
    def test_4_unreachable(self):
        targets = [self.silent.address, self.closed]
        args = [a for t in targets for a in ("--secondary", t)] + ["--query-timeout", "500"]
        rc, doc, out, err, took = self.verify(*args)
        print(f"\n  unreachable secondaries reported in {took:.2f} s", flush=True)
        self.assertEqual(rc, 1, out + err)
        self.assertIs(doc.get("in_sync"), False, self.dump(doc))
        for t in targets:
            with self.subTest(target=t):
                e = self.entry(doc, t)
                self.assertEqual((e.get("status"), e.get("in_sync")), ("unreachable", False), self.dump(e))
                self.assertIsNone(e.get("serial"), self.dump(e))
                self.assertIsNone(e.get("method"), self.dump(e))
                self.assertFalse(e["udp"].get("answered") or e["tcp"].get("answered"), self.dump(e))
                self.assertTrue(e["udp"].get("error") and e["tcp"].get("error"), self.dump(e))
        self.assertGreater(self.silent.count, 0, "the silent secondary got no query at all")
        # UDP waits 0.5 s, TCP is refused at once; both are checked in parallel.
        self.assertLess(took, 5.0, f"took {took:.2f} s")

        rc, _, out, err, _ = self.verify(*args, json_output=False)
        self.assertEqual(rc, 1, out + err)
        for t in targets:
            self.assertRegex(out, rf"(?m)^{re.escape(t)}\s+unreachable\b", out)

    # -- 5: missed changes (last: it changes the zone) --
    def test_5_behind_after_missed_changes(self):
        victim = "knot" if "knot" in self.peers else list(self.peers)[-1]
        peer = self.peers[victim]
        # It holds the served serial, on disk, so that it comes back with it.
        peer.wait_serial(ZONE, SERIAL, timeout=10)
        hwtest.wait_for(lambda: peer.file_serial(ZONE) == SERIAL, 15, interval=0.1,
                        what=f"{victim} to write serial {SERIAL} to disk")
        peer.proc.stop()

        # Two changes, two reloads: serial + 2.
        path = self.hw.zone_path(ZONE)
        path.write_text(zone_text(ZONE, SERIAL + 1, www="192.0.2.81", extra=('added IN TXT "new"',)))
        rc, doc, out, err = self.hw.ctl("reload", ZONE)
        self.assertEqual(rc, 0, out + err)
        path.write_text(zone_text(ZONE, SERIAL + 2, www="192.0.2.81", extra=('added IN TXT "new"',),
                                  drop=("host-039 IN A 198.51.100.40",)))
        rc, doc, out, err = self.hw.ctl("reload", ZONE)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(hwtest.soa_serial(self.hw.port, ZONE), SERIAL + 2)

        # Back, cut off from the primary (a partition): its primary is now a port nobody listens on, so
        # neither a refresh nor a NOTIFY-triggered transfer can bring it the changes.
        peer.primary_port = hwtest.free_port()
        peer.start()
        hwtest.wait_for(lambda: peer.serial(ZONE) is not None or not peer.proc.alive(), 20, interval=0.1,
                        what=f"{victim} to serve {ZONE} again")
        self.assertEqual(peer.serial(ZONE), SERIAL, f"{victim} came back with {peer.serial(ZONE)}, not the "
                         f"{SERIAL} it held: the test would prove nothing\n{peer.proc.log_tail()}")

        a = address(peer)
        rc, doc, out, err, _ = self.verify("--secondary", a)
        self.assertEqual(rc, 1, out + err)
        e = self.entry(doc, a)
        self.assertEqual(doc.get("serial"), SERIAL + 2, self.dump(doc))
        self.assertEqual((e.get("status"), e.get("in_sync"), e.get("serial"), e.get("lag_serials")),
                         ("behind", False, SERIAL, 2), self.dump(e))
        self.assertEqual(e.get("method"), "axfr", self.dump(e))
        self.assertEqual(e.get("content_serial"), SERIAL, self.dump(e))
        expected = {("different", ZONE, "SOA"), ("different", f"www.{ZONE}", "A"),
                    ("missing", f"added.{ZONE}", "TXT"), ("extra", f"host-039.{ZONE}", "A")}
        self.assertEqual(diffs_of(e), expected, self.dump(e))
        self.assertEqual(e.get("differences"), len(expected), self.dump(e))
        self.assertIn("behind by 2 serials", e.get("summary", ""), self.dump(e))

        rc, _, out, err, _ = self.verify("--secondary", a, json_output=False)
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, rf"(?m)^{re.escape(a)}\s+behind\s+{SERIAL}\s+2\b", out)


class IntervalTest(VerifyMixin, unittest.TestCase):
    INTERVAL = 2  # seconds

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("verification is Headwater's")
        cls.peers = {}
        cls.posing = None
        try:
            names, missing = hwtest.available_peers(PEERS)
            if not names:
                raise unittest.SkipTest(f"no secondary available: {missing or 'HW_PEERS selects none'}")
            hwtest.require_tool("knotd")
            cls.tmp = hwtest.tempdir("verify-interval")
            source = cls.tmp / "drift.example.zone"
            source.write_text(zone_text(DRIFT_ZONE, SERIAL))
            cls.posing_file = cls.tmp / "posing.zone"
            cls.posing_file.write_text(posing_text(DRIFT_ZONE, SERIAL))
            cls.posing = hwtest.KnotPrimary({DRIFT_ZONE: cls.posing_file})
            cls.posing.start()
            zone = hwtest.ZoneConf(DRIFT_ZONE, source, ["providers"])
            cls.hw = hwtest.Headwater([zone], transfer_log="transfers.jsonl")
            cls.name = names[0]
            cls.peers[cls.name] = PEERS[cls.name]([DRIFT_ZONE], cls.hw.port)
            cls.good = address(cls.peers[cls.name])
            zone.notify_options.update({"secondaries": [cls.good, cls.posing.address],
                                        "verify_interval": f"{cls.INTERVAL}s"})
            cls.hw.start()
            cls.started = time.monotonic()
            cls.peers[cls.name].start()
            cls.peers[cls.name].wait_serial(DRIFT_ZONE, SERIAL, timeout=30)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls, cls.posing)
        cls.posing = None

    def verification(self):
        rc, doc, out, err = self.hw.ctl("secondaries", DRIFT_ZONE)
        self.assertEqual(rc, 0, out + err)
        return {v.get("address"): v for v in doc.get("verification", [])}

    def verify_lines(self, addr):
        path = self.hw.dir / "transfers.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            ev = json.loads(line)
            if ev.get("event") == "verify" and ev.get("address") == addr:
                out.append(ev)
        return out

    def drift(self, addr, edge):
        return hwtest.verify_log(self.hw.log(), DRIFT_ZONE, secondary=re.escape(addr), edge=edge)

    def diagnostics(self):
        lines = [v["_line"] for v in hwtest.verify_log(self.hw.log())]
        rc, doc, out, err = self.hw.ctl("secondaries", DRIFT_ZONE, json_output=False)
        return "--- drift lines ---\n" + "\n".join(lines) + f"\n--- secondaries ---\n{out}{err}"

    def test_continuous_verification(self):
        bad = self.posing.address
        # The first check comes one interval after start-up, then one per interval.
        hwtest.wait_for(lambda: (lambda d: d if self.good in d and bad in d else None)(self.verification()),
                        3 * self.INTERVAL + 5, interval=0.2, what="a verification entry per secondary")
        print(f"\n  first verification after {time.monotonic() - self.started:.1f} s", flush=True)
        # The good one may be caught mid-transfer by the very first check; it is in sync from then on.
        v = hwtest.wait_for(lambda: (lambda d: d if d[self.good].get("in_sync") else None)(self.verification()),
                            2 * self.INTERVAL + 3, what=f"{self.good} verified in sync")
        self.assertEqual((v[self.good].get("status"), v[self.good].get("method"), v[self.good].get("serial")),
                         ("in-sync", "axfr", SERIAL), v)
        self.assertEqual((v[bad].get("status"), v[bad].get("in_sync"), v[bad].get("differences"),
                          v[bad].get("method")), ("differs", False, 2, "axfr"), v)
        self.assertTrue(v[bad].get("at") and v[bad].get("summary"), v)

        # Several intervals of drift: warned about once.
        n0 = len(self.verify_lines(bad))
        hwtest.wait_for(lambda: len(self.verify_lines(bad)) >= n0 + 3, 4 * self.INTERVAL + 5, interval=0.2,
                        what="three more scheduled checks")
        lines = self.verify_lines(bad)
        self.assertTrue(all(ev.get("scheduled") is True for ev in lines), lines)
        self.assertTrue(all(ev.get("status") == "differs" and ev.get("zone", "").lower() == DRIFT_ZONE
                            for ev in lines), lines)
        self.assertEqual({(r["kind"], r["owner"].lower(), r["type"]) for r in lines[-1].get("rrsets", [])},
                         posing_diffs(DRIFT_ZONE), lines[-1])
        good_lines = self.verify_lines(self.good)
        self.assertTrue(good_lines and good_lines[-1].get("status") == "in-sync", good_lines[-3:])
        starts = self.drift(bad, "starts")
        self.assertEqual(len(starts), 1, f"{len(lines)} checks of a drifting secondary:\n" + self.diagnostics())
        self.assertEqual(self.drift(bad, "ends"), [], self.diagnostics())
        self.assertIn("differ", starts[0]["summary"])
        # The good one: whatever the first check saw, every start has its end.
        self.assertEqual(len(self.drift(self.good, "starts")), len(self.drift(self.good, "ends")),
                         self.diagnostics())

        # The text view has the VERIFIED table.
        rc, _, out, err = self.hw.ctl("secondaries", DRIFT_ZONE, json_output=False)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("VERIFIED", out)
        self.assertRegex(out, rf"(?m)^{re.escape(bad)}\s+\S+\s+differs\b", out)
        self.assertRegex(out, rf"(?m)^{re.escape(self.good)}\s+\S+\s+in-sync\b", out)

        # Fixed: the posing server gets the right copy; the drift ends, once.
        self.posing.serve(DRIFT_ZONE, self.hw.zone_path(DRIFT_ZONE))
        hwtest.wait_for(lambda: [rd.address for rr in hwtest.query(self.posing.port, f"www.{DRIFT_ZONE}", "A").answer
                                 for rd in rr] == ["192.0.2.80"], 10, what="the posing server to serve the fix")
        hwtest.wait_for(lambda: self.drift(bad, "ends"), 2 * self.INTERVAL + 5, interval=0.2,
                        what="the drift-ends warning")
        n1 = len(self.verify_lines(bad))
        hwtest.wait_for(lambda: len(self.verify_lines(bad)) >= n1 + 2, 3 * self.INTERVAL + 5, interval=0.2,
                        what="two more scheduled checks")
        self.assertEqual(len(self.drift(bad, "ends")), 1, self.diagnostics())
        self.assertEqual(len(self.drift(bad, "starts")), 1, self.diagnostics())
        self.assertEqual(self.verify_lines(bad)[-1].get("status"), "in-sync")
        v = self.verification()
        self.assertEqual((v[bad].get("status"), v[bad].get("in_sync"), v[bad].get("differences")),
                         ("in-sync", True, 0), v)


SIGNED_ZONE = "signedverify.example."
WARNED_ZONE = "warned.example."  # signature_warn longer than the signatures live: every one "expiring"


def signed_zone_text(serial):
    return f"""$TTL 300
@    3600 IN SOA ns1 hostmaster {serial} 3600 3600 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.80
mail A   192.0.2.25
@    MX  10 mail
"""


def signed_entry(doc, addr):
    mine = [s for s in (doc or {}).get("secondaries", []) if s.get("address") == addr]
    return mine[0] if len(mine) == 1 else {}


class SignedVerifyTest(VerifyMixin, unittest.TestCase):
    """A zone Headwater signs: the DNSKEY RRset and the RRSIGs a secondary serves are checked.

    A real Knot secondary transfers signedverify.example. and warned.example. (both signed by Headwater,
    NSEC); verify finds it in sync with dnssec ok, by AXFR and by sample. Then knotd primaries serve
    hand-edited copies of the signed zone (as a secondary someone edited would): one with the signature of
    www A damaged and the RRSIG of mail A moved into the past, one with an extra DNSKEY; verify names the
    bad signatures and the extra key tag, by AXFR and (transfers refused) by sample. warned.example. has
    signature_warn = "30d", longer than the 14-day signatures live: in sync, ok, every signature expiring.
    """

    knot = None
    tampered = None
    tampered_refusing = None
    extra_key = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("verification is Headwater's")
        hwtest.require_tool("knotd")
        try:
            cls.tmp = hwtest.tempdir("verify-signed")
            confs = []
            cls.knot = hwtest.KnotSecondary([SIGNED_ZONE, WARNED_ZONE], 0)
            knot_addr = address(cls.knot)
            for zone, extra in ((SIGNED_ZONE, {}), (WARNED_ZONE, {"signature_warn": "30d"})):
                src = cls.tmp / f"{zone}zone"
                src.write_text(signed_zone_text(SERIAL))
                confs.append(hwtest.ZoneConf(zone, src, notify=[knot_addr],
                                             notify_options={"dnssec_policy": "nsec", "secondaries": [knot_addr],
                                                             **extra}))
            cls.hw = hwtest.Headwater(confs, extra_toml='[[dnssec_policy]]\nname = "nsec"\n')
            cls.hw.start(timeout=60)
            cls.knot.primary_port = cls.hw.port
            cls.knot.start()
            for zone in (SIGNED_ZONE, WARNED_ZONE):
                cls.knot.wait_serial(zone, SERIAL, timeout=30)
            cls.make_copies()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def make_copies(cls):
        """Edited copies of the signed zone as Headwater transfers it, each served by a knotd primary."""
        import dns.dnssec
        import dns.query
        import dns.rdata
        import dns.rdataclass
        import dns.rdatatype
        import dns.zone

        def fetch():
            return dns.zone.from_xfr(dns.query.xfr(hwtest.ADDR, SIGNED_ZONE, port=cls.hw.port, lifetime=20,
                                                   relativize=False),
                                     relativize=False)

        def rrsig(z, owner, covered):
            rds = z.find_rdataset(f"{owner}.{SIGNED_ZONE}", dns.rdatatype.RRSIG, covers=covered)
            return rds

        # 1: the signature of www A damaged, the RRSIG of mail A expired a day ago (inception before that).
        z = fetch()
        www = rrsig(z, "www", dns.rdatatype.A)
        damaged = [rd.replace(signature=bytes([rd.signature[0] ^ 0xFF]) + rd.signature[1:]) for rd in www]
        www.clear()
        for rd in damaged:
            www.add(rd)
        now = int(time.time())
        mail = rrsig(z, "mail", dns.rdatatype.A)
        past = [rd.replace(expiration=now - 86400, inception=now - 10 * 86400) for rd in mail]
        mail.clear()
        for rd in past:
            mail.add(rd)
        cls.damaged_tag = damaged[0].key_tag
        path = cls.tmp / "tampered.zone"
        z.to_file(str(path), relativize=False)
        cls.tampered = hwtest.KnotPrimary({SIGNED_ZONE: path})
        cls.tampered_refusing = hwtest.KnotPrimary({SIGNED_ZONE: path}, allow_transfer=False)

        # 2: one DNSKEY more than Headwater publishes (a made-up P-256 ZSK).
        z = fetch()
        fake = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY,
                                   "256 3 13 " + __import__("base64").b64encode(bytes(range(64))).decode())
        z.find_rdataset(SIGNED_ZONE, dns.rdatatype.DNSKEY).add(fake)
        cls.fake_tag = dns.dnssec.key_id(fake)
        path = cls.tmp / "extra-key.zone"
        z.to_file(str(path), relativize=False)
        cls.extra_key = hwtest.KnotPrimary({SIGNED_ZONE: path})
        for primary in (cls.tampered, cls.tampered_refusing, cls.extra_key):
            primary.start(wait=False)
        for primary in (cls.tampered, cls.tampered_refusing, cls.extra_key):
            primary.wait_ready()

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls, cls.knot, cls.tampered, cls.tampered_refusing, cls.extra_key)
        cls.knot = cls.tampered = cls.tampered_refusing = cls.extra_key = None

    def dnssec_of(self, *args, zone=SIGNED_ZONE, addr=None, rc_expected=0):
        rc, doc, out, err, _ = self.verify(*args, zone=zone)
        self.assertEqual(rc, rc_expected, f"exit {rc}:\n{out}{err}")
        e = signed_entry(doc, addr)
        self.assertTrue(e, self.dump(doc))
        self.assertIsInstance(e.get("dnssec"), dict, self.dump(e))
        return e, e["dnssec"]

    def test_1_in_sync_by_axfr_and_by_sample(self):
        a = address(self.knot)
        for args, method in ((("--secondary", a), "axfr"), (("--secondary", a, "--no-transfer"), "sample")):
            with self.subTest(method=method):
                e, d = self.dnssec_of(*args, addr=a)
                self.assertEqual((e.get("status"), e.get("method"), e.get("differences")), ("in-sync", method, 0),
                                 self.dump(e))
                self.assertIs(d.get("ok"), True, self.dump(d))
                self.assertIs(d.get("dnskey_match"), True, self.dump(d))
                self.assertEqual((d.get("missing_tags"), d.get("extra_tags")), ([], []), self.dump(d))
                self.assertEqual((d.get("signatures_bad"), d.get("expiring"), d.get("problems")), (0, 0, []),
                                 self.dump(d))
                # SOA, NS, MX, DNSKEY, NSEC at the apex; A and NSEC at ns1, www and mail: one CSK signs each.
                self.assertGreaterEqual(d.get("signatures_checked", 0), 11, self.dump(d))
                self.assertTrue(d.get("earliest_expiry"), self.dump(d))
                self.assertIn("DNSSEC ok", e.get("summary", ""))
        rc, _, out, err, _ = self.verify("--secondary", a, zone=SIGNED_ZONE, json_output=False)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"(?m)^SECONDARY .* DNSSEC\s*$", out)
        self.assertRegex(out, rf"(?m)^{re.escape(a)}\s+in-sync\s+.*\sok\s*$", out)

    def test_2_expiring_within_signature_warn(self):
        a = address(self.knot)
        e, d = self.dnssec_of("--secondary", a, zone=WARNED_ZONE, addr=a)
        self.assertEqual(e.get("status"), "in-sync", self.dump(e))
        self.assertIs(d.get("ok"), True, self.dump(d))
        self.assertEqual(d.get("signature_warn_s"), 30 * 86400, self.dump(d))
        self.assertGreaterEqual(d.get("expiring", 0), 11, self.dump(d))
        self.assertEqual(d.get("expiring"), d.get("signatures_dated"), self.dump(d))
        self.assertRegex(e.get("summary", ""), r"\d+ expire within 30d", self.dump(e))

    def check_tampered(self, e, d, method):
        self.assertEqual((e.get("status"), e.get("in_sync"), e.get("method")), ("differs", False, method),
                         self.dump(e))
        self.assertIs(d.get("ok"), False, self.dump(d))
        self.assertIs(d.get("dnskey_match"), True, self.dump(d))
        self.assertEqual(d.get("signatures_bad"), 2, self.dump(d))
        problems = {(p.get("owner", "").lower(), p.get("type"), p.get("problem")) for p in d.get("problems", [])}
        self.assertEqual(problems, {(f"www.{SIGNED_ZONE}", "A", "bad-signature"),
                                    (f"mail.{SIGNED_ZONE}", "A", "expired")}, self.dump(d))
        www = [p for p in d["problems"] if p["problem"] == "bad-signature"][0]
        self.assertEqual(www.get("key_tag"), self.damaged_tag, self.dump(d))
        self.assertIn("DNSSEC 2 of", e.get("summary", ""))

    def test_3_damaged_and_expired_signatures_by_axfr(self):
        a = self.tampered.address
        e, d = self.dnssec_of("--secondary", a, addr=a, rc_expected=1)
        self.check_tampered(e, d, "axfr")
        # The RRSIG RRsets differ from ours too (the content check sees other bytes).
        self.assertEqual(diffs_of(e), {("different", f"www.{SIGNED_ZONE}", "RRSIG"),
                                       ("different", f"mail.{SIGNED_ZONE}", "RRSIG")}, self.dump(e))
        rc, _, out, err, _ = self.verify("--secondary", a, zone=SIGNED_ZONE, json_output=False)
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, rf"(?m)^{re.escape(a)}\s+differs\s+.*\sbad sigs\s*$", out)
        self.assertRegex(out, rf"(?m)^\s+RRSIG www\.{re.escape(SIGNED_ZONE)} A key {self.damaged_tag}: bad-signature",
                         out)
        self.assertRegex(out, rf"(?m)^\s+RRSIG mail\.{re.escape(SIGNED_ZONE)} A key \d+: expired", out)

    def test_4_damaged_and_expired_signatures_by_sample(self):
        a = self.tampered_refusing.address
        e, d = self.dnssec_of("--secondary", a, addr=a, rc_expected=1)
        self.assertTrue(e.get("transfer_error"), self.dump(e))
        # By sample the answers compared (A, MX, ...) are the same as ours: only DNSSEC tells them apart.
        self.assertEqual(e.get("differences"), 0, self.dump(e))
        self.check_tampered(e, d, "sample")

    def test_5_extra_dnskey(self):
        a = self.extra_key.address
        e, d = self.dnssec_of("--secondary", a, addr=a, rc_expected=1)
        self.assertEqual(e.get("status"), "differs", self.dump(e))
        self.assertIs(d.get("dnskey_match"), False, self.dump(d))
        self.assertEqual((d.get("missing_tags"), d.get("extra_tags")), ([], [self.fake_tag]), self.dump(d))
        # Our signature over the DNSKEY RRset does not cover the RRset with the extra key in it.
        self.assertIn((f"{SIGNED_ZONE}", "DNSKEY", "bad-signature"),
                      {(p.get("owner", "").lower(), p.get("type"), p.get("problem")) for p in d.get("problems", [])},
                      self.dump(d))
        self.assertIn(f"DNSKEY RRset differs (extra {self.fake_tag})", e.get("summary", ""))
        rc, _, out, err, _ = self.verify("--secondary", a, zone=SIGNED_ZONE, json_output=False)
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, rf"(?m)^{re.escape(a)}\s+differs\s+.*\skeys differ\s*$", out)
        self.assertIn(f"DNSKEY extra (key tags): {self.fake_tag}", out)


class ConfigTest(unittest.TestCase):
    def setUp(self):
        hwtest.require_headwater("--check-config is Headwater's")
        self.tmp = hwtest.tempdir("verify-conf")
        (self.tmp / "zones").mkdir()
        for z in ("a.example.", "b.example.", "c.example."):
            (self.tmp / "zones" / f"{z}zone").write_text(zone_text(z, SERIAL))

    def tearDown(self):
        hwtest.cleanup_dir(self.tmp)

    def check(self, zones):
        path = self.tmp / "headwater.toml"
        path.write_text(f"""[server]
listen = ["127.0.0.1:{hwtest.free_port()}"]
control_socket = "run/headwater.sock"
state_dir = "state"

[[key]]
name = "verify-key"
algorithm = "hmac-sha256"
secret = "{hwtest.TsigKey('x').secret}"
{zones}""")
        p = subprocess.run([hwtest.headwater_bin(), "--check-config", str(path)], capture_output=True, text=True,
                           timeout=30)
        return p, path.read_text().splitlines()

    def line_of(self, lines, needle):
        return next(i for i, text in enumerate(lines, 1) if needle in text)

    def test_good(self):
        p, _ = self.check("""
[[zone]]
name = "a.example"
file = "zones/a.example.zone"
secondaries = ["127.0.0.1:5300", "192.0.2.1", "[2001:db8::1]:53"]
verify_interval = "5m"
verify_key = "verify-key"
verify_sample = 250
""")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_errors(self):
        p, lines = self.check("""
[[zone]]
name = "a.example"
file = "zones/a.example.zone"
secondaries = ["127.0.0.1:5300"]
verify_interval = "5x"

[[zone]]
name = "b.example"
file = "zones/b.example.zone"
verify_interval = "30s"

[[zone]]
name = "c.example"
file = "zones/c.example.zone"
secondaries = ["127.0.0.1:5300"]
verify_key = "no-such-key"
""")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        err = p.stderr
        # Every problem is reported, each with file:line and the key's path.
        bad_line = self.line_of(lines, '"5x"')  # quoted: the random TSIG secret may hold 5x
        self.assertRegex(err, rf"headwater\.toml:{bad_line}:\d+: zone\[0\]\.verify_interval: "
                              r"\"5x\" is not a duration", err)
        self.assertRegex(err, r"headwater\.toml:\d+:\d+: zone\[1\]\.verify_interval: .*secondaries", err)
        self.assertRegex(err, rf"headwater\.toml:{self.line_of(lines, 'no-such-key')}:\d+: zone\[2\]\.verify_key: "
                              r".*unknown key \"no-such-key\.?\"", err)


if __name__ == "__main__":
    hwtest.main()
