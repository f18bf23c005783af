#!/usr/bin/python3
"""Dynamic updates (RFC 2136) against a running Headwater, sent by nsupdate (BIND), knsupdate (Knot)
and dnspython: every prerequisite kind with its success and its failure rcode, every refusal rcode
(NOTAUTH, NOTZONE, REFUSED, FORMERR and the TSIG errors), a key restricted to _acme-challenge TXT refused
elsewhere, an unsigned update refused, the serial moving forward by the zone's policy, the IXFR of the
change, the zone file written back and a hand edit after updates kept by the reload, and kill -9 right
after an answered update losing nothing.
"""

import contextlib
import json
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwproc  # noqa: E402
import hwtest  # noqa: E402

import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402
import dns.tsig  # noqa: E402
import dns.tsigkeyring  # noqa: E402
import dns.update  # noqa: E402

ZONE = "upd.example."
SERIAL = 100
ZONE_TEXT = f"""$TTL 3600
@        IN SOA ns1 hostmaster {SERIAL} 3600 600 86400 300 ; serial
@        IN NS  ns1
@        IN NS  ns2
ns1      IN A   192.0.2.1
ns2      IN A   192.0.2.2
www      IN A   192.0.2.10
www      IN A   192.0.2.11
alias    IN CNAME www
"""

ADMIN = hwtest.TsigKey("admin-key")
ACME = hwtest.TsigKey("acme-key")
OTHER = hwtest.TsigKey("other-key")  # a valid key no allow_update rule names


def rcode_of(wire):
    return struct.unpack("!H", wire[2:4])[0] & 0xF


def tcp_exchange(port, wire, timeout=10.0):
    with contextlib.closing(hwtest.tcp_connect(port, timeout=timeout)) as s:
        hwtest.tcp_send(s, wire)
        return hwtest.tcp_recv(s)


