"""Fixtures for the black-box suite: real server processes, one per module
(`server`, with `c`/`r` clients on a flushed keyspace) or one per test
(`make_server(**options)`). RAFTKV_TARGET=redis runs everything against stock
redis-server 7.0 instead of src/raftkv-server; tests marked `raftkv_only` are
skipped there. A failing test gets the tail of every live server's log
attached to its report."""
import pytest

from .server import LIVE, Server, TARGET, is_redis


def pytest_configure(config):
    config.addinivalue_line("markers", "raftkv_only(reason): needs a raftkv-only feature; "
                            "skipped when RAFTKV_TARGET=redis")


def pytest_report_header(config):
    return "blackbox target: %s" % TARGET


def pytest_collection_modifyitems(config, items):
    if not is_redis():
        return
    for item in items:
        m = item.get_closest_marker("raftkv_only")
        if m is not None:
            reason = m.args[0] if m.args else "raftkv-only feature"
            item.add_marker(pytest.mark.skip(reason="raftkv only: " + reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in list(LIVE):
            rep.sections.append(("server log (port %s, %s)" % (srv.port, srv.workdir),
                                 srv.log_tail()))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A default-configured server shared by one test module."""
    srv = Server(tmp_path_factory.mktemp("srv"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def c(server):
    """Exact RESP connection to the module server, keyspace flushed."""
    conn = server.conn()
    conn.call("FLUSHALL")
    yield conn
    conn.close()


@pytest.fixture
def r(server):
    """redis-py client (bytes) to the module server, keyspace flushed."""
    cli = server.client()
    cli.flushall()
    yield cli
    cli.close()


@pytest.fixture
def make_server(tmp_path):
    """Factory for per-test servers with options, e.g. make_server(requirepass='pw')
    or make_server(config_text="maxclients 7\n"). Every server it starts is
    stopped at teardown."""
    started = []

    def make(config_text=None, **options):
        srv = Server(tmp_path / ("s%d" % len(started)), config_text=config_text, **options)
        started.append(srv)
        return srv.start()

    yield make
    for srv in started:
        srv.stop()
