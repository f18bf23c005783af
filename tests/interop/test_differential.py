#!/usr/bin/python3
"""Differential test: what Headwater serves is what BIND and Knot DNS store.

The corpus, tests/data/differential/<name>.zone (zone <name>.example.), holds every RR type BIND 9.18
knows, RFC 3597 generic forms, case variants, duplicates, RRsets with several TTLs, relative names in
every name-bearing type, delegations, wildcards... (docs/differential-testing.md). A file may say
`; differential-peers: headwater bind` when a peer cannot read it (the file says why).

1. Loaders. Each file is loaded three ways: by Headwater, by BIND (named as a primary of the file) and by
   Knot (knotd as a primary of the file, reading it with its own parser). An AXFR from each gives the
   records each one stores; they are read straight from the wire, one per RR, so duplicates count.
   Comparison: a multiset of (owner, type, class, TTL, RDATA) after lower-casing the owner and every
   name inside RDATA -- servers keep the case of names differently and DNS names compare without case
   (RFC 4343); nothing else is normalised: TTLs per record, record counts, RDATA bytes.
   What Headwater must serve is BIND's reading (Knot's where BIND cannot read the file). BIND and Knot
   must agree, except where PEER_DISAGREEMENTS documents why not; that list is checked both ways.
2. Generic forms. Every record of generic.zone (except the unknown types) is, at the same owner, a
   record of types.zone or types-bind.zone: each loader reads the RFC 3597 form as the mnemonic one.
3. Real secondaries. A BIND and a Knot secondary of Headwater for every corpus zone must end up serving
   exactly Headwater's records (same multiset) after AXFR. Then example.com. (ixfr/example.com.zone.v1)
   becomes v2 (`headwaterctl reload`; Headwater NOTIFies both): a serial bump, a record removed, two
   added, and an MX record appended with a TTL other than its RRset's. Each secondary must take v2 by
   IXFR (BIND: `got incremental response`, and no `not exact` in its log -- BIND refuses an IXFR that
   adds a record whose TTL differs from its RRset's, then falls back to AXFR), and serve exactly
   Headwater's records; Headwater must serve v2 as BIND and Knot read it.

Peers missing on this machine are skipped (exit 77 when nothing ran); HW_PEERS=knot,bind limits the set.
HW_KEEP_TMP=1 keeps every server's directory and log.
"""

import collections
import re
import shutil
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

import dns.exception  # noqa: E402
import dns.name  # noqa: E402
import dns.rdata  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402

CORPUS = hwtest.DATA / "differential"
IXFR_ZONE = "example.com."
IXFR_V1 = CORPUS / "ixfr" / "example.com.zone.v1"
IXFR_V2 = CORPUS / "ixfr" / "example.com.zone.v2"
IXFR_SERIALS = (2024090101, 2024090102)
LOADERS = ("headwater", "bind", "knot")
WAIT = 60.0  # for one transfer we know is coming
SYNC_WAIT = 20.0  # for a secondary to take every corpus zone

# Where BIND 9.18 and Knot 3.2 store a corpus file differently: {(zone, owner, type): why}. The test
# fails when they disagree anywhere else, and when they agree on an RRset listed here (the entry is
# stale). Headwater follows BIND in every case (docs/differential-testing.md).
KNOT_LAST_TTL = ("records of one RRset state different TTLs on consecutive lines: BIND keeps the first "
                 "(`TTL set to prior TTL`), Knot the last (`TTL mismatch ... TTL set to`)")
PEER_DISAGREEMENTS = {
    ("dupes.example.", "ttl-mismatch.dupes.example.", "A"): KNOT_LAST_TTL,
    ("dupes.example.", "ttl-low-first.dupes.example.", "TXT"): KNOT_LAST_TTL,
    ("dupes.example.", "dup-ttl.dupes.example.", "A"): KNOT_LAST_TTL,
    ("dupes.example.", "ttl-runs.dupes.example.", "A"): KNOT_LAST_TTL,
    ("dupes.example.", "ttl-default.dupes.example.", "A"): KNOT_LAST_TTL,
}


