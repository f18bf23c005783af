#!/usr/bin/python3
"""Cross-checks tsig/ against an independent implementation: dnspython (dns.tsig), plus Python's own hmac
for the answers dnspython refuses to verify (it raises on a TSIG error before looking at the MAC).

For every algorithm, with a fixed clock (time.time is patched; the C++ side takes the time as an
argument):
  * dnspython signs an AXFR query; tsig/ verifies it and signs a multi-message answer; dnspython verifies
    every message of it as a transfer (multi=True, tsig_ctx chained);
  * tsig/ signs a query; dnspython verifies it and answers with several messages, some unsigned;
    tsig/'s ClientSequence verifies them;
  * BADKEY, BADSIG, BADTIME (signed, server time in Other Data) and truncated MACs, each checked on both
    sides.

Run: /usr/bin/python3 tsig_crosscheck_test.py PATH/TO/tsig_vector_tool
"""

import base64
import hashlib
import hmac
import os
import struct
import subprocess
import sys
import unittest
from unittest import mock

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig

TOOL = os.environ.get("TSIG_VECTOR_TOOL", "")
NOW = 1_700_000_000
KEYNAME = "xfr-key."

# algorithm text -> (dnspython name, hashlib constructor, digest size)
ALGORITHMS = {
    "hmac-md5": (dns.tsig.HMAC_MD5, hashlib.md5, 16),
    "hmac-sha1": (dns.tsig.HMAC_SHA1, hashlib.sha1, 20),
    "hmac-sha224": (dns.tsig.HMAC_SHA224, hashlib.sha224, 28),
    "hmac-sha256": (dns.tsig.HMAC_SHA256, hashlib.sha256, 32),
    "hmac-sha384": (dns.tsig.HMAC_SHA384, hashlib.sha384, 48),
    "hmac-sha512": (dns.tsig.HMAC_SHA512, hashlib.sha512, 64),
}


def secret_for(alg, salt=0):
    return bytes((i * 13 + 5 + salt) & 0xFF for i in range(ALGORITHMS[alg][2]))


def b64(data):
    return base64.b64encode(data).decode()


def at(t):
    """Fixes dnspython's clock (it reads time.time() when signing and verifying)."""
    return mock.patch("time.time", return_value=float(t))


def run_tool(command, alg, keyname, secret, now, *extra, lines=()):
    proc = subprocess.run(
        [TOOL, command, alg, keyname, b64(secret), str(now), *map(str, extra)],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        check=True,
    )
    return [tuple(line.split(" ", 1)) if " " in line else (line, "") for line in proc.stdout.splitlines()]


def dnspython_key(alg, keyname=KEYNAME, salt=0):
    return dns.tsig.Key(keyname, secret_for(alg, salt), ALGORITHMS[alg][0])


def signed_query(key, when, qid=0x1234):
    q = dns.message.make_query("example.com.", "AXFR")
    q.id = qid
    q.use_tsig(key)
    with at(when):
        wire = q.to_wire()
    return q, wire


def find_tsig(wire, keyname):
    """(offset of the TSIG RR, its rdata) found by its uncompressed owner name, type TSIG, class ANY."""
    owner = dns.name.from_text(keyname).to_wire()
    pattern = owner + struct.pack("!HHI", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0)
    start = wire.rfind(pattern)
    assert start > 0, "no TSIG record"
    rdlen_at = start + len(pattern)
    (rdlen,) = struct.unpack("!H", wire[rdlen_at : rdlen_at + 2])
    assert rdlen_at + 2 + rdlen == len(wire), "TSIG is not the last record"
    rd = dns.rdata.from_wire(dns.rdataclass.ANY, dns.rdatatype.TSIG, wire, rdlen_at + 2, rdlen)
    return start, rd


def expected_mac(alg, secret, prior_mac, wire, tsig_start, keyname, rd, variables=True):
    """RFC 8945 section 4.3, written out with Python's hmac: prior MAC, message as before signing, then the
    TSIG variables (or only the timers)."""
    h = hmac.new(secret, digestmod=ALGORITHMS[alg][1])
    if prior_mac is not None:
        h.update(struct.pack("!H", len(prior_mac)) + prior_mac)
    (arcount,) = struct.unpack("!H", wire[10:12])
    h.update(struct.pack("!H", rd.original_id) + wire[2:10] + struct.pack("!H", arcount - 1) + wire[12:tsig_start])
    timers = struct.pack("!HIH", rd.time_signed >> 32, rd.time_signed & 0xFFFFFFFF, rd.fudge)
    if variables:
        h.update(dns.name.from_text(keyname).to_digestable())
        h.update(struct.pack("!HI", dns.rdataclass.ANY, 0))
        h.update(rd.algorithm.to_digestable())
        h.update(timers)
        h.update(struct.pack("!HH", rd.error, len(rd.other)) + rd.other)
    else:
        h.update(timers)
    return h.digest()