def udp_exchange(port, wire, timeout=5.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(wire, (hwtest.ADDR, port))
        while True:
            data, _ = s.recvfrom(65535)
            if data[:2] == wire[:2]:
                return data


def add_by_update(port, owner, ttl, rdtype, value):
    """One UPDATE adding a record (signed with ADMIN); its rcode."""
    m = update()
    m.add(owner, ttl, rdtype, value)
    return rcode_of(tcp_exchange(port, m.to_wire()))


def update(key=ADMIN, zone=ZONE):
    if key is None:
        return dns.update.UpdateMessage(zone)
    return dns.update.UpdateMessage(zone, keyring=key.keyring(), keyname=key.dns_name,
                                    keyalgorithm=key.wire_algorithm)


class UpdateTest(unittest.TestCase):
    hw = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = hwtest.tempdir("update-data")
        src = cls.tmp / "upd.example.zone"
        src.write_text(ZONE_TEXT)
        acls = [
            hwtest.AclConf("updaters", networks=["127.0.0.0/8"], keys=[ADMIN]),
            hwtest.AclConf("acme", keys=[ACME], update_names=["_acme-challenge.*"], update_types=["TXT"]),
        ]
        zone = hwtest.ZoneConf(ZONE, src, notify_options={"allow_update": ["updaters", "acme"]})
        cls.hw = hwtest.Headwater([zone], keys=[ADMIN, ACME, OTHER], acls=acls, transfer_log="run/transfers.jsonl")
        cls.hw.start()

    @classmethod
    def tearDownClass(cls):
        if cls.hw:
            cls.hw.close()
        if cls.tmp:
            hwtest.cleanup_dir(cls.tmp)

    # -- helpers --
    def send(self, msg, tcp=True):
        """The answer's rcode (from the wire: a TSIG error answer is read without dnspython's checks) and
        the answer parsed with the request's key when it verifies."""
        wire = msg.to_wire()
        answer = tcp_exchange(self.hw.port, wire) if tcp else udp_exchange(self.hw.port, wire)
        return rcode_of(answer), answer

    def ok(self, msg, tcp=True):
        rcode, answer = self.send(msg, tcp)
        self.assertEqual(dns.rcode.to_text(rcode), "NOERROR", self.hw.log()[-3000:])
        # The answer to a signed request is signed with the same key (RFC 8945 §5.3).
        if msg.keyring:
            dns.message.from_wire(answer, keyring=msg.keyring, request_mac=msg.mac)
        return answer

    def expect(self, msg, rcode_text, tcp=True):
        rcode, _ = self.send(msg, tcp)
        self.assertEqual(dns.rcode.to_text(rcode), rcode_text)

    def serial(self):
        return hwtest.soa_serial(self.hw.port, ZONE)

    def rdatas(self, name, rdtype):
        q = dns.message.make_query(name, rdtype)
        r = dns.query.tcp(q, hwtest.ADDR, port=self.hw.port, timeout=5)
        return sorted(rd.to_text() for rrset in r.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype)
                      for rd in rrset)

    def update_lines(self, **match):
        return hwproc._event_log("update", self.hw.log(), **match)

    # -- the tests --
    def test_nsupdate_adds_and_deletes(self):
        before = self.serial()
        script = (f"server {hwtest.ADDR} {self.hw.port}\nzone {ZONE}\n"
                  f"update add ns-added.{ZONE} 300 IN A 198.51.100.7\nsend\n")
        p = subprocess.run(["nsupdate", "-v", "-y", f"hmac-sha256:{ADMIN.name}:{ADMIN.secret}"], input=script,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.rdatas(f"ns-added.{ZONE}", "A"), ["198.51.100.7"])
        after = self.serial()
        self.assertEqual(after, before + 1)  # serial_policy increment
        script = (f"server {hwtest.ADDR} {self.hw.port}\nzone {ZONE}\n"
                  f"update delete ns-added.{ZONE} A\nsend\n")
        p = subprocess.run(["nsupdate", "-y", f"hmac-sha256:{ADMIN.name}:{ADMIN.secret}"], input=script,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.rdatas(f"ns-added.{ZONE}", "A"), [])
        self.assertEqual(self.serial(), after + 1)

    def test_knsupdate(self):
        script = (f"server {hwtest.ADDR} {self.hw.port}\nzone {ZONE}\n"
                  f"update add knot-added.{ZONE} 300 TXT \"from knsupdate\"\nsend\nanswer\n")
        p = subprocess.run(["knsupdate", "-y", f"hmac-sha256:{ACME.name}:{ACME.secret}"], input=script,
                           capture_output=True, text=True, timeout=30)
        # The ACME key may not touch knot-added: REFUSED, and knsupdate says so.
        self.assertIn("REFUSED", p.stdout + p.stderr)
        self.assertEqual(self.rdatas(f"knot-added.{ZONE}", "TXT"), [])
        p = subprocess.run(["knsupdate", "-y", f"hmac-sha256:{ADMIN.name}:{ADMIN.secret}"], input=script,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.rdatas(f"knot-added.{ZONE}", "TXT"), ['"from knsupdate"'])

    def test_prerequisites_every_kind(self):
        # RRset exists (value independent): yes / no
        m = update()
        m.present("www", "A")
        m.add("p1", 60, "TXT", "one")
        self.ok(m)
        m = update()
        m.present("www", "AAAA")
        m.add("p2", 60, "TXT", "never")
        self.expect(m, "NXRRSET")
        # RRset exists (value dependent)
        m = update()
        m.present("www", "A", "192.0.2.10")
        m.present("www", "A", "192.0.2.11")
        m.add("p3", 60, "TXT", "three")
        self.ok(m)
        m = update()
        m.present("www", "A", "192.0.2.10")
        m.add("p4", 60, "TXT", "never")
        self.expect(m, "NXRRSET")
        # RRset does not exist
        m = update()
        m.absent("www", "AAAA")
        m.add("p5", 60, "TXT", "five")
        self.ok(m)
        m = update()
        m.absent("www", "A")
        m.add("p6", 60, "TXT", "never")
        self.expect(m, "YXRRSET")
        # Name is in use
        m = update()
        m.present("www")
        m.add("p7", 60, "TXT", "seven")
        self.ok(m)
        m = update()
        m.present("nowhere")
        m.add("p8", 60, "TXT", "never")
        self.expect(m, "NXDOMAIN")
        # Name is not in use
        m = update()
        m.absent("nowhere")
        m.add("p9", 60, "TXT", "nine")
        self.ok(m)
        m = update()
        m.absent("www")
        m.add("p10", 60, "TXT", "never")
        self.expect(m, "YXDOMAIN")
        for n in ("p1", "p3", "p5", "p7", "p9"):
            self.assertEqual(len(self.rdatas(f"{n}.{ZONE}", "TXT")), 1, n)
        for n in ("p2", "p4", "p6", "p8", "p10"):
            self.assertEqual(self.rdatas(f"{n}.{ZONE}", "TXT"), [], n)  # a failed prerequisite changes nothing

    def test_refusals(self):
        before = self.serial()
        m = update(key=None)
        m.add("unsigned", 60, "TXT", "x")
        self.expect(m, "REFUSED")
        self.expect(m, "REFUSED", tcp=False)
        m = update(key=OTHER)
        m.add("other", 60, "TXT", "x")
        self.expect(m, "REFUSED")
        m = update(zone="not-served.example.")
        m.add("x", 60, "TXT", "x")
        self.expect(m, "NOTAUTH")
        m = update()
        m.add(dns.name.from_text("outside.example.org."), 60, "TXT", "x")
        self.expect(m, "NOTZONE")
        # A deletion of an RRset with a TTL: FORMERR (RFC 2136 §3.4.1.3).
        m = update()
        m.update.append(dns.rrset.from_text(f"bad.{ZONE}", 60, "ANY", "TXT", '"x"'))
        self.expect(m, "FORMERR")
        # TSIG: an unknown key and a wrong secret are NOTAUTH (RFC 8945 §5.2).
        stranger = hwtest.TsigKey("stranger")
        m = update(key=stranger)
        m.add("stranger", 60, "TXT", "x")
        self.expect(m, "NOTAUTH")
        forged = hwtest.TsigKey(ADMIN.name, secret=OTHER.secret)
        m = update(key=forged)
        m.add("forged", 60, "TXT", "x")
        self.expect(m, "NOTAUTH")
        self.assertEqual(self.serial(), before)
        # Each refusal is logged with why, and the rule when one decided.
        self.assertTrue(self.update_lines(key="-", rcode="REFUSED"))
        self.assertTrue(self.update_lines(rcode="NOTAUTH"))
        self.assertTrue(self.update_lines(rcode="NOTZONE"))

    def test_acme_key_only_under_acme_challenge(self):
        m = update(key=ACME)
        m.add("_acme-challenge.www", 60, "TXT", "token-1")
        self.ok(m)
        self.assertEqual(self.rdatas(f"_acme-challenge.www.{ZONE}", "TXT"), ['"token-1"'])
        m = update(key=ACME)
        m.add("www", 60, "TXT", "not-here")
        self.expect(m, "REFUSED")
        m = update(key=ACME)
        m.add("_acme-challenge", 60, "A", "192.0.2.99")
        self.expect(m, "REFUSED")
        m = update(key=ACME)
        m.delete("_acme-challenge.www")  # every type at the name: more than TXT
        self.expect(m, "REFUSED")
        lines = self.update_lines(key="acme-key.", rcode="REFUSED", rule="acme")
        self.assertTrue(lines, self.hw.log()[-3000:])
        self.assertTrue(any("www." in l["reason"] for l in lines))
        m = update(key=ACME)
        m.delete("_acme-challenge.www", "TXT")
        self.ok(m)
        self.assertEqual(self.rdatas(f"_acme-challenge.www.{ZONE}", "TXT"), [])

    def test_apex_rules_and_cname(self):
        before = self.serial()
        m = update()
        m.delete("@", "NS")
        m.delete("@", "SOA")
        self.ok(m)  # ignored, not an error (RFC 2136 §3.4.2.3)
        self.assertEqual(len(self.rdatas(ZONE, "NS")), 2)
        self.assertEqual(self.serial(), before)  # nothing changed: no new serial
        m = update()
        m.add("alias", 60, "TXT", "beside a CNAME")
        self.ok(m)
        self.assertEqual(self.rdatas(f"alias.{ZONE}", "TXT"), [])

    def test_udp_update_and_ixfr(self):
        before = self.serial()
        m = update()
        m.add("over-udp", 60, "A", "203.0.113.5")
        self.ok(m, tcp=False)
        after = self.serial()
        self.assertEqual(after, before + 1)
        # The change is in the journal: an IXFR from the old serial carries it.
        q = dns.message.make_query(ZONE, "IXFR")
        q.authority = [dns.rrset.from_text(ZONE, 0, "IN", "SOA", f"ns1.{ZONE} hostmaster.{ZONE} {before} 1 1 1 1")]
        r = dns.query.tcp(q, hwtest.ADDR, port=self.hw.port, timeout=5)
        texts = [rrset.to_text() for rrset in r.answer]
        self.assertTrue(any("over-udp" in t for t in texts), texts)

    def test_file_written_back_and_reload(self):
        m = update()
        m.add("written", 60, "TXT", '"in the file"')
        self.ok(m)
        path = self.hw.zone_path(ZONE)
        # Written at once, but after the answer (the journal made the update durable; the file follows).
        hwtest.wait_for(lambda: "written." + ZONE in path.read_text(), timeout=5, interval=0.01,
                        what="the update in the zone file")
        # A reload finds the file as served: unchanged.
        rc, doc, out, err = self.hw.ctl("reload", ZONE)
        self.assertEqual(doc["zones"][0]["outcome"], "unchanged", out + err)
        # A hand edit after updates: the edit and the updates are both served.
        with open(path, "a") as f:
            f.write(f"hand-edit.{ZONE} 60 IN TXT \"by hand\"\n")
        rc, doc, out, err = self.hw.ctl("reload", ZONE)
        self.assertEqual(doc["zones"][0]["outcome"], "updated", out + err)
        self.assertEqual(self.rdatas(f"hand-edit.{ZONE}", "TXT"), ['"by hand"'])
        self.assertEqual(self.rdatas(f"written.{ZONE}", "TXT"), ['"in the file"'])

    def test_sync_command(self):
        path = self.hw.zone_path(ZONE)
        path.write_text("; emptied by the test\n")
        rc, doc, out, err = self.hw.ctl("sync", ZONE)
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(doc["ok"], doc)
        self.assertEqual(doc["serial"], self.serial())
        self.assertIn("ns1." + ZONE, path.read_text())

    def test_transfer_log_has_updates(self):
        m = update()
        m.add("logged", 60, "TXT", "x")
        self.ok(m)
        path = self.hw.dir / "run" / "transfers.jsonl"
        events = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
        mine = [e for e in events if e.get("event") == "update" and e.get("rcode") == "NOERROR"]
        self.assertTrue(mine, events[-3:])
        self.assertEqual(mine[-1]["key"], "admin-key.")
        self.assertEqual(mine[-1]["rule"], "updaters")


