"""Start, stop, restart and kill -9 one server process for the black-box tests.

The target is chosen by RAFTKV_TARGET: "raftkv" (default) runs src/raftkv-server
(or $RAFTKV_SERVER), "redis" runs the stock redis-server with the durability
settings that make it comparable (AOF, fsync always, no RDB, one database).
Each server gets its own temp data directory and a random free port in
20000-32000 on 127.0.0.1; its stdout/stderr go to a log file that the
conftest attaches to failing tests.
"""
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from .resp import Conn, ConnectionClosed, Status, Error

TARGET = os.environ.get("RAFTKV_TARGET", "raftkv")
REPO = Path(__file__).resolve().parents[2]
RAFTKV_BIN = os.environ.get("RAFTKV_SERVER", str(REPO / "src" / "raftkv-server"))
REDIS_BIN = os.environ.get("REDIS_SERVER", "redis-server")
START_TIMEOUT_S = float(os.environ.get("RAFTKV_START_TIMEOUT", "20"))

# Every server started and not yet stopped; failing tests get their logs.
LIVE = []


def is_redis():
    return TARGET == "redis"


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_port():
    # Below Linux's ephemeral range (32768-60999): a port picked there can be
    # taken by some outgoing connection's local end before the server binds it.
    for _ in range(200):
        port = random.randint(20000, 32000)
        if _port_free(port):
            return port
    raise RuntimeError("no free port found in 20000-32000")


class Server:
    """One server process on its own directory. options: {name: value} passed
    as --name value (both targets accept the same names); config_text, if
    given, is written to a file passed as the first argument, like
    `redis-server FILE --opt value`."""

    def __init__(self, workdir, config_text=None, **options):
        self.workdir = Path(workdir)
        self.dir = self.workdir / "data"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logpath = self.workdir / "server.log"
        self.config_path = None
        if config_text is not None:
            self.config_path = self.workdir / "server.conf"
            self.config_path.write_text(config_text)
        self.options = {k.replace("_", "-"): v for k, v in options.items()}
        self.password = self.options.get("requirepass")
        self.port = None
        self.proc = None
        self.starts = 0

    # ---- lifecycle -------------------------------------------------------
    def argv(self):
        conf = [str(self.config_path)] if self.config_path is not None else []
        if is_redis():
            argv = [REDIS_BIN] + conf + ["--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", str(self.dir), "--appendonly", "yes",
                    "--appendfsync", "always", "--save", "", "--databases", "1"]
        else:
            argv = [RAFTKV_BIN] + conf + ["--port", str(self.port), "--bind", "127.0.0.1",
                                          "--dir", str(self.dir)]
        for k, v in self.options.items():
            argv += ["--" + k, str(v)]
        return argv

    def start(self, port=None):
        """Start on `port` (default: the previous port, else a random free one)
        and wait until it answers PING (and, for raftkv, is Raft leader)."""
        if port is not None:
            self.port = port
        attempts = 1 if self.port is not None else 3
        last = None
        for _ in range(attempts):
            if self.port is None:
                self.port = pick_port()
            try:
                self._spawn_and_wait()
                return self
            except RuntimeError as e:
                last = e
                self.stop()
                if attempts > 1:
                    self.port = None
        raise last

    def _spawn_and_wait(self):
        if not is_redis() and not os.path.exists(RAFTKV_BIN):
            raise RuntimeError("server binary %s does not exist (build it, or run with "
                               "RAFTKV_TARGET=redis)" % RAFTKV_BIN)
        self.starts += 1
        log = open(self.logpath, "ab")
        log.write(b"\n===== start #%d: %s\n" % (self.starts, " ".join(self.argv()).encode()))
        log.flush()
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=str(self.workdir))
        log.close()
        LIVE.append(self)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s during start; log:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            if self._ready():
                return
            time.sleep(0.05)
        raise RuntimeError("server did not become ready within %.0f s; log:\n%s"
                           % (START_TIMEOUT_S, self.log_tail()))

    def _ready(self):
        try:
            with Conn(self.port, timeout=2.0) as c:
                if self.password is not None:
                    c.call("AUTH", self.password)
                if c.call("PING") != "PONG":
                    return False
                if is_redis():
                    return True
                info = c.call("INFO", "raft")
                if not isinstance(info, bytes) or b"raft_role:" not in info:
                    return True  # no raft section: PING is all we can wait for
                return b"raft_role:leader" in info
        except (OSError, ConnectionClosed):
            return False

    def stop(self, timeout=15.0):
        """Graceful stop (SIGTERM, then SIGKILL after `timeout` s)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._forget()

    def kill9(self):
        """SIGKILL the process by PID and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._forget()

    def _forget(self):
        self.proc = None
        if self in LIVE:
            LIVE.remove(self)

    def restart(self, kill=False):
        """Stop (or kill -9) and start again on the same port and directory."""
        if kill:
            self.kill9()
        else:
            self.stop()
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- clients ---------------------------------------------------------
    def conn(self, auth=True):
        """A new exact RESP connection (authenticated if a password is set)."""
        c = Conn(self.port)
        if auth and self.password is not None:
            assert c.call("AUTH", self.password) == Status("OK")
        return c

    def client(self, **kw):
        """A redis-py client (bytes replies unless decode_responses=True)."""
        kw.setdefault("socket_timeout", 10)
        if self.password is not None:
            kw.setdefault("password", self.password)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def log_tail(self, max_bytes=20000):
        """The end of the captured stdout/stderr, and of the logfile option's file if set."""
        paths = [self.logpath]
        if self.options.get("logfile"):
            paths.append(Path(self.options["logfile"]))
        out = []
        for p in paths:
            try:
                data = p.read_bytes()
            except OSError:
                continue
            out.append("--- %s\n%s" % (p, data[-max_bytes:].decode(errors="replace")))
        return "\n".join(out) or "(no log)"


__all__ = ["Server", "TARGET", "LIVE", "is_redis", "pick_port", "Error", "Status"]
