#!/usr/bin/python3
"""TSIG (RFC 8945) against a running Headwater: signed transfers with every algorithm, every
message of a multi-message AXFR verified, the error answers (BADKEY, BADSIG, BADTIME), ACL rules
that need a key (and an address), the transfer log, and key configuration errors.

Answers are checked twice: by dnspython (dns.message.from_wire with the keyring and the running
tsig_ctx) and by hwtest.tsig_mac, an HMAC over the RFC 8945 section 4.3 digest written out here,
which also covers the signed BADTIME answer that dnspython refuses to verify.
"""

import contextlib
import re
import socket
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.tsig  # noqa: E402
import dns.zone  # noqa: E402

KEYED = "keyed.example."  # allow_transfer: a rule naming every algorithm's key, any address
BOTH = "both.example."  # allow_transfer: 127.0.0.1/32 AND xfr-key
BIG = "big.example."  # 5k records, keyed rule: a transfer of many messages
FILEKEY = "filekey.example."  # allow_transfer: file-key, whose secret comes from a BIND key file
PLAIN = "example.com."  # address-only rule (127.0.0.1/32), no key needed
KEYED_SERIAL = 2024090101
BOTH_SERIAL = 11
BIG_SERIAL = 12
BIG_RECORDS = 5000
FILEKEY_SERIAL = 13

BADSIG, BADKEY, BADTIME = 16, 17, 18
# What kdig prints when a reply's TSIG does not verify or the server answers with an error.
KDIG_TROUBLE = r"(?m)^;; (ERROR|WARNING)|failed|REFUSED|NOTAUTH|BAD(SIG|KEY|TIME)"
NOTAUTH = dns.rcode.NOTAUTH

# Key per algorithm; hmac-sha256 is the key the both.example rule names.
KEY_NAMES = {alg: ("xfr-key" if alg == "hmac-sha256" else f"key-{alg}") for alg in hwtest.TSIG_ALGORITHMS}


def tcp_exchange(port, wire, source=None, timeout=10.0):
    """Sends one message over a fresh TCP connection and returns the first answer's wire form."""
    with contextlib.closing(hwtest.tcp_connect(port, source=source, timeout=timeout)) as s:
        hwtest.tcp_send(s, wire)
        return hwtest.tcp_recv(s)