def updatable_headwater(tmp, zonefile_sync=None, **headwater_options):
    """A Headwater (not started) serving ZONE from a copy in `tmp`, updatable with ADMIN, with that
    zonefile_sync (None: the default, at once)."""
    src = tmp / "upd.example.zone"
    src.write_text(ZONE_TEXT)
    acls = [hwtest.AclConf("updaters", networks=["127.0.0.0/8"], keys=[ADMIN])]
    options = {"allow_update": ["updaters"]}
    if zonefile_sync is not None:
        options["zonefile_sync"] = zonefile_sync
    return hwtest.Headwater([hwtest.ZoneConf(ZONE, src, notify_options=options)], keys=[ADMIN], acls=acls,
                            **headwater_options)


class UpdateDelayedWriteBackTest(unittest.TestCase):
    """zonefile_sync 2s: an update is not in the file at once, and is there a few seconds later without
    anything else happening (the writer keeps the zone until its file is written)."""

    def test_written_when_due(self):
        tmp = hwtest.tempdir("update-delayed")
        try:
            with updatable_headwater(tmp, "2s") as hw:
                hw.start()
                path = hw.zone_path(ZONE)
                started = time.monotonic()
                self.assertEqual(add_by_update(hw.port, "later", 60, "A", "203.0.113.2"), 0)
                self.assertNotIn("later." + ZONE, path.read_text())  # not yet: zonefile_sync
                hwtest.wait_for(lambda: "later." + ZONE in path.read_text(), 10, interval=0.1,
                                what="the update in the zone file")
                # Due 2 s after the update's time, which the server takes in whole seconds.
                self.assertGreaterEqual(time.monotonic() - started, 0.9)
        finally:
            hwtest.cleanup_dir(tmp)


