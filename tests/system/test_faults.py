#!/usr/bin/python3
"""Hostile and broken peers (fault handling): an address flooding idle TCP connections, a secondary
that stops reading in the middle of an AXFR, 100k random and mutated packets over UDP and TCP, and a
control socket that refuses other users and answers malformed commands with an error. After each the
server must keep answering correctly; nothing else may wait on the bad peer."""

import json
import os
import random
import socket
import stat
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwfaults  # noqa: E402
import hwtest  # noqa: E402

import dns.edns  # noqa: E402
import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.opcode  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402
import dns.tsig  # noqa: E402
import dns.update  # noqa: E402
import dns.zone  # noqa: E402

EXAMPLE = "example.com."
FLOODER = "127.0.0.2"


def expected_soa():
    z = dns.zone.from_file(str(hwtest.EXAMPLE_ZONE), origin=EXAMPLE, relativize=False)
    return z.find_rrset(EXAMPLE, "SOA")


def check_soa(test, port, expected, tcp=False, where=hwtest.ADDR, timeout=3.0):
    """The SOA answer must be exactly right: NOERROR, AA, the question echoed, the zone's SOA. Over UDP
    the query is asked up to three times, as a resolver would: during a flood the kernel may drop it from
    the server's full socket buffer before the server sees it (TCP gets no such leeway)."""
    attempts = 1 if tcp else 3
    for attempt in range(attempts):
        try:
            r = hwtest.query(port, EXAMPLE, "SOA", tcp=tcp, timeout=timeout, where=where)
            break
        except dns.exception.Timeout:
            if attempt == attempts - 1:
                raise
    test.assertEqual(r.rcode(), dns.rcode.NOERROR)
    test.assertTrue(r.flags & dns.flags.AA)
    test.assertEqual(str(r.question[0].name).lower(), EXAMPLE)
    test.assertEqual(len(r.answer), 1)
    test.assertEqual(r.answer[0], expected)
    test.assertEqual(r.answer[0].ttl, expected.ttl)


class IdleFloodTest(unittest.TestCase):
    """1000 idle TCP connections from one address do not stop a legitimate AXFR from another."""

    FLOOD = 1000
    PER_CLIENT = 16

    def setUp(self):
        hwtest.require_headwater("connection limits are Headwater's")
        hwfaults.raise_nofile(self.FLOOD + 200)
        self.tmp = hwtest.tempdir("flood")
        self.addCleanup(hwtest.cleanup_dir, self.tmp)
        big = hwtest.generate_zone(self.tmp / "flood.zone", "flood.example.", 20000, 3)
        # A global pool far smaller than the flood: only the per-client bound keeps room for others.
        self.hw = hwfaults.Headwater(
            [hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE), hwtest.ZoneConf("flood.example.", big)],
            server_options={"tcp_max_connections": 64, "tcp_max_per_client": self.PER_CLIENT,
                            "tcp_idle_timeout": 3})
        self.addCleanup(self.hw.close)
        self.flood = []
        self.addCleanup(hwfaults.close_all, self.flood)
        self.hw.start()

    def test_flood_from_one_address_does_not_block_axfr(self):
        expected = hwfaults.axfr_set(self.hw.port, "flood.example.")
        started = time.monotonic()
        reset_at_connect = 0
        for _ in range(self.FLOOD):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((FLOODER, 0))
            s.settimeout(5)
            try:
                s.connect((hwtest.ADDR, self.hw.port))
            except ConnectionResetError:
                # Closed by the server before connect() returned here (Python connects non-blocking
                # and reads SO_ERROR afterwards): refused at once, as intended.
                reset_at_connect += 1
                s.close()
                continue
            self.flood.append(s)
        print(f"\n  {self.FLOOD} connections made from {FLOODER} in {time.monotonic() - started:.2f}s "
              f"({reset_at_connect} already reset when connect() returned)", file=sys.stderr)

        # While the flood holds on, a legitimate AXFR and SOA queries from 127.0.0.1 go through, quickly.
        t0 = time.monotonic()
        got = hwfaults.axfr_set(self.hw.port, "flood.example.", timeout=10)
        self.assertEqual(got, expected)
        hwtest.wait_for(lambda: hwtest.soa_serial(self.hw.port, EXAMPLE, tcp=True) == hwtest.EXAMPLE_SERIAL, 5,
                        what="an SOA over TCP during the flood")
        self.assertLess(time.monotonic() - t0, 5, "the legitimate transfer waited on the flood")

        # The server closed every connection past the per-client bound at once.
        def open_count():
            return sum(1 for s in self.flood if not hwfaults.closed_by_peer(s))

        hwtest.wait_for(lambda: open_count() <= self.PER_CLIENT, 5, what="excess flood connections closed")
        still_open = open_count()
        self.assertGreater(still_open, 0, "the first connections of the address are served")
        self.assertIn("tcp_max_per_client", self.hw.log())
        print(f"  {still_open} stay open (tcp_max_per_client = {self.PER_CLIENT})", file=sys.stderr)

        # The idle ones get the idle timeout (RFC 7766 section 6.2.3): nothing is held for ever.
        hwtest.wait_for(lambda: open_count() == 0, 3 + 5, what="idle flood connections closed by the timeout")
        # And the address's count went back to zero: it may connect and query again.
        r = hwtest.query(self.hw.port, EXAMPLE, "SOA", tcp=True, source=FLOODER)
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(self.hw.proc.alive())


