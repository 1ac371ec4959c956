"""Real multi-node raftkv clusters for the black-box cluster tests.

A Cluster runs N src/raftkv-server processes on 127.0.0.1, each on a random
free port in 20000-32000 with its own data directory and log file (reusing the
single-node Server class of tests/blackbox). Nodes are stopped by PID.

Cutting nodes off (network partitions): a per-link TCP proxy in the test.
Peers dial the address each of them finds in its own cluster-members, so a
"proxied" cluster gives every node its own view: in node A's cluster-members,
node B's address is the proxy that carries the A->B link (A's own entry is its
real address). Pausing a proxy stops it forwarding in both directions: it
holds the bytes it has and stops reading, so the kernel buffers fill and the
peers see silence, as with dropped packets; new connections are accepted by
the kernel and then hang. Resuming forwards everything held, in order, like
TCP after a partition heals (if a node gave up on the link meanwhile and closed
it, the proxy closes the other side too). Clients always talk to a node's real
port, so a cut-off node still hears clients: exactly the case where a deposed
leader must not acknowledge writes. (iptables on 127.0.0.N addresses was the
other candidate, but every node dials its peers from source address 127.0.0.1
-- the kernel's choice for loopback destinations -- so rules cannot tell the
links apart; the proxies also leave the shared machine's firewall alone.)
The peer handshake does not depend on addresses, so the proxies are
transparent to it.
"""
import random
import select
import socket
import threading
import time
from pathlib import Path

from blackbox.resp import Conn, ConnectionClosed, Error
from blackbox.server import Server, pick_port

# Every Cluster started and not yet stopped: failing tests get the node logs.
LIVE_CLUSTERS = []

NOT_APPLIED = ("MOVED ", "CLUSTERDOWN", "TRYAGAIN")


def parse_info(text):
    """INFO text -> {field: value} (values as str)."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def crc16(data):
    """CRC16-CCITT (XMODEM), Redis Cluster's key hash."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """Redis Cluster slot of a key, honouring {hash tags}."""
    if isinstance(key, str):
        key = key.encode()
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) % 16384


class Node(Server):
    """One cluster member. Ready as soon as it answers PING (a follower or a
    node without quorum is a normal state here)."""

    def __init__(self, workdir, **options):
        super().__init__(workdir, **options)
        self.node_id = int(options["node_id"])

    def _ready(self):
        try:
            with Conn(self.port, timeout=2.0) as c:
                return c.call("PING") == "PONG"
        except (OSError, ConnectionClosed):
            return False

    def info_raft(self, timeout=1.0):
        """INFO raft as a dict, or None if the node does not answer."""
        if not self.alive():
            return None
        try:
            with Conn(self.port, timeout=timeout) as c:
                reply = c.call("INFO", "raft")
        except (OSError, ConnectionClosed):
            return None
        if not isinstance(reply, bytes):
            return None
        return parse_info(reply)

    def call(self, *args, timeout=5.0):
        """One command on a fresh connection; returns the reply."""
        with Conn(self.port, timeout=timeout) as c:
            return c.call(*args)

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port