class UpdateMergeTest(unittest.TestCase):
    """zonefile_sync 1h: updates stay out of the file; a reload merges hand edits onto them, a conflicting
    edit is refused naming the RRset, `sync` and a clean stop write the file."""

    def test_merge_conflict_sync_and_stop(self):
        tmp = hwtest.tempdir("update-merge")
        try:
            hw = updatable_headwater(tmp, "1h")
            path = hw.zone_path(ZONE)
            try:
                hw.start()
                self.assertEqual(add_by_update(hw.port, "by-update", 60, "A", "203.0.113.1"), 0)
                self.assertNotIn("by-update", path.read_text())  # not yet: zonefile_sync
                # A hand edit of another RRset: merged, both served, the file written.
                with open(path, "a") as f:
                    f.write(f"by-hand.{ZONE} 60 IN TXT \"hand\"\n")
                rc, doc, out, err = hw.ctl("reload", ZONE)
                self.assertEqual(doc["zones"][0]["outcome"], "updated", out + err)
                for owner, rdtype in (("by-update", "A"), ("by-hand", "TXT")):
                    r = dns.query.tcp(dns.message.make_query(f"{owner}.{ZONE}", rdtype), hwtest.ADDR, port=hw.port,
                                      timeout=5)
                    self.assertEqual(len(r.answer), 1, owner)
                text = path.read_text()
                self.assertIn("by-update." + ZONE, text)
                self.assertIn("by-hand." + ZONE, text)
                # The same RRset changed both ways: refused, named, nothing changed.
                m = update()
                m.replace("www", 300, "A", "203.0.113.9")
                self.assertEqual(rcode_of(tcp_exchange(hw.port, m.to_wire())), 0)
                serial = hwtest.soa_serial(hw.port, ZONE)
                path.write_text(path.read_text().replace("192.0.2.10", "192.0.2.99"))
                rc, doc, out, err = hw.ctl("reload", ZONE)
                entry = doc["zones"][0]
                self.assertEqual(entry["outcome"], "error", out + err)
                self.assertIn("conflict", entry["error"])
                self.assertIn(f"www.{ZONE} A", entry["error"])
                self.assertEqual(hwtest.soa_serial(hw.port, ZONE), serial)
                # sync: the file is the served version again.
                rc, doc, out, err = hw.ctl("sync", ZONE)
                self.assertTrue(doc["ok"], out + err)
                self.assertIn("203.0.113.9", path.read_text())
                self.assertNotIn("192.0.2.99", path.read_text())
                # A pending update is written on a clean stop.
                self.assertEqual(add_by_update(hw.port, "at-stop", 60, "A", "203.0.113.2"), 0)
                self.assertNotIn("at-stop", path.read_text())
                hw.stop()
                self.assertIn("at-stop." + ZONE, path.read_text())
                # And when reconfigure stops serving the zone.
                hw.start()
                self.assertEqual(add_by_update(hw.port, "at-removal", 60, "A", "203.0.113.3"), 0)
                self.assertNotIn("at-removal", path.read_text())
                hw.zones = []
                hw.write_config()
                rc, doc, out, err = hw.ctl("reconfigure")
                self.assertEqual(doc.get("removed"), [ZONE], out + err)
                self.assertIn("at-removal." + ZONE, path.read_text())
            finally:
                hw.close()
        finally:
            hwtest.cleanup_dir(tmp)


