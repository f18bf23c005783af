"""Lab mode scenarios with real secondaries (docs/lab.md), shared by tests/interop/test_lab_secondaries.py
and tools/lab-matrix.py.

A scenario: one Headwater (server.lab = true) and one secondary (Knot, BIND or NSD) on loopback. The
secondary takes v1 of a generated zone by AXFR; then a fault is set for it (its address 127.0.0.1, or its
TSIG key for the TSIG faults), the zone is reloaded to v2 (4000 records more, so an IXFR takes several
messages) and NOTIFY goes out; for `seconds` the secondary is watched. The outcome is the lab report of
that peer, the serial it serves at the end, and when it reached v2 (if it did). The SOA says refresh 2,
retry 2, so the secondaries poll every 2 s; BIND is told to honour such timers, NSD to ask for IXFR.

With two_steps=True the zone goes v1 -> mid -> v2 (two reloads before the one NOTIFY; refresh stays long,
so the secondary cannot poll between them), which is what tells a condensed IXFR from an uncondensed one:
mid deletes KEPT records that v2 puts back.
"""

import re
import time
from pathlib import Path

import hwtest

ZONE = "lab.example."
V1, MID, V2 = 2026120500, 2026120501, 2026120502
KEPT = 500  # v1's lab-kept-N TXT records, which mid deletes and v2 puts back
ADDED = 4000  # the lab-added-N TXT records v2 has more than v1
TSIG_FAULTS = {"wrong-mac", "sign-every", "badtime"}
TWO_STEP_FAULTS = {"ixfr-uncondensed", "ixfr-condensed"}  # run with two_steps (see above)

# Every fault the matrix runs, with the arguments it uses.
FAULTS = [
    "delay 3s",
    "rate 20000",
    "stall 2 8s",
    "records 1",
    "ixfr-as-axfr",
    "ixfr-uncondensed",
    "ixfr-condensed",
    "cut-messages 3 close",
    "cut-messages 3 reset",
    "cut-bytes 30000 close",
    "rcode servfail",
    "rcode refused",
    "rcode notimp",
    "rcode notimp ixfr",
    "wrong-mac 2",
    "sign-every 3",
    "badtime",
    "no-notify",
    "notify-serial 1",
    "soa-tc",
    "drop-soa",
]


def short_timers(text):
    text = re.sub(r"\d+(\s*;\s*refresh)", r"2\1", text, count=1)
    return re.sub(r"\d+(\s*;\s*retry)", r"2\1", text, count=1)


def txt_lines(prefix, numbers, what):
    return "".join(f'{prefix}-{i} 3600 IN TXT "record {i} {what}"\n' for i in numbers)


