#!/usr/bin/python3
"""Broken files and storage (fault handling): a zone file replaced by garbage or by something that
cannot be read, kill -9 during reloads and journal writes, and a state directory that is full or
read-only. The served version, the journal and the IXFR history must never be wrong: a failed reload
changes nothing, and after a crash the last committed version and its whole history are served."""

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwfaults  # noqa: E402
import hwtest  # noqa: E402

import dns.name  # noqa: E402

GEN = "gen.example."
GEN_SERIAL = 100


def replace_file(path, data):
    """Atomically puts `data` (bytes or text) at `path`, as a deploy tool would."""
    path = Path(path)
    tmp = path.with_name(path.name + ".new")
    if isinstance(data, str):
        data = data.encode()
    tmp.write_bytes(data)
    os.replace(tmp, path)


def zone_entry(doc, zone):
    for z in doc.get("zones", []):
        if z.get("name", "").lower() == zone.lower():
            return z
    raise AssertionError(f"{zone} not in {doc}")


def settle(hw, zone, quiet=0.4, timeout=20):
    """Waits until the state directory stops changing: the snapshot of a new version is written in the
    background after the reload answered (zone/Zone.h), and a test comparing files byte for byte must not
    race it."""
    zones_dir = hw.dir / "state" / "zones"

    def fingerprint():
        if not zones_dir.is_dir():
            return ()
        return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in zones_dir.iterdir()))

    deadline = time.monotonic() + timeout
    last = fingerprint()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = fingerprint()
        if now == last and not any(name.endswith(".headwater-tmp") for name, _, _ in now):
            return
        last = now
    raise AssertionError(f"the state directory of {zone} kept changing")


class StateSnapshot:
    """What must not change when a reload fails: the served serial and content, the journal and the
    snapshot files byte for byte."""

    def __init__(self, hw, zone):
        self.hw, self.zone = hw, zone
        settle(hw, zone)
        stem = zone.rstrip(".")
        zones_dir = hw.dir / "state" / "zones"
        self.files = sorted(p for p in zones_dir.iterdir() if p.name.startswith(stem) and
                            p.suffix in (".journal", ".snapshot")) if zones_dir.is_dir() else []
        self.bytes = {p: p.read_bytes() for p in self.files}
        self.soa, self.content = hwfaults.axfr_set(hw.port, zone)

    def assert_unchanged(self, test):
        test.assertTrue(self.hw.proc.alive(), self.hw.proc.log_tail())
        soa, content = hwfaults.axfr_set(self.hw.port, self.zone)
        test.assertEqual(soa, self.soa, "the served SOA changed")
        test.assertEqual(content, self.content, "the served content changed")
        for p, data in self.bytes.items():
            test.assertEqual(p.read_bytes(), data, f"{p.name} changed")


