#!/usr/bin/python3
"""The resource limits of [server] (docs/operations.md): connections per client and in total, the idle
and the per-message write timeouts, the largest query read, concurrent transfers, and NOTIFY targets
in flight."""

import select
import socket
import struct
import sys
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwfaults  # noqa: E402
import hwtest  # noqa: E402

import dns.edns  # noqa: E402
import dns.message  # noqa: E402
import dns.opcode  # noqa: E402
import dns.rcode  # noqa: E402

EXAMPLE = "example.com."
BIG = "big.example."
BIG_RECORDS = 200000


class ConnectionLimitTest(unittest.TestCase):
    """tcp_max_per_client is checked before tcp_max_connections; both close the new connection at
    once and never one in progress."""

    def setUp(self):
        hwtest.require_headwater("connection limits are Headwater's")
        self.hw = hwfaults.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE)],
                                     server_options={"tcp_max_connections": 8, "tcp_max_per_client": 4,
                                                     "tcp_idle_timeout": 2})
        self.addCleanup(self.hw.close)
        self.socks = []
        self.addCleanup(hwfaults.close_all, self.socks)
        self.hw.start()

    def open_from(self, source, n):
        out = [hwfaults.connect(self.hw.port, source) for _ in range(n)]
        self.socks += out
        time.sleep(0.3)
        return out

    def test_per_client_then_total(self):
        a = self.open_from("127.0.0.2", 6)
        self.assertEqual([hwfaults.closed_by_peer(s) for s in a], [False] * 4 + [True] * 2)
        b = self.open_from("127.0.0.3", 4)
        self.assertFalse(any(hwfaults.closed_by_peer(s) for s in b))
        # The pool (8) is full: a third address is turned away, and nobody already in is displaced.
        c = self.open_from("127.0.0.4", 1)
        self.assertTrue(hwfaults.closed_by_peer(c[0]))
        self.assertFalse(any(hwfaults.closed_by_peer(s) for s in a[:4] + b))
        log = self.hw.log()
        self.assertIn("tcp_max_per_client", log)
        self.assertIn("tcp_max_connections", log)
        # One in use answers queries meanwhile.
        q = dns.message.make_query(EXAMPLE, "SOA")
        hwtest.tcp_send(b[0], q.to_wire())
        self.assertEqual(dns.message.from_wire(hwtest.tcp_recv(b[0])).rcode(), dns.rcode.NOERROR)
        # Room again once some close.
        for s in a[:4]:
            s.close()
        time.sleep(0.3)
        r = hwtest.query(self.hw.port, EXAMPLE, "SOA", tcp=True, source="127.0.0.4")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)

    def test_idle_timeout(self):
        # A connection that never sends a query, and one that sends half a length prefix.
        silent, = self.open_from("127.0.0.5", 1)
        slow, = self.open_from("127.0.0.6", 1)
        slow.sendall(b"\x00")
        t0 = time.monotonic()
        self.assertFalse(hwfaults.closed_by_peer(silent))
        hwtest.wait_for(lambda: hwfaults.closed_by_peer(silent) and hwfaults.closed_by_peer(slow), 6, interval=0.05,
                        what="idle connections closed")
        waited = time.monotonic() - t0
        self.assertGreater(waited, 1.0)
        self.assertLess(waited, 4.0)


class QuerySizeTest(unittest.TestCase):
    """max_query_size: a longer TCP length prefix closes the connection before anything is read; a
    longer UDP datagram is dropped; queries up to the limit are answered."""

    LIMIT = 1024

    def setUp(self):
        hwtest.require_headwater("max_query_size is Headwater's")
        self.hw = hwfaults.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE)],
                                     server_options={"max_query_size": self.LIMIT, "tcp_idle_timeout": 30})
        self.addCleanup(self.hw.close)
        self.hw.start()

    def padded_query(self, size):
        """An SOA query padded (EDNS option 12, RFC 7830) to exactly `size` octets."""
        base = dns.message.make_query(EXAMPLE, "SOA", use_edns=0,
                                      options=[dns.edns.GenericOption(12, b"")]).to_wire()
        q = dns.message.make_query(EXAMPLE, "SOA", use_edns=0,
                                   options=[dns.edns.GenericOption(12, b"\0" * (size - len(base)))])
        wire = q.to_wire()
        assert len(wire) == size
        return wire

    def test_tcp(self):
        ok = socket.create_connection((hwtest.ADDR, self.hw.port), timeout=5)
        hwtest.tcp_send(ok, self.padded_query(self.LIMIT))
        self.assertEqual(dns.message.from_wire(hwtest.tcp_recv(ok)).rcode(), dns.rcode.NOERROR)
        ok.close()
        # 65535 announced (and never sent): closed at once, not after the idle timeout.
        big = socket.create_connection((hwtest.ADDR, self.hw.port), timeout=5)
        big.sendall(struct.pack("!H", 65535) + b"\0" * 100)
        t0 = time.monotonic()
        self.assertTrue(hwfaults.closed_by_peer(big, wait=3))
        self.assertLess(time.monotonic() - t0, 2)
        big.close()
        over = socket.create_connection((hwtest.ADDR, self.hw.port), timeout=5)
        hwtest.tcp_send(over, self.padded_query(self.LIMIT + 1))
        self.assertTrue(hwfaults.closed_by_peer(over, wait=3))
        over.close()
        self.assertIn("max_query_size", self.hw.log())

    def test_udp(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.5)
            s.sendto(self.padded_query(self.LIMIT + 200), (hwtest.ADDR, self.hw.port))
            with self.assertRaises(socket.timeout):
                s.recv(65535)
            s.sendto(self.padded_query(self.LIMIT), (hwtest.ADDR, self.hw.port))
            self.assertEqual(dns.message.from_wire(s.recv(65535)).rcode(), dns.rcode.NOERROR)


