"""Fixtures for the cluster suite: real multi-node raftkv clusters.

`cluster3` is a plain 3-node cluster shared by one module (read-mostly tests
that leave it whole); `make_cluster(n=3, proxied=False, **options)` starts a
fresh cluster per test (proxied=True lets the test cut nodes off, see
cluster.py). Every cluster waits for one agreed, writable leader before the
test starts and is stopped by PID at teardown. A failing test gets the tail
of every node's log attached to its report.

Run: /usr/bin/python3 -m pytest -q tests/cluster (about 2 minutes; the
checker's own unit tests in test_linearizability_checker.py need no server).
RAFTKV_SERVER=/path/to/raftkv-server tests another binary, e.g. one built
from a clean export of HEAD while the shared tree is mid-edit."""
import pytest

from .cluster import LIVE_CLUSTERS, Cluster


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for cl in list(LIVE_CLUSTERS):
            for i, text in cl.logs().items():
                rep.sections.append(("node %d log (port %d, %s)" % (i, cl.ports[i], cl.nodes[i].workdir),
                                     text))


@pytest.fixture(scope="module")
def cluster3(tmp_path_factory):
    cl = Cluster(tmp_path_factory.mktemp("c3"), n=3)
    try:
        cl.start()
        yield cl
    finally:
        cl.stop()


@pytest.fixture
def make_cluster(tmp_path):
    made = []

    def make(n=3, proxied=False, start=True, **options):
        cl = Cluster(tmp_path / ("c%d" % len(made)), n=n, proxied=proxied, **options)
        made.append(cl)
        if start:
            cl.start()
        return cl

    yield make
    for cl in made:
        cl.stop()
