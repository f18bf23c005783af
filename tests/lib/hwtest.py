"""Shared helpers for Headwater's black-box tests (tests/system, tests/interop).

Run the tests with Debian's /usr/bin/python3 (it sees python3-dnspython). Everything stays on
loopback: the server listens on 127.0.0.1 at a free high port, other 127.0.0.x addresses play
other clients, and no query ever goes to the system resolver.

This module holds the server under test (Headwater, its config) and the test data, and re-exports
the helpers of hwproc (processes, ports, files, logs), hwwire (DNS on the wire), hwtsig (TSIG) and
hwpeers (Knot, BIND, NSD as peers), so a test imports hwtest alone.

Environment:
  HEADWATER_BIN, HEADWATERCTL_BIN  the binaries (CMake passes $<TARGET_FILE:...>); default
                                   build/server/headwater and build/tools/headwaterctl
  HW_STANDIN=knot                  run knotd as the primary instead of Headwater (to check the
                                   tests themselves); tests needing Headwater-only features skip
  HW_KEEP_TMP=1                    keep temporary directories (configs, logs) for inspection
  HW_PEERS=knot,bind,nsd           the secondaries the interop tests run (hwpeers.wanted_peers)
"""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from hwpeers import (  # noqa: F401  (re-exported)
    KNOT_UNPARSED, SECONDARIES, BindNotified, BindPrimary, BindSecondary, KnotNotified, KnotPrimary, KnotSecondary,
    NsdSecondary, Secondary,
    SilentUdp, Unbound, available_peers, bind_transfers, close_class_fixture, knot_compatible_copy, knot_server_lines,
    knot_transfers, wanted_peers, zone_file_serial)
from hwproc import (  # noqa: F401  (re-exported)
    ADDR, OTHER_ADDR, PYTHON, REPO, Process, _die_with_parent, check_sanitizer_log, cleanup_dir, free_port,
    headwater_bin, headwaterctl_bin, main, notify_log, require_headwater, require_tool, standin, tempdir,
    toml_str, transfer_log, verify_log, wait_for)
from hwtsig import (  # noqa: F401  (re-exported)
    TSIG_ALGORITHM_NAMES, TSIG_ALGORITHMS, TSIG_HASH_SIZES, TsigKey, read_signed_xfr, sign_wire, signed_axfr,
    split_tsig, tsig_mac, tsig_other_time)
from hwwire import (  # noqa: F401  (re-exported)
    XfrMessage, _skip_name, answer_types, axfr, canon, canon_set, describe_diff, make_query, query, read_axfr,
    recv_exact, soa_serial, tcp_connect, tcp_recv, tcp_send, xfr_rrs, zone_file_rrs)

DATA = REPO / "tests" / "data"
EXAMPLE_ZONE = DATA / "example.com.zone.v1"
EXAMPLE_SERIAL = 2024060101

sys.path.insert(0, str(DATA))
import gen_zone  # noqa: E402  (tests/data/gen_zone.py)


# ---- test data -------------------------------------------------------------------------------------
def generate_zone(path, origin, records, serial, all_types=False, seed="1"):
    """Writes a generated zone (tests/data/gen_zone.py) to path; returns path."""
    text = gen_zone.Generator(origin, serial, seed, all_types).generate(records)
    Path(path).write_text(text)
    return Path(path)


def set_soa_serial(text, new_serial):
    """Returns zone text with the first '<digits> ; serial' replaced (our zones mark it so)."""
    import re

    out, n = re.subn(r"(\s)(\d+)(\s*;\s*serial)", lambda m: f"{m.group(1)}{new_serial}{m.group(3)}", text,
                     count=1)
    assert n == 1, "zone text has no '; serial' comment"
    return out


class AclConf:
    """An [[acl]] rule of Headwater's config: networks, key names, transports ("udp", "tcp", "tls") and
    client certificate pins and names (every factor given must match)."""

    def __init__(self, name, networks=(), keys=(), transports=(), tls_pins=(), tls_names=(), update_names=(),
                 update_types=()):
        self.name = name
        self.update_names = list(update_names)  # only for allow_update rules
        self.update_types = list(update_types)
        self.networks = list(networks)
        self.keys = [k.name if isinstance(k, TsigKey) else k for k in keys]
        self.transports = list(transports)
        self.tls_pins = list(tls_pins)
        self.tls_names = list(tls_names)


