#!/usr/bin/python3
"""DNSSEC signing: Headwater beside Knot's kzonesign and ldns-signzone on the same generated zone.

For each zone size: full signing (ECDSA P-256, NSEC, one combined key) by Headwater (start-up until the
signed zone is served), kzonesign (signing-threads: 2) and ldns-signzone: wall time, CPU time, signatures
per CPU-second; Headwater's reload of a one-record change (three in a row) until the new serial is served and the IXFR
that follows (records); the RSS of Headwater serving the signed zone beside knotd serving the zone
kzonesign wrote. Prints a markdown table (BENCHMARKS.md).

  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build-bench headwater headwaterctl
  /usr/bin/python3 bench/signing.py --records 100000 --records 1000000
  /usr/bin/python3 bench/signing.py --records 1000000 --headwater-only   (Headwater's rows alone)
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "data"))
import gen_zone  # noqa: E402
import run as bench  # noqa: E402  (the transfer benchmark: SOA polling, IXFR reader, process CPU and RSS)

ORIGIN = "sign.example."
bench.ORIGIN = ORIGIN  # what its SOA polls and IXFR ask for
KEY = "c2lnbmluZyBiZW5jaG1hcmsga2V5IHNpZ25pbmcgYmVuY2g="
SERIAL = 2026120501


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv, cwd):
    """(wall, cpu) of a command run to completion."""
    cpu0, t0 = child_cpu(), time.perf_counter()
    p = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"BENCHMARK FAILED: {argv[0]}: {p.stdout}{p.stderr}")
    return time.perf_counter() - t0, child_cpu() - cpu0


def count_rrsigs(path):
    n = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            n += "RRSIG" in parts[2:4]
    return n


def headwater(zone, d):
    hw_bin = os.environ.get("HEADWATER_BIN", str(REPO / "build-bench" / "server" / "headwater"))
    ctl = os.environ.get("HEADWATERCTL_BIN", str(REPO / "build-bench" / "tools" / "headwaterctl"))
    port = bench.free_port()
    (d / "run").mkdir()
    shutil.copyfile(zone, d / "z.zone")
    (d / "hw.toml").write_text(f"""[server]
listen = ["127.0.0.1:{port}"]
control_socket = "run/hw.sock"
state_dir = "state"
log_level = "warn"
[[key]]
name = "{bench.KEY_NAME}"
algorithm = "hmac-sha256"
secret = "{KEY}"
[[acl]]
name = "all"
networks = ["127.0.0.0/8"]
keys = ["{bench.KEY_NAME}"]
[[dnssec_policy]]
name = "p"
[[zone]]
name = "{ORIGIN}"
file = "z.zone"
dnssec_policy = "p"
allow_transfer = ["all"]
""")
    out = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen([hw_bin, "--config", d / "hw.toml"], cwd=d, stdout=subprocess.DEVNULL,
                            stderr=open(d / "log", "w"))
    try:
        while bench.soa_serial(port) != SERIAL:
            if proc.poll() is not None:
                raise SystemExit("BENCHMARK FAILED: headwater exited:\n" + (d / "log").read_text())
            time.sleep(0.01)
        out["sign wall (s)"] = time.perf_counter() - t0
        out["sign CPU (s)"] = bench.cpu_seconds(proc.pid)
        status = json.loads(subprocess.run([ctl, "--socket", d / "run/hw.sock", "--json", "dnssec", "status",
                                            ORIGIN], capture_output=True, text=True).stdout)
        out["signatures"] = status["signatures"]["made"]
        time.sleep(3)  # the first snapshot is written by a thread of its own
        out["RSS serving the signed zone (MiB)"] = bench.rss_mib(proc.pid)
        # One changed record, reloaded: until the new serial is served, then the IXFR secondaries get.
        # Three times: the first reload after the start copies the signed zone into memory this machine's
        # host has not backed yet, which the later ones reuse (docs/architecture.md, "A change costs the
        # size of the zone").
        text = (d / "z.zone").read_text()
        for step in (1, 2, 3):
            text, n = re.subn(r"(\s)%d(\s)" % (SERIAL + step - 1), r"\g<1>%d\g<2>" % (SERIAL + step), text,
                              count=1)
            text, m = re.subn(r"(\nwww\t300\tA\t)192\.0\.2\.%d\n" % (79 + step),
                              r"\g<1>192.0.2.%d\n" % (80 + step), text, count=1)
            if n != 1 or m != 1:
                raise SystemExit("BENCHMARK FAILED: generated zone has no serial or www A to change")
            (d / "z.zone").write_text(text)
            # Polled while the command runs: the new serial is served once the change is journaled, and
            # the command returns only after the new snapshot is written as well.
            t0 = time.perf_counter()
            reload = subprocess.Popen([ctl, "--socket", d / "run/hw.sock", "reload", ORIGIN],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            while bench.soa_serial(port) != SERIAL + step:
                if reload.poll() not in (None, 0):
                    raise SystemExit("BENCHMARK FAILED: reload: " + reload.stderr.read().decode())
                if time.perf_counter() - t0 > 300:
                    raise SystemExit("BENCHMARK FAILED: the new serial was not served within 300 s")
                time.sleep(0.002)
            served = time.perf_counter() - t0
            if reload.wait(60) != 0:
                raise SystemExit("BENCHMARK FAILED: reload: " + reload.stderr.read().decode())
            returned = time.perf_counter() - t0
            if step == 1:
                out["reload one change until served (s)"] = served
                out["reload command returned (s)"] = returned
            else:
                out[f"reload {step} until served (s)"] = served
        _, kind, count = bench.ixfr(port, KEY, SERIAL + 2, SERIAL + 3)  # the last one change
        if kind != "ixfr":
            raise SystemExit(f"BENCHMARK FAILED: the IXFR after one change came as {kind}")
        out["IXFR after it (records)"] = count
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def kzonesign(zone, d):
    exe = bench.which("kzonesign")
    (d / "run").mkdir()
    shutil.copyfile(zone, d / f"{ORIGIN}zone")
    (d / "knot.conf").write_text(f"""server:
    rundir: "{d}/run"
