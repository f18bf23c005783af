#!/usr/bin/python3
"""Zone transfers over TLS (RFC 9103): TLS listeners, the ACL's transport and client certificate
factors, the handshake's refusals (no ALPN "dot", TLS 1.2), kdig and dig as XoT clients, several
queries per connection, and `headwaterctl reload-tls`.

Throw-away certificates come from tests/lib/hwtls.py (python3-cryptography)."""

import contextlib
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwfaults  # noqa: E402
import hwtest  # noqa: E402
import hwtls  # noqa: E402

import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

EXAMPLE = "example.com."
TLS_ONLY = "tls-only.test."    # over TLS with the key; never over TCP
PINNED = "pinned.test."        # a client certificate with a given key pin
NAMED = "named.test."          # a client certificate the CA signed, for a given name
SECONDARY_NAME = "xfr.secondary.test"
KDIG_TROUBLE = r"(?i)(failed|error|refused|notauth|servfail|formerr|bad\w*|TLS, )"


def kdig_records(stdout):
    m = re.search(r"Received \d+ B \((\d+) messages?, (\d+) records?\)", stdout)
    return int(m.group(2)) if m else None


def kernel_offers_ktls():
    """Whether this kernel takes TLS over on a TCP socket: the "tls" upper layer protocol set on a connected
    loopback socket, as OpenSSL does (the kernel may load the module on demand). Without it, Headwater must
    fall back to OpenSSL's encryption, cleanly."""
    tcp_ulp = 31  # TCP_ULP, linux/tcp.h
    with socket.socket() as listener, socket.socket() as client:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client.connect(listener.getsockname())
        try:
            client.setsockopt(socket.IPPROTO_TCP, tcp_ulp, b"tls")
            return True
        except OSError:
            return False


