"""Real DNS servers as peers of Headwater in the black-box tests: Knot, BIND and NSD as secondaries
(configs, runners, their transfer logs), knotd and named as primaries of their own, a UDP server that
never answers, unbound as a validating resolver, and the interop suites' peer selection (HW_PEERS) and
fixture teardown.
"""

import os
import re
import shutil
import socket
import subprocess
import unittest
from pathlib import Path

import dns.rdatatype
import dns.zone

from hwproc import ADDR, Process, cleanup_dir, free_port, require_tool, tempdir, wait_for
from hwwire import soa_serial


# ---- which peers, the interop suites' fixtures ----------------------------------------------------
def wanted_peers(available=None):
    """The secondaries HW_PEERS selects (default knot,bind,nsd), among `available` (default SECONDARIES)."""
    available = SECONDARIES if available is None else available
    names = [p.strip() for p in os.environ.get("HW_PEERS", "knot,bind,nsd").split(",") if p.strip()]
    return [n for n in names if n in available]


def close_class_fixture(cls, *extras):
    """The tearDownClass shared by the interop suites: closes cls.peers, cls.hw and `extras` (objects
    with close()), then removes cls.tmp; safe on a half-built fixture."""
    for p in getattr(cls, "peers", {}).values():
        p.close()
    cls.peers = {}
    if getattr(cls, "hw", None):
        cls.hw.close()
        cls.hw = None
    for e in extras:
        if e:
            e.close()
    if getattr(cls, "tmp", None):
        cleanup_dir(cls.tmp)
        cls.tmp = None


# knotd 3.2 does not parse these types in master files (it transfers them fine); the stand-in
# gets them in RFC 3597 generic form, which means the same RDATA.
KNOT_UNPARSED = {"DLV", "WKS", "X25", "ISDN", "NSAP", "PX", "GPOS", "HIP"}


def knot_compatible_copy(src, origin, dst):
    z = dns.zone.from_file(str(src), origin=origin, relativize=False)
    lines = []
    for name, ttl, rd in z.iterate_rdatas():
        tname = dns.rdatatype.to_text(rd.rdtype)
        if tname in KNOT_UNPARSED:
            wire = rd.to_wire()
            tname = f"TYPE{int(rd.rdtype)}"
            text = f"\\# {len(wire)} {wire.hex()}"
        else:
            text = rd.to_text(origin=None, relativize=False)
        lines.append(f"{name.to_text()} {ttl} IN {tname} {text}")
    # SOA first keeps zone loaders happy.
    lines.sort(key=lambda line: 0 if " IN SOA " in line else 1)
    Path(dst).write_text("\n".join(lines) + "\n")


# ---- real secondaries ---------------------------------------------------------------------------
def knot_server_lines(d, port):
    """The server, database, control and log sections of a knotd instance of its own in directory d,
    listening on 127.0.0.1@port (KnotSecondary, KnotPrimary)."""
    return [
        "server:",
        f"    listen: {ADDR}@{port}",
        f"    rundir: {d}",
        f"    pidfile: {d / 'knot.pid'}",
        "    udp-workers: 1",
        "    tcp-workers: 1",
        "    background-workers: 1",
        "database:",
        f"    storage: {d / 'db'}",
        "control:",
        f"    listen: {d / 'knot.sock'}",
        "log:",
        "  - target: stderr",
        "    any: info",
    ]


def nsd_server_conf(d, port, verbosity, extra=()):
    """The server and remote-control sections of an nsd instance of its own in directory d (its state,
    xfr and zone list there, no chroot, no user switch, one process), listening on 127.0.0.1@port; `extra`
    are more lines of the server section (NsdSecondary, and the NSD of the benchmarks)."""
    (d / "xfr").mkdir(exist_ok=True)
    lines = ["server:", f"    ip-address: {ADDR}", f"    port: {port}", "    do-ip6: no", '    username: ""',
             '    chroot: ""', f'    zonesdir: "{d}"', '    database: ""', f'    zonelistfile: "{d}/zone.list"',
             f'    xfrdfile: "{d}/xfrd.state"', f'    xfrdir: "{d}/xfr"', f'    pidfile: "{d}/nsd.pid"',
             "    server-count: 1", f"    verbosity: {verbosity}"]
    lines += [f"    {line}" for line in extra]
    lines += ["remote-control:", "    control-enable: no"]
    return "\n".join(lines) + "\n"


