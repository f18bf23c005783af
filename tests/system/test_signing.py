#!/usr/bin/python3
"""Headwater signing its zones (a [[dnssec_policy]] per zone), judged by three independent validators:
ldns-verify-zone (ldns), dnssec-verify (BIND) and kzonecheck -d on (Knot) read the zone as an AXFR gives
it, for NSEC and NSEC3 and every algorithm, on a hand-written zone with the cases that go wrong
(wildcards, delegations with and without DS and their glue, empty non-terminals, a CNAME, an apex with
many types) and on the generated 100k-record zone. Then what operators do: change one record (a small
IXFR, still valid), restart (nothing re-signed), re-sign everything, kill -9 while signing, leave a DNSSEC
record in the file, and bring keys made by BIND's dnssec-keygen (the DS at the parent stays)."""

import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import hwtest  # noqa: E402

ZONE_TEXT = """$TTL 300
@        3600 IN SOA ns1 hostmaster 2026120501 7200 3600 1209600 600
@        NS    ns1
@        NS    ns2.provider.example.
@        MX    10 mail
@        TXT   "v=spf1 mx -all"
@        CAA   0 issue "ca.example"
@        A     192.0.2.1
@        AAAA  2001:db8::1
ns1      A     192.0.2.53
mail     A     192.0.2.25
*.wild   TXT   "wildcard"
*.wild   A     192.0.2.99
www      CNAME mail
a.b.c    A     192.0.2.3
secure   NS    ns.secure
secure   DS    12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.secure A    192.0.2.4
insecure NS    ns.insecure
insecure NS    ns.elsewhere.example.
ns.insecure A  192.0.2.5
_sip._tcp SRV  10 5 5060 mail
"""

ALGORITHMS = ["ecdsap256sha256", "ecdsap384sha384", "ed25519", "rsasha256"]


def zone_name(denial, algorithm):
    return f"{denial}-{algorithm}.example."


def policies(extra=""):
    out = []
    for denial in ("nsec", "nsec3"):
        for alg in ALGORITHMS:
            out += ["[[dnssec_policy]]", f'name = "{denial}-{alg}"', f'algorithm = "{alg}"', f'denial = "{denial}"']
            if alg == "rsasha256":
                out.append('keys = "ksk+zsk"')  # the split layout too, on one of them
            out.append(extra)
    return "\n".join(out)


def validate(test, path, zone, anchor=None):
    """Every validator on the zone file at `path`; `anchor`: a .key file ldns-verify-zone must chain to."""
    argv = [hwtest.require_tool("ldns-verify-zone")]
    if anchor:
        argv += ["-k", str(anchor)]
    r = subprocess.run(argv + [str(path)], capture_output=True, text=True)
    test.assertEqual(r.returncode, 0, f"ldns-verify-zone {zone}:\n{r.stdout}{r.stderr}")
    r = subprocess.run([hwtest.require_tool("dnssec-verify"), "-x", "-o", zone, str(path)], capture_output=True,
                       text=True)
    test.assertEqual(r.returncode, 0, f"dnssec-verify {zone}:\n{r.stdout}{r.stderr}")
    r = subprocess.run([hwtest.require_tool("kzonecheck"), "-o", zone, "-d", "on", str(path)], capture_output=True,
                       text=True)
    test.assertEqual(r.returncode, 0, f"kzonecheck {zone}:\n{r.stdout}{r.stderr}")


