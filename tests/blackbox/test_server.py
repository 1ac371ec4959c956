"""Server commands: COMMAND, CONFIG, INFO, DBSIZE, FLUSHDB/FLUSHALL, TIME, unknown commands."""
import re
import time

import pytest

from .resp import encode

ARITY = "ERR wrong number of arguments for '%s' command"


def test_unknown_command(c):
    assert c.raw("foo", "a", "b") == (
        b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n")
    assert c.err("foo") == "ERR unknown command 'foo', with args beginning with: "
    assert c.err("FOO", "x") == "ERR unknown command 'FOO', with args beginning with: 'x' "
    # the name is cut at 128 bytes, the argument list at 128 bytes in total
    name = "foo" + "x" * 200
    err = c.err(name, "a" * 100, "b" * 100, "c")
    assert err == ("ERR unknown command '%s', with args beginning with: '%s' '%s' "
                   % (name[:128], "a" * 100, "b" * 25))
    assert c.call("PING") == "PONG"


@pytest.mark.parametrize("args,name", [
    (["GET"], "get"), (["GET", "a", "b"], "get"), (["SET", "a"], "set"),
    (["DEL"], "del"), (["EXISTS"], "exists"), (["TTL"], "ttl"),
    (["DBSIZE", "x"], "dbsize"), (["TIME", "x"], "time"), (["ECHO"], "echo"),
    (["CONFIG", "GET"], "config|get"), (["CONFIG", "SET", "maxclients"], "config|set"),
    (["CONFIG"], "config"), (["COMMAND", "INFO"][:1] + ["COUNT", "x"], "command|count"),
    (["INCRBYFLOAT", "a"], "incrbyfloat"), (["GETEX"], "getex"),
])
def test_wrong_arity(c, args, name):
    assert c.err(*args) == ARITY % name


def test_dbsize_flushdb_flushall(c):
    assert c.call("DBSIZE") == 0
    c.call("MSET", "a", "1", "b", "2", "c", "3")
    assert c.call("DBSIZE") == 3
    assert c.call("FLUSHDB") == "OK"
    assert c.call("DBSIZE") == 0
    c.call("MSET", "a", "1", "b", "2")
    assert c.call("FLUSHALL") == "OK"
    assert c.call("DBSIZE") == 0
    assert c.call("GET", "a") is None
    c.call("SET", "a", "1")
    assert c.call("FLUSHDB", "SYNC") == "OK"
    c.call("SET", "a", "1")
    assert c.call("FLUSHALL", "ASYNC") == "OK"
    assert c.call("DBSIZE") == 0
    assert c.call("FLUSHDB", "async") == "OK"
    assert c.err("FLUSHDB", "x") == "ERR syntax error"
    assert c.err("FLUSHALL", "x") == "ERR syntax error"
    assert c.err("FLUSHDB", "SYNC", "ASYNC") == "ERR syntax error"


def test_time(c):
    before = time.time()
    reply = c.call("TIME")
    after = time.time()
    assert isinstance(reply, list) and len(reply) == 2
    assert all(isinstance(x, bytes) and x.isdigit() for x in reply)
    secs, usecs = int(reply[0]), int(reply[1])
    assert 0 <= usecs < 1000000
    assert before - 1 <= secs + usecs / 1e6 <= after + 1


def test_command_count_and_list(c):
    count = c.call("COMMAND", "COUNT")
    assert isinstance(count, int) and count > 40
    names = c.call("COMMAND", "LIST")  # also lists subcommands such as config|get
    assert isinstance(names, list) and len(names) >= count
    for n in (b"get", b"set", b"del", b"ping", b"info", b"config", b"client", b"scan", b"incrbyfloat"):
        assert n in names
    everything = c.call("COMMAND")
    assert len(everything) == count
    assert {e[0] for e in everything} <= set(names)


def test_command_info(c):
    reply = c.call("COMMAND", "INFO", "get", "set", "nosuchcmd", "GET")
    assert len(reply) == 4
    get, set_, missing, get2 = reply
    assert missing is None
    assert get == get2
    assert get[0] == b"get"
    assert get[1] == 2
    assert "readonly" in get[2] and "fast" in get[2]
    assert get[3:6] == [1, 1, 1]
    assert set_[0] == b"set"
    assert set_[1] == -3
    assert "write" in set_[2]
    assert set_[3:6] == [1, 1, 1]
    mset = c.call("COMMAND", "INFO", "mset")[0]
    assert mset[:2] == [b"mset", -3] and mset[3:6] == [1, -1, 2]
    ping = c.call("COMMAND", "INFO", "ping")[0]
    assert ping[:2] == [b"ping", -1] and ping[3:6] == [0, 0, 0]


def test_command_docs(c):
    reply = c.call("COMMAND", "DOCS", "get")
    assert isinstance(reply, list) and reply[0] == b"get"
    doc = dict(zip(reply[1][0::2], reply[1][1::2]))
    assert isinstance(doc[b"summary"], bytes) and doc[b"summary"]
    assert doc[b"group"] == b"string"
    assert c.call("COMMAND", "DOCS", "nosuchcmd") == []
    assert c.err("COMMAND", "FOO") == "ERR unknown subcommand 'FOO'. Try COMMAND HELP."


def _cfg(reply):
    assert isinstance(reply, list) and len(reply) % 2 == 0
    return dict(zip(reply[0::2], reply[1::2]))


def test_config_get(c, server):
    save = _cfg(c.call("CONFIG", "GET", "save"))
    assert list(save) == [b"save"] and isinstance(save[b"save"], bytes)
    assert _cfg(c.call("CONFIG", "GET", "appendonly")) == {b"appendonly": b"yes"}
    assert _cfg(c.call("CONFIG", "GET", "port")) == {b"port": str(server.port).encode()}
    assert _cfg(c.call("CONFIG", "GET", "bind")) == {b"bind": b"127.0.0.1"}
    assert _cfg(c.call("CONFIG", "GET", "maxclients")) == {b"maxclients": b"10000"}
    assert _cfg(c.call("CONFIG", "GET", "maxclient*")) == {b"maxclients": b"10000"}
    assert _cfg(c.call("CONFIG", "GET", "proto-max-bulk-len")) == {b"proto-max-bulk-len": b"536870912"}
    assert _cfg(c.call("CONFIG", "GET", "client-query-buffer-limit")) == {
        b"client-query-buffer-limit": b"1073741824"}
    assert _cfg(c.call("CONFIG", "GET", "requirepass")) == {b"requirepass": b""}
    assert _cfg(c.call("CONFIG", "GET", "port", "maxclients")) == {
        b"port": str(server.port).encode(), b"maxclients": b"10000"}
    glob = _cfg(c.call("CONFIG", "GET", "*"))
    for name in (b"port", b"bind", b"dir", b"maxclients", b"proto-max-bulk-len", b"loglevel"):
        assert name in glob
    assert glob[b"port"] == str(server.port).encode()
    assert c.call("CONFIG", "GET", "nosuchoption") == []
    assert c.call("CONFIG", "GET", "nosuch*") == []


def test_config_set(c):
    try:
        assert c.call("CONFIG", "SET", "maxclients", "50") == "OK"
        assert _cfg(c.call("CONFIG", "GET", "maxclients")) == {b"maxclients": b"50"}
        assert c.err("CONFIG", "SET", "maxclients", "abc") == (
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
            "argument couldn't be parsed into an integer")
        assert _cfg(c.call("CONFIG", "GET", "maxclients")) == {b"maxclients": b"50"}
    finally:
        assert c.call("CONFIG", "SET", "maxclients", "10000") == "OK"
    assert c.err("CONFIG", "SET", "nosuchoption", "1") == (
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuchoption'")
    assert c.err("CONFIG", "SET", "maxclients") == ARITY % "config|set"
    assert c.err("CONFIG", "FOO") == "ERR unknown subcommand 'FOO'. Try CONFIG HELP."


def test_config_set_bulk_len_minimum(c):
    assert c.err("CONFIG", "SET", "proto-max-bulk-len", "1000") == (
        "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - "
        "argument must be between 1048576 and 9223372036854775807 inclusive")
    assert _cfg(c.call("CONFIG", "GET", "proto-max-bulk-len")) == {b"proto-max-bulk-len": b"536870912"}


def _info(blob):
    assert isinstance(blob, bytes)
    sections, fields, current = [], {}, None
    for line in blob.decode().split("\r\n"):
        if not line:
            continue
        if line.startswith("# "):
            current = line[2:]
            sections.append(current)
            continue
        k, _, v = line.partition(":")
        fields[k] = v
    return sections, fields


def test_info(c):
    blob = c.call("INFO")
    assert blob.endswith(b"\r\n") and b"\n" not in blob.replace(b"\r\n", b"")
    sections, f = _info(blob)
    for s in ("Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Keyspace"):
        assert s in sections
    assert re.fullmatch(r"\d+\.\d+\.\d+", f["redis_version"])
    assert f["redis_mode"] == "standalone"
    assert int(f["tcp_port"]) > 0
    assert int(f["connected_clients"]) >= 1
    assert int(f["used_memory"]) > 0
    assert int(f["uptime_in_seconds"]) >= 0
    assert int(f["total_commands_processed"]) >= 1
    assert f["role"] == "master"
    assert int(f["process_id"]) > 0


def test_info_sections(c, server):
    sections, f = _info(c.call("INFO", "server"))
    assert sections == ["Server"] and f["tcp_port"] == str(server.port)
    sections, f = _info(c.call("INFO", "clients"))
    assert sections == ["Clients"]
    with server.conn() as other:
        other.call("PING")
        n = int(_info(c.call("INFO", "clients"))[1]["connected_clients"])
        assert n >= 2
    deadline = time.monotonic() + 5
    while int(_info(c.call("INFO", "clients"))[1]["connected_clients"]) >= n:
        assert time.monotonic() < deadline, "connected_clients did not drop after a disconnect"
        time.sleep(0.05)
    sections, _ = _info(c.call("INFO", "SERVER", "memory"))
    assert sections == ["Server", "Memory"]
    assert c.call("INFO", "nosuchsection") == b""


def test_info_keyspace(c):
    assert c.call("INFO", "keyspace") == b"# Keyspace\r\n"
    c.call("MSET", "a", "1", "b", "2", "c", "3")
    c.call("EXPIRE", "a", "1000")
    blob = c.call("INFO", "keyspace")
    m = re.fullmatch(rb"# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=(\d+)\r\n", blob)
    assert m, blob
    assert 0 <= int(m.group(1)) <= 1000000


def test_config_resetstat(c):
    for _ in range(20):
        c.call("PING")
    before = int(_info(c.call("INFO", "stats"))[1]["total_commands_processed"])
    assert before >= 20
    assert c.call("CONFIG", "RESETSTAT") == "OK"
    after = int(_info(c.call("INFO", "stats"))[1]["total_commands_processed"])
    assert after <= 2


@pytest.mark.raftkv_only("INFO raft is raftkv's own section")
def test_info_raft(c):
    c.call("SET", "k", "v")
    sections, f = _info(c.call("INFO", "raft"))
    assert sections == ["Raft"]
    assert f["raft_role"] == "leader"
    term = int(f["raft_term"])
    commit, applied = int(f["raft_commit_index"]), int(f["raft_applied_index"])
    first, last = int(f["raft_first_index"]), int(f["raft_last_index"])
    assert term >= 1
    assert 1 <= applied <= commit <= last
    assert first <= last
    c.call("SET", "k", "w")
    f2 = _info(c.call("INFO", "raft"))[1]
    assert int(f2["raft_applied_index"]) > applied
    assert int(f2["raft_commit_index"]) > commit


@pytest.mark.raftkv_only("stock Redis without cluster-enabled refuses CLUSTER; these texts were taken from "
                         "redis-server 7.0.15 --cluster-enabled yes")
def test_cluster_failover_on_a_leader(c):
    # A single node leads: the texts stock Redis 7.0.15 (cluster mode) gives
    # a master; the option is checked first, as there.
    assert c.raw("CLUSTER", "FAILOVER") == b"-ERR You should send CLUSTER FAILOVER to a replica\r\n"
    for opt in ("FORCE", "takeover"):
        assert c.err("CLUSTER", "FAILOVER", opt) == "ERR You should send CLUSTER FAILOVER to a replica"
    assert c.err("CLUSTER", "FAILOVER", "bogus") == "ERR syntax error"
    assert c.err("CLUSTER", "FAILOVER", "FORCE", "x") == (
        "ERR unknown subcommand or wrong number of arguments for 'failover'. Try CLUSTER HELP.")
    # its peer-side request is for authenticated peers only
    assert c.err("RAFT.FAILOVER") == "NOPERM this connection is not an authenticated raft peer"
    assert c.call("INFO", "raft").decode().find("raft_role:leader") >= 0


def test_pipelined_errors_keep_order(c):
    c.send(encode("foo") + encode("GET") + encode("PING") + encode("SET", "k", "v", "NX", "XX")
           + encode("ECHO", "end"))
    replies = [c.read_reply() for _ in range(5)]
    assert replies == ["ERR unknown command 'foo', with args beginning with: ",
                       ARITY % "get", "PONG", "ERR syntax error", b"end"]


def test_config_file_and_command_line(make_server, tmp_path):
    logfile = tmp_path / "custom.log"
    srv = make_server(config_text="# comment line\nmaxclients 77\n\nproto-max-bulk-len 2mb\n",
                      maxclients=88, logfile=str(logfile), loglevel="notice")
    with srv.conn() as conn:
        # the command line overrides the file
        assert _cfg(conn.call("CONFIG", "GET", "maxclients")) == {b"maxclients": b"88"}
        assert _cfg(conn.call("CONFIG", "GET", "proto-max-bulk-len")) == {
            b"proto-max-bulk-len": str(2 * 1024 * 1024).encode()}
        assert _cfg(conn.call("CONFIG", "GET", "loglevel")) == {b"loglevel": b"notice"}
        assert _cfg(conn.call("CONFIG", "GET", "logfile")) == {b"logfile": str(logfile).encode()}
        assert _cfg(conn.call("CONFIG", "GET", "dir")) == {b"dir": str(srv.dir).encode()}
    assert logfile.exists() and logfile.stat().st_size > 0