class UpdateWriteBackRetryTest(unittest.TestCase):
    """Killed before its zonefile_sync, the server starts again on a file that lacks the update and has a
    hand edit: the two are merged and served, and the merged file, which cannot be written at first, is
    written once it can be (retried, as an update's write-back is)."""

    def test_merged_file_written_once_it_can_be(self):
        tmp = hwtest.tempdir("update-retry")
        try:
            with updatable_headwater(tmp, "2s") as hw:
                hw.start()
                path = hw.zone_path(ZONE)
                self.assertEqual(add_by_update(hw.port, "by-update", 60, "A", "203.0.113.1"), 0)
                hw.proc.signal(signal.SIGKILL)
                hw.proc.proc.wait(10)
                self.assertNotIn("by-update", path.read_text())  # killed before its zonefile_sync
                with open(path, "a") as f:
                    f.write(f"by-hand.{ZONE} 60 IN TXT \"hand\"\n")
                blocker = Path(str(path) + ".headwater-tmp")  # the atomic write's temporary file
                blocker.mkdir()
                hw.start()
                for owner, rdtype in (("by-update", "A"), ("by-hand", "TXT")):
                    r = dns.query.tcp(dns.message.make_query(f"{owner}.{ZONE}", rdtype), hwtest.ADDR, port=hw.port,
                                      timeout=5)
                    self.assertEqual(len(r.answer), 1, owner)
                self.assertNotIn("by-update", path.read_text())  # the merged file could not be written
                blocker.rmdir()
                hwtest.wait_for(lambda: "by-update." + ZONE in path.read_text(), 15, interval=0.2,
                                what=f"the merged file written:\n{hw.log()[-2000:]}")
                self.assertIn("by-hand." + ZONE, path.read_text())
        finally:
            hwtest.cleanup_dir(tmp)