def axfr_file(hw, zone, path):
    """The zone as an AXFR gives it, one record per line (kdig, as a secondary would read it)."""
    r = subprocess.run([hwtest.require_tool("kdig"), f"@{hw.addr}", "-p", str(hw.port), zone, "AXFR",
                        "+nocomments", "+nostat", "+noheader"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"kdig AXFR {zone}: {r.stdout}{r.stderr}")
    lines = [line for line in r.stdout.splitlines() if line and not line.startswith(";")]
    # The AXFR repeats the SOA at its end; a zone file holds it once.
    Path(path).write_text("\n".join(lines[:-1]) + "\n")
    return lines[:-1]


def records(lines, rtype):
    return [line.split() for line in lines if line.split()[3] == rtype]


class SigningValidatorsTest(unittest.TestCase):
    """Eight zones, NSEC and NSEC3 with each algorithm, on one server."""

    @classmethod
    def setUpClass(cls):
        hwtest.require_headwater()
        cls.dir = hwtest.tempdir("signing")
        src = cls.dir / "source.zone"
        src.write_text(ZONE_TEXT)
        zones = []
        for denial in ("nsec", "nsec3"):
            for alg in ALGORITHMS:
                zones.append(hwtest.ZoneConf(zone_name(denial, alg), src,
                                             notify_options={"dnssec_policy": f"{denial}-{alg}"}))
        cls.hw = hwtest.Headwater(zones, extra_toml=policies())
        cls.hw.start(timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.hw.close()
        hwtest.cleanup_dir(cls.dir)

    def test_every_algorithm_and_denial_validates(self):
        for denial in ("nsec", "nsec3"):
            for alg in ALGORITHMS:
                zone = zone_name(denial, alg)
                with self.subTest(zone=zone):
                    lines = axfr_file(self.hw, zone, self.dir / f"{zone}axfr")
                    validate(self, self.dir / f"{zone}axfr", zone)
                    signed = {(r[0], r[4]) for r in records(lines, "RRSIG")}
                    # RFC 4035 §2.2: the parent's NS at a delegation and the glue are not signed; DS is.
                    self.assertIn((f"secure.{zone}", "DS"), signed)
                    self.assertNotIn((f"secure.{zone}", "NS"), signed)
                    self.assertNotIn((f"ns.secure.{zone}", "A"), signed)
                    self.assertNotIn((f"ns.insecure.{zone}", "A"), signed)
                    self.assertIn((f"*.wild.{zone}", "TXT"), signed)
                    if denial == "nsec3":
                        self.assertEqual(len(records(lines, "NSEC3PARAM")), 1)
                        self.assertEqual(records(lines, "NSEC"), [])
                    else:
                        self.assertEqual(records(lines, "NSEC3"), [])

    def test_status_and_ds_commands(self):
        zone = zone_name("nsec", "ecdsap256sha256")
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "status", zone)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertEqual(out["signed_by"], "headwater")
        self.assertEqual(out["policy"], "nsec-ecdsap256sha256")
        self.assertEqual([k["role"] for k in out["keys"]], ["csk"])
        self.assertIsNotNone(out["signatures"]["next_refresh"])
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "ds", zone)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertEqual(len(out["ds"]), 1)
        self.assertRegex(out["ds"][0], rf"^{zone} IN DS \d+ 13 2 [0-9a-f]{{64}}$")
        rc, out, _, _ = self.hw.ctl("dnssec", "status", zone_name("nsec3", "rsasha256"))
        self.assertEqual(sorted(k["role"] for k in out["keys"]), ["ksk", "zsk"])
        # Secrets never reach the log.
        self.assertNotIn("PrivateKey", self.hw.log())


