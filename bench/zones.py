#!/usr/bin/python3
"""Many small zones: Headwater beside Knot and NSD loading the same zones, on loopback.

    /usr/bin/python3 bench/zones.py --zones 100000 [--records 10] [--servers headwater,knot,nsd]

The zones (z000000.bench. ..., SOA, NS and `--records - 2` A/TXT records each) are written once to a
temporary directory; each server is then started alone (never two at once) with a config listing every
zone, and measured:

- start: seconds from the exec to every zone answering (the SOA of every zone, asked over UDP in
  order by bench/soa_poll.c, compiled with the system's `cc`; a zone not served yet is asked again
  until it is; a few names are asked from Python itself, without starting the poller);
- RSS: the server's resident memory once it has settled, summed over its processes (NSD forks), in
  MiB (PSS where the kernel has it, so shared pages are not counted twice). Settled: its CPU time still
  for 2 s (what a server does in the background after a start, such as writing state, is over), at most
  120 s after every zone answered; "peak" is the largest RSS it had (VmHWM, the main process);
- reload: one zone's file edited (new serial), the server told to reload that zone, seconds until
  its SOA shows the new serial (Headwater: headwaterctl reload ZONE; Knot: knotc zone-reload ZONE);
- add: one zone added to the config (written before the clock starts), the server told to re-read
  it, seconds until the new zone answers (Headwater: headwaterctl reconfigure; Knot: knotc reload).
  NSD: n/a (nsd-control needs TLS certificates; a HUP re-reads every zone).

Binaries: HEADWATER_BIN / HEADWATERCTL_BIN, default build/server/headwater and build/tools/headwaterctl.
"""

import argparse
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "lib"))
import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
from hwtest import _die_with_parent, free_port  # noqa: E402
from hwpeers import nsd_server_conf  # noqa: E402


ADDR = "127.0.0.1"
SERIAL = 2026120501


def zone_name(i):
    return f"z{i:06d}.bench."


def zone_text(name, serial, records):
    lines = [f"$ORIGIN {name}", "$TTL 3600", f"@ SOA ns1 hostmaster {serial} 3600 600 864000 300", "@ NS ns1",
             "ns1 A 192.0.2.1"]
    for r in range(max(records - 3, 0)):
        lines.append(f"h{r} A 198.51.100.{r % 250 + 1}" if r % 2 == 0 else f'h{r} TXT "record {r} of {name}"')
    return "\n".join(lines) + "\n"


_POLLER = None


def poller():
    """bench/soa_poll.c, compiled once per run (into a temporary directory, removed at exit) with the
    system's C compiler."""
    global _POLLER
    if _POLLER is None:
        where = tempfile.mkdtemp(prefix="hw-bench-poll-")
        atexit.register(shutil.rmtree, where, True)
        out = Path(where) / "soa-poll"
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", str(out), str(REPO / "bench" / "soa_poll.c")],
                       check=True)
        _POLLER = out
    return _POLLER


# Up to this many names are asked from Python itself: starting the poller costs 10-20 ms on a slow VM,
# which the reload and add rows (one name each) would otherwise count as the server's.
FEW = 8


def soa_serial_here(port, name):
    """What soa-poll prints for `name`: its serial, "?" (answered, not an authoritative NOERROR with the
    zone's SOA first) or "-" (no answer within 50 ms)."""
    q = dns.message.make_query(name, dns.rdatatype.SOA)
    try:
        r = dns.query.udp(q, ADDR, port=port, timeout=0.05)
    except (dns.exception.Timeout, OSError):
        return "-"
    if (r.rcode() != dns.rcode.NOERROR or not r.flags & dns.flags.AA or not r.answer
            or r.answer[0].rdtype != dns.rdatatype.SOA or r.answer[0].name != q.question[0].name):
        return "?"
    return str(r.answer[0][0].serial)


def soa_serials(port, names):
    """({name: serial or None}, whether anything answered) for `names`: one pass of SOA queries over UDP,
    by bench/soa_poll.c (up to FEW names: soa_serial_here()).

    Asked from Python, 100k zones took 2.4 s of the client's own time, which every server's start figure
    then included; the C pass sends and receives in batches, 128 queries in flight. A name is None when
    its answer was not the zone's SOA (not served yet) or did not come back 50 ms after the last one
    (asked again by the caller); a pass that gets no answer at all ends at once (nothing listening yet)."""
    if len(names) <= FEW:
        serials = []
        for n in names:
            serials.append(soa_serial_here(port, n))
            if serials == ["-"]:  # nothing listening yet: the rest would wait out their timeouts too
                serials += ["-"] * (len(names) - 1)
                break
    else:
        done = subprocess.run([str(poller()), str(port)], input="\n".join(names) + "\n", capture_output=True,
                              text=True, check=True)
        serials = done.stdout.split("\n")
    got = {n: (None if v in ("-", "?") else int(v)) for n, v in zip(names, serials)}
    return got, any(v != "-" for v in serials[:len(names)])