# ---- the server under test ---------------------------------------------------------------------
class ZoneConf:
    """A [[zone]] of Headwater's config. notify: NOTIFY targets, each "host[:port]" or a dict
    {address, key (name or TsigKey), source}; notify_options: more zone keys written as given
    (notify_retries, notify_retry_interval, notify_delay, ...)."""

    def __init__(self, origin, source, allow_transfer=("providers",), notify=(), notify_options=None):
        self.origin = origin if origin.endswith(".") else origin + "."
        self.source = Path(source)
        self.allow_transfer = list(allow_transfer)
        self.notify = list(notify)
        self.notify_options = dict(notify_options or {})

    def notify_toml(self):
        """The zone's `notify = [...]` line and its options, or [] when it has no targets."""
        def target(t):
            if isinstance(t, str):
                return toml_str(t)
            parts = []
            for k in ("address", "key", "source"):
                v = t.get(k)
                if v is None:
                    continue
                parts.append(f"{k} = {toml_str(v.name if isinstance(v, TsigKey) else v)}")
            return "{ " + ", ".join(parts) + " }"

        lines = []
        if self.notify:
            lines.append("notify = [" + ", ".join(target(t) for t in self.notify) + "]")
        for k, v in self.notify_options.items():
            lines.append(f"{k} = {toml_str(v) if isinstance(v, str) else json.dumps(v)}")
        return lines

    @property
    def name(self):
        return self.origin.rstrip(".")

    @property
    def filename(self):
        return self.name + ".zone"


