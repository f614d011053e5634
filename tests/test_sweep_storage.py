"""The sweep journal: atomic appends, partial-line recovery, settings check, locking."""
from __future__ import annotations

import json

import pytest

from fastrelu.sweeps.storage import Journal, journal_path, write_atomic

CONFIG = {"data": "abs1d", "steps": 0}


def test_journal_path_rules(tmp_path):
    assert journal_path(tmp_path / "r.jsonl") == tmp_path / "r.jsonl"
    assert journal_path(tmp_path / "r.csv") == tmp_path / "r.jsonl"
    assert journal_path(tmp_path / "r.ndjson") == tmp_path / "r.ndjson"
    assert journal_path(tmp_path / "r.arrows") == tmp_path / "r.arrows"
    with pytest.raises(ValueError, match="ending in"):
        journal_path(tmp_path / "r.txt")
    with pytest.raises(ValueError, match="does not exist"):
        journal_path(tmp_path / "missing" / "r.jsonl")


def test_append_and_reopen(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, CONFIG) as j:
        assert list(j.rows()) == []
        j.append([{"a": 1}, {"a": 2}])
        j.append([])
        j.append([{"a": None}])
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"fastrelu_sweep": 1, "config": CONFIG}
    with Journal(path, CONFIG) as j:
        assert list(j.rows()) == [{"a": 1}, {"a": 2}, {"a": None}]


def test_partial_last_line_is_cut(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, CONFIG) as j:
        j.append([{"a": 1}])
    with open(path, "ab") as fh:  # what a SIGKILL in the middle of a write can leave
        fh.write(b'{"a": 2, "b"')
    with Journal(path, CONFIG) as j:
        assert list(j.rows()) == [{"a": 1}]
        j.append([{"a": 3}])
    with Journal(path, CONFIG) as j:
        assert list(j.rows()) == [{"a": 1}, {"a": 3}]


def test_partial_header_starts_afresh(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"fastrelu_sweep":1,"con')
    with Journal(path, CONFIG) as j:
        assert list(j.rows()) == []
    assert json.loads(path.read_text().splitlines()[0])["config"] == CONFIG


def test_other_settings_or_foreign_file_are_refused(tmp_path):
    path = tmp_path / "j.jsonl"
    Journal(path, CONFIG).close()
    with pytest.raises(ValueError, match="differs in: steps"):
        Journal(path, {**CONFIG, "steps": 5})
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(ValueError, match="not a fastrelu sweep journal"):
        Journal(other, CONFIG)


def test_a_journal_in_use_is_locked(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, CONFIG):
        with pytest.raises(ValueError, match="another running sweep"):
            Journal(path, CONFIG)
    Journal(path, CONFIG).close()  # released on close


def test_write_atomic_replaces_or_keeps(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")

    def boom(fh):
        fh.write("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(path, boom)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    write_atomic(path, lambda fh: fh.write("new\n"))
    assert path.read_text() == "new\n"


def test_a_journal_row_of_the_wrong_kind_is_refused_naming_the_file(tmp_path):
    from fastrelu.sweeps import sweep

    out = tmp_path / "r.jsonl"
    sweep({"width": [2]}, data="abs1d", steps=0, out=out)
    header, line = out.read_text().splitlines()
    row = json.loads(line)
    for key, bad in (("width", "2"), ("init", "kaiming"), ("dead_fraction_max", [1]),
                     ("dead_fraction", None), ("dead_fraction", ["0.5"])):
        out.write_text(header + "\n" + json.dumps({**row, key: bad}) + "\n")
        with pytest.raises(ValueError, match=f"r.jsonl' has a row whose {key} is "):
            sweep({"width": [2]}, data="abs1d", steps=0, out=out)
    out.write_text(header + "\n" + json.dumps({k: v for k, v in row.items() if k != "seed"}) + "\n")
    with pytest.raises(ValueError, match="r.jsonl' has a row without the fields width, "):
        sweep({"width": [2]}, data="abs1d", steps=0, out=out)