database:
    storage: "{d}"
    kasp-db: "{d}/kasp"
policy:
  - id: p
    algorithm: ecdsap256sha256
    single-type-signing: on
    signing-threads: 2
template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
    dnssec-signing: on
    dnssec-policy: p
zone:
  - domain: {ORIGIN}
""")
    (d / "out").mkdir()
    wall, cpu = timed([exe, "-c", d / "knot.conf", "-o", d / "out", ORIGIN], d)
    signed = d / "out" / f"{ORIGIN}zone"
    return {"sign wall (s)": wall, "sign CPU (s)": cpu, "signatures": count_rrsigs(signed)}, signed


def knot_serving(signed, d):
    """RSS of knotd serving the signed zone as it is (no signing of its own)."""
    port = bench.free_port()
    (d / "run").mkdir()
    (d / "knot.conf").write_text(f"""server:
    listen: 127.0.0.1@{port}
    rundir: "{d}/run"
database:
    storage: "{d}"
template:
  - id: default
    storage: "{d}"
    file: "{signed}"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: {ORIGIN}
""")
    proc = subprocess.Popen([bench.which("knotd"), "-c", d / "knot.conf"], cwd=d, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while bench.soa_serial(port) is None:
            time.sleep(0.05)
        time.sleep(3)
        return bench.rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def ldns_signzone(zone, d):
    shutil.copyfile(zone, d / "z.zone")
    key = subprocess.run([bench.which("ldns-keygen"), "-a", "ECDSAP256SHA256", "-k", ORIGIN], cwd=d,
                         capture_output=True, text=True, check=True).stdout.strip()
    wall, cpu = timed([bench.which("ldns-signzone"), "-o", ORIGIN, d / "z.zone", key], d)
    return {"sign wall (s)": wall, "sign CPU (s)": cpu, "signatures": count_rrsigs(d / "z.zone.signed")}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, action="append")
    p.add_argument("--headwater-only", action="store_true",
                   help="skip kzonesign, knotd and ldns-signzone (their columns print n/a)")
    args = p.parse_args()
    for records in args.records or [100000]:
        with tempfile.TemporaryDirectory(prefix="hwbench-sign-") as tmp:
            tmp = Path(tmp)
            zone = tmp / "zone"
            zone.write_text(gen_zone.Generator(ORIGIN, SERIAL, "1", False).generate(records))
            results = {}
            others = () if args.headwater_only else (("ldns-signzone", ldns_signzone),)
            for name, fn in (("headwater", headwater),) + others:
                d = tmp / name
                d.mkdir()
                bench.log(f"{records} records: {name}")
                results[name] = fn(zone, d)
            if not args.headwater_only:
                d = tmp / "kzonesign"
                d.mkdir()
                bench.log(f"{records} records: kzonesign")
                results["kzonesign"], signed = kzonesign(zone, d)
                d = tmp / "knotd"
                d.mkdir()
                results["kzonesign"]["RSS serving the signed zone (MiB)"] = knot_serving(signed, d)
            for r in results.values():
                r["signatures per CPU-second"] = r["signatures"] / r["sign CPU (s)"]
            names = ["headwater", "kzonesign", "ldns-signzone"]
            rows = ["signatures", "sign wall (s)", "sign CPU (s)", "signatures per CPU-second",
                    "RSS serving the signed zone (MiB)", "reload one change until served (s)",
                    "reload command returned (s)", "reload 2 until served (s)", "reload 3 until served (s)",
                    "IXFR after it (records)"]
            print(f"\n### Signing {records} records (ECDSA P-256, NSEC, one key)\n")
            print("| metric | " + " | ".join(names) + " |")
            print("|---|" + "---|" * len(names))
            for row in rows:
                cells = [bench.fmt(results[n][row]) if row in results.get(n, {}) else "n/a" for n in names]
                print(f"| {row} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
