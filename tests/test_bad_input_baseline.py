"""``refnn baseline`` refuses bad input in one line with exit status 2, before any work, and
never leaves a half-written or mixed-up folder: damaged archives, damaged indexes, folders of
other items, places that cannot be written, concurrent records (NumPy only: the reference is
the one framework these baselines record)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from experiments.baseline import all_items, record, select
from experiments.cli import main
from tests.holders import held_by_another_run

ITEM = "example/hand_2_1_1"


@pytest.fixture(scope="module")
def pinned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "pinned"
    record(out, select(all_items(housing_epochs=0), [ITEM, "tanh-mse-sgd-float64"]), ["numpy"])
    return out


@pytest.fixture()
def copy(pinned, tmp_path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(pinned, dst)
    return dst


def refused(capsys, argv: list[str], *fragments: str) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err and "unsafely" not in err and "allow_pickle" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_the_fixture_checks_clean(pinned):
    assert main(["baseline", "check", str(pinned)]) == 0


# ------------------------------------------------------------------ damaged archives


def test_a_cut_archive(copy, capsys):
    data = (copy / "numpy.npz").read_bytes()
    (copy / "numpy.npz").write_bytes(data[: len(data) // 2])
    refused(capsys, ["baseline", "check", str(copy)], "numpy.npz", "not a readable baseline")


def test_random_bytes_as_an_archive(copy, capsys):
    (copy / "numpy.npz").write_bytes(np.random.default_rng(0).bytes(4096))
    refused(capsys, ["baseline", "check", str(copy)], "not a readable baseline")


def test_an_empty_archive_file(copy, capsys):
    (copy / "numpy.npz").write_bytes(b"")
    refused(capsys, ["baseline", "check", str(copy)], "numpy.npz")


def test_an_archive_holding_pickled_objects_is_never_unpickled(copy, capsys):
    np.savez(copy / "numpy.npz", **{f"{ITEM}|losses|losses": np.array([{"a": 1}], dtype=object)})
    os.replace(copy / "numpy.npz", copy / "numpy.npz")
    err = refused(capsys, ["baseline", "check", str(copy)], "Python objects")
    assert "trust" not in err


def test_an_archive_of_other_items(copy, capsys):
    np.savez_compressed(copy / "numpy.npz", **{"parity/other|loss|loss": np.zeros(())})
    refused(capsys, ["baseline", "check", str(copy)], "mixes recordings of different items")


def test_a_zip_that_is_not_an_npz(copy, capsys):
    with zipfile.ZipFile(copy / "numpy.npz", "w") as z:
        z.writestr("readme.txt", "hello")
    refused(capsys, ["baseline", "check", str(copy)])


def test_a_missing_archive(copy, capsys):
    (copy / "numpy.npz").unlink()
    refused(capsys, ["baseline", "check", str(copy)], "numpy.npz is missing")


# ------------------------------------------------------------------ damaged indexes


def _edit_index(folder: Path, edit) -> None:
    index = json.loads((folder / "index.json").read_text())
    edit(index)
    (folder / "index.json").write_text(json.dumps(index))


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda i: i.pop("items"), "'items' is missing"),
        (lambda i: i.__setitem__("items", []), "'items' is missing or not a JSON dict"),
        (lambda i: i.pop("frameworks"), "'frameworks'"),
        (lambda i: i.__setitem__("frameworks", ["numpy", "caffe"]), "unknown framework"),
        (lambda i: i.__setitem__("frameworks", []), "reference (numpy) is not recorded"),
        (lambda i: i.pop("versions"), "'versions'"),
        (lambda i: i.pop("platform"), "'platform'"),
        (lambda i: i.__setitem__("format", "other"), "not a baseline index"),
        (lambda i: i.__setitem__("format_version", 99), "format version 99"),
        (lambda i: i["items"][ITEM]["recipe"].pop("dtype"), "lacks dtype"),
        (lambda i: i["items"][ITEM]["recipe"].__setitem__("kind", "bogus"), "recipe kind"),
        (lambda i: i["items"][ITEM]["recipe"].__setitem__("dtype", "float16"), "float16"),
        (lambda i: i["items"][ITEM].__setitem__("recipe", "text"), "has no recipe"),
        (lambda i: i["items"][ITEM].pop("frameworks"), "no per-framework entries"),
        (lambda i: i["items"][ITEM]["recipe"].__setitem__("example", "nope"), "nope"),
    ],
)
def test_a_damaged_index(copy, capsys, edit, fragment):
    _edit_index(copy, edit)
    refused(capsys, ["baseline", "check", str(copy)], fragment)


def test_an_index_that_is_not_json(copy, capsys):
    (copy / "index.json").write_text("{not json")
    refused(capsys, ["baseline", "check", str(copy)], "unreadable")


def test_an_index_that_is_a_json_list(copy, capsys):
    (copy / "index.json").write_text("[]")
    refused(capsys, ["baseline", "check", str(copy)], "not a baseline index")


def test_a_platform_recording_of_other_items(copy, capsys):
    other = copy / "platforms" / "other"
    record(other, select(all_items(housing_epochs=0), [ITEM]), ["numpy"])
    refused(capsys, ["baseline", "check", str(copy)], "records other items")


# ------------------------------------------------------------------ the check's options


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--ulps", "-1"], "--ulps must be >= 0"),
        (["--frameworks", "torch"], "not in this baseline"),
        (["--frameworks", "caffe"], "caffe"),
        (["--filter", "no-such-item"], "selects nothing"),
        (["--json", ""], "--json"),
        (["--json", "{tmp}"], "not a file name"),
        (["--json", "{tmp}/no/such/folder/out.json"], "not an existing folder"),
        (["--json", "/dev/null"], "not a regular file"),
    ],
)
def test_bad_check_options(pinned, tmp_path, capsys, extra, fragment):
    extra = [e.format(tmp=tmp_path) for e in extra]
    refused(capsys, ["baseline", "check", str(pinned), *extra], fragment)


@pytest.mark.parametrize("path", ["", "{tmp}/absent", "{tmp}/file.txt", "{tmp}"])
def test_check_of_something_that_is_not_a_baseline(tmp_path, capsys, path):
    (tmp_path / "file.txt").write_text("x")
    refused(capsys, ["baseline", "check", path.format(tmp=tmp_path)])


def test_the_json_figures_are_written_whole(pinned, tmp_path):
    out = tmp_path / "figures.json"
    assert main(["baseline", "check", str(pinned), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {f["item"] for f in data["figures"]} == {ITEM, "parity/tanh-mse-sgd-float64"}
    assert all(f["ulps"] == 0 and f["growth"] == 0.0 for f in data["figures"])
    assert [p.name for p in tmp_path.iterdir()] == ["figures.json"]


# ------------------------------------------------------------------ where record writes


def record_argv(out: str) -> list[str]:
    return ["baseline", "record", "--out", out, "--frameworks", "numpy", "--filter", ITEM,
            "--housing-epochs", "0"]  # fmt: skip


@pytest.mark.parametrize(
    "out, fragment",
    [
        ("", "--out is empty"),
        ("{tmp}/file.txt", "a file of that name exists"),
        ("{tmp}/file.txt/under", "is a file"),
        ("/", "filesystem root"),
        (".", "current or home folder"),
    ],
)
def test_record_refuses_places_it_cannot_write_before_any_work(
    tmp_path, capsys, monkeypatch, out, fragment
):
    from experiments.baseline import items

    monkeypatch.setattr(items.Item, "run", lambda *a: pytest.fail("ran before refusing"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    refused(capsys, record_argv(out.format(tmp=tmp_path)), fragment)
    assert (tmp_path / "file.txt").read_text() == "x"


def test_record_refuses_an_immutable_folder(tmp_path, capsys):
    folder = tmp_path / "immutable"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        refused(capsys, record_argv(str(folder / "pinned")), "cannot write")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_record_into_a_folder_that_is_not_a_baseline(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    refused(capsys, record_argv(str(tmp_path / "notes")), "is not a baseline")
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"


def test_a_second_record_into_a_folder_being_recorded_stops_at_once(pinned, tmp_path, capsys):
    target = tmp_path / "pinned"
    shutil.copytree(pinned, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with held_by_another_run(target):
        refused(capsys, record_argv(str(target)), "being written by another run", "PID")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--random", "-1"], "must be >= 0"),
        (["--housing-epochs", "-2"], "must be >= 0"),
        (["--frameworks", "numpy,numpy"], "numpy"),
        (["--like", "{tmp}/absent"], "no such baseline folder"),
        (["--like", "{tmp}"], "is not a baseline"),
    ],
)
def test_bad_record_options(tmp_path, capsys, extra, fragment):
    argv = ["baseline", "record", "--out", str(tmp_path / "new")]
    argv += [] if "--like" in extra else ["--filter", ITEM]
    refused(capsys, argv + [e.format(tmp=tmp_path) for e in extra], fragment)
    assert not (tmp_path / "new").exists()


def test_record_like_takes_the_items_of_a_baseline(pinned, tmp_path, capsys):
    out = tmp_path / "platforms" / "this-cpu"
    assert main(["baseline", "record", "--like", str(pinned), "--out", str(out)]) == 0
    then = json.loads((pinned / "index.json").read_text())
    now = json.loads((out / "index.json").read_text())
    assert set(now["items"]) == set(then["items"]) and now["frameworks"] == then["frameworks"]
    refused(capsys, ["baseline", "record", "--like", str(pinned), "--out", str(out),
                     "--filter", ITEM], "--like takes the items")  # fmt: skip
