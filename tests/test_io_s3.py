"""`emospark score` against a real S3 API on 127.0.0.1: moto's standalone server, started once
for this module (pyarrow's S3 client does not go through botocore, so in-process mocks
cannot work). Partitioned datasets in and out of a bucket, no object after a failed write or
a SIGTERM mid-upload, credentials never printed."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from emospark.cli.main import main

moto_server = pytest.importorskip("moto.server", reason='needs moto\'s server: pip install "moto[server]"')

KEY, SECRET = "AKIAEMOSPARKTEST", "s3cr3t-never-printed"


@pytest.fixture(scope="module")
def endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint, monkeypatch) -> pafs.S3FileSystem:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    fs = pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, endpoint_override=endpoint, scheme="http",
                           region="us-east-1", allow_bucket_creation=True)
    return fs


@pytest.fixture(scope="module")
def tiny(tiny_bundle) -> list[str]:
    return ["--model", str(tiny_bundle.root), "--threads", "1"]


def keys(fs: pafs.S3FileSystem, bucket: str) -> list[str]:
    return sorted(i.path for i in fs.get_file_info(pafs.FileSelector(bucket, recursive=True))
                  if i.type == pafs.FileType.File)


def test_partitioned_dataset_from_a_bucket_and_back(s3, endpoint, tiny, capsys):
    s3.create_dir("in-data")
    s3.create_dir("results")
    table = pa.table({"text": ["i love it", "so sad", None, 'a "b",\nc'], "lang": ["en", "en", "fr", "fr"]})
    pq.write_to_dataset(table, "in-data/comments", partition_cols=["lang"], filesystem=s3)
    code = main(["score", "s3://in-data/comments", "s3://results/scored.parquet", "--s3-endpoint", endpoint, *tiny])
    assert code == 0, capsys.readouterr().err
    got = pq.read_table("results/scored.parquet", filesystem=s3)
    assert sorted(zip(got.column("lang").to_pylist(), got.column("text").to_pylist(), strict=True), key=str) == \
        sorted(zip(table.column("lang").to_pylist(), table.column("text").to_pylist(), strict=True), key=str)
    assert keys(s3, "results") == ["results/scored.parquet"]  # no temporary key left

    code = main(["score", "s3://in-data/comments", "s3://results/by-lang", "--partition-by", "lang",
                 "--s3-endpoint", endpoint, *tiny])
    assert code == 0, capsys.readouterr().err
    written = {k.split("/")[2] for k in keys(s3, "results") if k.startswith("results/by-lang/")}
    assert written == {"_SUCCESS", "lang=en", "lang=fr"}  # the marker is written last
    assert SECRET not in capsys.readouterr().err


def test_failure_mid_write_leaves_no_object(s3, endpoint, tiny, tmp_path, capsys):
    s3.create_dir("fail-out")
    src = tmp_path / "in.jsonl"
    good = "".join(f'{{"text": "row {i}"}}\n' for i in range(20000))
    src.write_text(good + '{"text": "broken\n')  # unreadable only at the very end
    code = main(["score", str(src), "s3://fail-out/scored.jsonl", "--s3-endpoint", endpoint, *tiny])
    assert code == 3
    assert "Traceback" not in capsys.readouterr().err
    assert keys(s3, "fail-out") == []


def test_credentials_in_a_uri_are_never_printed(s3, endpoint, tiny, tmp_path, capsys, monkeypatch):
    s3.create_dir("cred-in")
    pq.write_table(pa.table({"text": ["fine"]}), "cred-in/x.parquet", filesystem=s3)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    uri = f"s3://{KEY}:{SECRET}@cred-in/x.parquet"
    out = tmp_path / "out.jsonl"
    assert main(["score", uri, str(out), "--s3-endpoint", endpoint, "--log-format", "json", *tiny]) == 0
    missing = f"s3://{KEY}:{SECRET}@no-such-bucket/x.parquet"
    assert main(["score", missing, str(out), "--s3-endpoint", endpoint, *tiny]) != 0
    captured = capsys.readouterr()
    assert SECRET not in captured.err + captured.out and KEY not in captured.err
    assert SECRET not in out.read_text() and "no-such-bucket" in captured.err


def test_sigterm_while_uploading_a_dataset_leaves_no_object(s3, endpoint, tiny, tmp_path):
    """Stopped after its first files reached the bucket, a partitioned upload removes them again."""
    s3.create_dir("stop-out")
    src = tmp_path / "in.parquet"
    n = 600  # one partition per row: as many uploads as rows
    pq.write_table(pa.table({"text": [f"row {i}" for i in range(n)], "part": [f"p{i:04d}" for i in range(n)]}), src)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
    proc = subprocess.Popen([sys.executable, "-m", "emospark", "score", str(src), "s3://stop-out/ds",
                             "--partition-by", "part", "--s3-endpoint", endpoint, *tiny],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while len(keys(s3, "stop-out")) < 3:  # mid-upload
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before the signal"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert keys(s3, "stop-out") == []
