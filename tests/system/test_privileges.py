#!/usr/bin/python3
"""Least privilege (server.user): started as root, Headwater binds port 53 and its control socket,
then runs as server.user; a user that does not exist, root itself, or a switch without root are clear
errors before anything is bound."""

import os
import random
import socket
import stat
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwfaults  # noqa: E402
import hwtest  # noqa: E402

import dns.rcode  # noqa: E402

EXAMPLE = "example.com."


def free_port53_address():
    """A 127.0.0.x where UDP and TCP port 53 are both free (the whole of 127/8 is local on Linux)."""
    for _ in range(50):
        addr = f"127.0.{random.randint(1, 254)}.{random.randint(2, 254)}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind((addr, 53))
                t.bind((addr, 53))
            return addr
        except OSError:
            continue
    raise unittest.SkipTest("no loopback address with port 53 free")


class DropTest(unittest.TestCase):
    def setUp(self):
        hwtest.require_headwater("server.user is Headwater's")
        if not hwfaults.is_root():
            hwfaults.cannot_run("binding port 53 and switching users needs root")
        self.uid, self.gid, self.user, self.group = hwfaults.nobody()
        self.hw = None

    def tearDown(self):
        if self.hw:
            self.hw.close()

    def make(self, **options):
        hw = hwfaults.Headwater([hwtest.ZoneConf(EXAMPLE, hwtest.EXAMPLE_ZONE)], control_socket="ctl/headwater.sock",
                                server_options=options)
        hwfaults.open_to_all(hw.dir)  # the files must be reachable by the user it becomes
        return hw

    def test_binds_port_53_then_runs_as_nobody(self):
        addr = free_port53_address()
        self.hw = self.make(user=self.user)
        self.hw.addr, self.hw.port = addr, 53
        self.hw.start()
        pid = self.hw.proc.pid

        status = hwfaults.proc_status(pid)
        self.assertEqual(status["Uid"].split(), [str(self.uid)] * 4)  # real, effective, saved, filesystem
        self.assertEqual(status["Gid"].split(), [str(self.gid)] * 4)
        self.assertEqual(status["Groups"].split(), [str(self.gid)])
        self.assertEqual(int(status["CapEff"], 16), 0)
        self.assertEqual(int(status["CapPrm"], 16), 0)
        self.assertEqual(status.get("NoNewPrivs"), "1")
        self.assertIn(f"running as user {self.user}", self.hw.log())

        # It answers on port 53, over UDP and TCP, and transfers (to 127.0.0.1, in the ACL).
        self.assertEqual(hwtest.soa_serial(53, EXAMPLE, where=addr), hwtest.EXAMPLE_SERIAL)
        self.assertEqual(hwtest.soa_serial(53, EXAMPLE, where=addr, tcp=True), hwtest.EXAMPLE_SERIAL)
        soa, content = hwfaults.axfr_set(53, EXAMPLE, where=addr)
        self.assertEqual(len(content), len(hwtest.zone_file_rrs(hwtest.EXAMPLE_ZONE, EXAMPLE)))

        # What it writes after the switch is the user's: the control socket, the state, a new journal
        # entry after a reload.
        for p in (self.hw.socket_path, self.hw.socket_path.parent, self.hw.dir / "state",
                  self.hw.dir / "state" / "zones"):
            self.assertEqual(os.lstat(p).st_uid, self.uid, p)
        self.assertEqual(stat.S_IMODE(os.lstat(self.hw.socket_path).st_mode), 0o600)
        path = self.hw.zone_path(EXAMPLE)
        path.write_text(hwtest.set_soa_serial(path.read_text(), hwtest.EXAMPLE_SERIAL + 1))
        rc, doc, out, err = self.hw.ctl("reload")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(hwtest.soa_serial(53, EXAMPLE, where=addr), hwtest.EXAMPLE_SERIAL + 1)
        rc, doc, out, err = self.hw.ctl("journal", EXAMPLE)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(doc["entries"]), 1)
        self.assertEqual(os.stat(doc["journal"]).st_uid, self.uid)

        # A clean stop removes its socket (its directory is the user's).
        self.assertEqual(self.hw.stop(), 0)
        self.assertFalse(self.hw.socket_path.exists())
        # And it starts again on the state it left (now all the user's).
        self.hw.restart()
        self.assertEqual(hwtest.soa_serial(53, EXAMPLE, where=addr), hwtest.EXAMPLE_SERIAL + 1)

    def run_fail(self, argv_prefix=(), **options):
        if self.hw:
            self.hw.close()
        hw = self.make(**options)
        self.hw = hw
        hw.write_config()
        argv = list(argv_prefix) + [hwtest.headwater_bin(), "--config", str(hw.config_path)]
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=hw.dir)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertNotIn("serving", p.stderr)  # nothing was bound
        self.assertFalse(hw.socket_path.exists())
        return p.stderr

    def test_unknown_user_is_an_error_before_binding(self):
        err = self.run_fail(user="hw-no-such-user")
        self.assertIn('server.user: no user "hw-no-such-user"', err)
        err = self.run_fail(user=self.user, group="hw-no-such-group")
        self.assertIn('server.group: no group "hw-no-such-group"', err)
        # --check-config says so too.
        p = subprocess.run([hwtest.headwater_bin(), "--check-config", str(self.hw.config_path)], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("no group", p.stderr)

    def test_root_is_refused_as_the_user(self):
        err = self.run_fail(user="root")
        self.assertIn("is root", err)

    def test_switching_needs_root(self):
        # Started as nobody, asked to become daemon: refused, with the reason.
        prefix = hwfaults.as_user_argv(self.user, [])
        if prefix is None:
            hwfaults.cannot_run("neither setpriv nor runuser is installed")
        err = self.run_fail(argv_prefix=prefix, user="daemon")
        self.assertIn("only root can switch", err)

    def test_already_the_user_is_fine(self):
        # systemd's User= with the same user in the config: nothing to switch, it just runs.
        prefix = hwfaults.as_user_argv(self.user, [])
        if prefix is None:
            hwfaults.cannot_run("neither setpriv nor runuser is installed")
        self.hw = self.make(user=self.user)
        subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", str(self.hw.dir)], check=True)
        self.hw.write_config()
        self.hw.proc = hwtest.Process(prefix + [hwtest.headwater_bin(), "--config", str(self.hw.config_path)],
                                      self.hw.dir / "server.log", cwd=self.hw.dir)
        self.hw.wait_ready()
        self.assertIn(f"running as user {self.user}", self.hw.log())
        self.assertEqual(hwfaults.proc_status(self.hw.proc.pid)["Uid"].split()[0], str(self.uid))
        r = hwtest.query(self.hw.port, EXAMPLE, "SOA")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)


if __name__ == "__main__":
    hwtest.main()