class SlowReaderTest(unittest.TestCase):
    """A peer that stops reading in the middle of an AXFR is dropped after the write timeout; SOA
    queries and another AXFR go on meanwhile; the transfer log and the secondaries view say so."""

    ZONE = "stall.example."
    RECORDS = 200000
    STALLER = "127.0.0.3"
    WRITE_TIMEOUT = 2

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("write timeouts and the secondaries view are Headwater's")
        cls.tmp = hwtest.tempdir("stall")
        cls.addClassCleanup(hwtest.cleanup_dir, cls.tmp)
        path = hwtest.generate_zone(cls.tmp / "stall.zone", cls.ZONE, cls.RECORDS, 11)
        cls.hw = hwfaults.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE), hwtest.ZoneConf(cls.ZONE, path)],
                                    acl_networks=("127.0.0.0/8",), transfer_log="log/transfers.jsonl",
                                    server_options={"tcp_write_timeout": cls.WRITE_TIMEOUT})
        cls.addClassCleanup(cls.hw.close)
        cls.hw.start(timeout=60)
        hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, cls.ZONE) == 11, 60, what="the big zone")

    def test_stalled_reader_is_dropped_and_nothing_waits_on_it(self):
        soa = expected_soa()
        # The first message arrives (NOERROR); then this peer stops reading.
        staller = hwfaults.start_stalled_axfr(self.hw.port, self.ZONE, source=self.STALLER)
        self.addCleanup(staller.close)
        stalled_at = time.monotonic()

        # Meanwhile: SOA over UDP and TCP, and a whole AXFR of the big zone from another peer.
        for tcp in (False, True):
            t = time.monotonic()
            check_soa(self, self.hw.port, soa, tcp=tcp)
            self.assertLess(time.monotonic() - t, 1.0)
        t = time.monotonic()
        head, content = hwfaults.axfr_set(self.hw.port, self.ZONE, timeout=30)
        self.assertEqual(len(content), self.RECORDS)
        print(f"\n  parallel AXFR of {len(content)} records took {time.monotonic() - t:.2f}s "
              f"while the stalled transfer was pending", file=sys.stderr)

        # The stalled transfer ends as aborted, after the write timeout and not much later.
        def aborted():
            return hwtest.transfer_log(self.hw.log(), self.ZONE, peer=rf"{self.STALLER}#\d+", outcome="aborted.*")

        lines = hwtest.wait_for(aborted, self.WRITE_TIMEOUT + 10, what="the stalled transfer to be aborted")
        waited = time.monotonic() - stalled_at
        self.assertGreaterEqual(waited, self.WRITE_TIMEOUT - 0.5)
        print(f"  stalled peer dropped after {waited:.1f}s: {lines[0]['_line'].split('transfer ', 1)[1]}",
              file=sys.stderr)
        self.assertLess(int(lines[0]["records"]), self.RECORDS)

        # The peer's side sees the connection end (FIN or RST) once it drains what was buffered; still open
        # after 10 s of silence means the server kept it. (socket.timeout is an OSError: caught first.)
        staller.settimeout(10)
        try:
            while staller.recv(65536):
                pass
        except socket.timeout:
            self.fail("the aborted transfer's connection stayed open")
        except ConnectionResetError:
            pass
        staller.close()

        rc, doc, out, err = self.hw.ctl("secondaries", self.ZONE)
        self.assertEqual(rc, 0, out + err)
        peers = {p["address"]: p for p in doc["secondaries"]}
        self.assertIn(self.STALLER, peers, out)
        last = peers[self.STALLER]["last_transfer"]
        self.assertEqual(last["outcome"], "aborted", last)
        self.assertTrue(last.get("error"), last)
        self.assertEqual(peers[hwtest.ADDR]["last_transfer"]["outcome"], "ok")
        events = [json.loads(line) for line in (self.hw.dir / "log" / "transfers.jsonl").read_text().splitlines()]
        self.assertTrue(any(e.get("event") == "transfer" and e.get("peer", "").startswith(self.STALLER + "#") and
                            e.get("outcome") == "aborted" for e in events), events[-5:])