class UpdateSignedTest(unittest.TestCase):
    """A zone Headwater signs: an update is served signed (an RRSIG over the new RRset, the NSEC chain
    through the new name), and DNSSEC records are the signer's (REFUSED)."""

    def test_update_is_signed(self):
        tmp = hwtest.tempdir("update-signed")
        try:
            src = tmp / "upd.example.zone"
            src.write_text(ZONE_TEXT)
            acls = [hwtest.AclConf("updaters", networks=["127.0.0.0/8"], keys=[ADMIN])]
            zone = hwtest.ZoneConf(ZONE, src, notify_options={"allow_update": ["updaters"], "dnssec_policy": "p"})
            hw = hwtest.Headwater([zone], keys=[ADMIN], acls=acls, extra_toml='[[dnssec_policy]]\nname = "p"\n')
            try:
                hw.start()
                before = hwtest.soa_serial(hw.port, ZONE)
                m = update()
                m.add("signed-new", 60, "A", "203.0.113.7")
                self.assertEqual(rcode_of(tcp_exchange(hw.port, m.to_wire())), 0, hw.log()[-2000:])
                self.assertGreater(hwtest.soa_serial(hw.port, ZONE), before)
                q = dns.message.make_query(f"signed-new.{ZONE}", "A", want_dnssec=True)
                r = dns.query.tcp(q, hwtest.ADDR, port=hw.port, timeout=5)
                types = {dns.rdatatype.to_text(rrset.rdtype) for rrset in r.answer}
                self.assertEqual(types, {"A", "RRSIG"}, r.to_text())
                q = dns.message.make_query(f"signed-new.{ZONE}", "TXT", want_dnssec=True)  # NODATA: NSEC at the name
                r = dns.query.tcp(q, hwtest.ADDR, port=hw.port, timeout=5)
                self.assertTrue(any(rrset.rdtype == dns.rdatatype.NSEC and rrset.name.to_text() == f"signed-new.{ZONE}"
                                    for rrset in r.authority), r.to_text())
                m = update()
                m.add("x", 60, "NSEC", f"signed-new.{ZONE} A")
                self.assertEqual(dns.rcode.to_text(rcode_of(tcp_exchange(hw.port, m.to_wire()))), "REFUSED")
                # CDS is the signer's too (RFC 7344): in the file it would make the next reload fail.
                m = update()
                m.add("@", 60, "CDS", "12345 13 2 " + "ab" * 32)
                self.assertEqual(dns.rcode.to_text(rcode_of(tcp_exchange(hw.port, m.to_wire()))), "REFUSED")
                # The file written back is the unsigned source.
                text = hw.zone_path(ZONE).read_text()
                self.assertIn("signed-new." + ZONE, text)
                self.assertNotIn("RRSIG", text)
            finally:
                hw.close()
        finally:
            hwtest.cleanup_dir(tmp)