def named_conf(d, port, options, rest):
    """named.conf of a named instance of its own in directory d, listening on 127.0.0.1#port, no recursion,
    no NOTIFY, transfers allowed from loopback: `options` are more lines of its options block, `rest`
    (keys, zones) follows the blocks (BindSecondary, BindPrimary)."""
    shared = [f'directory "{d}";', f'pid-file "{d}/named.pid";', f'session-keyfile "{d}/session.key";',
              f'managed-keys-directory "{d}";', f"listen-on port {port} {{ {ADDR}; }};", "listen-on-v6 { none; };",
              "recursion no;", "notify no;", "dnssec-validation no;", "allow-transfer { 127.0.0.0/8; };"]
    body = "".join(f"    {line}\n" for line in shared + list(options))
    return f"\noptions {{\n{body}}};\ncontrols {{ }};\n{rest}\n"


def named_argv(exe, conf):
    # -g: foreground, log to stderr; no -u: stay the current user; -4: loopback IPv4 only.
    return [exe, "-g", "-4", "-n", "1", "-c", conf]


def zone_file_serial(path):
    """The SOA serial in a master file a secondary wrote, or None (no file yet, no SOA)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return None
    m = re.search(r"\sSOA\s+\S+\s+\S+\s+\(?\s*(\d+)", text)
    return int(m.group(1)) if m else None


def available_peers(peers):
    """The peers HW_PEERS selects among `peers` ({name: Secondary class}) whose binary is installed:
    (names, {missing name: reason}). Under CI=true a missing binary raises (require_tool)."""
    names, missing = [], {}
    for name in wanted_peers(peers):
        try:
            require_tool(peers[name].binary)
            names.append(name)
        except unittest.SkipTest as e:
            missing[name] = str(e)
    return names, missing


class Secondary:
    """A real DNS server configured as a secondary of (primary_addr, primary_port) for zones.

    keys: {zone: TsigKey} -- those zones are transferred with TSIG, in the peer's own config
    syntax; the others without.
    """

    kind = "?"
    binary = "?"
    config_name = "?"  # the file write_config() writes in self.dir

    def __init__(self, zones, primary_port, primary_addr=ADDR, keys=None):
        self.zones = [z if z.endswith(".") else z + "." for z in zones]
        self.keys = {(z if z.endswith(".") else z + "."): k for z, k in (keys or {}).items()}
        self.primary_addr = primary_addr
        self.primary_port = primary_port
        self.exe = require_tool(self.binary)
        self.dir = tempdir(self.kind)
        self.port = free_port()
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def write_config(self):
        raise NotImplementedError

    def edit_config(self, *replacements):
        """For subclasses that change the config write_config() wrote: replaces each (old, new) text,
        every occurrence; raises when an old text is not there (the base config changed under them)."""
        conf = self.dir / self.config_name
        text = conf.read_text()
        for old, new in replacements:
            if old not in text:
                base = next(c.__name__ for c in type(self).__mro__ if c.__module__ == __name__)
                raise AssertionError(f"{__name__}.{base} config changed: no {old.strip()!r}")
            text = text.replace(old, new)
        conf.write_text(text)

    def start(self):
        self.write_config()
        self.proc = Process(self.argv(), self.dir / f"{self.kind}.log", cwd=self.dir)
        return self

    def serial(self, zone):
        return soa_serial(self.port, zone, timeout=1.0)

    def wait_serial(self, zone, serial, timeout=60.0):
        def ok():
            if not self.proc.alive():
                raise AssertionError(f"{self.kind} exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            return self.serial(zone) == serial

        try:
            wait_for(ok, timeout, interval=0.3, what=f"{self.kind} to serve {zone} serial {serial}")
        except AssertionError as e:
            raise AssertionError(f"{e} (serving {self.serial(zone)})\n--- {self.kind} log ---\n"
                                 f"{self.proc.log_tail(60)}") from None

    def refresh(self, zone):
        """Asks the secondary to check the primary now (where the peer makes that easy)."""
        raise unittest.SkipTest(f"no refresh command for {self.kind}")

    def key_for(self, zone):
        return self.keys.get(zone)

    def distinct_keys(self):
        """The keys the zones use, each once (by name), in zone order."""
        out = {}
        for z in self.zones:
            k = self.keys.get(z)
            if k and k.name not in out:
                out[k.name] = k
        return list(out.values())

    def close(self):
        if self.proc:
            self.proc.stop()
        cleanup_dir(self.dir)


class KnotSecondary(Secondary):
    kind = "knot"
    binary = "knotd"
    config_name = "knot.conf"

    def write_config(self):
        d = self.dir
        lines = knot_server_lines(d, self.port)
        keys = self.distinct_keys()
        if keys:
            lines.append("key:")
            for k in keys:
                lines += [f"  - id: {k.name}", f"    algorithm: {k.algorithm}", f"    secret: {k.secret}"]
        lines += [
            "remote:",
            "  - id: primary",
            f"    address: {self.primary_addr}@{self.primary_port}",
            f"    via: {ADDR}",
        ]
        # One remote per key: knot signs everything it sends to a remote with that remote's key.
        for k in keys:
            lines += [f"  - id: primary-{k.name}", f"    address: {self.primary_addr}@{self.primary_port}",
                      f"    via: {ADDR}", f"    key: {k.name}"]
        lines += [
            "acl:",
            "  - id: local",
            "    address: 127.0.0.0/8",
            "    action: [transfer, notify]",
            "template:",
            "  - id: default",
            f"    storage: {d / 'zones'}",
            "    zonefile-sync: -1",
            "    zonefile-load: none",
            "    journal-content: none",
            "    semantic-checks: off",
            "    master: primary",
            "    acl: local",
            "zone:",
        ]
        for z in self.zones:
            lines.append(f"  - domain: {z}")
            if self.key_for(z):
                lines.append(f"    master: primary-{self.key_for(z).name}")
        (d / self.config_name).write_text("\n".join(lines) + "\n")

    def argv(self):
        return [self.exe, "-c", self.dir / self.config_name]

    def refresh(self, zone):
        subprocess.run([require_tool("knotc"), "-c", self.dir / self.config_name, "zone-refresh", zone],
                       check=True, capture_output=True, timeout=10)


class BindSecondary(Secondary):
    kind = "bind"
    binary = "named"
    config_name = "named.conf"

    def write_config(self):
        d = self.dir
        def primary(z):
            key = self.key_for(z)
            return f"{self.primary_addr} key \"{key.name}\";" if key else f"{self.primary_addr};"

        zones = "\n".join(
            f'zone "{z}" {{ type secondary; primaries port {self.primary_port} {{ {primary(z)} }}; '
            f'file "{z}db"; }};' for z in self.zones)
        keys = "".join(k.bind_text() for k in self.distinct_keys())
        options = ["allow-notify { 127.0.0.0/8; };", f"transfer-source {ADDR};", f"notify-source {ADDR};",
                   f"query-source address {ADDR};", "check-names secondary ignore;"]
        (d / self.config_name).write_text(named_conf(d, self.port, options, f"{keys}\n{zones}"))

    def argv(self):
        return named_argv(self.exe, self.dir / self.config_name)


class NsdSecondary(Secondary):
    kind = "nsd"
    binary = "nsd"
    config_name = "nsd.conf"

    def write_config(self):
        d = self.dir
        keys = "".join(f"""key:
    name: "{k.name}"
    algorithm: {k.algorithm}
    secret: "{k.secret}"
