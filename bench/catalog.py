#!/usr/bin/python3
"""A Knot consumer of a large Headwater catalog (RFC 9432): how soon it serves a member just added.

    /usr/bin/python3 bench/catalog.py [--members 10000] [--adds 3]

Headwater serves `--members` small zones, all members of `catalog.invalid.` ([[catalog]], NOTIFY to
Knot). Knot 3.2 interprets the catalog (catalog-role: interpret, one member template whose primary is
Headwater) and so transfers every member by itself. Measured, on loopback:

- sync: seconds from Knot's start until it serves every member (the SOA of each, asked by
  bench/soa_poll.c);
- add: `--adds` times, one zone added to Headwater's config (written before the clock starts, as an
  operator's edit would be), then `headwaterctl reconfigure`; seconds from that command until Knot
  answers the new zone's SOA. That covers the reconfigure, the catalog's new serial and its NOTIFY,
  Knot's IXFR of the catalog, and its first transfer of the new member.

Binaries: HEADWATER_BIN / HEADWATERCTL_BIN as for the tests (default build/server/headwater and
build/tools/headwaterctl).
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "lib"))
sys.path.insert(0, str(REPO / "bench"))
import hwtest  # noqa: E402
import zones as zonebench  # noqa: E402

CATALOG = "catalog.invalid."
SERIAL = 2026120501


class KnotConsumer(hwtest.KnotSecondary):
    """Knot interpreting the catalog; every member takes the `member` template (primary: Headwater)."""

    def write_config(self):
        super().write_config()
        d = self.dir
        (d / "db").mkdir(exist_ok=True)  # the catalog database; knotd 3.2 dies without it
        self.edit_config(
            ("zone:\n", f"  - id: member\n    storage: {d / 'zones'}\n    zonefile-sync: -1\n"
                        "    zonefile-load: none\n    journal-content: none\n    semantic-checks: off\n"
                        "    acl: local\n    master: primary\nzone:\n"),
            (f"  - domain: {CATALOG}\n", f"  - domain: {CATALOG}\n    catalog-role: interpret\n"
                                         "    catalog-template: member\n"))


def wait_served(port, names, proc, deadline):
    """Seconds until every name answers its SOA at `port`."""
    started = time.monotonic()
    left = list(names)
    while left:
        if not proc.alive():
            raise RuntimeError(f"the consumer exited:\n{proc.log_tail(40)}")
        got, _ = zonebench.soa_serials(port, left)
        left = [n for n in left if got[n] is None]
        if left:
            if time.monotonic() - started > deadline:
                raise RuntimeError(f"{len(left)} member(s) not served after {deadline} s, e.g. {left[:3]}")
            time.sleep(0.05)
    return time.monotonic() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=10000)
    ap.add_argument("--adds", type=int, default=3)
    args = ap.parse_args()
    hwtest.require_tool("knotd")
    src = hwtest.tempdir("bench-catalog-src")
    hw = knot = None
    try:
        names = [zonebench.zone_name(i) for i in range(args.members + args.adds)]
        for n in names:
            (src / f"{n}zone").write_text(zonebench.zone_text(n, SERIAL, 10))
        member = {"catalog": CATALOG}
        hw = hwtest.Headwater([hwtest.ZoneConf(n, src / f"{n}zone", notify_options=member)
                               for n in names[:args.members]], acl_networks=("127.0.0.0/8",), log_level="warn")
        knot = KnotConsumer([CATALOG], hw.port)
        hw.extra_toml = (f'[[catalog]]\nname = "{CATALOG}"\nallow_transfer = ["providers"]\n'
                         f'notify = ["{hwtest.ADDR}:{knot.port}"]\n')
        hw.start(timeout=300)
        hwtest.wait_for(lambda: hwtest.soa_serial(hw.port, CATALOG) is not None, 300, what="catalog served")
        started = time.monotonic()
        knot.start()
        sync = wait_served(knot.port, names[:args.members], knot.proc, 1800)
        print(f"knot serves all {args.members} members {sync:.1f} s after its start "
              f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
        adds = []
        for extra in names[args.members:]:
            hw.zones.append(hwtest.ZoneConf(extra, src / f"{extra}zone", notify_options=member))
            hw.zone_path(extra).write_text((src / f"{extra}zone").read_text())
            hw.write_config()
            t0 = time.monotonic()
            rc, doc, out, err = hw.ctl("reconfigure", timeout=120)
            if rc != 0 or doc.get("added") != [extra]:
                raise RuntimeError(f"reconfigure: {out}{err}")
            wait_served(knot.port, [extra], knot.proc, 120)
            adds.append(time.monotonic() - t0)
            print(f"added {extra}: served by knot {adds[-1]:.2f} s after reconfigure", file=sys.stderr)
        print(f"\n{args.members} catalog members, Knot as the consumer\n")
        print("| members | Knot serves every member after its start | a member added: served by Knot after "
              "`reconfigure` |")
        print("|---|---|---|")
        print(f"| {args.members} | {sync:.1f} s | " + " / ".join(f"{a:.2f} s" for a in adds) + " |")
    finally:
        for p in (knot, hw):
            if p is not None:
                p.close()
        hwtest.cleanup_dir(src)


if __name__ == "__main__":
    main()