class Headwater:
    """Headwater (or, with HW_STANDIN=knot, knotd) serving zones on 127.0.0.1:<free port>.

    zones: [ZoneConf]; acl_networks: the 'providers' ACL (left out when empty). keys: [TsigKey]
    as [[key]] blocks; acls: more [AclConf] rules after 'providers'. The zone files are copied into
    <tmp>/zones/ so a test may edit them (zone_path()).
    """

    def __init__(self, zones, acl_networks=("127.0.0.1/32",), log_level="info", keys=(), acls=(),
                 transfer_log=None, server_options=None, extra_toml=""):
        self.zones = zones
        # More [server] keys, written as given: {"listen_tls": ["127.0.0.1:8853"], "tls_key": "..."}.
        self.server_options = dict(server_options or {})
        self.extra_toml = extra_toml  # more tables ([[dnssec_policy]]...), appended as written
        self.transfer_log = transfer_log  # server.transfer_log (relative to the config's directory)
        self.acl_networks = list(acl_networks)
        self.log_level = log_level
        self.keys = list(keys)
        self.acls = list(acls)
        self.kind = standin() or "headwater"
        self.dir = tempdir(self.kind)
        self.port = free_port()
        self.addr = ADDR
        self.proc = None
        (self.dir / "zones").mkdir()
        (self.dir / "run").mkdir()
        (self.dir / "state").mkdir()
        for z in zones:
            shutil.copyfile(z.source, self.zone_path(z.origin))
        self.config_path = self.dir / ("knot.conf" if self.kind == "knot" else "headwater.toml")
        self.socket_path = self.dir / "run" / "headwater.sock"

    def zone_path(self, origin):
        origin = origin if origin.endswith(".") else origin + "."
        for z in self.zones:
            if z.origin.lower() == origin.lower():
                return self.dir / "zones" / z.filename
        raise KeyError(origin)

    # -- config --
    def config_text(self):
        lines = [
            "[server]",
            f"listen = [{toml_str(f'{self.addr}:{self.port}')}]",
            f"control_socket = {toml_str(self.socket_path.relative_to(self.dir).as_posix())}",
            'state_dir = "state"',
            f"log_level = {toml_str(self.log_level)}",
        ]
        if self.transfer_log:
            lines.append(f"transfer_log = {toml_str(self.transfer_log)}")
        for k, v in self.server_options.items():
            lines.append(f"{k} = {json.dumps(v if isinstance(v, (bool, int, float, list, tuple)) else str(v))}")
        for k in self.keys:
            lines += [""] + k.toml_lines()
        if self.acl_networks:
            lines += ["", "[[acl]]", 'name = "providers"',
                      "networks = [" + ", ".join(toml_str(n) for n in self.acl_networks) + "]"]
        for a in self.acls:
            lines += ["", "[[acl]]", f"name = {toml_str(a.name)}"]
            if a.networks:
                lines.append("networks = [" + ", ".join(toml_str(n) for n in a.networks) + "]")
            if a.keys:
                lines.append("keys = [" + ", ".join(toml_str(k) for k in a.keys) + "]")
            for field in ("transports", "tls_pins", "tls_names", "update_names", "update_types"):
                if getattr(a, field):
                    lines.append(f"{field} = " + json.dumps(getattr(a, field)))
        for z in self.zones:
            lines += ["", "[[zone]]", f"name = {toml_str(z.name)}", f"file = {toml_str('zones/' + z.filename)}"]
            if z.allow_transfer:
                lines.append("allow_transfer = [" + ", ".join(toml_str(a) for a in z.allow_transfer) + "]")
            lines += z.notify_toml()
        if self.extra_toml:
            lines += ["", self.extra_toml.strip()]
        return "\n".join(lines) + "\n"

    def knot_config_text(self):
        lines = [
            "server:",
            f"    listen: {self.addr}@{self.port}",
            f"    rundir: {self.dir / 'run'}",
            f"    pidfile: {self.dir / 'run' / 'knot.pid'}",
            "database:",
            f"    storage: {self.dir / 'state'}",
            "log:",
            "  - target: stderr",
            "    any: info",
        ]
        if self.keys:
            lines.append("key:")
            for k in self.keys:
                lines += [f"  - id: {k.name}", f"    algorithm: {k.algorithm}", f"    secret: {k.secret}"]
        acls = ([AclConf("providers", self.acl_networks)] if self.acl_networks else []) + self.acls
        lines.append("acl:")
        for a in acls:
            lines += [f"  - id: {a.name}", "    action: transfer"]
            if a.networks:
                lines.append(f"    address: [{', '.join(a.networks)}]")
            if a.keys:
                lines.append(f"    key: [{', '.join(a.keys)}]")
        lines += [
            "template:",
            "  - id: default",
            "    zonefile-sync: -1",
            "    journal-content: none",
            "    semantic-checks: off",
            "zone:",
        ]
        for z in self.zones:
            path = self.zone_path(z.origin)
            knot_path = path.with_suffix(".knot")
            knot_compatible_copy(path, z.origin, knot_path)
            lines += [f"  - domain: {z.origin}", f"    file: {knot_path}"]
            if z.allow_transfer:
                lines.append(f"    acl: [{', '.join(z.allow_transfer)}]")
        return "\n".join(lines) + "\n"

    def write_config(self):
        text = self.knot_config_text() if self.kind == "knot" else self.config_text()
        self.config_path.write_text(text)

    # -- lifecycle --
    def start(self, wait=True, timeout=30.0):
        self.write_config()
        if self.kind == "knot":
            argv = [require_tool("knotd"), "-c", self.config_path]
        else:
            argv = [headwater_bin(), "--config", self.config_path]
        self.proc = Process(argv, self.dir / "server.log", cwd=self.dir)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30.0):
        first = self.zones[0].origin if self.zones else "."

        def ready():
            if not self.proc.alive():
                raise AssertionError(f"{self.kind} exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            if self.kind == "headwater" and not self.socket_path.exists():
                return False
            return soa_serial(self.port, first, where=self.addr, timeout=0.5) is not None

        try:
            wait_for(ready, timeout, what=f"{self.kind} to answer SOA {first}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- log ---\n{self.proc.log_tail()}") from None

    def reload_signal(self):
        """SIGHUP (Headwater) / `knotc reload` equivalent for the stand-in."""
        if self.kind == "knot":
            for z in self.zones:
                knot_compatible_copy(self.zone_path(z.origin), z.origin, self.zone_path(z.origin).with_suffix(".knot"))
            subprocess.run([require_tool("knotc"), "-c", self.config_path, "zone-reload"], check=True,
                           capture_output=True)
        else:
            self.proc.signal(signal.SIGHUP)

    def stop(self):
        rc = None
        if self.proc:
            rc = self.proc.stop()
            if self.kind == "headwater":
                check_sanitizer_log(self.proc.log(), "headwater")
        return rc

    def close(self):
        self.stop()
        cleanup_dir(self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def log(self):
        return self.proc.log() if self.proc else ""

    # -- control client --
    def ctl(self, *args, json_output=True, socket_path=None, timeout=30):
        """Runs headwaterctl; returns (returncode, parsed JSON or None, stdout, stderr)."""
        argv = [headwaterctl_bin(), "--socket", str(socket_path or self.socket_path)]
        if json_output:
            argv.append("--json")
        argv += [str(a) for a in args]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        parsed = None
        if json_output and p.stdout.strip():
            try:
                parsed = json.loads(p.stdout)
            except ValueError:
                parsed = None
        return p.returncode, parsed, p.stdout, p.stderr


def run_ctl(*args, socket_path, json_output=False, timeout=30):
    argv = [headwaterctl_bin(), "--socket", str(socket_path)]
    if json_output:
        argv.append("--json")
    argv += [str(a) for a in args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