# ---- 100k random and mutated packets ---------------------------------------------------------------
def base_messages(key):
    """Real queries of every kind the server sees, in wire form."""
    out = []
    for name, rdtype in ((EXAMPLE, "SOA"), ("www.example.com.", "A"), ("ftp.example.com.", "AAAA"),
                         ("nothing.example.com.", "MX"), ("example.org.", "A"), (EXAMPLE, "ANY"),
                         (EXAMPLE, "AXFR"), (EXAMPLE, "NS")):
        out.append(dns.message.make_query(name, rdtype, use_edns=False).to_wire())
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=4096,
                                   options=[dns.edns.GenericOption(10, os.urandom(8))])
        out.append(q.to_wire())
    ixfr = dns.message.make_query(EXAMPLE, "IXFR")
    ixfr.authority.append(dns.rrset.from_text(EXAMPLE, 0, "IN", "SOA", ". . 2024060100 0 0 0 0"))
    out.append(ixfr.to_wire())
    notify = dns.message.make_query(EXAMPLE, "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    out.append(notify.to_wire())
    upd = dns.update.UpdateMessage(EXAMPLE)
    upd.add("x.example.com.", 300, "A", "192.0.2.99")
    out.append(upd.to_wire())
    signed = dns.message.make_query(EXAMPLE, "SOA")
    signed.use_tsig(key.keyring(), keyname=key.dns_name)
    out.append(signed.to_wire())
    signed_axfr = dns.message.make_query(EXAMPLE, "AXFR")
    signed_axfr.use_tsig(key.keyring(), keyname=key.dns_name)
    out.append(signed_axfr.to_wire())
    response = dns.message.make_response(dns.message.make_query(EXAMPLE, "SOA"))
    out.append(response.to_wire())  # a response: must never be answered (no loops)
    # A name that points at itself (a compression loop) and one pointing past the end.
    out.append(struct.pack("!HHHHHH", 0x4242, 0, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 6, 1))
    out.append(struct.pack("!HHHHHH", 0x4343, 0, 1, 0, 0, 0) + b"\x03www\xc3\xff" + struct.pack("!HH", 1, 1))
    return out


def mutate(rng, bases):
    w = bytearray(rng.choice(bases))
    kind = rng.randrange(10)
    if kind == 0:  # bit flips
        for _ in range(rng.randint(1, 8)):
            if w:
                i = rng.randrange(len(w))
                w[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncation
        w = w[:rng.randrange(len(w) + 1)]
    elif kind == 2:  # wrong counts
        if len(w) >= 12:
            for off in rng.sample((4, 6, 8, 10), rng.randint(1, 4)):
                w[off:off + 2] = struct.pack("!H", rng.choice((0, 1, 2, 3, 0x7FFF, 0xFFFF, rng.randrange(65536))))
    elif kind == 3:  # random bytes
        w = bytearray(rng.randbytes(rng.randrange(0, 700)))
    elif kind == 4:  # trailing garbage
        w += rng.randbytes(rng.randrange(1, 300))
    elif kind == 5:  # bytes set to length and pointer values
        for _ in range(rng.randint(1, 4)):
            if len(w) > 12:
                w[rng.randrange(12, len(w))] = rng.choice((0x00, 0x3F, 0x40, 0x7F, 0xC0, 0xFF, rng.randrange(256)))
    elif kind == 6:  # splice of two messages
        other = rng.choice(bases)
        w = w[:rng.randrange(len(w) + 1)] + other[rng.randrange(len(other) + 1):]
    elif kind == 7:  # header fields: flags, opcode, rcode, QR
        if len(w) >= 4:
            w[2:4] = struct.pack("!H", rng.randrange(65536))
    elif kind == 8:  # RDLENGTH / EDNS option lengths blown up
        if len(w) > 16:
            i = rng.randrange(12, len(w) - 1)
            w[i:i + 2] = b"\xff\xff"
    else:  # the unmodified message, as a control
        pass
    return bytes(w)


class GarbageTest(unittest.TestCase):
    """100k random and mutated packets over UDP and TCP: the server keeps answering SOA queries
    correctly throughout and after."""

    UDP_PACKETS = 80000
    TCP_PACKETS = 20000
    CHECK_EVERY = 5000

    def setUp(self):
        hwtest.require_headwater("the flood targets Headwater's parser")
        self.key = hwtest.TsigKey("fuzz-key")
        self.hw = hwfaults.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE)], keys=[self.key],
                                     server_options={"max_query_size": 4096})
        self.addCleanup(self.hw.close)
        self.hw.start()

    def test_random_and_mutated_packets(self):
        seed = int(os.environ.get("HW_FUZZ_SEED", random.randrange(1 << 30)))
        print(f"\n  seed {seed} (HW_FUZZ_SEED to repeat)", file=sys.stderr)
        rng = random.Random(seed)
        bases = base_messages(self.key)
        soa = expected_soa()
        expected_zone = hwfaults.axfr_set(self.hw.port, EXAMPLE)
        started = time.monotonic()
        checks = 0

        def check():
            nonlocal checks
            self.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())
            check_soa(self, self.hw.port, soa, tcp=False)
            check_soa(self, self.hw.port, soa, tcp=True)
            checks += 1

        # UDP, from two source addresses.
        udp = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
        for s, src in zip(udp, (hwtest.ADDR, FLOODER)):
            s.bind((src, 0))
            s.setblocking(False)
        answered = 0
        for i in range(self.UDP_PACKETS):
            pkt = mutate(rng, bases)
            try:
                udp[i % 2].sendto(pkt, (hwtest.ADDR, self.hw.port))
            except (BlockingIOError, OSError):
                pass
            if i % 200 == 199:
                for s in udp:
                    try:
                        while s.recv(65535):
                            answered += 1
                    except BlockingIOError:
                        pass
                time.sleep(0.002)  # let the server keep up rather than measure its socket buffer
            if i % self.CHECK_EVERY == self.CHECK_EVERY - 1:
                check()
        for s in udp:
            s.close()
        udp_done = time.monotonic()

        # TCP: pipelined bursts of framed mutations, some with lying or oversized length prefixes.
        sent = 0
        tcp_answer_octets = 0
        connections = 0
        while sent < self.TCP_PACKETS:
            connections += 1
            burst = []
            for _ in range(rng.randint(1, 20)):
                pkt = mutate(rng, bases)
                frame = rng.randrange(20)
                if frame == 0:
                    burst.append(struct.pack("!H", 0xFFFF) + pkt)  # above max_query_size
                elif frame == 1:
                    burst.append(struct.pack("!H", len(pkt) + rng.randint(1, 200)) + pkt)  # claims more
                elif frame == 2:
                    burst.append(struct.pack("!H", max(0, len(pkt) - rng.randint(1, 12))) + pkt)  # claims less
                elif frame == 3:
                    burst.append(b"\x00\x00")
                else:
                    burst.append(struct.pack("!H", len(pkt)) + pkt)
                sent += 1
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.settimeout(3)
                try:
                    s.connect((hwtest.ADDR, self.hw.port))
                    s.sendall(b"".join(burst))
                    s.shutdown(socket.SHUT_WR)
                    while True:  # answers until the server closes
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        tcp_answer_octets += len(chunk)
                except socket.timeout:
                    self.fail("the server held a garbage connection open after its input ended")
                except OSError:
                    pass  # reset or already closed by the server: what garbage earns
            if sent // self.CHECK_EVERY != (sent - len(burst)) // self.CHECK_EVERY:
                check()
        check()
        self.assertEqual(hwfaults.axfr_set(self.hw.port, EXAMPLE), expected_zone)
        elapsed = time.monotonic() - started
        print(f"  {self.UDP_PACKETS} UDP packets ({answered} answers read) in {udp_done - started:.1f}s, "
              f"{sent} TCP messages on {connections} connections in {time.monotonic() - udp_done:.1f}s "
              f"({tcp_answer_octets} octets of answers), {checks} SOA checks passed",
              file=sys.stderr)
        self.assertNotIn("bug while answering", self.hw.log())
        self.assertLess(elapsed, 90)
        # Send errors are ignored above; answers show the packets reached the server (a tenth of them are
        # unmodified queries).
        self.assertGreater(answered, 0, "no UDP packet of the flood was answered")
        self.assertGreater(tcp_answer_octets, 0, "no TCP message of the flood was answered")