class XotTest(unittest.TestCase):
    hw = None

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("TLS listeners are Headwater's")
        cls.tmp = hwtest.tempdir("xot-data")
        cls.pki = hwtls.Pki(cls.tmp / "pki")
        cls.server_cert = cls.pki.server()
        cls.client = cls.pki.client("client", SECONDARY_NAME)
        cls.self_signed = cls.pki.self_signed_client("self-signed", SECONDARY_NAME)
        cls.key = hwtest.TsigKey("xot-key")
        cls.paths = {}
        for zone, serial in ((TLS_ONLY, 11), (PINNED, 12), (NAMED, 13)):
            cls.paths[zone] = hwtest.generate_zone(cls.tmp / (zone + "zone"), zone, 300, serial)
        cls.paths[EXAMPLE] = hwtest.EXAMPLE_ZONE
        cls.tls_port = hwtest.free_port()
        tls_dir = cls.tmp / "served"
        tls_dir.mkdir()
        cls.cert_file, cls.key_file = tls_dir / "server.crt", tls_dir / "server.key"
        shutil.copyfile(cls.server_cert.cert_path, cls.cert_file)
        shutil.copyfile(cls.server_cert.key_path, cls.key_file)
        acls = [
            hwtest.AclConf("xot", networks=["127.0.0.0/8"], keys=[cls.key], transports=["tls"]),
            hwtest.AclConf("pinned", networks=["127.0.0.0/8"], tls_pins=[cls.self_signed.pin]),
            hwtest.AclConf("named", networks=["127.0.0.0/8"], tls_names=[SECONDARY_NAME]),
        ]
        zones = [hwtest.ZoneConf(EXAMPLE, cls.paths[EXAMPLE]),
                 hwtest.ZoneConf(TLS_ONLY, cls.paths[TLS_ONLY], allow_transfer=["xot"]),
                 hwtest.ZoneConf(PINNED, cls.paths[PINNED], allow_transfer=["pinned"]),
                 hwtest.ZoneConf(NAMED, cls.paths[NAMED], allow_transfer=["named"])]
        cls.hw = hwtest.Headwater(zones, keys=[cls.key], acls=acls, log_level="debug", server_options={
            "listen_tls": [f"{hwtest.ADDR}:{cls.tls_port}"],
            "tls_certificate": str(cls.cert_file),
            "tls_key": str(cls.key_file),
            "tls_client_ca": str(cls.pki.ca.cert_path),
        })
        try:
            cls.hw.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        hwtest.close_class_fixture(cls)

    # -- helpers --
    def expected(self, zone):
        return hwtest.canon_set(hwtest.zone_file_rrs(self.paths[zone], zone))

    def ctx(self, **kw):
        kw.setdefault("ca", self.pki.ca)
        return hwtls.client_context(**kw)

    def assert_whole_zone(self, zone, messages):
        self.assertEqual(messages[-1].rcode, dns.rcode.NOERROR)
        got = hwtest.canon_set(hwtest.xfr_rrs(messages))
        want = self.expected(zone)
        self.assertEqual(got, want, hwtest.describe_diff(want, got))

    def refusal(self, zone, reason):
        """The refusal log line of `zone` whose reason matches `reason` (a regex), waited for."""
        found = []

        def logged():
            found[:] = [e for e in hwtest.transfer_log(self.hw.log(), zone, outcome="refused")
                        if re.search(reason, e.get("reason", ""))]
            return bool(found)

        hwtest.wait_for(logged, 5, what=f"a refusal of {zone} for {reason!r}")
        return found[-1]

    def kdig(self, *args, timeout=60):
        kdig = hwtest.require_tool("kdig")
        argv = [kdig, f"@{hwtest.ADDR}", "-p", str(self.tls_port), "+tls", "+timeout=10", "+retry=0", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    # -- kdig and dig as XoT clients --
    def test_kdig_axfr_with_pin(self):
        p = self.kdig(f"+tls-pin={self.server_cert.pin}", EXAMPLE, "AXFR")
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out[-3000:])
        self.assertEqual(kdig_records(p.stdout), len(self.expected(EXAMPLE)) + 1, out[-3000:])
        # A pin of another key: kdig refuses the server, nothing is transferred.
        p = self.kdig(f"+tls-pin={self.client.pin}", EXAMPLE, "AXFR")
        self.assertIsNone(kdig_records(p.stdout), p.stdout + p.stderr)

    def test_kdig_axfr_with_ca_and_tsig(self):
        # Strict TLS (the CA and the name) and TSIG: the TLS-only zone.
        p = self.kdig(f"+tls-ca={self.pki.ca.cert_path}", f"+tls-hostname={hwtls.SERVER_NAME}", "-y",
                      self.key.kdig_arg(), TLS_ONLY, "AXFR")
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out[-3000:])
        self.assertEqual(kdig_records(p.stdout), len(self.expected(TLS_ONLY)) + 1, out[-3000:])
        tsig_lines = [ln for ln in p.stdout.splitlines() if "\tTSIG\t" in ln]
        self.assertTrue(tsig_lines, out[-3000:])
        self.assertTrue(all("NOERROR" in ln for ln in tsig_lines), tsig_lines)
        line = hwtest.transfer_log(self.hw.log(), TLS_ONLY, outcome="ok", key=r"xot-key\.?")[-1]
        # kTLS also needs an OpenSSL built with it: either is right where the kernel has it, and only the
        # fallback where it has not.
        self.assertIn(line["transport"], ("tls", "tls+ktls") if kernel_offers_ktls() else ("tls",))

    def test_kdig_client_certificate(self):
        p = self.kdig(f"+tls-ca={self.pki.ca.cert_path}", f"+tls-hostname={hwtls.SERVER_NAME}",
                      f"+tls-certfile={self.client.cert_path}", f"+tls-keyfile={self.client.key_path}", NAMED, "AXFR")
        self.assertEqual(kdig_records(p.stdout), len(self.expected(NAMED)) + 1, (p.stdout + p.stderr)[-3000:])

    def test_dig_axfr(self):
        dig = hwtest.require_tool("dig")
        p = subprocess.run([dig, f"@{hwtest.ADDR}", "-p", str(self.tls_port), "+tls", f"+tls-ca={self.pki.ca.cert_path}",
                            f"+tls-hostname={hwtls.SERVER_NAME}", "+time=10", "+tries=1", EXAMPLE, "AXFR"],
                           capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out[-3000:])
        m = re.search(r"XFR size: (\d+) records", p.stdout)
        self.assertIsNotNone(m, out[-3000:])
        self.assertEqual(int(m.group(1)), len(self.expected(EXAMPLE)) + 1)

    # -- the handshake's refusals --
    def assert_handshake_refused(self, ctx):
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)) as caught:
            s = hwtls.tls_connect(self.tls_port, ctx)
            # TLS 1.3: a refusal after the client's Finished shows at the first read.
            with contextlib.closing(s):
                hwtest.tcp_send(s, hwtest.make_query(EXAMPLE).to_wire())
                hwtest.tcp_recv(s)
        return caught.exception

    # (The server's log lines for these are checked by XotRefusalLogTest, with a server of its own: the
    # warnings are throttled.)
    def test_no_alpn_refused(self):
        e = self.assert_handshake_refused(self.ctx(alpn=None))
        self.assertRegex(str(e), r"(?i)no.application.protocol")

    def test_other_alpn_refused(self):
        e = self.assert_handshake_refused(self.ctx(alpn=("h2",)))
        self.assertRegex(str(e), r"(?i)no.application.protocol")

    def test_tls12_refused(self):
        e = self.assert_handshake_refused(self.ctx(tls12_only=True))
        self.assertRegex(str(e), r"(?i)protocol.version")

    def test_openssl_s_client_tls12_refused(self):
        openssl = hwtest.require_tool("openssl")
        p = subprocess.run([openssl, "s_client", "-connect", f"{hwtest.ADDR}:{self.tls_port}", "-tls1_2", "-alpn", "dot",
                            "-brief"], input="", capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotRegex(p.stdout + p.stderr, r"Protocol version: TLSv1\.2")
        # TLS 1.3 with ALPN dot is what works.
        p = subprocess.run([openssl, "s_client", "-connect", f"{hwtest.ADDR}:{self.tls_port}", "-tls1_3", "-alpn", "dot"],
                           input="", capture_output=True, text=True, timeout=30)
        self.assertRegex(p.stdout + p.stderr, r"New, TLSv1\.3, Cipher is", p.stdout + p.stderr)
        self.assertRegex(p.stdout + p.stderr, r"ALPN protocol: dot", p.stdout + p.stderr)

    # -- the ACL's factors --
    def test_plain_tcp_refused_when_the_acl_requires_tls(self):
        _, msgs = hwtest.signed_axfr(self.hw.port, TLS_ONLY, self.key)
        self.assertEqual(msgs[0][1].rcode(), dns.rcode.REFUSED)
        self.refusal(TLS_ONLY, r"the rule allows tls only \(the request came over tcp\)")
        # Over TLS without the key: the key is the missing factor.
        msgs = hwtls.tls_axfr(self.tls_port, TLS_ONLY, self.ctx())
        self.assertEqual(msgs[0].rcode, dns.rcode.REFUSED)
        self.refusal(TLS_ONLY, r"requires a TSIG key")

    def test_client_certificate_pin(self):
        # No certificate: refused, and the reason says so.
        msgs = hwtls.tls_axfr(self.tls_port, PINNED, self.ctx())
        self.assertEqual(msgs[0].rcode, dns.rcode.REFUSED)
        self.refusal(PINNED, r"requires a client certificate and none was presented")
        # A certificate with another key (the CA-signed one): refused.
        msgs = hwtls.tls_axfr(self.tls_port, PINNED, self.ctx(cert=self.client))
        self.assertEqual(msgs[0].rcode, dns.rcode.REFUSED)
        self.refusal(PINNED, r"matches neither tls_pins nor tls_names")
        # The pinned key, in a certificate no CA signed: allowed (the pin is the identity).
        self.assert_whole_zone(PINNED, hwtls.tls_axfr(self.tls_port, PINNED, self.ctx(cert=self.self_signed)))
        # Over plain TCP a certificate cannot be had.
        msgs = hwtest.axfr(self.hw.port, PINNED)
        self.assertEqual(msgs[0].rcode, dns.rcode.REFUSED)
        self.refusal(PINNED, r"which only TLS carries")

    def test_client_certificate_name(self):
        self.assert_whole_zone(NAMED, hwtls.tls_axfr(self.tls_port, NAMED, self.ctx(cert=self.client)))
        # The same name in a certificate the CA did not sign: refused.
        msgs = hwtls.tls_axfr(self.tls_port, NAMED, self.ctx(cert=self.self_signed))
        self.assertEqual(msgs[0].rcode, dns.rcode.REFUSED)
        self.refusal(NAMED, r"did not verify against server.tls_client_ca")

    # -- the connection --
    def test_several_queries_and_transfers_per_connection(self):
        with contextlib.closing(hwtls.tls_connect(self.tls_port, self.ctx(cert=self.client))) as s:
            for _ in range(2):
                hwtest.tcp_send(s, hwtest.make_query(EXAMPLE).to_wire())
                answer = dns.message.from_wire(hwtest.tcp_recv(s))
                self.assertEqual(answer.rcode(), dns.rcode.NOERROR)
                self.assertEqual(answer.answer[0].rdtype, dns.rdatatype.SOA)
                self.assert_whole_zone(EXAMPLE, hwtest.read_axfr(s, EXAMPLE)[1])
                self.assert_whole_zone(NAMED, hwtest.read_axfr(s, NAMED)[1])

    def test_plain_tcp_still_serves(self):
        self.assert_whole_zone(EXAMPLE, hwtest.axfr(self.hw.port, EXAMPLE))

    def test_debug_log_names_the_encryption_path(self):
        hwtls.tls_axfr(self.tls_port, EXAMPLE, self.ctx())
        path = "(on|off)" if kernel_offers_ktls() else "off"
        hwtest.wait_for(lambda: re.search(rf"TLS connection from \S+: TLSv1\.3 \S+ alpn=dot ktls={path}",
                                          self.hw.log()), 5, what="the TLS connection's debug line")

    def test_reload_tls(self):
        # A connection opened before the reload keeps its certificate and goes on working.
        old = hwtls.tls_connect(self.tls_port, self.ctx())
        with contextlib.closing(old):
            self.assertEqual(hwtls.spki_pin(self.server_cert.cert), self.server_cert.pin)
            new_cert = self.pki.server("renewed", days=3)  # about to expire: the reload warns
            try:
                shutil.copyfile(new_cert.cert_path, self.cert_file)
                shutil.copyfile(new_cert.key_path, self.key_file)
                rc, out, stdout, stderr = self.hw.ctl("reload-tls")
                self.assertEqual(rc, 0, stdout + stderr)
                self.assertTrue(out["ok"], out)
                self.assertIn(hwtls.SERVER_NAME, out["certificate"])
                self.assertRegex(out["certificate"], r"expires .* \(2 days left\)")
                self.assertRegex(self.hw.log(), r"warning reload-tls: new TLS connections use subject \S+ .*"
                                                r"\(2 days left\): renew it")
                # New connections get the new key (kdig checks the pin).
                p = self.kdig(f"+tls-pin={new_cert.pin}", EXAMPLE, "SOA")
                self.assertRegex(p.stdout, r"status: NOERROR", p.stdout + p.stderr)
                p = self.kdig(f"+tls-pin={self.server_cert.pin}", EXAMPLE, "SOA")
                self.assertNotRegex(p.stdout, r"status: NOERROR", p.stdout + p.stderr)
                self.assert_whole_zone(EXAMPLE, hwtest.read_axfr(old, EXAMPLE)[1])
                # A broken key: refused, the renewed certificate stays in use.
                self.key_file.write_text("not a key\n")
                rc, out, stdout, stderr = self.hw.ctl("reload-tls")
                self.assertNotEqual(rc, 0, stdout)
                self.assertRegex(out["error"], r"server\.tls_key .*still use the previous certificate")
                p = self.kdig(f"+tls-pin={new_cert.pin}", EXAMPLE, "SOA")
                self.assertRegex(p.stdout, r"status: NOERROR", p.stdout + p.stderr)
            finally:
                shutil.copyfile(self.server_cert.cert_path, self.cert_file)
                shutil.copyfile(self.server_cert.key_path, self.key_file)
                self.assertEqual(self.hw.ctl("reload-tls")[0], 0)


    def test_sighup_reloads_tls_too(self):
        before = self.hw.log().count("reload-tls: new TLS connections use")
        self.hw.reload_signal()
        hwtest.wait_for(lambda: self.hw.log().count("reload-tls: new TLS connections use") > before, 10,
                        what="the TLS reload after SIGHUP")
        p = self.kdig(f"+tls-pin={self.server_cert.pin}", EXAMPLE, "SOA")
        self.assertRegex(p.stdout, r"status: NOERROR", p.stdout + p.stderr)


class XotRefusalLogTest(unittest.TestCase):
    """The warnings a refused handshake leaves, each kind once (they are throttled per kind)."""

    def test_refusals_are_logged(self):
        hwtest.require_headwater("TLS listeners are Headwater's")
        tmp = hwtest.tempdir("xot-refusals")
        pki = hwtls.Pki(tmp / "pki")
        cert = pki.server()
        port = hwtest.free_port()
        hw = hwtest.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE)], server_options={
            "listen_tls": [f"{hwtest.ADDR}:{port}"], "tls_certificate": str(cert.cert_path),
            "tls_key": str(cert.key_path)})
        try:
            hw.start()
            for ctx, reason in ((hwtls.client_context(ca=pki.ca, alpn=None),
                                 r"TLS handshake with 127\.0\.0\.1#\d+ failed: the client offered no ALPN; zone "
                                 r"transfers over TLS need \"dot\""),
                                (hwtls.client_context(ca=pki.ca, tls12_only=True),
                                 r"TLS handshake with 127\.0\.0\.1#\d+ failed: .*unsupported protocol")):
                with self.assertRaises((ssl.SSLError, OSError)):
                    hwtls.tls_exchange(port, hwtest.make_query(EXAMPLE).to_wire(), ctx)
                hwtest.wait_for(lambda: re.search(reason, hw.log()), 5, what=f"log line {reason!r}")
            # And the server still serves a good client.
            answer = dns.message.from_wire(hwtls.tls_exchange(port, hwtest.make_query(EXAMPLE).to_wire(),
                                                              hwtls.client_context(ca=pki.ca)))
            self.assertEqual(answer.rcode(), dns.rcode.NOERROR)
            # SIGTERM with a TLS connection open (idle): a clean, quick stop.
            with contextlib.closing(hwtls.tls_connect(port, hwtls.client_context(ca=pki.ca))):
                t = time.monotonic()
                self.assertEqual(hw.stop(), 0, hw.log()[-2000:])
                self.assertLess(time.monotonic() - t, 5)
        finally:
            hw.close()
            hwtest.cleanup_dir(tmp)