""" for k in self.distinct_keys())
        zones = "".join(
            f"""zone:
    name: "{z}"
    zonefile: "{z}zone"
    request-xfr: AXFR {self.primary_addr}@{self.primary_port} {self.key_for(z).name if self.key_for(z) else "NOKEY"}
    allow-notify: 127.0.0.0/8 NOKEY
    provide-xfr: 127.0.0.0/8 NOKEY
    outgoing-interface: {ADDR}
""" for z in self.zones)
        conf = nsd_server_conf(d, self.port, 2, ["xfrd-reload-timeout: 0"]) + keys + zones
        (d / self.config_name).write_text(conf)

    def argv(self):
        return [self.exe, "-d", "-c", self.dir / self.config_name]


class KnotNotified(KnotSecondary):
    """NOTIFY accepted only from 127.0.0.1 signed with the peer's key (the shared `local` rule keeps
    transfers, loses notify)."""

    def write_config(self):
        super().write_config()
        key = self.distinct_keys()[0].name
        self.edit_config(("    action: [transfer, notify]\n",
                          "    action: transfer\n"
                          f"  - id: notify-key\n    address: 127.0.0.1\n    key: {key}\n    action: notify\n"),
                         ("    acl: local\n", "    acl: [local, notify-key]\n"))


class BindNotified(BindSecondary):
    """allow-notify names the key only; BIND asks IXFR by default."""

    def write_config(self):
        super().write_config()
        key = self.distinct_keys()[0].name
        self.edit_config(("    allow-notify { 127.0.0.0/8; };\n",
                          f'    allow-notify {{ key "{key}"; }};\n    request-ixfr yes;\n'))


SECONDARIES = {"knot": KnotSecondary, "bind": BindSecondary, "nsd": NsdSecondary}


# ---- real primaries of their own ------------------------------------------------------------------
class _OwnPrimary:
    """What KnotPrimary and BindPrimary share: the server's binary, a directory of its own with a copy of
    each master file ({origin: path} in self.zones), a free port on 127.0.0.1 and, once started, the
    process."""

    def __init__(self, binary, kind, zones):
        self.exe = require_tool(binary)
        self.dir = tempdir(kind)
        self.port = free_port()
        self.proc = None
        (self.dir / "zones").mkdir()
        self.zones = {}
        for origin, src in zones.items():
            origin = origin if origin.endswith(".") else origin + "."
            self.zones[origin] = self.dir / "zones" / f"{origin}zone"
            self._copy(src, origin)

    def _copy(self, src, origin):
        shutil.copyfile(src, self.zones[origin])

    def start(self, wait=True, timeout=None):
        """Writes the config and starts the server; with wait, until it serves every zone (wait_ready)."""
        self.write_config()
        self.proc = Process(self.argv(), self.dir / self.log_name, cwd=self.dir)
        if wait:
            self.wait_ready(self.start_timeout if timeout is None else timeout)
        return self

    def log(self):
        return self.proc.log() if self.proc else ""

    def stop(self):
        return self.proc.stop() if self.proc else None

    def close(self):
        self.stop()
        cleanup_dir(self.dir)


class KnotPrimary(_OwnPrimary):
    """knotd as a primary of its own, serving given master files on 127.0.0.1:<free port>: a server
    posing as a secondary (it serves whatever copy of a zone the test hands it, edited or not).

    zones: {origin: master file}; each file is copied (in knot_compatible_copy form) into the
    instance's directory, so the test may change the original. allow_transfer: False makes it refuse
    every zone transfer (no transfer ACL at all), so only its answers to queries can be checked.
    key: a TsigKey that every transfer must be signed with (unsigned ones are refused).
    verbatim: copy each file as it is, for knotd's own zone parser to read (the differential test),
    instead of the knot_compatible_copy form.
    """

    log_name = "knot.log"
    start_timeout = 15.0

    def __init__(self, zones, allow_transfer=True, key=None, verbatim=False):
        self.allow_transfer = allow_transfer
        self.key = key
        self.verbatim = verbatim
        super().__init__("knotd", "knot-primary", zones)

    def _copy(self, src, origin):
        if self.verbatim:
            super()._copy(src, origin)
        else:
            knot_compatible_copy(src, origin, self.zones[origin])

    @property
    def address(self):
        """"127.0.0.1:<port>", as Headwater's config and headwaterctl write a secondary."""
        return f"{ADDR}:{self.port}"

    def write_config(self):
        d = self.dir
        lines = knot_server_lines(d, self.port)
        if self.key:
            lines += ["key:", f"  - id: {self.key.name}", f"    algorithm: {self.key.algorithm}",
                      f"    secret: {self.key.secret}"]
        if self.allow_transfer:
            lines += ["acl:", "  - id: local", "    address: 127.0.0.0/8", "    action: transfer"]
            if self.key:
                lines.append(f"    key: {self.key.name}")
        lines += [
            "template:",
            "  - id: default",
            "    zonefile-sync: -1",
            "    zonefile-load: whole",
            "    journal-content: none",
            "    semantic-checks: off",
        ]
        if self.allow_transfer:
            lines.append("    acl: local")
        lines.append("zone:")
        for origin, path in self.zones.items():
            lines += [f"  - domain: {origin}", f"    file: {path}"]
        (d / "knot.conf").write_text("\n".join(lines) + "\n")

    def argv(self):
        return [self.exe, "-c", self.dir / "knot.conf"]

    def wait_ready(self, timeout=15.0):
        def ready():
            if not self.proc.alive():
                raise AssertionError(f"knotd exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            return all(soa_serial(self.port, z, timeout=0.5) is not None for z in self.zones)

        try:
            wait_for(ready, timeout, what=f"knotd (primary) to serve {list(self.zones)}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- knotd log ---\n{self.proc.log_tail()}") from None

    def serve(self, origin, src):
        """Serves the master file src for origin from now on (knotc zone-reload; same serial or not)."""
        origin = origin if origin.endswith(".") else origin + "."
        self._copy(src, origin)
        subprocess.run([require_tool("knotc"), "-c", self.dir / "knot.conf", "zone-reload", origin], check=True,
                       capture_output=True, timeout=10)


class BindPrimary(_OwnPrimary):
    """named as a primary of its own, serving master files as named itself reads them, on
    127.0.0.1:<free port>; zone transfers allowed from loopback, no NOTIFY.

    zones: {origin: master file}, each copied as it is into the instance's directory. The checks that
    only warn or refuse (check-names, check-integrity, ...) are off, so a file loads whenever named's
    parser accepts it; what named says about the files (TTL set to prior TTL, ...) is in log().
    """

    log_name = "named.log"
    start_timeout = 20.0

    def __init__(self, zones):
        super().__init__("named", "bind-primary", zones)

    def write_config(self):
        d = self.dir
        zones = "\n".join(f'zone "{z}" {{ type primary; file "{path}"; }};' for z, path in self.zones.items())
        options = ["check-names primary ignore;", "check-integrity no;", "check-mx ignore;",
                   "check-mx-cname ignore;", "check-srv-cname ignore;", "check-wildcard no;", "check-sibling no;"]
        (d / "named.conf").write_text(named_conf(d, self.port, options, zones))

    def argv(self):
        return named_argv(self.exe, self.dir / "named.conf")

    def wait_ready(self, timeout=20.0):
        """Until every zone answers SOA; raises with named's log when one is not loaded."""
        def ready():
            if not self.proc.alive():
                raise AssertionError(f"named exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            failed = re.findall(r"zone (\S+)/IN: not loaded due to errors", self.proc.log())
            if failed:
                raise AssertionError(f"named (primary) did not load {failed}:\n{self.proc.log_tail(60)}")
            return all(soa_serial(self.port, z, timeout=0.5) is not None for z in self.zones)

        wait_for(ready, timeout, what=f"named (primary) to serve {list(self.zones)}")


# ---- a server that never answers; the peers' transfer logs ----------------------------------------
class SilentUdp:
    """A UDP socket on loopback that reads every datagram and never answers (nothing listens on TCP at
    that port): a server that has gone quiet. count: datagrams received."""

    def __init__(self):
        import threading

        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ADDR, self.port))
        self.sock.settimeout(0.2)
        self.count = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"{ADDR}:{self.port}"

    def _run(self):
        while self.running:
            try:
                self.sock.recvfrom(65535)
                self.count += 1
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def knot_transfers(log):
    """{serial: ("IXFR"/"AXFR", line)} from a Knot secondary's log: the last `<TYPE>, incoming, ... finished`
    line before each `refresh, ... zone updated, ..., serial A -> B` (a fallback from IXFR logs a new AXFR
    line). One zone per log, or pass the zone's lines only."""
    out, last = {}, None
    for line in log.splitlines():
        m = re.search(r"\] (AXFR|IXFR), incoming, .*, finished", line)
        if m:
            last = (m.group(1), line)
        m = re.search(r"zone updated, .*serial \S+ -> (\d+)", line)
        if m and last:
            out[int(m.group(1))] = last
            last = None
    return out