def udp_exchange(port, wire, source=None, timeout=5.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.bind((source or hwtest.ADDR, 0))
        s.sendto(wire, (hwtest.ADDR, port))
        while True:
            data, _ = s.recvfrom(65535)
            if data[:2] == wire[:2]:
                return data


def rcode_of(wire):
    return struct.unpack("!H", wire[2:4])[0] & 0xF


class TsigTest(unittest.TestCase):
    hw = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = hwtest.tempdir("tsig-data")
        try:
            cls.keys = {}
            for alg, name in KEY_NAMES.items():
                # headwaterctl keygen makes the secrets (a random one for the knot stand-in).
                cls.keys[alg] = (hwtest.TsigKey(name, alg) if hwtest.standin() else hwtest.TsigKey.keygen(name, alg))
            cls.key = cls.keys["hmac-sha256"]
            # A key whose secret Headwater reads from a BIND key file (keygen's second block).
            fk = hwtest.TsigKey("file-key", "hmac-sha512") if hwtest.standin() else \
                hwtest.TsigKey.keygen("file-key", "hmac-sha512")
            key_file = cls.tmp / "file-key.key"
            if hwtest.standin():
                key_file.write_text(fk.bind_text())
            else:
                bind_block = fk.keygen_output[fk.keygen_output.index('key "file-key"'):]
                key_file.write_text("# written by test_tsig.py from headwaterctl keygen\n" + bind_block)
            cls.file_key = hwtest.TsigKey("file-key", "hmac-sha512", fk.secret, file=key_file)

            cls.paths = {
                KEYED: hwtest.generate_zone(cls.tmp / "keyed.zone", KEYED, 300, KEYED_SERIAL, all_types=True),
                BOTH: hwtest.generate_zone(cls.tmp / "both.zone", BOTH, 60, BOTH_SERIAL),
                BIG: hwtest.generate_zone(cls.tmp / "big.zone", BIG, BIG_RECORDS, BIG_SERIAL),
                FILEKEY: hwtest.generate_zone(cls.tmp / "filekey.zone", FILEKEY, 40, FILEKEY_SERIAL),
                PLAIN: hwtest.EXAMPLE_ZONE,
            }
            all_keys = list(cls.keys.values())
            acls = [
                hwtest.AclConf("keyed", keys=all_keys),
                hwtest.AclConf("net-and-key", networks=["127.0.0.1/32"], keys=[cls.key]),
                hwtest.AclConf("filekey", keys=[cls.file_key]),
            ]
            zones = [
                hwtest.ZoneConf(KEYED, cls.paths[KEYED], ["keyed"]),
                hwtest.ZoneConf(BOTH, cls.paths[BOTH], ["net-and-key"]),
                hwtest.ZoneConf(BIG, cls.paths[BIG], ["keyed"]),
                hwtest.ZoneConf(FILEKEY, cls.paths[FILEKEY], ["filekey"]),
                hwtest.ZoneConf(PLAIN, cls.paths[PLAIN], ["providers"]),
            ]
            cls.hw = hwtest.Headwater(zones, acl_networks=["127.0.0.1/32"], keys=all_keys + [cls.file_key],
                                      acls=acls)
            cls.hw.start()
            for z, serial in ((KEYED, KEYED_SERIAL), (BOTH, BOTH_SERIAL), (BIG, BIG_SERIAL),
                              (FILEKEY, FILEKEY_SERIAL), (PLAIN, hwtest.EXAMPLE_SERIAL)):
                hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, z) == serial, 30, what=f"{z} serial {serial}")
            cls.expected = {z: hwtest.canon_set(hwtest.zone_file_rrs(p, z)) for z, p in cls.paths.items()}
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.hw:
            cls.hw.close()
            cls.hw = None
        if cls.tmp:
            hwtest.cleanup_dir(cls.tmp)

    # ---- helpers ----
    @property
    def port(self):
        return self.hw.port

    def signed_query(self, zone, rdtype, key, offset=0, fudge=300, keyname=None, secret=None, algorithm=None):
        """(wire, MAC) of a query signed at now+offset; keyname/secret/algorithm play a wrong client."""
        q = hwtest.make_query(zone, rdtype)
        dkey = dns.tsig.Key(keyname or key.name, secret or key.secret, algorithm or key.wire_algorithm)
        return hwtest.sign_wire(q.to_wire(), dkey, int(time.time()) + offset, fudge=fudge)

    def check_content(self, zone, messages):
        rrs = [(rrset.name, rrset.ttl, rd) for _, m in messages for rrset in m.answer for rd in rrset]
        self.assertEqual(rrs[0][2].rdtype, dns.rdatatype.SOA)
        self.assertEqual(rrs[-1][2].rdtype, dns.rdatatype.SOA)
        rrs = rrs[:-1]
        got = hwtest.canon_set(rrs)
        self.assertEqual(len(rrs), len(got), "duplicate records")
        self.assertEqual(got, self.expected[zone], hwtest.describe_diff(self.expected[zone], got))

    def check_chain(self, key, query, messages):
        """Every message's MAC recomputed independently: the first over the request MAC and the
        full TSIG variables (RFC 8945 section 4.3.1/4.3.3), each next over the previous MAC and the
        timers (section 5.3.1). Also: the key and algorithm names, the original ID, the time."""
        prior = query.mac
        now = time.time()
        for i, (wire, _) in enumerate(messages):
            with self.subTest(message=i):
                stripped, owner, rd = hwtest.split_tsig(wire)
                self.assertIsNotNone(rd, f"message {i} has no TSIG")
                self.assertEqual(owner, key.dns_name)
                self.assertEqual(rd.algorithm, key.wire_algorithm)
                self.assertEqual(rd.error, 0)
                self.assertEqual(rd.original_id, query.id)
                self.assertLess(abs(rd.time_signed - now), 30, "time signed far from now")
                self.assertEqual(len(rd.mac), hwtest.TSIG_HASH_SIZES[key.algorithm], "MAC truncated")
                self.assertEqual(rd.mac, hwtest.tsig_mac(key, stripped, owner, rd, prior, timers_only=i > 0),
                                 f"message {i}: MAC differs from the RFC 8945 computation")
                prior = rd.mac

    def refusals(self, zone, **match):
        """The refusal log lines for zone matching **match, waiting (bounded) for the first one:
        Headwater may write the line just after the answer went out."""
        try:
            return hwtest.wait_for(lambda: hwtest.transfer_log(self.hw.log(), zone, outcome="refused", **match), 5,
                                   interval=0.05, what="refusal log line")
        except AssertionError:
            return []

    def wait_log(self, zone, **match):
        """The log line of a transfer (Headwater writes it when the transfer ends)."""
        if self.hw.kind != "headwater":
            return None
        return hwtest.wait_for(lambda: hwtest.transfer_log(self.hw.log(), zone, **match), 5,
                               interval=0.05, what=f"a log line for {zone} with {match}\n{self.hw.log()[-3000:]}")

    # ---- signed transfers ----
    def test_axfr_with_each_algorithm(self):
        for alg in hwtest.TSIG_ALGORITHMS:
            key = self.keys[alg]
            with self.subTest(algorithm=alg):
                q, msgs = hwtest.signed_axfr(self.port, KEYED, key)
                self.assertEqual(msgs[0][1].rcode(), dns.rcode.NOERROR)
                self.check_content(KEYED, msgs)
                self.check_chain(key, q, msgs)
                line = self.wait_log(KEYED, key=re.escape(key.name) + r"\.?", outcome="ok")
                if line:
                    self.assertEqual(line[-1]["rule"], "keyed", line[-1]["_line"])

    def test_dnspython_xfr_with_each_algorithm(self):
        # dns.query.xfr: dnspython's own transfer client with a keyring.
        for alg in hwtest.TSIG_ALGORITHMS:
            key = self.keys[alg]
            with self.subTest(algorithm=alg):
                z = dns.zone.from_xfr(dns.query.xfr(hwtest.ADDR, KEYED, port=self.port, keyring=key.keyring(),
                                                    keyname=key.dns_name, keyalgorithm=key.wire_algorithm,
                                                    relativize=False, lifetime=30), relativize=False)
                got = hwtest.canon_set(list(z.iterate_rdatas()))
                self.assertEqual(got, self.expected[KEYED], hwtest.describe_diff(self.expected[KEYED], got))

    def test_big_zone_every_message_signed(self):
        for alg in ("hmac-sha256", "hmac-sha512", "hmac-md5"):
            key = self.keys[alg]
            with self.subTest(algorithm=alg):
                q, msgs = hwtest.signed_axfr(self.port, BIG, key)
                self.assertGreater(len(msgs), 3, "expected a transfer of several messages")
                self.check_content(BIG, msgs)
                self.check_chain(key, q, msgs)
                line = self.wait_log(BIG, key=re.escape(key.name) + r"\.?", outcome="ok")
                if line:
                    self.assertEqual(int(line[-1]["messages"]), len(msgs), line[-1]["_line"])
                    self.assertEqual(int(line[-1]["records"]), BIG_RECORDS + 1, line[-1]["_line"])

    def test_verification_really_checks_each_message(self):
        """The checks above would pass a server whose MACs were garbage only if the verifier did
        not verify: a changed byte in a later message must make both of them fail."""
        q, msgs = hwtest.signed_axfr(self.port, BIG, self.key)
        wires = [w for w, _ in msgs]
        # Change the TTL of the first answer RR of message 2.
        w = bytearray(wires[2])
        qd = struct.unpack("!H", w[4:6])[0]
        pos = 12
        for _ in range(qd):
            pos = hwtest._skip_name(w, pos) + 4
        pos = hwtest._skip_name(w, pos) + 4
        w[pos + 3] ^= 0x01
        tampered = wires[:2] + [bytes(w)] + wires[3:]
        ctx = None
        keyring = self.key.keyring()
        with self.assertRaises(dns.tsig.BadSignature):
            for i, wire in enumerate(tampered):
                m = dns.message.from_wire(wire, keyring=keyring, request_mac=q.mac, xfr=True, tsig_ctx=ctx,
                                          multi=True)
                self.assertTrue(m.had_tsig)
                ctx = m.tsig_ctx
        self.assertEqual(i, 2, "dnspython failed on the wrong message")
        stripped, owner, rd = hwtest.split_tsig(bytes(w))
        prior = hwtest.split_tsig(wires[1])[2].mac
        self.assertNotEqual(rd.mac, hwtest.tsig_mac(self.key, stripped, owner, rd, prior, timers_only=True))

    def test_kdig(self):
        kdig = hwtest.require_tool("kdig")
        for alg, zone, records in (("hmac-sha256", BIG, BIG_RECORDS), ("hmac-md5", KEYED, None),
                                   ("hmac-sha512", BIG, BIG_RECORDS), ("hmac-sha1", KEYED, None)):
            key = self.keys[alg]
            with self.subTest(algorithm=alg, zone=zone):
                p = subprocess.run([kdig, f"@{hwtest.ADDR}", "-p", str(self.port), "+tcp", "+timeout=10",
                                    "+retry=0", "-y", key.kdig_arg(), zone, "AXFR"],
                                   capture_output=True, text=True, timeout=60)
                out = p.stdout + p.stderr
                self.assertEqual(p.returncode, 0, out[-3000:])
                self.assertIsNone(re.search(KDIG_TROUBLE, out), out[-3000:])
                m = re.search(r"Received \d+ B \((\d+) messages?, (\d+) records?\)", p.stdout)
                self.assertIsNotNone(m, p.stdout[-2000:])
                want = (records if records is not None else len(self.expected[zone])) + 1
                self.assertEqual(int(m.group(2)), want)
                # kdig prints the TSIG of the message(s) it shows; each must say NOERROR.
                tsig_lines = [ln for ln in p.stdout.splitlines() if "\tTSIG\t" in ln]
                self.assertTrue(tsig_lines, "kdig shows no TSIG record")
                for ln in tsig_lines:
                    self.assertIn(key.name + ".", ln)
                    self.assertIn("NOERROR", ln, ln)

    def test_kdig_soa_over_udp(self):
        kdig = hwtest.require_tool("kdig")
        p = subprocess.run([kdig, f"@{hwtest.ADDR}", "-p", str(self.port), "+notcp", "+timeout=5", "+retry=0",
                            "-y", self.keys["hmac-sha384"].kdig_arg(), KEYED, "SOA"],
                           capture_output=True, text=True, timeout=30)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out)
        self.assertIsNone(re.search(KDIG_TROUBLE, out), out)
        self.assertRegex(p.stdout, r"status: NOERROR")
        self.assertRegex(p.stdout, r"key-hmac-sha384\.\s+0\s+ANY\s+TSIG\s+hmac-sha384\..*NOERROR")

    # ---- error answers ----
    def check_unsigned_error(self, wire, qwire, error):
        """RFC 8945 section 5.2.1/5.2.2: NOTAUTH, a TSIG with the error and no MAC."""
        self.assertEqual(rcode_of(wire), NOTAUTH, dns.rcode.to_text(rcode_of(wire)))
        stripped, owner, rd = hwtest.split_tsig(wire)
        self.assertIsNotNone(rd, "error answer without a TSIG record")
        self.assertEqual(rd.error, error, f"TSIG error {dns.rcode.to_text(rd.error)}")
        self.assertEqual(rd.mac, b"", "BADKEY/BADSIG answers must be unsigned")
        self.assertEqual(owner, hwtest.split_tsig(qwire)[1], "TSIG owner is not the request's key name")
        self.assertEqual(wire[:2], qwire[:2], "ID")
        self.assertEqual(len(dns.message.from_wire(stripped).answer), 0)
        return rd

    def test_wrong_key_name_is_badkey(self):
        for transport in ("tcp", "udp"):
            with self.subTest(transport=transport):
                rdtype = "AXFR" if transport == "tcp" else "SOA"
                qwire, _ = self.signed_query(KEYED, rdtype, self.key, keyname="no-such-key")
                exchange = tcp_exchange if transport == "tcp" else udp_exchange
                self.check_unsigned_error(exchange(self.port, qwire), qwire, BADKEY)
        if self.hw.kind == "headwater":
            r = self.refusals(KEYED, reason=".*BADKEY.*")
            self.assertTrue(r, self.hw.log()[-3000:])

    def test_wrong_algorithm_is_badkey(self):
        # RFC 8945 section 5.2.1: a key the server knows, with another algorithm, is BADKEY too.
        qwire, _ = self.signed_query(KEYED, "AXFR", self.key, algorithm=dns.tsig.HMAC_SHA512)
        self.check_unsigned_error(tcp_exchange(self.port, qwire), qwire, BADKEY)

    def test_wrong_secret_is_badsig(self):
        other = hwtest.TsigKey(self.key.name, self.key.algorithm)  # random secret
        for transport in ("tcp", "udp"):
            with self.subTest(transport=transport):
                rdtype = "AXFR" if transport == "tcp" else "SOA"
                qwire, _ = self.signed_query(KEYED, rdtype, self.key, secret=other.secret)
                exchange = tcp_exchange if transport == "tcp" else udp_exchange
                self.check_unsigned_error(exchange(self.port, qwire), qwire, BADSIG)
        if self.hw.kind == "headwater":
            r = self.refusals(KEYED, reason=".*BADSIG.*")
            self.assertTrue(r, self.hw.log()[-3000:])

    def test_request_ten_minutes_old_is_badtime_signed(self):
        for transport, offset in (("tcp", -600), ("udp", -600), ("tcp", +600)):
            with self.subTest(transport=transport, offset=offset):
                rdtype = "AXFR" if transport == "tcp" else "SOA"
                qwire, qmac = self.signed_query(KEYED, rdtype, self.key, offset=offset)
                exchange = tcp_exchange if transport == "tcp" else udp_exchange
                wire = exchange(self.port, qwire)
                now = time.time()
                self.assertEqual(rcode_of(wire), NOTAUTH, dns.rcode.to_text(rcode_of(wire)))
                stripped, owner, rd = hwtest.split_tsig(wire)
                self.assertIsNotNone(rd, "BADTIME answer without a TSIG record")
                self.assertEqual(rd.error, BADTIME, f"TSIG error {dns.rcode.to_text(rd.error)}")
                # Section 5.2.3: signed, with the server's current time in Other Data.
                self.assertEqual(len(rd.mac), hwtest.TSIG_HASH_SIZES[self.key.algorithm], "BADTIME answer unsigned")
                server_time = hwtest.tsig_other_time(rd)
                self.assertIsNotNone(server_time, f"Other Data is {rd.other.hex()!r}, not a 48-bit time")
                self.assertLess(abs(server_time - now), 15, f"server time {server_time} vs now {now:.0f}")
                self.assertEqual(owner, self.key.dns_name)
                self.assertEqual(rd.mac, hwtest.tsig_mac(self.key, stripped, owner, rd, qmac),
                                 "BADTIME answer's MAC does not verify (over the request MAC)")
        if self.hw.kind == "headwater":
            r = self.refusals(KEYED, reason=".*BADTIME.*")
            self.assertTrue(r, self.hw.log()[-3000:])

    def test_tsig_not_last_is_formerr(self):
        # RFC 8945 section 5.1: TSIG must be the last additional record.
        q = hwtest.make_query(KEYED, "SOA")
        signed, _ = hwtest.sign_wire(q.to_wire(), self.key.dns_key(), int(time.time()))
        opt = b"\x00" + struct.pack("!HHIH", dns.rdatatype.OPT, 1232, 0, 0)
        ar = struct.unpack("!H", signed[10:12])[0]
        wire = signed[:10] + struct.pack("!H", ar + 1) + signed[12:] + opt
        self.assertEqual(rcode_of(udp_exchange(self.port, wire)), dns.rcode.FORMERR)

    # ---- ACL rules with keys ----
    def check_refused(self, wire, signed_with=None, qmac=None):
        if self.hw.kind == "knot":
            # knotd answers NOTAUTH (TSIG BADKEY) when a rule that names keys does not match;
            # Headwater answers REFUSED as the brief asks. The stand-in only checks the tests.
            self.assertIn(rcode_of(wire), (dns.rcode.REFUSED, NOTAUTH))
            return None
        self.assertEqual(rcode_of(wire), dns.rcode.REFUSED, dns.rcode.to_text(rcode_of(wire)))
        if signed_with is None:
            self.assertIsNone(hwtest.split_tsig(wire)[2], "answer to an unsigned request carries a TSIG")
            return dns.message.from_wire(wire)
        # RFC 8945 section 5.3: the answer to a verified request is signed, refusals included.
        m = dns.message.from_wire(wire, keyring=signed_with.keyring(), request_mac=qmac)
        self.assertTrue(m.had_tsig, "refusal of a signed request is not signed")
        stripped, owner, rd = hwtest.split_tsig(wire)
        self.assertEqual(rd.mac, hwtest.tsig_mac(signed_with, stripped, owner, rd, qmac))
        return m

    def test_unsigned_request_to_keyed_zone_is_refused(self):
        for zone in (KEYED, BOTH, FILEKEY):
            with self.subTest(zone=zone):
                msgs = hwtest.axfr(self.port, zone)
                self.assertEqual(len(msgs), 1)
                self.check_refused(msgs[0].wire)
        if self.hw.kind == "headwater":
            r = self.refusals(BOTH, key="-", rcode="REFUSED")
            self.assertTrue(r, self.hw.log()[-3000:])
            # Which factor failed: the address matched, the key was missing.
            self.assertRegex(r[-1]["reason"], r"(?i)key", r[-1]["_line"])

    def test_right_key_from_outside_network_is_refused(self):
        qwire, qmac = self.signed_query(BOTH, "AXFR", self.key)
        wire = tcp_exchange(self.port, qwire, source=hwtest.OTHER_ADDR)
        self.check_refused(wire, self.key, qmac)
        if self.hw.kind == "headwater":
            r = self.refusals(BOTH, key=r"xfr-key\.?", rcode="REFUSED")
            self.assertTrue(r, self.hw.log()[-3000:])
            self.assertRegex(r[-1]["reason"], r"(?i)address|network", r[-1]["_line"])
            self.assertIn(hwtest.OTHER_ADDR, r[-1]["reason"] + r[-1].get("peer", ""))
        # The same request from the rule's network is served (both factors match).
        q, msgs = hwtest.signed_axfr(self.port, BOTH, self.key, source=hwtest.ADDR)
        self.check_content(BOTH, msgs)
        self.check_chain(self.key, q, msgs)

    def test_other_key_from_right_network_is_refused(self):
        key = self.keys["hmac-sha512"]  # a valid key, but not the one the rule names
        qwire, qmac = self.signed_query(BOTH, "AXFR", key)
        self.check_refused(tcp_exchange(self.port, qwire), key, qmac)
        if self.hw.kind == "headwater":
            r = self.refusals(BOTH, key=r"key-hmac-sha512\.?", rcode="REFUSED")
            self.assertTrue(r, self.hw.log()[-3000:])
            self.assertRegex(r[-1]["reason"], r"(?i)key", r[-1]["_line"])

    def test_key_only_rule_allows_any_address(self):
        q, msgs = hwtest.signed_axfr(self.port, KEYED, self.keys["hmac-sha224"], source=hwtest.OTHER_ADDR)
        self.check_content(KEYED, msgs)
        self.check_chain(self.keys["hmac-sha224"], q, msgs)

    def test_key_name_is_case_insensitive(self):
        for zone in (KEYED, BOTH):
            with self.subTest(zone=zone):
                q, msgs = hwtest.signed_axfr(self.port, zone, self.key, keyname="XFR-Key.")
                self.assertEqual(msgs[0][1].rcode(), dns.rcode.NOERROR)
                self.check_content(zone, msgs)
                # The MAC covers the key name in canonical (lower-case) form, whatever case is sent.
                self.check_chain(self.key, q, msgs)

    def test_file_key_transfer(self):
        q, msgs = hwtest.signed_axfr(self.port, FILEKEY, self.file_key)
        self.check_content(FILEKEY, msgs)
        self.check_chain(self.file_key, q, msgs)
        line = self.wait_log(FILEKEY, key=r"file-key\.?", outcome="ok")
        if line:
            self.assertEqual(line[-1]["rule"], "filekey")
        # A key of another zone's rule does not open this one.
        qwire, qmac = self.signed_query(FILEKEY, "AXFR", self.key)
        self.check_refused(tcp_exchange(self.port, qwire), self.key, qmac)

    def test_address_only_zone_unsigned_and_signed(self):
        msgs = hwtest.axfr(self.port, PLAIN)
        self.assertEqual(msgs[0].rcode, dns.rcode.NOERROR)
        if self.hw.kind == "knot":
            self.skipTest("knotd refuses a key its address-only rule does not name (BADKEY)")
        q, msgs = hwtest.signed_axfr(self.port, PLAIN, self.key)
        self.check_content(PLAIN, msgs)
        self.check_chain(self.key, q, msgs)
        self.wait_log(PLAIN, key=r"xfr-key\.?", rule="providers", outcome="ok")

    # ---- queries ----
    def test_signed_soa_query_gets_signed_answer(self):
        for alg in ("hmac-sha256", "hmac-md5", "hmac-sha512"):
            key = self.keys[alg]
            for tcp in (False, True):
                with self.subTest(algorithm=alg, tcp=tcp):
                    q = hwtest.make_query(KEYED, "SOA")
                    q.use_tsig(key.keyring(), keyname=key.dns_name)
                    # dnspython raises if the answer's TSIG is missing or wrong.
                    r = (dns.query.tcp if tcp else dns.query.udp)(q, hwtest.ADDR, port=self.port, timeout=5)
                    self.assertTrue(r.had_tsig, "answer to a signed SOA query is unsigned")
                    self.assertEqual(r.rcode(), dns.rcode.NOERROR)
                    self.assertEqual(r.answer[0][0].serial, KEYED_SERIAL)
                    # And independently, from the raw bytes.
                    qwire, qmac = self.signed_query(KEYED, "SOA", key)
                    raw = (tcp_exchange if tcp else udp_exchange)(self.port, qwire)
                    stripped, owner, rd = hwtest.split_tsig(raw)
                    self.assertIsNotNone(rd)
                    self.assertEqual(rd.error, 0)
                    self.assertEqual(rd.mac, hwtest.tsig_mac(key, stripped, owner, rd, qmac))

    def test_unsigned_soa_query_gets_unsigned_answer(self):
        r = hwtest.query(self.port, KEYED, "SOA")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertFalse(r.had_tsig)

    def test_server_still_up(self):
        self.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())