class XotLimitsTest(unittest.TestCase):
    """A TLS connection is a TCP connection to the limits: the per-client bound (TLS and TCP counted
    together), the idle timeout (the handshake included), and the write timeout for a reader that stops
    in the middle of a transfer (progress measured by the kernel's count of acknowledged octets)."""

    ZONE = "stall-tls.example."
    RECORDS = 200000
    WRITE_TIMEOUT = 2
    HOLDER = "127.0.0.5"
    STALLER = "127.0.0.3"

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("TLS listeners are Headwater's")
        cls.tmp = hwtest.tempdir("xot-limits")
        cls.addClassCleanup(hwtest.cleanup_dir, cls.tmp)
        cls.pki = hwtls.Pki(cls.tmp / "pki")
        cert = cls.pki.server()
        path = hwtest.generate_zone(cls.tmp / "stall.zone", cls.ZONE, cls.RECORDS, 11)
        cls.tls_port = hwtest.free_port()
        cls.hw = hwtest.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE), hwtest.ZoneConf(cls.ZONE, path)],
                                  acl_networks=("127.0.0.0/8",), server_options={
                                      "listen_tls": [f"{hwtest.ADDR}:{cls.tls_port}"],
                                      "tls_certificate": str(cert.cert_path), "tls_key": str(cert.key_path),
                                      "tcp_max_per_client": 2, "tcp_idle_timeout": "1s",
                                      "tcp_write_timeout": f"{cls.WRITE_TIMEOUT}s"})
        cls.addClassCleanup(cls.hw.close)
        cls.hw.start(timeout=60)
        hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, cls.ZONE) == 11, 60, what="the big zone")

    def ctx(self):
        return hwtls.client_context(ca=self.pki.ca)

    def test_idle_timeout_and_handshake_timeout(self):
        s = hwtls.tls_connect(self.tls_port, self.ctx())
        self.addCleanup(s.close)
        t = time.monotonic()
        s.settimeout(5)
        try:
            self.assertEqual(s.recv(1), b"", "the server sent data on an idle connection")
        except socket.timeout:
            self.fail("an idle TLS connection stayed open")
        except (ssl.SSLError, ConnectionError):
            pass  # closed without close_notify, or reset: closed all the same
        self.assertLess(time.monotonic() - t, 4)
        # A client that connects and never says hello is gone after the idle timeout as well.
        raw = hwfaults.connect(self.tls_port, hwtest.ADDR)
        self.addCleanup(raw.close)
        self.assertTrue(hwfaults.closed_by_peer(raw, wait=5), "a silent TLS client stayed connected")

    def test_per_client_bound_counts_tls_and_tcp(self):
        held = [hwtls.tls_connect(self.tls_port, self.ctx(), source=self.HOLDER) for _ in range(2)]
        self.addCleanup(hwfaults.close_all, held)
        extra = hwfaults.connect(self.hw.port, self.HOLDER)  # plain TCP, the same address
        self.addCleanup(extra.close)
        self.assertTrue(hwfaults.closed_by_peer(extra, wait=1), "a third connection from one address was kept")
        self.assertRegex(self.hw.log(), rf"closing a TCP connection from {re.escape(self.HOLDER)}#\d+: it has 2 open")
        # The ones held still work.
        hwtest.tcp_send(held[0], hwtest.make_query(EXAMPLE).to_wire())
        self.assertEqual(dns.message.from_wire(hwtest.tcp_recv(held[0])).rcode(), dns.rcode.NOERROR)

    def test_stalled_tls_reader_is_cut_after_the_write_timeout(self):
        s = hwtls.tls_connect(self.tls_port, self.ctx(), source=self.STALLER, rcvbuf=4096)
        self.addCleanup(s.close)
        hwtest.tcp_send(s, dns.message.make_query(self.ZONE, "AXFR").to_wire())
        self.assertEqual(dns.message.from_wire(hwtest.tcp_recv(s), one_rr_per_rrset=True).rcode(), dns.rcode.NOERROR)
        stalled_at = time.monotonic()  # and nothing more is read

        def aborted():
            return hwtest.transfer_log(self.hw.log(), self.ZONE, peer=rf"{re.escape(self.STALLER)}#\d+",
                                       outcome="aborted", cause="timed-out")

        lines = hwtest.wait_for(aborted, self.WRITE_TIMEOUT + 15, what="the stalled TLS transfer to be cut")
        self.assertGreaterEqual(time.monotonic() - stalled_at, self.WRITE_TIMEOUT - 0.5)
        self.assertLess(int(lines[0]["records"]), self.RECORDS)
        self.assertEqual(lines[0]["transport"].split("+")[0], "tls")
        # A reader that keeps reading gets the whole zone over TLS meanwhile.
        msgs = hwtls.tls_axfr(self.tls_port, self.ZONE, self.ctx(), timeout=60)
        self.assertEqual(len(hwtest.xfr_rrs(msgs)), self.RECORDS)