def with_mac(wire, keyname, mac):
    """The same signed message with another MAC in its TSIG record (to send truncated MACs)."""
    start, rd = find_tsig(wire, keyname)
    rdata = rd.replace(mac=mac).to_wire()
    owner = dns.name.from_text(keyname).to_wire()
    rr = owner + struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata)) + rdata
    return wire[:start] + rr


def rcode_of(wire):
    return wire[3] & 0x0F


class CrossCheck(unittest.TestCase):
    def verify_transfer(self, key, request_mac, messages):
        """dnspython reads the answer the way dns.query.xfr does, verifying every message."""
        ctx = None
        for i, wire in enumerate(messages):
            with at(NOW):
                r = dns.message.from_wire(
                    wire,
                    keyring=key,
                    request_mac=request_mac,
                    xfr=True,
                    origin=dns.name.from_text("example.com."),
                    tsig_ctx=ctx,
                    multi=True,
                )
            self.assertTrue(r.had_tsig, f"message {i} is not signed")
            self.assertEqual(r.tsig_error, 0)
            ctx = r.tsig_ctx

    def test_dnspython_query_tsig_answer(self):
        for alg in ALGORITHMS:
            with self.subTest(alg=alg):
                key = dnspython_key(alg)
                q, wire = signed_query(key, NOW)
                out = run_tool("server", alg, KEYNAME, secret_for(alg), NOW, 4, lines=[wire.hex()])
                self.assertEqual(out[0], ("status", "verified"))
                messages = [bytes.fromhex(v) for k, v in out[1:] if k == "message"]
                self.assertEqual(len(messages), 4)
                self.verify_transfer(key, q.mac, messages)
                # And with Python's hmac, message by message.
                prior = q.mac
                for i, m in enumerate(messages):
                    start, rd = find_tsig(m, KEYNAME)
                    self.assertEqual(rd.mac, expected_mac(alg, secret_for(alg), prior, m, start, KEYNAME, rd, i == 0))
                    self.assertEqual(rd.algorithm, ALGORITHMS[alg][0])
                    prior = rd.mac

    def test_tsig_query_dnspython_answer_with_unsigned_messages(self):
        pattern = [True, False, False, True, False, True]
        for alg in ALGORITHMS:
            with self.subTest(alg=alg):
                key = dnspython_key(alg)
                out = dict(run_tool("client-sign", alg, KEYNAME, secret_for(alg), NOW))
                query = bytes.fromhex(out["query"])
                with at(NOW):
                    q = dns.message.from_wire(query, keyring=key)  # raises unless the MAC verifies
                self.assertTrue(q.had_tsig)
                self.assertEqual(q.mac, bytes.fromhex(out["mac"]))
                self.assertEqual(q.keyalgorithm, ALGORITHMS[alg][0])

                ctx = None
                lines = []
                for i, sign in enumerate(pattern):
                    r = dns.message.make_response(q)
                    if i > 0:
                        r.question = []
                    r.answer.append(dns.rrset.from_text(f"host{i}.example.com.", 3600, "IN", "A", f"192.0.2.{i}"))
                    if sign:
                        with at(NOW):
                            w = r.to_wire(multi=True, tsig_ctx=ctx)
                        ctx = r.tsig_ctx
                    else:
                        r.tsig = None
                        w = r.to_wire()
                        ctx.update(w)  # RFC 8945 section 5.3.1: unsigned messages enter the next MAC
                    lines.append(w.hex())
                result = run_tool("client-verify", alg, KEYNAME, secret_for(alg), NOW, lines=lines)
                self.assertEqual(
                    [k for k, _ in result], ["signed" if s else "unsigned" for s in pattern] + ["complete"], result
                )
                self.assertEqual(result[-1], ("complete", "yes"))

                # A tampered message is caught.
                bad = bytearray(bytes.fromhex(lines[3]))
                bad[14] ^= 0x20
                result = run_tool("client-verify", alg, KEYNAME, secret_for(alg), NOW, lines=lines[:3] + [bad.hex()])
                self.assertEqual(result[3][0], "error")
                self.assertTrue(result[3][1].startswith("BadSig"), result)
                self.assertEqual(result[-1], ("complete", "no"))

    def test_bad_key(self):
        for alg in ALGORITHMS:
            with self.subTest(alg=alg):
                key = dnspython_key(alg, keyname="stranger.")
                q, wire = signed_query(key, NOW)
                out = dict(run_tool("server", alg, KEYNAME, secret_for(alg), NOW, lines=[wire.hex()]))
                self.assertEqual(out["status"], "BADKEY")
                answer = bytes.fromhex(out["answer"])
                self.assertEqual(rcode_of(answer), dns.rcode.NOTAUTH)
                _, rd = find_tsig(answer, "stranger.")
                self.assertEqual((rd.error, rd.mac), (dns.rcode.BADKEY, b""))
                with at(NOW), self.assertRaises(dns.tsig.PeerBadKey):
                    dns.message.from_wire(answer, keyring=key, request_mac=q.mac)

        # A known name with another algorithm is BADKEY too.
        key = dns.tsig.Key(KEYNAME, secret_for("hmac-sha256"), dns.tsig.HMAC_SHA512)
        q, wire = signed_query(key, NOW)
        out = dict(run_tool("server", "hmac-sha256", KEYNAME, secret_for("hmac-sha256"), NOW, lines=[wire.hex()]))
        self.assertEqual(out["status"], "BADKEY")

    def test_bad_sig(self):
        for alg in ALGORITHMS:
            with self.subTest(alg=alg):
                key = dnspython_key(alg, salt=1)  # same name, another secret
                q, wire = signed_query(key, NOW)
                out = dict(run_tool("server", alg, KEYNAME, secret_for(alg), NOW, lines=[wire.hex()]))
                self.assertEqual(out["status"], "BADSIG")
                answer = bytes.fromhex(out["answer"])
                self.assertEqual(rcode_of(answer), dns.rcode.NOTAUTH)
                _, rd = find_tsig(answer, KEYNAME)
                self.assertEqual((rd.error, rd.mac), (dns.rcode.BADSIG, b""))
                with at(NOW), self.assertRaises(dns.tsig.PeerBadSignature):
                    dns.message.from_wire(answer, keyring=key, request_mac=q.mac)

    def test_bad_time_answer_is_signed_with_server_time(self):
        for alg in ALGORITHMS:
            for skew in (-600, -301, 301):
                with self.subTest(alg=alg, skew=skew):
                    key = dnspython_key(alg)
                    q, wire = signed_query(key, NOW + skew)
                    out = dict(run_tool("server", alg, KEYNAME, secret_for(alg), NOW, lines=[wire.hex()]))
                    self.assertEqual(out["status"], "BADTIME")
                    answer = bytes.fromhex(out["answer"])
                    self.assertEqual(rcode_of(answer), dns.rcode.NOTAUTH)
                    with at(NOW + skew), self.assertRaises(dns.tsig.PeerBadTime):
                        dns.message.from_wire(answer, keyring=key, request_mac=q.mac)
                    start, rd = find_tsig(answer, KEYNAME)
                    self.assertEqual(rd.error, dns.rcode.BADTIME)
                    self.assertEqual(rd.time_signed, NOW + skew)  # the client's time (RFC 8945 section 5.2.3)
                    self.assertEqual(rd.other, NOW.to_bytes(6, "big"))  # the server's
                    self.assertEqual(rd.mac, expected_mac(alg, secret_for(alg), q.mac, answer, start, KEYNAME, rd))
            with self.subTest(alg=alg, skew="at the edges"):
                for skew in (-300, 300):
                    _, wire = signed_query(dnspython_key(alg), NOW + skew)
                    out = dict(run_tool("server", alg, KEYNAME, secret_for(alg), NOW, lines=[wire.hex()]))
                    self.assertEqual(out["status"], "verified")

    def test_truncated_macs(self):
        for alg in ALGORITHMS:
            with self.subTest(alg=alg):
                size = ALGORITHMS[alg][2]
                minimum = max(10, (size + 1) // 2)
                key = dnspython_key(alg)
                q, wire = signed_query(key, NOW)

                truncated = with_mac(wire, KEYNAME, q.mac[:minimum])
                out = run_tool("server", alg, KEYNAME, secret_for(alg), NOW, 2, lines=[truncated.hex()])
                self.assertEqual(out[0], ("status", "verified"))
                # The answer covers the request MAC as sent: truncated.
                self.verify_transfer(key, q.mac[:minimum], [bytes.fromhex(v) for k, v in out[1:]])

                for mac in (q.mac[: minimum - 1], q.mac + b"\x00"):
                    out = dict(run_tool("server", alg, KEYNAME, secret_for(alg), NOW,
                                        lines=[with_mac(wire, KEYNAME, mac).hex()]))
                    self.assertEqual(out["status"], "FORMERR", len(mac))
                    answer = bytes.fromhex(out["answer"])
                    self.assertEqual(rcode_of(answer), dns.rcode.FORMERR)
                    self.assertEqual(struct.unpack("!H", answer[10:12])[0], 0)  # no TSIG in a FORMERR

    def test_key_names_are_case_insensitive(self):
        key = dns.tsig.Key("XFR-Key.", secret_for("hmac-sha256"), dns.tsig.HMAC_SHA256)
        q, wire = signed_query(key, NOW)
        out = run_tool("server", "hmac-sha256", KEYNAME, secret_for("hmac-sha256"), NOW, 3, lines=[wire.hex()])
        self.assertEqual(out[0], ("status", "verified"))
        self.verify_transfer(key, q.mac, [bytes.fromhex(v) for k, v in out[1:]])


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        TOOL = sys.argv.pop(1)
    if not TOOL or not os.access(TOOL, os.X_OK):
        sys.exit("usage: tsig_crosscheck_test.py PATH/TO/tsig_vector_tool (or set TSIG_VECTOR_TOOL)")
    unittest.main(verbosity=2)