# ---- the control socket -------------------------------------------------------------------------------
class ControlSocketTest(unittest.TestCase):
    """Mode 0600 in a 0700 directory; other users are refused; malformed commands get an error and the
    server keeps working."""

    def setUp(self):
        hwtest.require_headwater("the control socket is Headwater's")
        self.hw = hwfaults.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE)],
                                     control_socket="ctl/private/headwater.sock")
        self.addCleanup(self.hw.close)
        self.hw.start()

    def raw(self, payload, timeout=5):
        """Sends raw bytes on a fresh connection; returns the answer lines as parsed JSON."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.hw.socket_path))
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return [json.loads(line) for line in data.decode().splitlines() if line.strip()]

    def test_socket_and_directory_modes(self):
        st = os.lstat(self.hw.socket_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.hw.socket_path.parent).st_mode), 0o700)

    def test_other_users_are_refused(self):
        if not hwfaults.is_root():
            hwfaults.cannot_run("needs root to act as another user (setpriv/runuser)")
        probe = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
                 "try:\n  s.connect(sys.argv[1]); print('connected')\n"
                 "except PermissionError: print('denied')\nexcept OSError as e: print('error', e)\n")
        argv = hwfaults.as_user_argv("nobody", [hwtest.PYTHON, "-c", probe, str(self.hw.socket_path)])
        if argv is None:
            hwfaults.cannot_run("neither setpriv nor runuser is installed")
        hwfaults.open_to_all(self.hw.dir)
        # Through the 0700 directory: refused.
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.stdout.strip(), "denied", p.stdout + p.stderr)
        # With the directory opened up, the socket's own mode 0600 still refuses.
        private = self.hw.socket_path.parent
        private.chmod(0o755)
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.stdout.strip(), "denied", p.stdout + p.stderr)
            ctl = hwfaults.as_user_argv("nobody", [hwtest.headwaterctl_bin(), "--socket", str(self.hw.socket_path),
                                                   "status"])
            p = subprocess.run(ctl, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
            self.assertIn("ermission denied", p.stderr)
        finally:
            private.chmod(0o700)
        rc, doc, out, err = self.hw.ctl("status")
        self.assertEqual(rc, 0, out + err)

    def test_malformed_commands_get_an_error(self):
        cases = [
            b"not json at all\n",
            b"{\n",
            b"[1, 2, 3]\n",
            b'"status"\n',
            b"{}\n",
            b'{"zone": "example.com."}\n',
            b'{"command": 5}\n',
            b'{"command": null}\n',
            b'{"command": "no-such-command"}\n',
            b'{"command": "reload", "zone": 5}\n',
            b'{"command": "reload", "zone": "example.com.", "force": "yes"}\n',
            b'{"command": "status", "zone": ["example.com."]}\n',
            b'{"command": "secondaries"}\n',
            b'{"command": "secondaries", "zone": "no-such-zone."}\n',
            b'{"command": "bump", "zone": "example.com.", "set": "tomorrow"}\n',
            b'{"command": "bump", "zone": "example.com.", "policy": "sideways"}\n',
            b'{"command": "notify", "zone": "example.com.", "target": 12}\n',
            b'{"command": "journal", "zone": {"name": "example.com."}}\n',
            b'\xff\xfe{"command": "status"}\n',
            b'{"command": "status"\x00}\n',
        ]
        for payload in cases:
            with self.subTest(payload=payload):
                answers = self.raw(payload)
                self.assertEqual(len(answers), 1, answers)
                self.assertIs(answers[0].get("ok"), False, answers)
                self.assertTrue(answers[0].get("error"), answers)
        # Several requests on one connection: a malformed one does not end it.
        answers = self.raw(b'garbage\n{"command": "status"}\n{"command": 1}\n{"command": "status"}\n')
        self.assertEqual([a.get("ok") for a in answers], [False, True, False, True])
        # A line longer than the limit: an error, then the connection is closed.
        answers = self.raw(b'{"command": "status", "pad": "' + b"x" * (70 * 1024) + b'"}\n')
        self.assertEqual(len(answers), 1)
        self.assertIs(answers[0]["ok"], False)
        self.assertIn("longer than", answers[0]["error"])
        # Many connections at once: the extra ones are closed, the server carries on.
        held = []
        try:
            for _ in range(80):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(str(self.hw.socket_path))
                held.append(s)
            time.sleep(0.3)
        finally:
            for s in held:
                s.close()
        # The server still works: the control socket and DNS.
        time.sleep(0.2)
        rc, doc, out, err = self.hw.ctl("status")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(doc["zones"][0]["serial"], hwtest.EXAMPLE_SERIAL)
        check_soa(self, self.hw.port, expected_soa())
        self.assertTrue(self.hw.proc.alive())


if __name__ == "__main__":
    hwtest.main()