class XotConfigTest(unittest.TestCase):
    """What --check-config and start-up say about broken TLS settings."""

    def test_check_config_loads_the_files(self):
        hwtest.require_headwater("TLS listeners are Headwater's")
        tmp = hwtest.tempdir("xot-config")
        try:
            pki = hwtls.Pki(tmp / "pki")
            cert = pki.server()
            other = pki.server("other")
            (tmp / "zones").mkdir()
            shutil.copyfile(hwtest.EXAMPLE_ZONE, tmp / "zones" / "example.com.zone")
            base = ("[server]\nlisten = [\"127.0.0.1:5399\"]\nlisten_tls = [\"127.0.0.1:8853\"]\n"
                    f"tls_certificate = \"{cert.cert_path}\"\n")
            zone = "\n[[zone]]\nname = \"example.com\"\nfile = \"zones/example.com.zone\"\n"
            cases = {
                "good": (f"tls_key = \"{cert.key_path}\"\n", 0, r"OK"),
                "mismatch": (f"tls_key = \"{other.key_path}\"\n", 1, r"server\.tls_key \S+ does not belong to"),
                "missing": (f"tls_key = \"{tmp / 'nope.key'}\"\n", 1, r"server\.tls_key .*nope\.key"),
            }
            for name, (line, status, message) in cases.items():
                with self.subTest(case=name):
                    path = tmp / f"{name}.toml"
                    path.write_text(base + line + zone)
                    p = subprocess.run([hwtest.headwater_bin(), "--check-config", str(path)], capture_output=True,
                                       text=True, timeout=30)
                    self.assertEqual(p.returncode, status, p.stdout + p.stderr)
                    self.assertRegex(p.stdout + p.stderr, message)
        finally:
            hwtest.cleanup_dir(tmp)


if __name__ == "__main__":
    hwtest.main()