def tree_pids(pid):
    """pid and its children (NSD forks)."""
    try:
        return [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return [pid]


def cpu_seconds(pid):
    """User + system CPU time of pid and its children, seconds."""
    total = 0
    for p in tree_pids(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def settled_rss_mib(pid, deadline=120):
    """rss_mib() once the server has used under 0.05 s of CPU in each of 2 consecutive seconds."""
    end = time.monotonic() + deadline
    last, quiet = cpu_seconds(pid), 0
    while quiet < 2 and time.monotonic() < end:
        time.sleep(1)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now
    return rss_mib(pid)


def peak_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def rss_mib(pid):
    """PSS (else RSS) of pid and its children, MiB."""
    total = 0
    for p in tree_pids(pid):
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
            key = "Pss:"
        except OSError:
            text = Path(f"/proc/{p}/status").read_text()
            key = "VmRSS:"
        for line in text.splitlines():
            if line.startswith(key):
                total += int(line.split()[1])
                break
    return total / 1024


class Server:
    name = "?"

    def __init__(self, zones_dir, names, workdir):
        self.zones_dir = zones_dir
        self.names = list(names)
        self.dir = Path(tempfile.mkdtemp(prefix=f"hw-bench-zones-{self.name}-", dir=workdir))
        self.port = free_port()
        self.proc = None

    def start(self):
        self.write_config()
        self.log = open(self.dir / "server.log", "w")
        self.proc = subprocess.Popen([str(a) for a in self.argv()], stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir, preexec_fn=_die_with_parent)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def file_of(self, name):
        return self.zones_dir / f"{name}zone"

    def reload(self, name):
        raise NotImplementedError

    # Adding a zone: the config written with it (not timed: the operator's part), then the server told.
    can_add = False

    def add_to_config(self, name):
        self.names.append(name)
        self.write_config()

    def add(self, name):
        return None  # n/a


class Headwater(Server):
    name = "headwater"

    def write_config(self):
        lines = ["[server]", f'listen = ["{ADDR}:{self.port}"]', 'control_socket = "hw.sock"', 'state_dir = "state"',
                 'log_level = "warn"']
        for n in self.names:
            lines += ["[[zone]]", f'name = "{n}"', f'file = "{self.file_of(n)}"']
        (self.dir / "headwater.toml").write_text("\n".join(lines) + "\n")

    def argv(self):
        return [os.environ.get("HEADWATER_BIN", REPO / "build/server/headwater"), "--config",
                self.dir / "headwater.toml"]

    def ctl(self, *args):
        ctl = os.environ.get("HEADWATERCTL_BIN", str(REPO / "build/tools/headwaterctl"))
        p = subprocess.run([ctl, "--socket", str(self.dir / "hw.sock"), *args], capture_output=True, text=True,
                           timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"headwaterctl {' '.join(args)}: {p.stdout}{p.stderr}")

    def reload(self, name):
        self.ctl("reload", name)

    can_add = True

    def add(self, name):
        self.ctl("reconfigure")
        return True


class Knot(Server):
    name = "knot"

    def write_config(self):
        d = self.dir
        (d / "db").mkdir(exist_ok=True)
        lines = ["server:", f"    listen: {ADDR}@{self.port}", f"    rundir: {d}", f"    pidfile: {d}/knot.pid",
                 "database:", f"    storage: {d}/db", "control:", f"    listen: {d}/knot.sock", "log:",
                 "  - target: stderr", "    any: warning", "template:", "  - id: default", f"    storage: {d}",
                 "    zonefile-sync: -1", "    zonefile-load: whole", "    journal-content: none",
                 "    semantic-checks: off", "zone:"]
        for n in self.names:
            lines += [f"  - domain: {n}", f"    file: {self.file_of(n)}"]
        (d / "knot.conf").write_text("\n".join(lines) + "\n")

    def argv(self):
        return [shutil.which("knotd") or "/usr/sbin/knotd", "-c", self.dir / "knot.conf"]

    def knotc(self, *args):
        p = subprocess.run([shutil.which("knotc") or "/usr/sbin/knotc", "-c", str(self.dir / "knot.conf"), *args],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"knotc {' '.join(args)}: {p.stdout}{p.stderr}")

    def reload(self, name):
        self.knotc("zone-reload", name)

    can_add = True

    def add(self, name):
        self.knotc("reload")
        return True


class Nsd(Server):
    name = "nsd"

    def write_config(self):
        d = self.dir
        text = nsd_server_conf(d, self.port, 0)
        text += "".join(f'zone:\n    name: "{n}"\n    zonefile: "{self.file_of(n)}"\n' for n in self.names)
        (d / "nsd.conf").write_text(text)

    def argv(self):
        return [shutil.which("nsd") or "/usr/sbin/nsd", "-d", "-c", self.dir / "nsd.conf"]

    def reload(self, name):
        self.proc.send_signal(signal.SIGHUP)  # NSD re-reads every changed zone file


def wait_all(server, names, expect=None, deadline=3600):
    """Seconds until every name answers (with serial `expect` when given)."""
    started = time.monotonic()
    left = list(names)
    listening = False
    while left:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}; see {server.dir}/server.log")
        # Until the server answers at all, one name only: a pass over every name each 10 ms would take CPU
        # from the server it is waiting for.
        asked = left if listening else left[:1]
        got, answered = soa_serials(server.port, asked)
        listening = listening or answered
        done = {n for n in asked if got[n] is not None and (expect is None or got[n] == expect)}
        left = [n for n in left if n not in done]
        if left:
            if time.monotonic() - started > deadline:
                raise RuntimeError(f"{server.name}: {len(left)} zones not served after {deadline} s")
            time.sleep(0.01)
    return time.monotonic() - started


def measure(cls, zones_dir, names, workdir, records):
    s = cls(zones_dir, names, workdir)
    row = {"server": s.name}
    try:
        t0 = time.monotonic()
        s.start()
        wait_all(s, names)
        row["start"] = time.monotonic() - t0
        row["rss"] = settled_rss_mib(s.proc.pid)
        row["peak"] = peak_mib(s.proc.pid)
        victim = names[len(names) // 2]
        s.file_of(victim).write_text(zone_text(victim, SERIAL + 1, records))
        t0 = time.monotonic()
        try:
            s.reload(victim)
            wait_all(s, [victim], expect=SERIAL + 1, deadline=120)
            row["reload"] = time.monotonic() - t0
        except RuntimeError as e:
            print(f"{s.name}: reload: {e}", file=sys.stderr)
        s.file_of(victim).write_text(zone_text(victim, SERIAL, records))
        extra = zone_name(len(names))
        s.file_of(extra).write_text(zone_text(extra, SERIAL, records))
        if s.can_add:
            s.add_to_config(extra)
        t0 = time.monotonic()
        try:
            if s.add(extra):
                wait_all(s, [extra], deadline=120)
                row["add"] = time.monotonic() - t0
        except RuntimeError as e:
            print(f"{s.name}: add: {e}", file=sys.stderr)
        s.file_of(extra).unlink()
    finally:
        s.stop()
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zones", type=int, default=100000)
    ap.add_argument("--records", type=int, default=10)
    ap.add_argument("--servers", default="headwater,knot,nsd")
    ap.add_argument("--workdir", default=None, help="where the zones and servers' directories go (default /tmp)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hw-bench-zones-", dir=args.workdir))
    try:
        zones_dir = work / "zones"
        zones_dir.mkdir()
        names = [zone_name(i) for i in range(args.zones)]
        for n in names:
            (zones_dir / f"{n}zone").write_text(zone_text(n, SERIAL, args.records))
        classes = {"headwater": Headwater, "knot": Knot, "nsd": Nsd}
        rows = []
        for name in args.servers.split(","):
            row = measure(classes[name], zones_dir, names, work, args.records)
            rows.append(row)
            print(f"{name}: " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                         for k, v in row.items() if k != "server"), file=sys.stderr)
        fmt = lambda r, k, unit: f"{r[k]:.2f} {unit}" if r.get(k) is not None else "n/a"  # noqa: E731
        print(f"\n{args.zones} zones of {args.records} records, {os.cpu_count()} CPUs\n")
        print("| server | start until all served | RSS (PSS), settled | peak RSS | reload one zone | add one zone |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['server']} | {fmt(r, 'start', 's')} | {fmt(r, 'rss', 'MiB')} | {fmt(r, 'peak', 'MiB')} | "
                  f"{fmt(r, 'reload', 's')} | {fmt(r, 'add', 's')} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