class LinkProxy:
    """Forwards one directed peer link to target_port; pause() cuts it (see the
    module comment), resume() heals it."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = False
        self.lock = threading.Lock()
        self.socks = set()
        # Port 0: the kernel's pick, from the ephemeral range, so never one of the
        # nodes' ports (pick_port keeps below it) picked but not bound yet.
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def pause(self):
        self.flowing.clear()

    def resume(self):
        self.flowing.set()

    def close(self):
        self.closed = True
        self.flowing.set()
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            self._kill(s)
        try:
            self.lsock.close()
        except OSError:
            pass

    def _kill(self, s):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass
        with self.lock:
            self.socks.discard(s)

    def _wait_flowing(self):
        while not self.closed:
            if self.flowing.wait(0.2):
                return not self.closed
        return False

    def _accept_loop(self):
        while not self.closed:
            try:
                a, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.socks.add(a)
            threading.Thread(target=self._serve, args=(a,), daemon=True).start()

    def _serve(self, a):
        if not self._wait_flowing():
            self._kill(a)
            return
        try:
            b = socket.create_connection(self.target, timeout=2.0)
        except OSError:
            self._kill(a)
            return
        b.settimeout(None)
        a.settimeout(None)
        with self.lock:
            self.socks.add(b)
        threading.Thread(target=self._pump, args=(b, a), daemon=True).start()
        self._pump(a, b)

    def _pump(self, src, dst):
        try:
            while not self.closed:
                r, _, _ = select.select([src], [], [], 0.2)
                if not r:
                    continue
                if not self.flowing.is_set() and not self._wait_flowing():
                    break
                data = src.recv(1 << 16)
                if not data:
                    break
                if not self._wait_flowing():
                    break
                dst.sendall(data)
        except (OSError, ValueError):
            pass
        self._kill(src)
        self._kill(dst)


class Cluster:
    """N nodes with ids 1..N. proxied=True routes every peer link through its
    own LinkProxy so that cut()/heal() can partition nodes."""

    def __init__(self, workdir, n=3, proxied=False, election_timeout_ms=1000, heartbeat_ms=100,
                 cluster_id="test", cluster_secret="s3cret", **extra):
        self.workdir = Path(workdir)
        self.n = n
        self.election_timeout_ms = election_timeout_ms
        self.cluster_id = cluster_id
        self.cluster_secret = cluster_secret
        self.ports = {}
        used = set()
        for i in range(1, n + 1):
            for _ in range(100):
                p = pick_port()
                if p not in used:
                    break
            used.add(p)
            self.ports[i] = p
        self.proxies = {}
        if proxied:
            for a in self.ports:
                for b in self.ports:
                    if a != b:
                        self.proxies[(a, b)] = LinkProxy(self.ports[b])
        self.addr_to_id = {"127.0.0.1:%d" % p: i for i, p in self.ports.items()}
        for (a, b), px in self.proxies.items():
            self.addr_to_id["127.0.0.1:%d" % px.port] = b
        self.nodes = {}
        for i in self.ports:
            self.nodes[i] = Node(self.workdir / ("node%d" % i),
                                 node_id=i, cluster_members=self.members(i),
                                 cluster_id=cluster_id, cluster_secret=cluster_secret,
                                 election_timeout_ms=election_timeout_ms,
                                 heartbeat_ms=heartbeat_ms, **extra)
        self.cut_off = set()

    @property
    def et(self):
        """The election timeout in seconds."""
        return self.election_timeout_ms / 1000.0

    def members(self, viewer):
        """cluster-members as node `viewer` sees it."""
        parts = []
        for i, p in sorted(self.ports.items()):
            if (viewer, i) in self.proxies:
                p = self.proxies[(viewer, i)].port
            parts.append("%d@127.0.0.1:%d" % (i, p))
        return ",".join(parts)

    # ---- lifecycle -------------------------------------------------------
    def start(self, wait=True):
        LIVE_CLUSTERS.append(self)
        for i, node in self.nodes.items():
            node.start(port=self.ports[i])
        if wait:
            return self.wait_leader()
        return None

    def stop(self):
        for node in self.nodes.values():
            try:
                node.stop(timeout=5.0)
            except Exception:  # teardown must reach every node
                node.kill9()
        for px in self.proxies.values():
            px.close()
        if self in LIVE_CLUSTERS:
            LIVE_CLUSTERS.remove(self)

    def kill(self, i):
        self.nodes[i].kill9()

    def restart(self, i):
        node = self.nodes[i]
        if node.alive():
            node.kill9()
        node.start(port=self.ports[i])

    def live(self):
        return [n for n in self.nodes.values() if n.alive()]

    # ---- partitions ------------------------------------------------------
    def cut(self, i):
        """Cut node i off from every other node (clients still reach it)."""
        assert self.proxies, "cut() needs a proxied cluster"
        for (a, b), px in self.proxies.items():
            if i in (a, b):
                px.pause()
        self.cut_off.add(i)

    def heal(self, i=None):
        """Reconnect node i (default: every cut-off node)."""
        targets = set(self.cut_off) if i is None else {i}
        for (a, b), px in self.proxies.items():
            if (a in targets or b in targets) and not ({a, b} & (self.cut_off - targets)):
                px.resume()
        self.cut_off -= targets

    # ---- observation -----------------------------------------------------
    def infos(self, ids=None):
        ids = list(self.nodes) if ids is None else ids
        return {i: self.nodes[i].info_raft() for i in ids}

    def find_leader(self, ids=None):
        """The node among `ids` (default: live nodes) that they all agree
        leads, or None."""
        ids = [n.node_id for n in self.live()] if ids is None else ids
        infos = self.infos(ids)
        if any(v is None for v in infos.values()):
            return None
        leaders = [i for i, v in infos.items() if v.get("raft_role") == "leader"]
        if len(leaders) != 1:
            return None
        lid = leaders[0]
        term = infos[lid].get("raft_term")
        for i, v in infos.items():
            if v.get("raft_leader_id") != str(lid) or v.get("raft_term") != term:
                return None
        return self.nodes[lid]

    def wait_leader(self, ids=None, timeout=None, writable=True):
        """Wait until the nodes `ids` (default: live ones) agree on exactly one
        leader (and, if writable, it acknowledges a SET). Returns the leader."""
        timeout = timeout if timeout is not None else 10 * self.et + 5
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            leader = self.find_leader(ids)
            if leader is not None:
                if not writable:
                    return leader
                try:
                    last = leader.call("SET", "__probe__", str(time.monotonic()), timeout=max(1.0, 2 * self.et))
                    if last == "OK":
                        return leader
                except (OSError, ConnectionClosed) as e:
                    last = e
            time.sleep(0.05)
        raise AssertionError("no single leader among nodes %s within %.1f s; last probe %r; INFO raft: %r"
                             % (ids or [n.node_id for n in self.live()], timeout, last, self.infos(ids)))

    def wait_caught_up(self, i, leader, timeout=20.0):
        """Wait until node i has applied everything the leader had committed
        when the wait started."""
        target = int(leader.info_raft()["raft_commit_index"])
        deadline = time.monotonic() + timeout
        info = None
        while time.monotonic() < deadline:
            info = self.nodes[i].info_raft()
            if info and int(info.get("raft_applied_index", -1)) >= target:
                return info
            time.sleep(0.05)
        raise AssertionError("node %d did not apply index %d within %.0f s: %r" % (i, target, timeout, info))

    def logs(self, max_bytes=8000):
        return {i: n.log_tail(max_bytes) for i, n in self.nodes.items()}


class Client:
    """A client that talks to one node at a time, directly on its real port,
    and moves to the leader a -MOVED names. call() makes ONE attempt and
    classifies it:
      ("ok", reply)          a reply that is not an error
      ("error", text)        a definite error: the command ran and failed
      ("not_applied", text)  -MOVED / -CLUSTERDOWN / -TRYAGAIN, or the connection
                             could not be made: the command did not happen
      ("unknown", text)      -TIMEOUT, a lost connection or no reply in time:
                             it may or may not have happened
    """

    def __init__(self, cluster, node_id=None, timeout=3.0):
        self.cluster = cluster
        self.node_id = node_id or random.choice(list(cluster.nodes))
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def move(self, node_id=None):
        self.close()
        self.node_id = node_id or random.choice(list(self.cluster.nodes))

    def call(self, *args):
        if self.conn is None:
            try:
                self.conn = Conn(self.cluster.ports[self.node_id], timeout=self.timeout)
            except OSError as e:
                self.move()
                return "not_applied", "connect: %s" % e
        try:
            reply = self.conn.call(*args)
        except (OSError, ConnectionClosed) as e:
            self.close()
            return "unknown", "connection: %s" % (e or type(e).__name__)
        if isinstance(reply, Error):
            text = str(reply)
            if text.startswith("MOVED "):
                addr = text.split()[2]
                self.move(self.cluster.addr_to_id.get(addr))
                return "not_applied", text
            if text.startswith(NOT_APPLIED):
                return "not_applied", text
            if text.startswith("TIMEOUT"):
                self.close()
                return "unknown", text
            return "error", text
        return "ok", reply

    def call_until(self, *args, deadline):
        """Retry while the command certainly did not happen (following MOVED,
        waiting 50 ms after CLUSTERDOWN) until `deadline`; returns the last
        classified outcome."""
        out = ("not_applied", "deadline passed before the first attempt")
        while time.monotonic() < deadline:
            out = self.call(*args)
            if out[0] != "not_applied":
                return out
            if not out[1].startswith("MOVED"):
                time.sleep(0.05)
                if out[1].startswith("CLUSTERDOWN"):
                    self.move()
        return out