class ZoneFileFaultTest(unittest.TestCase):
    """A zone file replaced by garbage, or by something that cannot be read: the reload fails with the
    reason, the old version keeps serving, the journal and snapshot are unchanged."""

    def setUp(self):
        hwtest.require_headwater("reload outcomes are Headwater's")
        self.tmp = hwtest.tempdir("zonefile-faults")
        self.addCleanup(hwtest.cleanup_dir, self.tmp)
        gen = hwtest.generate_zone(self.tmp / "gen.zone", GEN, 300, GEN_SERIAL)
        self.hw = hwfaults.Headwater([hwtest.ZoneConf(GEN, gen)])
        self.addCleanup(self.hw.close)
        self.hw.start()
        self.path = self.hw.zone_path(GEN)
        # One good change first, so the journal has an entry to keep intact.
        self.good = hwtest.set_soa_serial(self.path.read_text(), GEN_SERIAL + 1) + \
            f"added.{GEN} 300 IN TXT \"second version\"\n"
        replace_file(self.path, self.good)
        rc, doc, out, err = self.hw.ctl("reload", GEN)
        self.assertEqual(rc, 0, out + err)

    def reload_fails(self, *reason_parts):
        t0 = time.monotonic()
        rc, doc, out, err = self.hw.ctl("reload", GEN, timeout=20)
        self.assertLess(time.monotonic() - t0, 10, "the reload hung")
        self.assertEqual(rc, 1, out + err)
        entry = zone_entry(doc, GEN)
        self.assertEqual(entry["outcome"], "error")
        self.assertEqual(entry["serial"], GEN_SERIAL + 1)
        for part in reason_parts:
            self.assertIn(part, entry["error"])
        rc, status, out, err = self.hw.ctl("status", GEN)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(zone_entry(status, GEN)["last_error"], entry["error"])
        return entry["error"]

    def restore(self):
        if self.path.is_dir() and not self.path.is_symlink():
            self.path.rmdir()
        elif self.path.exists() or self.path.is_symlink():
            self.path.unlink()
        self.path.write_text(self.good)
        rc, doc, out, err = self.hw.ctl("reload", GEN)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(zone_entry(doc, GEN)["outcome"], "unchanged")

    def test_garbage_and_unreadable_files(self):
        before = StateSnapshot(self.hw, GEN)
        self.assertTrue(any(p.suffix == ".journal" and p.stat().st_size > 64 for p in before.files), before.files)
        rng = random.Random(7)
        text_garbage = "".join(rng.choice("abcdefgh ;()\"\\$.\t\n0123456789") for _ in range(5000))
        cases = [
            ("text garbage", lambda: replace_file(self.path, text_garbage), [str(self.path)]),
            ("binary garbage", lambda: replace_file(self.path, rng.randbytes(20000)), [str(self.path)]),
            ("a bad record after good ones",
             lambda: replace_file(self.path, self.good + "broken 300 IN A 999.1.2.3\n"),
             [f"{self.path}:{len(self.good.splitlines()) + 1}"]),
            ("empty", lambda: replace_file(self.path, b""), ["SOA"]),
            ("cut in half", lambda: replace_file(self.path, self.good[:len(self.good) // 2]), []),
            ("a directory", lambda: (self.path.unlink(), self.path.mkdir()), ["Is a directory"]),
            ("a FIFO", lambda: (self.path.unlink(), os.mkfifo(self.path)), ["not a regular file"]),
            ("a dangling symlink", lambda: (self.path.unlink(), self.path.symlink_to(self.tmp / "nowhere")),
             ["No such file or directory"]),
            ("removed", lambda: self.path.unlink(), ["No such file or directory"]),
        ]
        for what, break_it, reason in cases:
            with self.subTest(what):
                break_it()
                error = self.reload_fails(*reason)
                print(f"\n  {what}: {error[:150]}", file=sys.stderr, end="")
                before.assert_unchanged(self)
                self.restore()
        # SIGHUP takes the same path: the error is logged, nothing changes.
        replace_file(self.path, text_garbage)
        self.hw.proc.signal(signal.SIGHUP)
        hwtest.wait_for(lambda: "outcome=error" in self.hw.log().split("SIGHUP")[-1], 10, what="the SIGHUP error")
        before.assert_unchanged(self)
        print(file=sys.stderr)

    def test_unreadable_file(self):
        """chmod 000: root reads anyway, so as root the server runs as 'nobody' (server.user) for this."""
        if hwfaults.is_root():
            # A second server that drops to nobody; its files must be reachable by nobody.
            self.hw.close()
            self.hw = hwfaults.Headwater([hwtest.ZoneConf(GEN, self.tmp / "gen.zone")],
                                         control_socket="ctl/headwater.sock", server_options={"user": "nobody"})
            self.addCleanup(self.hw.close)
            hwfaults.open_to_all(self.hw.dir)
            self.hw.start()
            self.path = self.hw.zone_path(GEN)
            replace_file(self.path, self.good)
            self.path.chmod(0o644)
            rc, doc, out, err = self.hw.ctl("reload", GEN)
            self.assertEqual(rc, 0, out + err)
        before = StateSnapshot(self.hw, GEN)
        self.path.chmod(0)
        try:
            self.reload_fails("Permission denied")
            before.assert_unchanged(self)
        finally:
            self.path.chmod(0o644)
        rc, doc, out, err = self.hw.ctl("reload", GEN)
        self.assertEqual(rc, 0, out + err)


# ---- kill -9 ---------------------------------------------------------------------------------------
class KillTest(unittest.TestCase):
    """kill -9 at random points of reloads of a big zone, during journal writes (found by watching the
    journal grow), with a torn tail added to the journal, and during start-up: after every restart the
    served version is one that was committed, complete, and IXFR from every journaled serial gives it."""

    ZONE = "kill.example."
    RECORDS = 150000
    BASE_SERIAL = 1000

    def setUp(self):
        hwtest.require_headwater("journal recovery is Headwater's")
        self.tmp = hwtest.tempdir("kill")
        self.addCleanup(hwtest.cleanup_dir, self.tmp)
        self.base_text = hwtest.generate_zone(self.tmp / "kill.zone", self.ZONE, self.RECORDS,
                                              self.BASE_SERIAL).read_text()
        # serial_policy keep: the older file put back after a kill (below) must be refused, not given a
        # bumped serial, so that what is served after the restart is exactly what was committed.
        self.hw = hwfaults.Headwater([hwtest.ZoneConf(self.ZONE, self.tmp / "kill.zone",
                                                      notify_options={"serial_policy": "keep"})])
        self.addCleanup(self.hw.close)
        self.extras = {self.BASE_SERIAL: 0}  # serial -> number of bulk records in that version
        self.hw.start(timeout=60)
        self.path = self.hw.zone_path(self.ZONE)
        soa, content = hwfaults.axfr_set(self.hw.port, self.ZONE)
        self.base_soa = soa
        self.base = content - {soa}

    def bulk(self, serial, i):
        return f"bulk-{serial}-{i}.{self.ZONE}"

    def version_text(self, serial):
        lines = [hwtest.set_soa_serial(self.base_text, serial)]
        lines += [f"{self.bulk(serial, i)} 300 IN A 10.{serial % 250}.{i // 250}.{i % 250}\n"
                  for i in range(self.extras[serial])]
        return "".join(lines)

    def expected(self, serial):
        out = set(self.base)
        out.add(hwfaults.with_serial(self.base_soa, serial))
        for i in range(self.extras[serial]):
            owner = dns.name.from_text(self.bulk(serial, i)).to_wire().lower()
            out.add((owner, 1, 1, 300, bytes([10, serial % 250, i // 250, i % 250])))
        return out

    def journal(self):
        rc, doc, out, err = self.hw.ctl("journal", self.ZONE)
        self.assertEqual(rc, 0, out + err)
        return doc

    def check_served(self, allowed):
        """The served version is one of `allowed`, served whole, with a consistent IXFR history."""
        soa, content = hwfaults.axfr_set(self.hw.port, self.ZONE)
        serial = hwfaults.soa_serial_of(soa)
        self.assertIn(serial, allowed, f"serving {serial}, committed could only be {allowed}")
        self.assertEqual(content, self.expected(serial), f"version {serial} is not served whole")
        doc = self.journal()
        entries = doc["entries"]
        self.assertTrue(entries, "the history is gone")
        for a, b in zip(entries, entries[1:]):
            self.assertEqual(a["to"], b["from"], f"the journal has a gap: {entries}")
        self.assertEqual(entries[-1]["to"], serial)
        # IXFR from every journaled serial (RFC 1995): applied to what that client holds, it gives
        # exactly the served version.
        for e in entries:
            start = self.expected(e["from"])
            rcode, rrs = hwfaults.ixfr(self.hw.port, self.ZONE, hwfaults.with_serial(self.base_soa, e["from"]))
            self.assertEqual(rcode, 0)
            self.assertEqual(hwfaults.apply_ixfr(start, rrs), content, f"IXFR from {e['from']}")
        return serial, len(entries)

    def kill_reload(self, committed, extras, how, rng):
        target = committed + 1
        self.extras[target] = extras
        replace_file(self.path, self.version_text(target))
        journal = Path(self.journal()["journal"])
        size_before = journal.stat().st_size
        self.hw.proc.signal(signal.SIGHUP)
        if how == "journal":
            deadline = time.monotonic() + 20
            while journal.stat().st_size == size_before and time.monotonic() < deadline:
                pass
            grew = journal.stat().st_size - size_before
            self.assertGreater(grew, 0, "the reload wrote nothing to the journal within 20 s: no kill during a write")
        elif how == "committed":
            # Right after the reload answered: the journal has the change, the snapshot of the new
            # version is still being written in the background (or not even started).
            hwtest.wait_for(lambda: f"serial={target}" in self.hw.log().rsplit("SIGHUP", 1)[-1], 20, interval=0.001,
                            what="the reload to finish")
            grew = journal.stat().st_size - size_before
        else:
            time.sleep(rng.uniform(0, self.reload_seconds * 3))
            grew = None
        self.hw.kill9()
        return target, grew

    def test_kill_during_reloads_and_journal_writes(self):
        seed = int(os.environ.get("HW_KILL_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        print(f"\n  seed {seed} (HW_KILL_SEED to repeat)", file=sys.stderr)
        # A first, clean reload: a history to keep, and how long a reload of this zone takes.
        self.extras[self.BASE_SERIAL + 1] = 500
        replace_file(self.path, self.version_text(self.BASE_SERIAL + 1))
        t0 = time.monotonic()
        rc, doc, out, err = self.hw.ctl("reload", self.ZONE)
        self.reload_seconds = time.monotonic() - t0
        self.assertEqual(rc, 0, out + err)
        committed, _ = self.check_served({self.BASE_SERIAL + 1})
        print(f"  a reload of {self.RECORDS} records takes {self.reload_seconds:.2f}s", file=sys.stderr)

        plan = ["random", "journal", "committed", "random", "journal+torn", "random", "committed+torn", "startup"]
        for step, how in enumerate(plan):
            if how == "startup":
                # Killed while starting (opening the journal, reading the snapshot, loading the file).
                self.hw.kill9()
                self.hw.restart(wait=False)
                time.sleep(rng.uniform(0.05, 1.0))
                self.hw.kill9()
                target, grew = committed, None
            else:
                extras = 30000 if how.startswith("journal") else rng.randint(100, 3000)
                target, grew = self.kill_reload(committed, extras, how.split("+")[0], rng)
            if how.endswith("torn"):
                # A crash while appending the next entry leaves a torn tail: it must be cut off.
                journal = Path(self.journal_path)
                with open(journal, "ab") as f:
                    f.write(rng.randbytes(rng.randint(1, 300)))
            # Put the file back to the last version known committed: what is served after the restart
            # is then what the state directory holds (a newer state wins over an older file).
            replace_file(self.path, self.version_text(committed))
            log_before = len(self.hw.log())
            self.hw.restart(timeout=60)
            served, history = self.check_served({committed, target})
            print(f"  {how}: killed{'' if grew is None else f' with the journal {grew} octets longer'}; "
                  f"restarted serving {served} ({'new' if served != committed else 'previous'} version), "
                  f"{history} journal entries, IXFR from each checked", file=sys.stderr)
            if how.endswith("torn"):
                self.assertIn("journal recovered", self.hw.log()[log_before:])
            if how.startswith("committed"):
                self.assertEqual(served, target, "a reload that answered was lost")
            committed = served
            self.journal_path = self.journal()["journal"]
        self.assertTrue(self.hw.proc.alive())

    journal_path = None


# ---- the state directory full or read-only ---------------------------------------------------------------
class StateDirFaultTest(unittest.TestCase):
    """A state directory that is full (a file-size limit, or a small full tmpfs) or read-only (chattr
    +i): the reload fails cleanly and nothing already served changes; once the fault is gone, reloads
    work again."""

    def start(self, state_mount=None):
        self.tmp = hwtest.tempdir("statedir")
        gen = hwtest.generate_zone(self.tmp / "gen.zone", GEN, 2000, GEN_SERIAL)
        self.hw = hwfaults.Headwater([hwtest.ZoneConf(GEN, gen)])
        if state_mount:
            state_mount(self.hw.dir / "state")
        self.hw.start()
        self.path = self.hw.zone_path(GEN)
        self.serial = GEN_SERIAL
        self.change()  # a journal entry to keep intact

    def setUp(self):
        hwtest.require_headwater("journal and reload outcomes are Headwater's")
        self.tmp = self.hw = None
        self.mounted = None
        self.immutable = []

    def tearDown(self):
        for p in self.immutable:
            subprocess.run(["chattr", "-i", str(p)], capture_output=True)
        if self.hw:
            self.hw.close() if not self.mounted else self.hw.stop()
        if self.mounted:
            subprocess.run(["umount", str(self.mounted)], capture_output=True)
            hwtest.cleanup_dir(self.hw.dir)
        if self.tmp:
            hwtest.cleanup_dir(self.tmp)

    def change(self, expect_ok=True, *reason):
        """Writes the next version of the zone file and reloads; returns the reload's zone entry."""
        self.serial += 1
        text = hwtest.set_soa_serial(hwtest.generate_zone(self.tmp / "next.zone", GEN, 2000, 0).read_text(),
                                     self.serial)
        text += "".join(f"v{self.serial}-{i}.{GEN} 60 IN TXT \"{'x' * 200}\"\n" for i in range(50))
        replace_file(self.path, text)
        rc, doc, out, err = self.hw.ctl("reload", GEN)
        entry = zone_entry(doc, GEN)
        if expect_ok:
            self.assertEqual(rc, 0, out + err)
            self.assertEqual(entry["serial"], self.serial)
        else:
            self.assertEqual(rc, 1, out + err)
            self.assertEqual(entry["outcome"], "error")
            for part in reason:
                self.assertIn(part, entry["error"])
            self.serial -= 1
            self.assertEqual(entry["serial"], self.serial)
        return entry

    def journal_file(self):
        return Path(self.hw.ctl("journal", GEN)[1]["journal"])

    def assert_ixfr_from(self, before):
        """IXFR from the version `before` recorded, applied to its content, gives what is served now."""
        _, content = hwfaults.axfr_set(self.hw.port, GEN)
        rcode, rrs = hwfaults.ixfr(self.hw.port, GEN, before.soa)
        self.assertEqual(rcode, 0)
        self.assertEqual(hwfaults.apply_ixfr(before.content, rrs), content)
        return content

    def test_file_size_limit(self):
        """RLIMIT_FSIZE set on the running server (prlimit): writes past it fail with EFBIG instead of
        killing the server with SIGXFSZ."""
        import resource

        self.start()
        before = StateSnapshot(self.hw, GEN)
        limit = self.journal_file().stat().st_size + 64
        resource.prlimit(self.hw.proc.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        try:
            entry = self.change(False, "journal", "File too large")
            print(f"\n  {entry['error']}", file=sys.stderr)
            before.assert_unchanged(self)
        finally:
            resource.prlimit(self.hw.proc.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.change(True)
        self.assert_ixfr_from(before)

    def test_full_tmpfs(self):
        if not hwfaults.is_root():
            hwfaults.cannot_run("mounting a small tmpfs needs root")

        def mount(state):
            p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(state)],
                               capture_output=True, text=True)
            if p.returncode != 0:
                hwfaults.cannot_run(f"cannot mount a tmpfs here: {p.stderr.strip()}")
            self.mounted = state

        self.start(state_mount=mount)
        before = StateSnapshot(self.hw, GEN)
        filler = self.hw.dir / "state" / "filler"
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        entry = self.change(False, "No space left on device")
        print(f"\n  {entry['error']}", file=sys.stderr)
        before.assert_unchanged(self)
        filler.unlink()
        self.change(True)
        self.assert_ixfr_from(before)

    def chattr(self, path):
        p = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if p.returncode != 0:
            hwfaults.cannot_run(f"chattr +i does not work here ({p.stderr.strip() or 'no root?'}); "
                                "a read-only state directory cannot be made")
        self.immutable.append(path)

    def unchattr(self):
        for p in self.immutable:
            subprocess.run(["chattr", "-i", str(p)], check=True, capture_output=True)
        self.immutable = []

    def test_read_only(self):
        if shutil.which("chattr") is None:
            hwfaults.cannot_run("chattr is not installed")
        self.start()
        zones_dir = self.hw.dir / "state" / "zones"
        before = StateSnapshot(self.hw, GEN)
        # Everything read-only, the open journal included (chattr +i also stops writes through open
        # descriptors, which chmod would not, and root ignores modes).
        for p in [self.journal_file()] + [zones_dir]:
            self.chattr(p)
        entry = self.change(False, "journal", "Operation not permitted")
        print(f"\n  {entry['error']}", file=sys.stderr)
        before.assert_unchanged(self)
        self.unchattr()

        # Only the directory read-only: the journal takes the change (committed), the snapshot cannot be
        # written. Served at once, and after a kill -9 and a restart too, with its history.
        snapshot = zones_dir / "gen.example.snapshot"
        old_snapshot = snapshot.read_bytes()
        self.chattr(zones_dir)
        self.change(True)
        served, content = hwfaults.axfr_set(self.hw.port, GEN)
        self.assertEqual(hwfaults.soa_serial_of(served), self.serial)
        time.sleep(1)  # the background snapshot writer fails meanwhile
        self.assertEqual(snapshot.read_bytes(), old_snapshot)
        self.hw.kill9()
        self.unchattr()
        self.hw.restart()
        self.assertEqual(hwfaults.axfr_set(self.hw.port, GEN), (served, content))
        self.assert_ixfr_from(before)


if __name__ == "__main__":
    hwtest.main()