# ---- the corpus --------------------------------------------------------------------------------
class CorpusZone:
    """tests/data/differential/<name>.zone: zone <name>.example. and the loaders that read it."""

    def __init__(self, path):
        self.path = Path(path)
        self.origin = f"{self.path.stem}.example."
        text = self.path.read_text()
        m = re.search(r"^; differential-peers:(.*)$", text, re.M)
        self.loaders = tuple(m.group(1).split()) if m else LOADERS
        unknown = set(self.loaders) - set(LOADERS)
        if unknown:
            raise AssertionError(f"{self.path.name}: unknown peers {sorted(unknown)} in differential-peers")

    def __repr__(self):
        return self.origin


def corpus():
    zones = [CorpusZone(p) for p in sorted(CORPUS.glob("*.zone"))]
    if not zones:
        raise AssertionError(f"no corpus in {CORPUS}")
    return zones


# ---- records straight from the wire ---------------------------------------------------------------
# Types whose RDATA holds names that dnspython 2.3 reads as opaque bytes: (fixed octets before, names,
# then the rest is opaque) -- a server may compress the names of the RFC 1035 ones (MD, MF, MB, MG, MR,
# MINFO; RFC 3597 section 4), so their RDATA must be read name by name to compare.
_NAME_LAYOUT = {
    3: (0, 1), 4: (0, 1), 7: (0, 1), 8: (0, 1), 9: (0, 1),  # MD MF MB MG MR
    14: (0, 2),  # MINFO
    24: (18, 1),  # SIG: type covered .. key tag, then the signer
    30: (0, 1),  # NXT: next name, then the type bitmap
    58: (0, 2),  # TALINK
}
_FIELDS_SKIPPED = {"rdclass", "rdtype", "rdcomment"}


def _split_names(rtype, wire, pos, rdlen):
    """[bytes | dns.name.Name] parts of the RDATA at wire[pos:pos + rdlen], names decompressed."""
    end = pos + rdlen
    if rtype == 38:  # A6 (RFC 2874): prefix length, address suffix, prefix name when the length > 0
        plen = wire[pos]
        suffix = (128 - plen + 7) // 8
        parts = [wire[pos:pos + 1 + suffix]]
        if plen:
            name, _ = dns.name.from_wire(wire, pos + 1 + suffix)
            parts.append(name)
        return parts
    fixed, count = _NAME_LAYOUT[rtype]
    parts = [wire[pos:pos + fixed]]
    p = pos + fixed
    for _ in range(count):
        name, used = dns.name.from_wire(wire, p)
        parts.append(name)
        p += used
    parts.append(wire[p:end])
    return parts


def _fold_rdata(rd):
    """rd with every name it holds lower-cased (dnspython-known types)."""
    changes = {}
    for cls in type(rd).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot in _FIELDS_SKIPPED or slot in changes:
                continue
            v = getattr(rd, slot, None)
            if isinstance(v, dns.name.Name):
                changes[slot] = v.canonicalize()
            elif isinstance(v, tuple) and v and all(isinstance(x, dns.name.Name) for x in v):
                changes[slot] = tuple(x.canonicalize() for x in v)
    return rd.replace(**changes) if changes else rd


