"""Process, file and log helpers of Headwater's black-box tests: the binaries, free loopback ports,
temporary directories, child processes (killed with the test), waiting, the server's log lines, and the
test files' main(). See hwtest.py for the environment variables.
"""

import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"
ADDR = "127.0.0.1"
OTHER_ADDR = "127.0.0.2"  # a local source address outside every ACL the tests configure


# ---- binaries ------------------------------------------------------------------------------
def standin():
    """'knot' when the tests run against knotd instead of Headwater (HW_STANDIN=knot)."""
    return os.environ.get("HW_STANDIN", "").strip().lower() or None


def _binary(env, default):
    path = os.environ.get(env)
    if path:
        if not os.access(path, os.X_OK):
            raise AssertionError(f"{env}={path} is not an executable file")
        return path
    if os.access(default, os.X_OK):
        return str(default)
    if os.environ.get("CI"):
        raise AssertionError(f"{default} not built and {env} not set (CI must test the real binary)")
    raise unittest.SkipTest(f"{default} not built and {env} not set")


def headwater_bin():
    return _binary("HEADWATER_BIN", REPO / "build" / "server" / "headwater")


def headwaterctl_bin():
    return _binary("HEADWATERCTL_BIN", REPO / "build" / "tools" / "headwaterctl")


def require_tool(name):
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if os.access(p, os.X_OK)), None)
    if not path:
        # tools/setup-deps.sh installs every peer: in CI a missing one is a broken set-up, not a skip.
        if os.environ.get("CI"):
            raise AssertionError(f"{name} is not installed (run tools/setup-deps.sh)")
        raise unittest.SkipTest(f"{name} is not installed")
    return path


def require_headwater(test_reason="needs Headwater itself"):
    """For tests that exercise Headwater-only features (control socket, config checks)."""
    if standin():
        raise unittest.SkipTest(f"{test_reason} (HW_STANDIN={standin()})")


# ---- ports, files, config text --------------------------------------------------------------------
_handed_out = set()


def free_port(host=ADDR):
    """A high port free for both UDP and TCP on `host` (not handed out before in this process)."""
    for _ in range(200):
        port = random.randint(20000, 60999)
        if port in _handed_out:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind((host, port))
                t.bind((host, port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found")


def tempdir(prefix):
    d = Path(tempfile.mkdtemp(prefix=f"hw-{prefix}-"))
    return d


def cleanup_dir(d):
    if os.environ.get("HW_KEEP_TMP"):
        print(f"[hwtest] keeping {d}", file=sys.stderr)
        return
    shutil.rmtree(d, ignore_errors=True)


def toml_str(s):
    return json.dumps(str(s))


# ---- waiting --------------------------------------------------------------------------------------
def wait_for(predicate, timeout, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---- processes -------------------------------------------------------------------------------
# A sanitized build (tools/test-sanitizers.sh: ASan, LSan, UBSan) reports to stderr, which Process sends
# to the server's log; a report there fails the test even when the server kept running.
_SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|: runtime error: ")


def check_sanitizer_log(log_text, what):
    """Raises AssertionError with the report when log_text holds a sanitizer report."""
    m = _SANITIZER_REPORT.search(log_text)
    if m:
        start = log_text.rfind("\n", 0, m.start()) + 1
        raise AssertionError(f"sanitizer report in the {what} log:\n{log_text[start:start + 6000]}")


def _die_with_parent():
    """In the child: get SIGKILL when the test process dies (a CTest timeout, a crash), so no
    server is left behind holding ports (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


class Process:
    """A child process whose stdout+stderr go to a log file."""

    def __init__(self, argv, log_path, cwd=None, env=None):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


# ---- the server's log lines ----------------------------------------------------------------------
def _event_log(word, log_text, zone=None, **match):
    """Headwater's `<word> zone=... key=value ...` log lines as dicts (quoted values unquoted), filtered by
    zone and by any other field=value given (values are regular expressions)."""
    marker = f" {word} zone="
    out = []
    for line in log_text.splitlines():
        idx = line.find(marker)
        if idx < 0:
            continue
        try:
            words = shlex.split(line[idx + len(word) + 2:])
        except ValueError:
            continue
        fields = dict(w.split("=", 1) for w in words if "=" in w)
        fields["_line"] = line
        if zone is not None and fields.get("zone", "").lower() != zone.lower():
            continue
        if all(re.fullmatch(str(v), fields.get(k, "")) for k, v in match.items()):
            out.append(fields)
    return out


def transfer_log(log_text, zone=None, **match):
    """The `transfer zone=... type=... form=... peer=... outcome=...` lines, see _event_log()."""
    return _event_log("transfer", log_text, zone, **match)


def notify_log(log_text, zone=None, **match):
    """The `notify zone=... target=... serial=... tries=... outcome=ack|error` lines, see _event_log()."""
    return _event_log("notify", log_text, zone, **match)


def verify_log(log_text, zone=None, **match):
    """The server's `verify zone=Z secondary=A drift starts|ends: summary` warnings as dicts with zone,
    secondary, edge ("starts"/"ends"), summary and _line; filtered by zone and field=regex."""
    out = []
    for line in log_text.splitlines():
        m = re.search(r"\bverify zone=(\S+) secondary=(\S+) drift (starts|ends): (.*)$", line)
        if not m:
            continue
        fields = {"zone": m.group(1), "secondary": m.group(2), "edge": m.group(3), "summary": m.group(4),
                  "_line": line}
        if zone is not None and fields["zone"].lower().rstrip(".") != zone.lower().rstrip("."):
            continue
        if all(re.fullmatch(str(v), fields.get(k, "")) for k, v in match.items()):
            out.append(fields)
    return out


# ---- running a test file --------------------------------------------------------------------------
def main():
    """unittest.main() that exits 77 (CTest SKIP_RETURN_CODE) when every test was skipped."""
    prog = unittest.main(verbosity=2, exit=False)
    r = prog.result
    if r.testsRun and len(r.skipped) == r.testsRun and r.wasSuccessful():
        sys.exit(77)
    sys.exit(0 if r.wasSuccessful() else 1)
