"""The Spark engine over Spark Connect (`--spark-master sc://...`): a local Spark Connect server is
started for this module (pyspark's own sbin/start-connect-server.sh, local[2]) and the Mall sample is
segmented through it; sizes, names, actions and the result files equal the DuckDB engine's."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.cli import main as cli_main
from core.models import SEGMENT

from tests.conftest import MALL_CSV
from tests.spark.engines import both_engines, fresh_store, same_segment_count

pytestmark = pytest.mark.spark

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
MALL_SIZES = [81, 39, 35, 23, 22]  # the DuckDB engine's and the original analysis' five segments
STAGES = ["read", "clean", "prepare", "sweep", "fit", "write", "register"]
STARTED = "Spark Connect server started"  # the server's log line once its gRPC port listens
START_TIMEOUT = 180  # seconds; a cold JVM on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ConnectServer:
    """A Spark Connect server in the foreground (--wait) in its own process group, its log drained by a
    thread that signals the "started" line, so the fixture waits on an event instead of sleeping."""

    def __init__(self, log_dir: Path) -> None:
        import pyspark

        self.port = _free_port()
        home = Path(pyspark.__file__).parent
        env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOG_DIR=str(log_dir), SPARK_PID_DIR=str(log_dir))
        env.pop("SPARK_REMOTE", None)
        env.pop("SPARK_CONNECT_MODE_ENABLED", None)
        self.log = log_dir / "connect-server.log"
        self.proc = subprocess.Popen(
            [str(home / "sbin" / "start-connect-server.sh"), "--wait", "--master", "local[2]",
             "--driver-memory", "1g",
             "--conf", f"spark.connect.grpc.binding.port={self.port}",
             "--conf", "spark.sql.shuffle.partitions=4", "--conf", "spark.ui.enabled=false"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group: stop() ends the script, spark-submit and the JVM
        )
        self.started = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        with open(self.log, "w") as out:
            for line in self.proc.stdout:
                out.write(line)
                if STARTED in line:
                    out.flush()
                    self.started.set()
        self.started.set()  # the server exited: wake the waiter, which then sees proc.poll()

    def wait_started(self) -> None:
        if not self.started.wait(START_TIMEOUT) or self.proc.poll() is not None:
            self.stop()
            tail = self.log.read_text()[-3000:] if self.log.exists() else ""
            pytest.fail(f"the Spark Connect server did not start on port {self.port}:\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory):
    """sc://localhost:<port> of a local Spark Connect server, running for this module only."""
    server = ConnectServer(tmp_path_factory.mktemp("connect"))
    mode_before = os.environ.get("SPARK_CONNECT_MODE_ENABLED")
    server.wait_started()
    yield f"sc://localhost:{server.port}"
    server.stop()
    # pyspark marks the whole process as "Connect mode" once a Connect session was made; the classic
    # local session of the other Spark test modules must not inherit that.
    if mode_before is None:
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


@pytest.fixture(scope="module")
def connect_runs(connect_url, tmp_path_factory):
    """The Mall sample by the DuckDB engine and by the Spark engine over Spark Connect, one store."""
    from core.spark.session import is_connect, spark_session

    store = fresh_store(tmp_path_factory.mktemp("mall-connect"), MALL_CSV.parent)
    session = spark_session(connect_url, app_name="csi-connect-tests")
    assert is_connect(session)
    duck, sp = both_engines(store, session, MALL_CSV, MALL_FEATURES, 5)
    yield store, duck, sp
    session.stop()
    store.close()


def test_mall_over_spark_connect_equals_the_duckdb_engine(connect_runs):
    _, duck, sp = connect_runs
    assert [s.size for s in sp.run.segments] == MALL_SIZES == [s.size for s in duck.run.segments]
    assert [s.name for s in sp.run.segments] == [s.name for s in duck.run.segments]
    assert [s.action for s in sp.run.segments] == [s.action for s in duck.run.segments]
    assert sp.run.engine == "spark" and sp.run.suggested_k == duck.run.suggested_k == 5
    assert sp.run.silhouette == pytest.approx(duck.run.silhouette, abs=1e-6)
    for a, b in zip(sp.run.segments, duck.run.segments):
        for f in MALL_FEATURES:
            assert a.centroid[f] == pytest.approx(b.centroid[f], rel=1e-9)
    # Every stage is timed; Spark Connect has no SparkContext, so no job counts.
    assert list(sp.timings) == STAGES and sp.jobs == {}


def test_same_customers_in_the_same_segments_over_connect(connect_runs):
    store, duck, sp = connect_runs
    assert same_segment_count(store, duck.run.run_id, sp.run.run_id) == 200


def test_result_files_over_connect(connect_runs):
    """The same Parquet contract as local mode: profile.parquet per segment, run/ per customer."""
    _, _, sp = connect_runs
    profile = pq.read_table(sp.output / "profile.parquet").to_pylist()
    assert [p["size"] for p in profile] == MALL_SIZES
    assert [p["name"] for p in profile] == [s.name for s in sp.run.segments]
    per_row = pq.read_table(sp.output / "run").to_pandas()
    assert len(per_row) == 200
    assert per_row[SEGMENT].value_counts().sort_index().tolist() == MALL_SIZES
    assert {"__row", "__x", "__y", *MALL_FEATURES} <= set(per_row.columns)


def test_cli_with_an_sc_url_prints_the_duckdb_contract(connect_runs, connect_url, tmp_path, capsys):
    """`--spark-master sc://...`: the CLI makes its own Connect session (and stops it after the run)."""
    args = ["segment", str(MALL_CSV), "--features", ",".join(MALL_FEATURES), "--k", "5", "--json",
            "--db", str(tmp_path / "cli.duckdb")]
    assert cli_main(args) == 0
    duck = json.loads(capsys.readouterr().out)
    assert cli_main(args + ["--engine", "spark", "--spark-master", connect_url]) == 0
    sp = json.loads(capsys.readouterr().out)
    assert sp["engine"] == "spark" and set(sp) == set(duck)
    assert [s["size"] for s in sp["segments"]] == MALL_SIZES
    assert [(s["name"], s["action"]) for s in sp["segments"]] == [(s["name"], s["action"]) for s in duck["segments"]]
    assert sp["quality"] == duck["quality"]