def write_versions(d, two_steps=False):
    """v1 (3000 generated records and the KEPT records) and v2 (v1 plus ADDED TXT records, new serial) in
    directory d; with two_steps also mid (v1 without the KEPT records, half the added ones). Returns the
    paths, oldest first."""
    v1 = hwtest.generate_zone(d / "lab.v1", ZONE, 3000, V1)
    text = v1.read_text()
    if not two_steps:
        text = short_timers(text)
    kept = txt_lines("lab-kept", range(KEPT), "of version one, gone in mid, back in version two")
    added = [txt_lines("lab-added", range(ADDED // 2), "added in version two of the lab zone"),
             txt_lines("lab-added", range(ADDED // 2, ADDED), "added in version two of the lab zone")]
    v1.write_text(text + kept)
    v2 = d / "lab.v2"
    v2.write_text(hwtest.set_soa_serial(text, V2) + kept + added[0] + added[1])
    if not two_steps:
        return [v1, v2]
    mid = d / "lab.mid"
    mid.write_text(hwtest.set_soa_serial(text, MID) + added[0])
    return [v1, mid, v2]


class BindLab(hwtest.BindSecondary):
    """BIND clamps refresh/retry to min-refresh-time/min-retry-time (300 s by default); -d 3 logs xfrin."""

    def write_config(self):
        super().write_config()
        self.edit_config(("    recursion no;\n", "    recursion no;\n    min-refresh-time 1;\n"
                          "    min-retry-time 1;\n    request-ixfr yes;\n"))

    def argv(self):
        return super().argv() + ["-d", "3"]


class NsdLab(hwtest.NsdSecondary):
    """The shared helper makes NSD ask for AXFR only; a lab wants to see its IXFR."""

    def write_config(self):
        super().write_config()
        self.edit_config(("request-xfr: AXFR ", "request-xfr: "))


PEERS = {"knot": hwtest.KnotSecondary, "bind": BindLab, "nsd": NsdLab}


class Outcome:
    def __init__(self, kind, fault, report, final_serial, reached_v2_after, peer_log, checked=None):
        self.kind = kind
        self.fault = fault
        self.report = report              # the peer's entry of `lab report` (or None: never seen)
        self.final_serial = final_serial  # what the secondary serves at the end (None: nothing)
        self.reached_v2_after = reached_v2_after  # seconds after the fault was set, or None
        self.peer_log = peer_log
        self.checked = checked  # what run()'s check returned

    @property
    def summary(self):
        return (self.report or {}).get("summary", {})

    def transfers(self):
        return [e["transfer"] for e in (self.report or {}).get("events", []) if e["kind"] == "transfer"]

    def describe(self):
        """One cell of docs/secondary-behaviour.md."""
        s = self.summary
        parts = []
        if self.reached_v2_after is not None:
            parts.append(f"took v2 after {self.reached_v2_after:.1f} s")
        else:
            parts.append(f"kept serving {'v1' if self.final_serial == V1 else self.final_serial}")
        kinds = []
        for t in self.transfers():
            form = t.get("form") or "-"
            word = t["type"] + ("" if form in ("-", t["type"].lower()) else f"({form})")
            done = f" ({t['records']} records in {t['messages']} messages)" if t["outcome"] == "ok" else ""
            kinds.append(f"{word} {t['cause']}{done}")
        if kinds:
            shown = kinds[:4] + ([f"... {len(kinds) - 4} more"] if len(kinds) > 4 else [])
            parts.append("attempts: " + ", ".join(shown))
        gaps = s.get("retry_gaps_ms") or []
        if gaps:
            parts.append("gaps " + " ".join(f"{g / 1000:.1f}s" for g in gaps[:4]))
        if s.get("ixfr_to_axfr"):
            parts.append("fell back IXFR→AXFR")
        if s.get("udp_to_tcp"):
            parts.append("retried SOA over TCP")
        if s:
            parts.append(f"SOA {s.get('soa_udp', 0)} udp/{s.get('soa_tcp', 0)} tcp")
        return "; ".join(parts)


def run(kind, fault, seconds=20.0, workdir=None, until_v2=False, two_steps=None, check=None):
    """Runs one scenario; returns an Outcome. until_v2: the watch ends a second after the secondary serves
    v2 (a test that only needs to see it get there). two_steps: v1 -> mid -> v2 (see above; by default for
    the TWO_STEP_FAULTS). check: called
    with the running secondary at the end of the watch; what it returns is Outcome.checked."""
    tmp = hwtest.tempdir("hw-lab-matrix") if workdir is None else Path(workdir)
    if two_steps is None:
        two_steps = fault.split()[0] in TWO_STEP_FAULTS
    versions = write_versions(tmp, two_steps)
    key = hwtest.TsigKey.keygen("lab-key") if fault.split()[0] in TSIG_FAULTS else None
    # Two steps: one NOTIFY, a second after the first reload, when both are served.
    zone = hwtest.ZoneConf(ZONE, versions[0], notify_options={"notify_delay": "1s" if two_steps else "0s"})
    hw = hwtest.Headwater([zone], acl_networks=("127.0.0.0/8",), keys=[key] if key else [],
                          server_options={"lab": True})
    peer = PEERS[kind]([ZONE], hw.port, keys={ZONE: key} if key else None)
    zone.notify.append(f"{hwtest.ADDR}:{peer.port}")
    try:
        hw.start()
        peer.start()
        peer.wait_serial(ZONE, V1, timeout=60)
        target = key.name if key else hwtest.ADDR
        rc, doc, out, err = hw.ctl("lab", "set", ZONE, target, *fault.split())
        if rc != 0:
            raise AssertionError(f"lab set {fault}: {out}{err}")
        set_at = time.monotonic()
        time.sleep(0.3)
        for version in versions[1:]:
            hw.zone_path(ZONE).write_text(version.read_text())
            rc, doc, out, err = hw.ctl("reload", ZONE)
            if rc != 0:
                raise AssertionError(f"reload: {out}{err}")
        reached = None
        while time.monotonic() - set_at < seconds:
            if reached is None and peer.serial(ZONE) == V2:
                reached = time.monotonic() - set_at
            if until_v2 and reached is not None and time.monotonic() - set_at > reached + 1.0:
                break
            time.sleep(0.25)
        final = peer.serial(ZONE)
        checked = check(peer) if check else None
        rc, doc, out, err = hw.ctl("lab", "report", ZONE, target)
        if rc != 0:
            raise AssertionError(f"lab report: {out}{err}")
        mine = [p for p in doc["peers"] if p["address"] == hwtest.ADDR and (not key or p["key"] == key.name + ".")]
        report = max(mine, key=lambda p: len(p["events"])) if mine else None
        return Outcome(kind, fault, report, final, reached, peer.proc.log(), checked)
    finally:
        peer.close()
        hw.close()
        if workdir is None:
            hwtest.cleanup_dir(tmp)