class KeyConfigTest(unittest.TestCase):
    """[[key]] errors are config errors: --check-config exits 1 and names the key path."""

    def setUp(self):
        hwtest.require_headwater("--check-config is Headwater's")
        self.tmp = hwtest.tempdir("tsig-conf")
        (self.tmp / "zones").mkdir()
        (self.tmp / "run").mkdir()
        (self.tmp / "state").mkdir()
        (self.tmp / "zones" / "example.com.zone").write_text(hwtest.EXAMPLE_ZONE.read_text())
        self.port = hwtest.free_port()
        self.secret = hwtest.TsigKey("x").secret

    def tearDown(self):
        hwtest.cleanup_dir(self.tmp)

    def write(self, keys_text, acl_keys='["xfr-key"]'):
        text = f"""[server]
listen = ["127.0.0.1:{self.port}"]
control_socket = "run/headwater.sock"
state_dir = "state"

{keys_text}
[[acl]]
name = "keyed"
networks = ["127.0.0.1/32"]
keys = {acl_keys}

[[zone]]
name = "example.com"
file = "zones/example.com.zone"
allow_transfer = ["keyed"]
"""
        path = self.tmp / "headwater.toml"
        path.write_text(text)
        return path

    def check(self, path):
        return subprocess.run([hwtest.headwater_bin(), "--check-config", str(path)], capture_output=True, text=True,
                              timeout=30)

    def key_block(self, name="xfr-key", algorithm="hmac-sha256", secret=None):
        return f'[[key]]\nname = "{name}"\nalgorithm = "{algorithm}"\nsecret = "{secret or self.secret}"\n'

    def assertConfigError(self, path, key_path, *needles):
        p = self.check(path)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(key_path, p.stderr)
        self.assertRegex(p.stderr, r"headwater\.toml:\d+", "error lacks file:line")
        for n in needles:
            self.assertRegex(p.stderr, n)
        return p.stderr

    def test_good_inline_key(self):
        p = self.check(self.write(self.key_block()))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_bad_base64(self):
        self.assertConfigError(self.write(self.key_block(secret="not*base64!")), "key[0].secret", r"(?i)base64")

    def test_unknown_algorithm(self):
        self.assertConfigError(self.write(self.key_block(algorithm="hmac-sha3-256")), "key[0].algorithm",
                               r"hmac-sha3-256")

    def test_duplicate_key(self):
        # Names compare case-insensitively, so "XFR-Key" duplicates "xfr-key".
        text = self.key_block() + "\n" + self.key_block(name="XFR-Key")
        self.assertConfigError(self.write(text), "key[1].name", r"(?i)duplicate")

    def test_acl_names_unknown_key(self):
        self.assertConfigError(self.write(self.key_block(), acl_keys='["xfr-key", "nobody-key"]'), "acl[0].keys[1]",
                               r"nobody-key")

    def test_missing_key_file(self):
        self.assertConfigError(self.write('[[key]]\nname = "xfr-key"\nfile = "keys/nope.key"\n'), "key[0].file",
                               r"nope\.key")

    def test_key_file_from_keygen(self):
        key = hwtest.TsigKey.keygen("xfr-key", "hmac-sha384")
        (self.tmp / "keys").mkdir()
        bind_block = key.keygen_output[key.keygen_output.index('key "xfr-key"'):]
        (self.tmp / "keys" / "xfr-key.key").write_text(bind_block)
        p = self.check(self.write('[[key]]\nname = "xfr-key"\nfile = "keys/xfr-key.key"\n'))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_keygen_every_algorithm(self):
        for alg in hwtest.TSIG_ALGORITHMS:
            with self.subTest(algorithm=alg):
                key = hwtest.TsigKey.keygen("k", alg)
                secret = dns.tsig.Key("k", key.secret).secret
                self.assertGreaterEqual(len(secret), 16, "secret shorter than 128 bits")
        p = subprocess.run([hwtest.headwaterctl_bin(), "keygen", "k", "--algorithm", "hmac-sha3"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0, p.stdout)


if __name__ == "__main__":
    hwtest.main()
