#!/usr/bin/python3
"""Runs every lab fault (docs/lab.md) against real Knot, BIND and NSD secondaries on loopback and writes
docs/secondary-behaviour.md: one row per fault, one column per secondary, each cell what that secondary
did (tests/lib/hwlab.py runs one scenario: v1 by AXFR, then the fault, then v2 and NOTIFY).

  tools/lab-matrix.py [--build build] [--peers knot,bind,nsd] [--faults "cut-messages 3 close,badtime"]
                      [--seconds 20] [--jobs 3] [--out docs/secondary-behaviour.md]

Needs the built headwater and headwaterctl (--build, or HEADWATER_BIN/HEADWATERCTL_BIN) and the peers'
Debian packages (knot, bind9, nsd). Everything runs on 127.0.0.1; nothing else is touched.
"""

import argparse
import concurrent.futures
import datetime
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.dont_write_bytecode = True
sys.path.insert(0, str(REPO / "tests" / "lib"))


def version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except Exception:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="build directory with headwater and headwaterctl")
    ap.add_argument("--peers", default="knot,bind,nsd")
    ap.add_argument("--faults", default="", help="comma-separated faults (default: every one)")
    ap.add_argument("--seconds", type=float, default=20.0, help="how long each secondary is watched")
    ap.add_argument("--jobs", type=int, default=3, help="scenarios at once")
    ap.add_argument("--out", default=str(REPO / "docs" / "secondary-behaviour.md"))
    args = ap.parse_args()

    build = (REPO / args.build) if not Path(args.build).is_absolute() else Path(args.build)
    os.environ.setdefault("HEADWATER_BIN", str(build / "server" / "headwater"))
    os.environ.setdefault("HEADWATERCTL_BIN", str(build / "tools" / "headwaterctl"))
    import hwlab  # noqa: E402  (after the environment names the binaries)

    peers = [p for p in args.peers.split(",") if p]
    faults = [f.strip() for f in args.faults.split(",") if f.strip()] or hwlab.FAULTS
    cells = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        jobs = {pool.submit(hwlab.run, kind, fault, args.seconds): (kind, fault) for fault in faults for kind in peers}
        for job in concurrent.futures.as_completed(jobs):
            kind, fault = jobs[job]
            try:
                cells[(kind, fault)] = job.result().describe()
            except Exception as e:  # a scenario that could not run says why in its cell
                cells[(kind, fault)] = f"(not run: {str(e).splitlines()[0][:160]})"
            print(f"{kind:5} {fault:24} {cells[(kind, fault)]}", flush=True)

    versions = {"knot": version(["knotd", "--version"]), "bind": version(["named", "-v"]),
                "nsd": version(["nsd", "-v"])}
    lines = [
        "# How real secondaries react to a misbehaving primary",
        "",
        "Written by `tools/lab-matrix.py` (rerun it to test other versions or another secondary) on "
        f"{datetime.date.today().isoformat()}; the faults are Headwater's lab mode ([lab.md](lab.md)).",
        "",
        "Each cell: one secondary took v1 of a 3500-record zone by AXFR; then the fault was set for it, the "
        "zone went to v2 (4000 records more, so an IXFR takes several messages) and NOTIFY went out; for "
        f"{args.seconds:.0f} s the secondary was watched (SOA refresh and retry 2 s). The cell says whether it "
        "took v2 and when (seconds after the fault was set), its transfer attempts (asked type, the form "
        "answered when it differs, and the cause: `ok` with the records and messages sent, `lab-cut`, "
        "`lab-refused`, `peer-closed`...), the "
        "gaps between attempts, the fallbacks seen and its SOA queries, all from `headwaterctl lab report`. "
        "The `ixfr-uncondensed` and `ixfr-condensed` rows go v1 → mid → v2 before the one NOTIFY (mid deletes "
        "500 records that v2 puts back; the SOA refresh is long there, so the secondary cannot catch mid), so "
        "the two forms differ: both steps in a row, or the net difference. "
        "The TSIG faults (`wrong-mac`, `sign-every`, `badtime`) use a secondary that signs with a key. The causes are the primary's view: `ok` means every message was written, so a secondary that rejects what it got (a MAC that does not verify, unsigned messages it will not accept) shows `ok` attempts and keeps its old serial. A transfer still running when the watch ends (a long `stall`) is not in the cell.",
        "",
        "Versions: " + "; ".join(f"{k}: {versions.get(k, '?')}" for k in peers) + ".",
        "",
        "| fault | " + " | ".join(peers) + " |",
        "|---|" + "---|" * len(peers),
    ]
    for fault in faults:
        row = [cells.get((k, fault), "-").replace("|", "\\|") for k in peers]
        lines.append(f"| `{fault}` | " + " | ".join(row) + " |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