class SigningOperationsTest(unittest.TestCase):
    ZONE = "ops.example."

    def setUp(self):
        hwtest.require_headwater()
        self.dir = hwtest.tempdir("signing-ops")
        src = self.dir / "ops.zone"
        src.write_text(ZONE_TEXT)
        self.hw = hwtest.Headwater([hwtest.ZoneConf(self.ZONE, src, notify_options={"dnssec_policy": "p"})],
                                   extra_toml='[[dnssec_policy]]\nname = "p"\n')
        self.hw.start(timeout=60)
        self.path = Path(self.hw.zone_path(self.ZONE))

    def tearDown(self):
        self.hw.close()
        hwtest.cleanup_dir(self.dir)

    def serial(self):
        return hwtest.soa_serial(self.hw.port, self.ZONE)

    def test_one_change_is_a_small_ixfr_and_still_validates(self):
        text = self.path.read_text().replace("2026120501", "2026120502").replace("192.0.2.25", "192.0.2.26")
        self.path.write_text(text)
        rc, out, stdout, stderr = self.hw.ctl("reload", self.ZONE)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertEqual(self.serial(), 2026120502)
        r = subprocess.run([hwtest.require_tool("kdig"), f"@{self.hw.addr}", "-p", str(self.hw.port), self.ZONE,
                            "IXFR=2026120501", "+nocomments", "+nostat", "+noheader"], capture_output=True, text=True)
        rrs = [line for line in r.stdout.splitlines() if line and not line.startswith(";")]
        # SOA, old SOA, its RRSIG, the old A and its RRSIG, new SOA, its RRSIG, the new A and RRSIG, SOA.
        self.assertLessEqual(len(rrs), 20, "\n".join(rrs))
        self.assertEqual(len(rrs), 10, "\n".join(rrs))
        axfr_file(self.hw, self.ZONE, self.dir / "after-change")
        validate(self, self.dir / "after-change", self.ZONE)

    def test_restart_signs_nothing_and_forced_signing_renews_every_signature(self):
        before = axfr_file(self.hw, self.ZONE, self.dir / "before")
        serial = self.serial()
        self.hw.stop()
        self.hw.start(timeout=60)
        self.assertEqual(self.serial(), serial)
        self.assertEqual(axfr_file(self.hw, self.ZONE, self.dir / "restarted"), before)
        rc, out, _, _ = self.hw.ctl("dnssec", "status", self.ZONE)
        self.assertEqual(out["signatures"]["made"], 0)

        rc, out, stdout, stderr = self.hw.ctl("dnssec", "sign", self.ZONE)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertEqual(out["serial"], serial + 1)
        after = axfr_file(self.hw, self.ZONE, self.dir / "resigned")
        old_sigs = {tuple(r[-1:]) for r in records(before, "RRSIG")}
        new_sigs = {tuple(r[-1:]) for r in records(after, "RRSIG")}
        self.assertFalse(old_sigs & new_sigs, "every signature is new")
        validate(self, self.dir / "resigned", self.ZONE)
        # No served signature expires within the refresh window (7 days by default).
        now = time.time()
        for r in records(after, "RRSIG"):
            expires = time.mktime(time.strptime(r[8], "%Y%m%d%H%M%S")) - time.timezone
            self.assertGreater(expires - now, 7 * 86400, " ".join(r))

    def test_validity_shorter_than_expire_plus_ttl_is_warned_about(self):
        # The zone's SOA EXPIRE is 14 days and its largest TTL an hour: the default 14-day validity is short.
        self.assertRegex(self.hw.log(), r"signature_validity \(1209600 s\) is shorter than the SOA EXPIRE plus "
                                        r"the largest TTL \(1209600 \+ 3600 s\)")

    def test_zone_file_with_dnssec_records_is_refused(self):
        serial = self.serial()
        self.path.write_text(self.path.read_text().replace("2026120501", "2026120509") +
                             "@ 3600 DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb"
                             "krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n")
        rc, out, stdout, stderr = self.hw.ctl("reload", self.ZONE)
        self.assertEqual(rc, 1)
        self.assertIn("must be unsigned", out["zones"][0]["error"])
        self.assertEqual(self.serial(), serial)
        # --check-config, the gate before a deploy, says the same.
        r = subprocess.run([hwtest.headwater_bin(), "--check-config", str(self.hw.config_path)], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("DNSKEY: the zone is signed by Headwater", r.stderr)


class GeneratedZoneTest(unittest.TestCase):
    """The generated 100k-record zone signed with NSEC3; kill -9 in the middle of re-signing it."""

    ZONE = "big.example."

    def test_generated_zone_validates_and_survives_kill_during_signing(self):
        hwtest.require_headwater()
        d = hwtest.tempdir("signing-big")
        try:
            src = d / "big.zone"
            hwtest.generate_zone(src, self.ZONE, 100000, 2026120501)
            hw = hwtest.Headwater([hwtest.ZoneConf(self.ZONE, src, notify_options={"dnssec_policy": "big"})],
                                  extra_toml='[[dnssec_policy]]\nname = "big"\ndenial = "nsec3"\n')
            try:
                hw.start(timeout=300)
                lines = axfr_file(hw, self.ZONE, d / "axfr")
                self.assertGreater(len(records(lines, "NSEC3")), 50000)
                validate(self, d / "axfr", self.ZONE)
                serial = hwtest.soa_serial(hw.port, self.ZONE)
                # Re-sign everything and kill the server while it signs: what was served stays served.
                ctl = subprocess.Popen([hwtest.headwaterctl_bin(), "--socket", str(hw.socket_path), "dnssec", "sign",
                                        self.ZONE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                hw.proc.proc.send_signal(signal.SIGKILL)
                hw.proc.proc.wait(10)
                ctl.wait(30)
                hw.start(timeout=300)
                self.assertIn(hwtest.soa_serial(hw.port, self.ZONE), (serial, serial + 1))
                axfr_file(hw, self.ZONE, d / "after-kill")
                validate(self, d / "after-kill", self.ZONE)
            finally:
                hw.close()
        finally:
            hwtest.cleanup_dir(d)


class RolloverRestartTest(unittest.TestCase):
    """A ZSK rollover with no secondary known (each step waits propagation_delay), killed with -9 between
    its steps: after the restart it goes on from the step it was at, and the zone it ends with validates
    with the KSK and the new ZSK only."""

    ZONE = "roll.example."
    TEXT = """$TTL 1
@   1 IN SOA ns1 hostmaster 2026120701 7200 3600 1209600 1
@   NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.80
"""
    POLICIES = """[[dnssec_policy]]
name = "split"
keys = "ksk+zsk"
dnskey_ttl = "1s"
propagation_delay = "1s"
parent_ds_ttl = "1s"

[[dnssec_policy]]
name = "csk"
"""

    def setUp(self):
        hwtest.require_headwater()
        self.dir = hwtest.tempdir("signing-roll")
        src = self.dir / "roll.zone"
        src.write_text(self.TEXT)
        zones = [hwtest.ZoneConf(self.ZONE, src, notify_options={"dnssec_policy": "split"}),
                 hwtest.ZoneConf("csk.example.", src, notify_options={"dnssec_policy": "csk"})]
        self.hw = hwtest.Headwater(zones, extra_toml=self.POLICIES)
        self.hw.start(timeout=60)

    def tearDown(self):
        self.hw.close()
        hwtest.cleanup_dir(self.dir)

    def zsks(self):
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "status", self.ZONE)
        self.assertEqual(rc, 0, stdout + stderr)
        return {k["tag"]: k["state"] for k in out["keys"] if k["role"] == "zsk"}, out["rollover"]

    def test_a_rollover_survives_kill_9_between_its_steps(self):
        (old,) = [t for t, s in self.zsks()[0].items() if s == "active"]
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", self.ZONE, "zsk")
        self.assertEqual(rc, 0, stdout + stderr)
        zsks, rollover = self.zsks()
        (new,) = [t for t, s in zsks.items() if s == "published"]
        self.assertEqual(zsks[old], "active")
        self.assertIn("propagation_delay", rollover["status"])
        self.hw.proc.signal(signal.SIGKILL)
        self.hw.proc.proc.wait(10)
        self.hw.start(timeout=60)
        deadline = time.monotonic() + 60
        while self.zsks()[0].get(old) != "removed":
            self.assertLess(time.monotonic(), deadline, f"{self.zsks()}\n{self.hw.log()[-3000:]}")
            time.sleep(0.25)
        self.assertEqual(self.zsks()[0][new], "active")
        lines = axfr_file(self.hw, self.ZONE, self.dir / "rolled")
        validate(self, self.dir / "rolled", self.ZONE)
        tags = sorted(int(r[10]) for r in records(lines, "RRSIG"))
        self.assertNotIn(old, tags)
        self.assertIn(new, tags)
        # The log has each step once: the restart did not start it over.
        log = self.hw.log()
        self.assertEqual(log.count("ZSK rollover started by the operator"), 1, log[-3000:])
        self.assertEqual(log.count(f"key {new} signs from now"), 1, log[-3000:])

    def test_a_ksk_rollover_waits_for_the_operator_to_see_the_ds(self):
        """No parent servers: the CDS/CDNSKEY are published, the rollover waits until `dnssec ds-seen`, then
        the policy's parent_ds_ttl, and ends with the new KSK alone, the CDS withdrawn."""
        def ksks():
            rc, out, stdout, stderr = self.hw.ctl("dnssec", "status", self.ZONE)
            self.assertEqual(rc, 0, stdout + stderr)
            return {k["tag"]: (k["state"], k["cds"]) for k in out["keys"] if k["role"] == "ksk"}, out["rollover"]

        def wait(what, until):
            deadline = time.monotonic() + 60
            while not until(ksks()[0]):
                self.assertLess(time.monotonic(), deadline, f"{what}: {ksks()}\n{self.hw.log()[-3000:]}")
                time.sleep(0.25)

        (old,) = ksks()[0]
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", self.ZONE, "ksk")
        self.assertEqual(rc, 0, stdout + stderr)
        (new,) = [t for t in ksks()[0] if t != old]
        self.assertEqual(ksks()[0][new], ("active", False), "signs the DNSKEY RRset at once, no CDS yet")
        wait("the CDS", lambda k: k[new] == ("active", True))
        lines = axfr_file(self.hw, self.ZONE, self.dir / "cds")
        validate(self, self.dir / "cds", self.ZONE)
        self.assertEqual([int(r[4]) for r in records(lines, "CDS")], [new])
        self.assertEqual(len(records(lines, "CDNSKEY")), 1)
        dnskey_sigs = sorted(int(r[10]) for r in records(lines, "RRSIG") if r[4] == "DNSKEY")
        self.assertEqual(dnskey_sigs, sorted([old, new]), "the old KSK still signs the DNSKEY RRset")
        time.sleep(3)  # longer than every timer: only the parent's DS holds the rollover now
        keys, rollover = ksks()
        self.assertEqual(keys[old][0], "retired")
        self.assertIn(f"dnssec ds-seen {self.ZONE} {new}", rollover["status"])
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "ds-seen", self.ZONE, str(old))
        self.assertNotEqual(rc, 0, "the old KSK is not waiting for a DS")
        self.assertIn("not waiting for its DS", stdout + stderr)
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "ds-seen", self.ZONE, str(new))
        self.assertEqual(rc, 0, stdout + stderr)
        wait("the old KSK removed", lambda k: k[old][0] == "removed")
        self.assertEqual(ksks()[0][new], ("active", False), "the CDS withdrawn")
        lines = axfr_file(self.hw, self.ZONE, self.dir / "rolled-ksk")
        validate(self, self.dir / "rolled-ksk", self.ZONE)
        self.assertEqual(records(lines, "CDS"), [])
        self.assertNotIn(old, [int(r[10]) for r in records(lines, "RRSIG")])

    def test_reconfigure_changes_the_parent_servers_a_ksk_rollover_asks(self):
        """A KSK rollover waiting for the parent's DS, its zone given `parent` servers by a reconfigure, then
        other ones: each time the new servers are asked at once (nothing listens on them, which the log
        says), the old ones no more; the running zone is kept (no rebuild)."""
        def rollover():
            rc, out, stdout, stderr = self.hw.ctl("dnssec", "status", self.ZONE)
            self.assertEqual(rc, 0, stdout + stderr)
            return out["rollover"]["status"]

        def wait_for(what, until):
            deadline = time.monotonic() + 30
            while not until():
                self.assertLess(time.monotonic(), deadline, f"{what}: {rollover()}\n{self.hw.log()[-3000:]}")
                time.sleep(0.25)

        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", self.ZONE, "ksk")
        self.assertEqual(rc, 0, stdout + stderr)
        wait_for("waiting for the operator", lambda: "no parent servers configured" in rollover())
        first = hwtest.free_port()
        second = hwtest.free_port()
        while second == first:
            second = hwtest.free_port()
        for port in (first, second):
            self.hw.zones[0].notify_options["parent"] = [f"{hwtest.ADDR}:{port}"]
            self.hw.write_config()
            rc, out, stdout, stderr = self.hw.ctl("reconfigure")
            self.assertEqual(rc, 0, stdout + stderr)
            self.assertEqual(out["changed"], [], "the parent servers need no new Zone")
            asked = f"{hwtest.ADDR}:{port}: no answer"
            wait_for(f"asking {port}", lambda: asked in self.hw.log())
            wait_for("the status", lambda: "asking the parent servers" in rollover())
        later = self.hw.log().split(f"{hwtest.ADDR}:{second}: no answer", 1)[1]
        self.assertNotIn(f"{hwtest.ADDR}:{first}:", later, "the servers before are asked no more")

    def test_what_cannot_be_rolled_is_refused(self):
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", "csk.example.", "zsk")
        self.assertNotEqual(rc, 0)
        self.assertIn("has no ZSK", stdout + stderr)
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", self.ZONE, "csk")
        self.assertNotEqual(rc, 0)
        self.assertIn("has a KSK and a ZSK", stdout + stderr)
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "ds-seen", self.ZONE, "1")
        self.assertNotEqual(rc, 0)
        self.assertIn("no key 1", stdout + stderr)
        rc, out, stdout, stderr = self.hw.ctl("dnssec", "rollover", self.ZONE, "zsx", json_output=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("zsk", stdout + stderr)


class LifetimeRolloverTest(unittest.TestCase):
    """Rollovers no one starts: with zsk_lifetime and ksk_lifetime of seconds, the ZSK rolls by itself and
    the KSK rolls up to the parent's DS, then on with `dnssec ds-seen`, both at once; the zone validates
    at the end with the new keys alone."""

    ZONE = "life.example."
    POLICY = """[[dnssec_policy]]
name = "short"
keys = "ksk+zsk"
dnskey_ttl = "1s"
propagation_delay = "1s"
zsk_lifetime = "6s"
ksk_lifetime = "8s"
parent_ds_ttl = "1s"
"""

    def test_both_keys_roll_when_their_lifetime_ends(self):
        hwtest.require_headwater()
        d = hwtest.tempdir("signing-life")
        src = d / "life.zone"
        src.write_text(RolloverRestartTest.TEXT)
        hw = hwtest.Headwater([hwtest.ZoneConf(self.ZONE, src, notify_options={"dnssec_policy": "short"})],
                              extra_toml=self.POLICY)
        try:
            hw.start(timeout=60)

            def keys():
                rc, out, stdout, stderr = hw.ctl("dnssec", "status", self.ZONE)
                self.assertEqual(rc, 0, stdout + stderr)
                return out

            first = {k["role"]: k["tag"] for k in keys()["keys"]}
            deadline = time.monotonic() + 90
            confirmed = None
            while True:
                st = keys()
                states = {k["tag"]: (k["role"], k["state"], k["cds"]) for k in st["keys"]}
                waiting_ksk = [t for t, (role, state, cds) in states.items() if role == "ksk" and cds]
                if waiting_ksk and confirmed is None and "ds-seen" in st["rollover"]["status"]:
                    confirmed = waiting_ksk[0]
                    rc, out, stdout, stderr = hw.ctl("dnssec", "ds-seen", self.ZONE, str(confirmed))
                    self.assertEqual(rc, 0, stdout + stderr)
                if states[first["zsk"]][1] == "removed" and states[first["ksk"]][1] == "removed":
                    break
                self.assertLess(time.monotonic(), deadline, f"{states} {st['rollover']}\n{hw.log()[-3000:]}")
                time.sleep(0.25)
            log = hw.log()
            self.assertIn(f"key {first['zsk']} reached zsk_lifetime", log)
            self.assertIn(f"key {first['ksk']} reached ksk_lifetime", log)
            self.assertIsNotNone(confirmed)
            lines = axfr_file(hw, self.ZONE, d / "life")
            validate(self, d / "life", self.ZONE)
            tags = {int(r[10]) for r in records(lines, "RRSIG")}
            self.assertNotIn(first["zsk"], tags)
            self.assertNotIn(first["ksk"], tags)
        finally:
            hw.close()
            hwtest.cleanup_dir(d)


class BindKeysTest(unittest.TestCase):
    """Keys made by BIND's dnssec-keygen, put in the zone's key directory before the first start (how a
    zone moves from BIND), or imported with `headwaterctl dnssec import`: the zone validates under those
    keys as trust anchor, exactly as the same zone signed by dnssec-signzone does."""

    ZONE = "moved.example."

    def keygen(self, d, *flags):
        r = subprocess.run([hwtest.require_tool("dnssec-keygen"), "-q", "-K", str(d), "-a", "ECDSAP256SHA256",
                            *flags, self.ZONE], capture_output=True, text=True, check=True)
        return d / r.stdout.strip()

    def test_moved_keys_sign_and_validate_like_dnssec_signzone(self):
        hwtest.require_headwater()
        d = hwtest.tempdir("signing-bind")
        try:
            keys = d / "bindkeys"
            keys.mkdir()
            ksk = self.keygen(keys, "-f", "KSK")
            zsk = self.keygen(keys)
            src = d / "moved.zone"
            src.write_text(ZONE_TEXT)
            # BIND signs the same zone with those keys.
            bind_signed = d / "moved.zone.signed"
            subprocess.run([hwtest.require_tool("dnssec-signzone"), "-S", "-K", str(keys), "-o", self.ZONE, "-f",
                            str(bind_signed), str(src)], cwd=keys, capture_output=True, check=True)
            validate(self, bind_signed, self.ZONE, anchor=Path(f"{ksk}.key"))

            hw = hwtest.Headwater([hwtest.ZoneConf(self.ZONE, src, notify_options={"dnssec_policy": "p"})],
                                  extra_toml='[[dnssec_policy]]\nname = "p"\n')
            keydir = hw.dir / "state" / "keys" / "moved.example"
            keydir.mkdir(parents=True)
            for k in (ksk, zsk):
                for ext in (".key", ".private"):
                    (keydir / (k.name + ext)).write_bytes(Path(f"{k}{ext}").read_bytes())
            try:
                hw.start(timeout=60)
                axfr_file(hw, self.ZONE, d / "headwater")
                validate(self, d / "headwater", self.ZONE, anchor=Path(f"{ksk}.key"))
                rc, out, _, _ = hw.ctl("dnssec", "status", self.ZONE)
                self.assertEqual(sorted(k["role"] for k in out["keys"]), ["ksk", "zsk"])

                # A third key, imported: published and signing, the zone still valid under the first KSK.
                extra = self.keygen(keys, "-f", "KSK")
                rc, out, stdout, stderr = hw.ctl("dnssec", "import", self.ZONE, str(extra) + ".private")
                self.assertEqual(rc, 0, stdout + stderr)
                lines = axfr_file(hw, self.ZONE, d / "imported")
                self.assertEqual(len(records(lines, "DNSKEY")), 3)
                validate(self, d / "imported", self.ZONE, anchor=Path(f"{ksk}.key"))
                rc, out, stdout, stderr = hw.ctl("dnssec", "import", self.ZONE, str(extra) + ".key")
                self.assertEqual(rc, 1)
                self.assertIn("already a key", out["error"])
            finally:
                hw.close()
        finally:
            hwtest.cleanup_dir(d)


if __name__ == "__main__":
    hwtest.main()
