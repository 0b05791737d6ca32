"""Pipes, special files and datasets through `emospark score` (tiny test encoder): stdin, a
FIFO and stdout into a reader process (real subprocesses and pipes); symlinked and device
OUTPUTs written through, never replaced; hive datasets, column unions and type clashes."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emospark.cli.main import main
from emospark.io import open_output, open_source

TEXTS = ["i love this", None, "", 'a "quoted",\nline', "so sad\r\n", "😀"]


@pytest.fixture(scope="module")
def tiny(tiny_bundle) -> list[str]:
    return ["--model", str(tiny_bundle.root), "--threads", "1"]


def cmd(*args) -> list[str]:
    return [sys.executable, "-m", "emospark", *map(str, args)]


def write(path: Path, table: pa.Table) -> None:
    with open_output(path) as out:
        out.write(table.schema, table.to_batches())
        out.commit()


def read(path) -> pa.Table:
    with open_source(path) as source:
        return pa.Table.from_batches(list(source.batches()), source.schema)


def table() -> pa.Table:
    return pa.table({"id": pa.array(range(len(TEXTS)), pa.int64()), "text": TEXTS})


def test_stdin_to_stdout_into_a_reader_process(tiny, tmp_path):
    src = tmp_path / "in.jsonl"
    write(src, table())
    reader = subprocess.Popen([sys.executable, "-c", "import sys; d = sys.stdin.buffer.read(); "
                               "open(sys.argv[1], 'wb').write(d)", tmp_path / "got.jsonl"], stdin=subprocess.PIPE)
    with open(src, "rb") as stdin:
        done = subprocess.run(cmd("score", "-", "-", "--input-format", "jsonl", "--output-format", "jsonl", *tiny),
                              stdin=stdin, stdout=reader.stdin, stderr=subprocess.PIPE, timeout=120)
    reader.stdin.close()
    assert reader.wait(60) == 0
    assert done.returncode == 0, done.stderr
    assert b"scoring done" in done.stderr  # logs on stderr, data alone on stdout
    lines = (tmp_path / "got.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in lines] == TEXTS
    assert [json.loads(line)["id"] for line in lines] == list(range(len(TEXTS)))


def test_stdin_needs_an_input_format(tiny):
    done = subprocess.run(cmd("score", "-", "out.jsonl", *tiny), input=b"", capture_output=True, timeout=120)
    assert done.returncode == 2 and b"--input-format" in done.stderr


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_fifo_input_is_read_once_and_streamed(tiny, tmp_path, fmt):
    src, fifo, dst = tmp_path / f"in.{fmt}", tmp_path / f"pipe.{fmt}", tmp_path / "out.parquet"
    write(src, table())
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as pipe:
            pipe.write(src.read_bytes())

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    done = subprocess.run(cmd("score", fifo, dst, *tiny), capture_output=True, text=True, timeout=120)
    feeder.join(10)
    assert done.returncode == 0, done.stderr
    got, want = read(dst), read(src)  # CSV columns are text, whatever they hold
    assert got.column("id").to_pylist() == want.column("id").to_pylist()
    assert got.column("text").to_pylist() == want.column("text").to_pylist()


def test_symlinked_output_writes_the_target_and_keeps_the_link(tiny, tmp_path):
    src, target, link = tmp_path / "in.parquet", tmp_path / "real.jsonl", tmp_path / "link.jsonl"
    write(src, table())
    target.write_text("old\n")
    link.symlink_to(target)
    assert main(["score", str(src), str(link), *tiny]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert read(target).column("text").to_pylist() == TEXTS


def test_device_output_is_written_through_not_replaced(tiny, tmp_path):
    device = tmp_path / "null.jsonl"
    try:  # a private twin of /dev/null (major 1, minor 3); the real one is never touched
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError as exc:
        pytest.skip(f"cannot create a device node here ({exc}); needs root or CAP_MKNOD")
    src = tmp_path / "in.parquet"
    write(src, table())
    assert main(["score", str(src), str(device), *tiny]) == 0
    assert stat.S_ISCHR(device.stat().st_mode)
    assert set(os.listdir(tmp_path)) == {"null.jsonl", "in.parquet"}  # no temp file left beside it


def test_no_clobber_keeps_an_existing_file(tiny, tmp_path):
    src, dst = tmp_path / "in.parquet", tmp_path / "out.jsonl"
    write(src, table())
    dst.write_text("keep\n")
    assert main(["score", str(src), str(dst), "--no-clobber", *tiny]) == 4
    assert dst.read_text() == "keep\n"


def test_hive_dataset_keeps_typed_partition_columns_and_later_columns(tiny, tmp_path):
    base = tmp_path / "ds"
    (base / "year=2023" / "lang=en").mkdir(parents=True)
    (base / "year=2024" / "lang=fr").mkdir(parents=True)
    pq.write_table(pa.table({"text": ["a", "b"]}), base / "year=2023" / "lang=en" / "part-0.parquet")
    pq.write_table(pa.table({"text": ["c"], "score_src": [7]}), base / "year=2024" / "lang=fr" / "part-0.parquet")
    dst = tmp_path / "out.parquet"
    assert main(["score", str(base), str(dst), *tiny]) == 0
    got = pq.read_table(dst)
    assert got.column("text").to_pylist() == ["a", "b", "c"]
    assert got.column("year").type == pa.int64() or pa.types.is_integer(got.column("year").type)
    assert got.column("year").to_pylist() == [2023, 2023, 2024]
    assert got.column("lang").to_pylist() == ["en", "en", "fr"]
    assert got.column("score_src").to_pylist() == [None, None, 7]


def test_glob_reads_in_sorted_path_order(tiny, tmp_path):
    for name in ["b", "a", "c"]:
        write(tmp_path / f"part-{name}.jsonl", pa.table({"text": [name]}))
    dst = tmp_path / "out.parquet"
    assert main(["score", str(tmp_path / "part-*.jsonl"), str(dst), *tiny]) == 0
    assert pq.read_table(dst).column("text").to_pylist() == ["a", "b", "c"]


def test_type_clash_between_files_names_both(tiny, tmp_path, capsys):
    base = tmp_path / "ds"
    base.mkdir()
    pq.write_table(pa.table({"text": ["a"], "n": [1]}), base / "one.parquet")
    pq.write_table(pa.table({"text": ["b"], "n": [[1, 2]]}), base / "two.parquet")
    assert main(["score", str(base), str(tmp_path / "out.parquet"), *tiny]) == 3
    err = capsys.readouterr().err
    assert "one.parquet" in err and "two.parquet" in err and "Traceback" not in err
    assert not (tmp_path / "out.parquet").exists()


def test_partition_by_writes_a_hive_dataset(tiny, tmp_path):
    src, dst = tmp_path / "in.parquet", tmp_path / "out"
    write(src, pa.table({"text": ["a", "b", "c"], "lang": ["en", "fr", "en"]}))
    assert main(["score", str(src), str(dst), "--partition-by", "lang", *tiny]) == 0
    assert sorted(p.name for p in dst.iterdir() if not p.name.startswith((".", "_"))) == ["lang=en", "lang=fr"]
    got = read(dst)
    assert sorted(zip(got.column("lang").to_pylist(), got.column("text").to_pylist(), strict=True)) == \
        [("en", "a"), ("en", "c"), ("fr", "b")]