class Record:
    """One RR as a server sent it. key: the comparison form (owner and names in RDATA lower-cased,
    RDATA uncompressed); text: presentation form for messages."""

    __slots__ = ("owner", "rtype", "rclass", "ttl", "exact", "folded", "text")

    def __init__(self, owner, rtype, rclass, ttl, wire, pos, rdlen):
        self.owner, self.rtype, self.rclass, self.ttl = owner, rtype, rclass, ttl
        cls = dns.rdata.get_rdata_class(rclass, rtype)
        if (rtype in _NAME_LAYOUT or rtype == 38) and cls is dns.rdata.GenericRdata:
            parts = _split_names(rtype, wire, pos, rdlen)
            self.exact = b"".join(p.to_wire() if isinstance(p, dns.name.Name) else p for p in parts)
            self.folded = b"".join(p.canonicalize().to_wire() if isinstance(p, dns.name.Name) else p for p in parts)
            self.text = " ".join(p.to_text() if isinstance(p, dns.name.Name) else (p.hex() or "-") for p in parts)
        else:
            try:
                rd = dns.rdata.from_wire(rclass, rtype, wire, pos, rdlen)
            except dns.exception.DNSException as e:
                # Not valid RDATA for its type (a server bug the comparison must show, not stop at): the
                # bytes as they are. A type with compressible names is in _NAME_LAYOUT or known to dnspython.
                self.exact = self.folded = wire[pos:pos + rdlen]
                self.text = f"\\# {rdlen} {self.exact.hex()} (not valid {self.type_text} RDATA: {e})"
                return
            self.exact = rd.to_wire()
            self.folded = _fold_rdata(rd).to_wire()
            self.text = rd.to_text() if cls is not dns.rdata.GenericRdata else f"\\# {rdlen} {self.exact.hex()}"

    @property
    def type_text(self):
        return dns.rdatatype.to_text(self.rtype)

    def key(self, relative_to=None):
        owner = self.owner.canonicalize()
        if relative_to is not None:
            owner = owner.relativize(dns.name.from_text(relative_to))
        return (owner.to_text(), self.rtype, self.rclass, self.ttl, self.folded.hex())

    def show(self):
        cls = "" if self.rclass == dns.rdataclass.IN else f" {dns.rdataclass.to_text(self.rclass)}"
        return f"{self.owner} {self.ttl}{cls} {self.type_text} {self.text}"


def wire_records(wire):
    """Every RR of the answer section of one DNS message, in wire order (no merging, no dropping)."""
    qd, an = struct.unpack("!HH", wire[4:8])
    pos = 12
    for _ in range(qd):
        _, used = dns.name.from_wire(wire, pos)
        pos += used + 4
    out = []
    for _ in range(an):
        owner, used = dns.name.from_wire(wire, pos)
        pos += used
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
        pos += 10
        out.append(Record(owner, rtype, rclass, ttl, wire, pos, rdlen))
        pos += rdlen
    return out


def transfer(port, zone):
    """The zone's records by AXFR from 127.0.0.1:port, the closing SOA left out: [Record]."""
    messages = hwtest.axfr(port, zone, timeout=20.0)
    if not messages or messages[0].rcode != 0:
        raise AssertionError(f"AXFR of {zone} from port {port} failed (rcode "
                             f"{messages[0].rcode if messages else 'none'})")
    records = [r for m in messages for r in wire_records(m.wire)]
    if len(records) < 2 or records[0].rtype != dns.rdatatype.SOA or records[-1].rtype != dns.rdatatype.SOA:
        raise AssertionError(f"AXFR of {zone} from port {port} is not framed by SOA records")
    return records[:-1]


class Reading:
    """What one server stores for one zone: a multiset of comparison keys and a text for each."""

    def __init__(self, records, relative_to=None):
        self.records = records
        self.counts = collections.Counter(r.key(relative_to) for r in records)
        self.text = {}  # key -> the distinct spellings sent, in order
        for r in records:
            spellings = self.text.setdefault(r.key(relative_to), [])
            if r.show() not in spellings:
                spellings.append(r.show())

    @property
    def serial(self):
        """The SOA serial (a transfer starts with the SOA, whose RDATA ends with serial and four timers)."""
        return struct.unpack("!I", self.records[0].exact[-20:-16])[0]

    def describe(self, key):
        if key in self.text:
            first, *others = self.text[key]
            return first + "".join(f"\n      also spelt: {o}" for o in others)
        owner, rtype, _, ttl, hexdata = key
        return f"{owner} {ttl} {dns.rdatatype.to_text(rtype)} <{hexdata[:48]}>"


def rrset_of(key):
    return key[0], dns.rdatatype.to_text(key[1])