class UpdateCrashTest(unittest.TestCase):
    def test_kill_9_after_answer_loses_nothing(self):
        tmp = hwtest.tempdir("update-crash")
        try:
            hw = updatable_headwater(tmp)
            try:
                hw.start()
                for i in range(5):
                    m = update()
                    m.add(f"crash{i}", 60, "TXT", f"n{i}")
                    wire = tcp_exchange(hw.port, m.to_wire())
                    self.assertEqual(rcode_of(wire), 0)
                serial = hwtest.soa_serial(hw.port, ZONE)
                hw.proc.signal(signal.SIGKILL)
                hw.proc.proc.wait(10)
                # Even the zone file's write-back is not what brings them back: the journal is.
                hw.zone_path(ZONE).write_text(ZONE_TEXT)
                hw.start()
                self.assertEqual(hwtest.soa_serial(hw.port, ZONE), serial)
                for i in range(5):
                    q = dns.message.make_query(f"crash{i}.{ZONE}", "TXT")
                    r = dns.query.tcp(q, hwtest.ADDR, port=hw.port, timeout=5)
                    self.assertEqual(len(r.answer), 1, f"crash{i} lost:\n{hw.log()[-3000:]}")
            finally:
                hw.close()
        finally:
            hwtest.cleanup_dir(tmp)

    def test_many_clients_at_once_each_answered_once_durable(self):
        """Eight clients, each sending its updates one after the other over its own TCP connection: more
        clients than connection threads, so most answers wait for a journal sync run by another thread or
        by the sync thread. Every answer is NOERROR with a TSIG that verifies, and after kill -9 every
        update is served."""
        tmp = hwtest.tempdir("update-many")
        try:
            hw = updatable_headwater(tmp, log_level="warn")
            clients, each = 8, 40
            signed = [[] for _ in range(clients)]
            for c in range(clients):
                for n in range(each):
                    m = update()
                    m.add(f"many-{c}-{n}", 60, "TXT", f"client {c} update {n}")
                    signed[c].append((m, m.to_wire()))
            failures = []

            def client(c):
                try:
                    with contextlib.closing(hwtest.tcp_connect(hw.port, timeout=20)) as s:
                        for m, wire in signed[c]:
                            hwtest.tcp_send(s, wire)
                            answer = hwtest.tcp_recv(s)
                            a = dns.message.from_wire(answer, keyring=m.keyring, request_mac=m.mac)
                            if not a.had_tsig:  # from_wire verifies a TSIG that is there, and only then
                                failures.append(f"client {c}: an answer without TSIG")
                                return
                            if a.rcode() != dns.rcode.NOERROR:
                                failures.append(f"client {c}: {dns.rcode.to_text(a.rcode())}")
                                return
                except Exception as e:  # noqa: BLE001 - reported below with the server's log
                    failures.append(f"client {c}: {e!r}")

            try:
                hw.start()
                threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(120)
                    self.assertFalse(t.is_alive(), "a client still waits for an answer")
                self.assertEqual(failures, [], hw.log()[-3000:])
                self.assertNotIn("bug while answering", hw.log())
                serial = hwtest.soa_serial(hw.port, ZONE)
                hw.proc.signal(signal.SIGKILL)
                hw.proc.proc.wait(10)
                hw.start()
                self.assertEqual(hwtest.soa_serial(hw.port, ZONE), serial)
                missing = []
                for c in range(clients):
                    for n in range(each):
                        q = dns.message.make_query(f"many-{c}-{n}.{ZONE}", "TXT")
                        if not dns.query.udp(q, hwtest.ADDR, port=hw.port, timeout=5).answer:
                            missing.append(f"many-{c}-{n}")
                self.assertEqual(missing, [], hw.log()[-3000:])
            finally:
                hw.close()
        finally:
            hwtest.cleanup_dir(tmp)


if __name__ == "__main__":
    hwtest.main()