class TransferLimitTest(unittest.TestCase):
    """max_transfers: taken only by requests the ACL and TSIG allowed; one more is answered SERVFAIL,
    logged and shown as a refused transfer with its reason; slots come back when transfers end. The
    write timeout is per message: a slow but live reader is never cut."""

    WRITE_TIMEOUT = 1

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("transfer limits are Headwater's")
        cls.tmp = hwtest.tempdir("xfr-limit")
        cls.addClassCleanup(hwtest.cleanup_dir, cls.tmp)
        path = hwtest.generate_zone(cls.tmp / "big.zone", BIG, BIG_RECORDS, 5)
        cls.hw = hwfaults.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE), hwtest.ZoneConf(BIG, path)],
                                    acl_networks=("127.0.0.1/32", "127.0.0.4/32"),
                                    server_options={"max_transfers": 2, "tcp_write_timeout": cls.WRITE_TIMEOUT})
        cls.addClassCleanup(cls.hw.close)
        cls.hw.start(timeout=60)
        hwtest.wait_for(lambda: hwtest.soa_serial(cls.hw.port, BIG) == 5, 60, what="the big zone")

    def axfr_rcode(self, zone, source):
        with socket.create_connection((hwtest.ADDR, self.hw.port), timeout=10,
                                      source_address=(source, 0)) as s:
            hwtest.tcp_send(s, dns.message.make_query(zone, "AXFR").to_wire())
            m = dns.message.from_wire(hwtest.tcp_recv(s))
            return m

    def test_limit_servfail_and_release(self):
        # Two slow transfers hold both slots: their readers take one message every 0.2 s, well within the
        # write timeout, so they stay alive as long as this test needs them.
        holders = [hwfaults.start_stalled_axfr(self.hw.port, BIG), hwfaults.start_stalled_axfr(self.hw.port, BIG)]
        stop = threading.Event()

        def trickle(sock):
            try:
                while not stop.wait(0.2):
                    hwtest.tcp_recv(sock)
            except (OSError, EOFError):
                pass

        readers = [threading.Thread(target=trickle, args=(s,), daemon=True) for s in holders]
        for r in readers:
            r.start()
        try:
            m = self.axfr_rcode(EXAMPLE, hwtest.ADDR)
            self.assertEqual(m.rcode(), dns.rcode.SERVFAIL)
            self.assertEqual(str(m.question[0].name), EXAMPLE)  # the question is echoed
            # A peer the ACL refuses gets REFUSED, not SERVFAIL: it never competes for a slot.
            self.assertEqual(self.axfr_rcode(EXAMPLE, "127.0.0.9").rcode(), dns.rcode.REFUSED)
            # Answers that need no slot go on: SOA, and an IXFR from a client already up to date (the
            # single SOA, RFC 1995 section 2).
            self.assertEqual(hwtest.soa_serial(self.hw.port, EXAMPLE, tcp=True), hwtest.EXAMPLE_SERIAL)
            rcode, rrs = hwfaults.ixfr(self.hw.port, EXAMPLE, hwfaults.bare_soa(hwtest.EXAMPLE_SERIAL), timeout=10)
            self.assertEqual(rcode, dns.rcode.NOERROR)
            self.assertEqual([(rr[1], hwfaults.soa_serial_of(rr)) for rr in rrs],
                             [(hwfaults.SOA, hwtest.EXAMPLE_SERIAL)])
            rc, doc, out, err = self.hw.ctl("secondaries", EXAMPLE)
            self.assertEqual(rc, 0, out + err)
            last = {p["address"]: p for p in doc["secondaries"]}[hwtest.ADDR]["last_transfer"]
            self.assertEqual(last["outcome"], "refused", last)
            self.assertIn("transfer limit", last["error"])
            self.assertIn("max_transfers", last["error"])
            lines = hwtest.transfer_log(self.hw.log(), EXAMPLE, outcome="refused", rcode="SERVFAIL")
            self.assertTrue(lines, self.hw.proc.log_tail())
            self.assertIn("transfer limit", lines[-1]["reason"])
            time.sleep(2 * self.WRITE_TIMEOUT)  # still held: slow readers are not cut
            self.assertEqual(self.axfr_rcode(EXAMPLE, hwtest.ADDR).rcode(), dns.rcode.SERVFAIL)
        finally:
            stop.set()
            for r in readers:
                r.join(5)
            for s in holders:
                s.close()
        # Closing the readers ends their transfers (a failed write) and gives the slots back.
        hwtest.wait_for(lambda: self.axfr_rcode(EXAMPLE, hwtest.ADDR).rcode() == dns.rcode.NOERROR, 10,
                        what="a slot after the holders went away")

    def test_slow_live_reader_is_never_cut(self):
        # A reader that takes one message every 40 ms with a small window: the whole transfer lasts
        # several write timeouts, but every single message is taken well within one.
        s = hwfaults.connect(self.hw.port, "127.0.0.4", rcvbuf=16384, timeout=30)
        started = time.monotonic()
        hwtest.tcp_send(s, dns.message.make_query(BIG, "AXFR").to_wire())
        records = 0
        soas = 0
        messages = 0
        while soas < 2:
            wire = hwtest.tcp_recv(s)
            messages += 1
            for rr in hwfaults.message_rrs(wire):
                records += 1
                soas += rr[1] == hwfaults.SOA
            time.sleep(0.04)
        s.close()
        elapsed = time.monotonic() - started
        self.assertEqual(records, BIG_RECORDS + 1)
        self.assertGreater(elapsed, 3 * self.WRITE_TIMEOUT)

        def ok_line():
            return hwtest.transfer_log(self.hw.log(), BIG, peer=r"127\.0\.0\.4#\d+", outcome="ok")

        line = hwtest.wait_for(ok_line, 5, what="the slow transfer's log line")[-1]
        print(f"\n  {messages} messages read over {elapsed:.1f}s; server side duration_ms={line['duration_ms']} "
              f"with tcp_write_timeout = {self.WRITE_TIMEOUT}s", file=sys.stderr)
        self.assertGreater(int(line["duration_ms"]), 2000 * self.WRITE_TIMEOUT)