def diff_lines(expected, got, exp_name, got_name, only=None, skip=frozenset()):
    """Human lines for every record count that differs: `<got_name> lacks`/`<got_name> adds` ...;
    only, skip: sets of (owner, type text) to limit them to, to leave out."""
    lines = []
    for key in sorted(set(expected.counts) | set(got.counts)):
        e, g = expected.counts.get(key, 0), got.counts.get(key, 0)
        if e == g or (only is not None and rrset_of(key) not in only) or rrset_of(key) in skip:
            continue
        text = got.describe(key) if g > e else expected.describe(key)  # the spellings of the side with more
        if g < e:
            what = f"{got_name} lacks" + (f" {e - g} of {e}" if e > 1 else "")
        else:
            what = f"{got_name} adds" + (f" {g - e} more (has {g}, {exp_name} {e})" if e else "")
        lines.append(f"  {what}: {text}")
    return lines


def rrsets_differing(a, b):
    """{(owner, type)} of the records whose counts differ between two readings."""
    return {rrset_of(k) for k in set(a.counts) | set(b.counts) if a.counts.get(k, 0) != b.counts.get(k, 0)}


# ---- peers ------------------------------------------------------------------------------------------
class BindXfrSecondary(hwtest.BindSecondary):
    """named -d 3: xfrin says `got incremental response` only at debug level 3."""

    def argv(self):
        return super().argv() + ["-d", "3"]

    def refresh(self, zone):
        pass  # no rndc channel; Headwater's NOTIFY does it


class KnotXfrSecondary(hwtest.KnotSecondary):
    def refresh(self, zone):
        try:
            super().refresh(zone)
        except subprocess.SubprocessError:
            pass  # NOTIFY does it anyway


SECONDARIES = {"bind": BindXfrSecondary, "knot": KnotXfrSecondary}


def zone_lines(log, marker):
    return "\n".join(line for line in log.splitlines() if marker in line)