def bind_transfers(log):
    """{serial: ("IXFR"/"AXFR", line)} from a BIND secondary's log (named -d 3): `got incremental response`
    or `got nonincremental response`, then `Transfer completed: ... (serial N)`. One zone per log, or pass
    the zone's lines only."""
    out, last = {}, None
    for line in log.splitlines():
        m = re.search(r"got (incremental|nonincremental) response", line)
        if m:
            last = ("IXFR" if m.group(1) == "incremental" else "AXFR", line)
        m = re.search(r"Transfer completed: .*\(serial (\d+)\)", line)
        if m and last:
            out[int(m.group(1))] = last
            last = None
    return out


# ---- unbound, a validating resolver ---------------------------------------------------------------
class Unbound:
    """unbound as a validating resolver on 127.0.0.1:<free port>: `zone` is a stub zone at `servers` (a list
    of ports on 127.0.0.1: Headwater, or the secondaries that serve what it signed), the trust anchor is the
    zone's DS (or DNSKEY) record text, and every other name goes to a dead loopback port (nothing leaves
    loopback; outgoing queries are sent from 127.0.0.1). `stubs`: more stub zones, {name: [ports]} (a
    child zone whose DS the zone serves: its chain of trust runs through the zone)."""

    def __init__(self, d, zone, servers, anchor, stubs=None):
        import dns.message
        import dns.query
        self.exe = require_tool("unbound")
        self.dir = Path(d)
        self.zone = zone if zone.endswith(".") else zone + "."
        self.port = free_port()
        dead = free_port()
        (self.dir / "anchor.ds").write_text(anchor + "\n")
        conf = self.dir / "unbound.conf"
        lines = ["server:", "    interface: 127.0.0.1", f"    port: {self.port}", "    outgoing-interface: 127.0.0.1",
                 "    do-ip6: no", "    do-not-query-localhost: no", "    use-syslog: no", '    logfile: ""',
                 '    chroot: ""', '    username: ""', f'    directory: "{self.dir}"',
                 f'    pidfile: "{self.dir / "unbound.pid"}"', "    num-threads: 1",
                 '    module-config: "validator iterator"', f'    trust-anchor-file: "{self.dir / "anchor.ds"}"',
                 "    trust-anchor-signaling: no", "    root-key-sentinel: no", "    aggressive-nsec: no",
                 "    prefetch: no", "    qname-minimisation: no", "    val-log-level: 2", "    verbosity: 1",
                 "    access-control: 127.0.0.0/8 allow", "stub-zone:", f'    name: "{self.zone}"']
        lines += [f"    stub-addr: 127.0.0.1@{p}" for p in servers]
        for name, ports in (stubs or {}).items():
            lines += ["stub-zone:", f'    name: "{name}"'] + [f"    stub-addr: 127.0.0.1@{p}" for p in ports]
        lines += ["stub-zone:", '    name: "."', f"    stub-addr: 127.0.0.1@{dead}", ""]
        conf.write_text("\n".join(lines))
        checker = shutil.which("unbound-checkconf") or "/usr/sbin/unbound-checkconf"
        if os.access(checker, os.X_OK):
            subprocess.run([checker, str(conf)], check=True, capture_output=True, cwd=self.dir)
        self.proc = Process([self.exe, "-d", "-c", conf], self.dir / "unbound.log", cwd=self.dir)

        def ready():
            if not self.proc.alive():
                raise AssertionError(f"unbound exited:\n{self.proc.log_tail()}")
            try:
                dns.query.udp(dns.message.make_query(self.zone, "SOA"), ADDR, port=self.port, timeout=1)
                return True
            except Exception:
                return False

        wait_for(ready, 15, what="unbound to answer")

    def resolve(self, name, rdtype):
        """`name` relative to the zone ("@" for the apex), asked with DO; the whole response."""
        import dns.message
        import dns.query
        qname = self.zone if name == "@" else f"{name}.{self.zone}"
        q = dns.message.make_query(qname, rdtype, use_edns=0, want_dnssec=True)
        return dns.query.udp(q, ADDR, port=self.port, timeout=10)

    def close(self):
        self.proc.stop()