class NotifyInFlightTest(unittest.TestCase):
    """notify_max_in_flight: at most that many targets wait for an answer at once; the others start as
    answers come."""

    TARGETS = 6
    LIMIT = 2

    def setUp(self):
        hwtest.require_headwater("notify_max_in_flight is Headwater's")
        self.targets = []
        self.addCleanup(hwfaults.close_all, self.targets)
        for _ in range(self.TARGETS):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((hwtest.ADDR, 0))
            s.settimeout(0.1)
            self.targets.append(s)
        zone = hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE,
                               notify=[f"{hwtest.ADDR}:{s.getsockname()[1]}" for s in self.targets],
                               notify_options={"notify_retries": 10, "notify_retry_interval": 2,
                                               "notify_delay": 0})
        self.hw = hwfaults.Headwater([zone], server_options={"notify_max_in_flight": self.LIMIT})
        self.addCleanup(self.hw.close)
        self.hw.start()

    def receive(self, wait):
        """{target index: [NOTIFY messages]} received within `wait` seconds."""
        got = {}
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            r, _, _ = select.select(self.targets, [], [], max(0.0, deadline - time.monotonic()))
            for s in r:
                data, peer = s.recvfrom(65535)
                m = dns.message.from_wire(data)
                self.assertEqual(m.opcode(), dns.opcode.NOTIFY)
                got.setdefault(self.targets.index(s), []).append((m, peer))
        return got

    def test_targets_wait_their_turn(self):
        first = self.receive(1.0)
        self.assertEqual(len(first), self.LIMIT, f"targets notified at once: {sorted(first)}")
        answered = set()
        pending = {i: msgs[-1] for i, msgs in first.items()}
        while len(answered) < self.TARGETS:
            # Answer one; exactly one more target may start.
            i, (m, peer) = next(iter(pending.items()))
            del pending[i]
            self.targets[i].sendto(dns.message.make_response(m).to_wire(), peer)
            answered.add(i)
            more = self.receive(0.6)
            new = {k: v for k, v in more.items() if k not in answered and k not in pending}
            in_flight = len(pending) + len(new)
            self.assertLessEqual(in_flight, self.LIMIT, f"in flight: {sorted(pending)} + {sorted(new)}")
            for k, msgs in new.items():
                pending[k] = msgs[-1]
            if len(answered) + len(pending) < self.TARGETS:
                self.assertEqual(in_flight, self.LIMIT, "a slot stayed empty while targets waited")
            for k, msgs in more.items():
                if k in pending:
                    pending[k] = msgs[-1]  # a retry carries a new ID
        rc, doc, out, err = self.hw.ctl("secondaries", EXAMPLE)
        self.assertEqual(rc, 0, out + err)

        def all_acked():
            rc, doc, _, _ = self.hw.ctl("secondaries", EXAMPLE)
            return rc == 0 and all(t["acknowledged_serial"] == hwtest.EXAMPLE_SERIAL for t in doc["notify"])

        hwtest.wait_for(all_acked, 5, what="every target acknowledged")


if __name__ == "__main__":
    hwtest.main()