class DifferentialTest(unittest.TestCase):
    hw = None
    primaries = {}
    peers = {}
    missing = {}
    readings = {}

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater("compares Headwater itself with BIND and Knot")
        cls.tmp = None
        cls.zones = corpus()
        cls.primaries = {}
        cls.peers = {}
        cls.missing = {}
        cls.readings = {}  # (loader, zone) -> Reading, or an error text
        try:
            names, cls.missing = hwtest.available_peers(SECONDARIES)
            # The zone is a dozen records: its v1 -> v2 diff (two SOAs, the whole MX set replaced) is larger
            # than the zone, which max_ixfr_ratio 1.0 would answer in AXFR form. This test is about the diff.
            ixfr = hwtest.ZoneConf(IXFR_ZONE, IXFR_V1, notify_options={"max_ixfr_ratio": 100.0})
            confs = [hwtest.ZoneConf(z.origin, z.path) for z in cls.zones] + [ixfr]
            cls.hw = hwtest.Headwater(confs)
            for name in names:
                cls.peers[name] = SECONDARIES[name]([z.origin for z in cls.zones] + [IXFR_ZONE], cls.hw.port)
            # Headwater NOTIFies the secondaries of every new version (the IXFR tests; BIND has no rndc here).
            for conf in confs:
                conf.notify = [{"address": f"{hwtest.ADDR}:{p.port}", "source": hwtest.ADDR} for p in cls.peers.values()]
            cls.hw.start()
            # Everything else at once: the primaries load while the secondaries transfer.
            for p in cls.peers.values():
                p.start()
            if "bind" in names:
                cls.primaries["bind"] = hwtest.BindPrimary(
                    {**{z.origin: z.path for z in cls.zones if "bind" in z.loaders}, IXFR_ZONE: IXFR_V2}).start(
                        wait=False)
            if "knot" in names:
                cls.primaries["knot"] = hwtest.KnotPrimary(
                    {**{z.origin: z.path for z in cls.zones if "knot" in z.loaders}, IXFR_ZONE: IXFR_V2},
                    verbatim=True).start(wait=False)
            for z in cls.zones:
                cls.readings[("headwater", z.origin)] = cls.read(cls.hw.port, z.origin)
            for name, primary in cls.primaries.items():
                try:
                    primary.wait_ready(30.0)
                except AssertionError as e:  # a file the peer does not load: each zone's test says so
                    failed = f"{e}"
                else:
                    failed = None
                for origin in primary.zones:
                    cls.readings[(name, origin)] = failed or cls.read(primary.port, origin)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def read(cls, port, zone):
        try:
            return Reading(transfer(port, zone))
        except Exception as e:  # reported by the test of that zone
            return f"{type(e).__name__}: {e}"

    @classmethod
    def tearDownClass(cls):
        for p in cls.primaries.values():
            p.close()
        cls.primaries = {}
        hwtest.close_class_fixture(cls)

    # -- helpers --
    def expect_none(self, problems, message):
        """Fails with message when problems (a list) is not empty."""
        if problems:
            self.fail(message)

    def reading(self, loader, zone):
        r = self.readings.get((loader, zone))
        if isinstance(r, str):
            self.fail(f"{loader} did not serve {zone}: {r}")
        return r

    def reference(self, zone):
        """The loader Headwater must agree with: BIND where it reads the file, else Knot."""
        for loader in ("bind", "knot"):
            if loader in zone.loaders and (loader, zone.origin) in self.readings:
                return loader
        self.skipTest(f"no peer that reads {zone.path.name} is selected (HW_PEERS) and installed "
                      f"(missing: {self.missing or 'none'})")

    # -- 1. loaders --
    def check_zone(self, zone):
        ref_name = self.reference(zone)
        ref = self.reading(ref_name, zone.origin)
        if ref_name == "bind" and "knot" in zone.loaders and ("knot", zone.origin) in self.readings:
            with self.subTest(peers="bind-knot"):
                self.check_peers_agree(zone.origin, ref, self.reading("knot", zone.origin))
        # Without BIND, Knot is the reference, except where it disagrees with BIND: Headwater follows BIND.
        unjudged = set()
        if ref_name == "knot" and "bind" in zone.loaders:
            unjudged = {(o, t) for (z, o, t) in PEER_DISAGREEMENTS if z == zone.origin}
        with self.subTest(headwater=ref_name):
            hw = self.reading("headwater", zone.origin)
            lines = diff_lines(ref, hw, ref_name, "headwater", skip=unjudged)
            self.expect_none(lines, f"{zone.path.name}: Headwater serves {sum(hw.counts.values())} records, "
                                    f"{ref_name} {sum(ref.counts.values())}:\n" + "\n".join(lines))

    def check_peers_agree(self, origin, bind, knot):
        documented = {(o, t) for (z, o, t) in PEER_DISAGREEMENTS if z == origin}
        differing = rrsets_differing(bind, knot)
        undocumented, stale = differing - documented, documented - differing
        problems = []
        if undocumented:
            problems += [f"{origin}: BIND and Knot disagree (not in PEER_DISAGREEMENTS):"]
            problems += diff_lines(bind, knot, "bind", "knot", only=undocumented)
        if stale:
            problems += [f"{origin}: BIND and Knot now agree on {sorted(stale)}: drop them from PEER_DISAGREEMENTS"]
        self.expect_none(problems, "\n".join(problems))

    def test_generic_forms_read_as_mnemonics(self):
        """generic.zone's records (unknown types aside) are records of types.zone or types-bind.zone."""
        by_origin = {z.origin: z for z in self.zones}
        generic = by_origin["generic.example."]
        mnemonic = collections.Counter()
        for origin in ("types.example.", "types-bind.example."):
            ref_name = self.reference(by_origin[origin])
            mnemonic.update(Reading(self.reading(ref_name, origin).records, origin).counts)
        for loader in generic.loaders:
            if (loader, generic.origin) not in self.readings:
                continue
            with self.subTest(loader=loader):
                reading = Reading(self.reading(loader, generic.origin).records, generic.origin)
                stray = [reading.describe(k) for k in reading.counts
                         if k not in mnemonic and not k[0].startswith("unknown") and k[0] != "@"]
                self.expect_none(stray, f"{loader} reads these generic records of generic.zone other than "
                                        "their mnemonic forms in types.zone/types-bind.zone:\n  "
                                        + "\n  ".join(stray))

    # -- 3. real secondaries --
    def secondary(self, name):
        if name in self.missing:
            self.skipTest(f"{name}: {self.missing[name]}")
        if name not in self.peers:
            self.skipTest(f"{name} not selected (HW_PEERS)")
        return self.peers[name]

    def wait_synced(self, peer):
        """Waits until the peer serves Headwater's serial of every corpus zone, SYNC_WAIT s at most in all
        (the transfers start with the peer and take well under a second each); returns {zone: serial}
        of the zones it does not serve."""
        pending = {z.origin: self.readings[("headwater", z.origin)].serial for z in self.zones
                   if not isinstance(self.readings.get(("headwater", z.origin)), str)}
        deadline = time.monotonic() + SYNC_WAIT
        while pending and time.monotonic() < deadline:
            if not peer.proc.alive():
                raise AssertionError(f"{peer.kind} exited:\n{peer.proc.log_tail()}")
            pending = {z: s for z, s in pending.items() if peer.serial(z) != s}
            time.sleep(0.3)
        return pending

    @staticmethod
    def transfer_lines(peer, zone, limit=8):
        """The peer's last log lines about transferring zone in."""
        if peer.kind == "bind":
            pat = re.compile(r"transfer of '" + re.escape(zone.rstrip(".")) + r"/IN'|zone " + re.escape(zone.rstrip("."))
                             + r"/IN: (?!enter)")
        else:
            pat = re.compile(re.escape(f"[{zone}]") + r" (AXFR|IXFR|refresh)")
        lines = [line for line in peer.proc.log().splitlines() if pat.search(line)]
        return "\n".join(lines[-limit:])

    def check_secondary(self, name):
        peer = self.secondary(name)
        unsynced = self.wait_synced(peer)
        for z in self.zones:
            with self.subTest(zone=z.origin):
                hw = self.reading("headwater", z.origin)
                if z.origin in unsynced:
                    self.fail(f"the {name} secondary does not serve {z.origin} serial {unsynced[z.origin]} "
                              f"(serving {peer.serial(z.origin)}); its log:\n{self.transfer_lines(peer, z.origin)}")
                got = Reading(transfer(peer.port, z.origin))
                lines = diff_lines(hw, got, "headwater", name)
                self.expect_none(lines, f"{z.path.name}: the {name} secondary serves {sum(got.counts.values())} "
                                        f"records, Headwater {sum(hw.counts.values())}:\n" + "\n".join(lines))

    def test_secondary_bind(self):
        self.check_secondary("bind")

    def test_secondary_knot(self):
        self.check_secondary("knot")

    def test_zz_ixfr_with_a_ttl_differing_from_its_rrset(self):
        """v1 -> v2 of example.com. by IXFR at each secondary; v2 appends `example.com. 500 MX 20 dns1`
        to an MX RRset of TTL 3600."""
        if not self.peers:
            self.skipTest(f"no secondary available ({self.missing})")
        for peer in self.peers.values():
            peer.wait_serial(IXFR_ZONE, IXFR_SERIALS[0], timeout=WAIT)
        shutil.copyfile(IXFR_V2, self.hw.zone_path(IXFR_ZONE))
        rc, doc, out, err = self.hw.ctl("reload", IXFR_ZONE)
        self.assertEqual(rc, 0, f"headwaterctl reload: {out}{err}")
        self.assertEqual(hwtest.soa_serial(self.hw.port, IXFR_ZONE), IXFR_SERIALS[1], out)
        hw = Reading(transfer(self.hw.port, IXFR_ZONE))
        for name in self.primaries:
            with self.subTest(loader=name):
                ref = self.reading(name, IXFR_ZONE)
                lines = diff_lines(ref, hw, name, "headwater")
                self.expect_none(lines, f"v2: Headwater serves what {name} does not store:\n" + "\n".join(lines))
        for name, peer in self.peers.items():
            peer.refresh(IXFR_ZONE)
            peer.wait_serial(IXFR_ZONE, IXFR_SERIALS[1], timeout=WAIT)
            with self.subTest(secondary=name, check="records"):
                got = Reading(transfer(peer.port, IXFR_ZONE))
                lines = diff_lines(hw, got, "headwater", name)
                self.expect_none(lines, f"v2: the {name} secondary serves other records than Headwater:\n"
                                        + "\n".join(lines))
            with self.subTest(secondary=name, check="transfer"):
                log = peer.proc.log()
                problems = []
                if name == "bind":
                    mine = zone_lines(log, "'example.com/IN'")
                    how = hwtest.bind_transfers(mine).get(IXFR_SERIALS[1])
                    # `dns_diff_apply: example.com/MX/IN: add not exact`: BIND refused an IXFR record.
                    problems += [line for line in log.splitlines() if "not exact" in line]
                else:
                    mine = zone_lines(log, f"[{IXFR_ZONE}]")
                    how = hwtest.knot_transfers(mine).get(IXFR_SERIALS[1])
                if not how:
                    problems.append(f"{name} logged no transfer of serial {IXFR_SERIALS[1]}")
                elif how[0] != "IXFR":
                    problems.append(f"{name} took v2 by {how[0]}: {how[1]}")
                self.expect_none(problems, "\n".join(problems) + f"\n--- {name}'s log about the zone ---\n"
                                 + "\n".join(mine.splitlines()[-12:]))

    def test_zzz_every_zone_follows_an_ixfr(self):
        """Every corpus zone changed (a record appended, the serial bumped by serial_policy): each secondary
        takes the change by IXFR and then serves exactly Headwater's records."""
        if not self.peers:
            self.skipTest(f"no secondary available ({self.missing})")
        before = {}
        for z in self.zones:
            before[z.origin] = hwtest.soa_serial(self.hw.port, z.origin)
            with open(self.hw.zone_path(z.origin), "a", encoding="utf-8") as f:
                f.write('\nixfr-probe 300 IN TXT "appended by the IXFR step"\n')
        rc, doc, out, err = self.hw.ctl("reload")
        self.assertEqual(rc, 0, f"headwaterctl reload: {out}{err}")
        for z in self.zones:
            serial = hwtest.soa_serial(self.hw.port, z.origin)
            self.assertNotEqual(serial, before[z.origin], f"{z.origin}: the reload made no new serial: {out}")
            hw = Reading(transfer(self.hw.port, z.origin))
            for name, peer in self.peers.items():
                with self.subTest(secondary=name, zone=z.origin):
                    peer.refresh(z.origin)
                    peer.wait_serial(z.origin, serial, timeout=WAIT)
                    got = Reading(transfer(peer.port, z.origin))
                    lines = diff_lines(hw, got, "headwater", name)
                    self.expect_none(lines, f"{z.path.name} after IXFR: the {name} secondary serves other "
                                            "records than Headwater:\n" + "\n".join(lines))
                    log = peer.proc.log()
                    if name == "bind":
                        mine = zone_lines(log, f"'{z.origin.rstrip('.')}/IN'")
                        how = hwtest.bind_transfers(mine).get(serial)
                    else:
                        mine = zone_lines(log, f"[{z.origin}]")
                        how = hwtest.knot_transfers(mine).get(serial)
                    self.assertTrue(how and how[0] == "IXFR",
                                    f"{name} did not take {z.origin} serial {serial} by IXFR ({how}):\n"
                                    + "\n".join(mine.splitlines()[-8:]))


def _add_zone_tests():
    for z in corpus():
        name = "test_loaders_" + re.sub(r"\W", "_", z.path.stem)

        def test(self, stem=z.path.stem):
            self.check_zone(next(x for x in self.zones if x.path.stem == stem))

        test.__doc__ = f"{z.path.name}: loaded by {', '.join(z.loaders)}; Headwater serves what the peers store"
        setattr(DifferentialTest, name, test)


_add_zone_tests()

if __name__ == "__main__":
    hwtest.main()
