"""Batch make: one worker function run serially, by --jobs processes and by Ray actors.

Real data: variants of the bundled portrait (flip, crop, colour shift) and one broken file. The
Ray tests start a local cluster of 2 CPUs in this process and stop it afterwards.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from emoget_cli import batch
from emoget_cli.core.errors import DependencyError, UsageError
from emoget_cli.core.image_io import read_image, write_image
from emoget_cli.pipeline import SAMPLE_FACE, MakeConfig, make

FAST = dict(animation=dict(size=64, frames=4, fps=8.0))  # small and short: the batch logic is under test


def _selfies(folder: Path, n: int = 3, bad: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rgb = read_image(SAMPLE_FACE).rgb
    variants = [rgb, rgb[:, ::-1], rgb[40:470, 30:480],
                np.clip(rgb.astype(np.int16) + [12, -6, 0], 0, 255).astype(np.uint8)]
    for i in range(n):
        write_image(folder / f"face{i}.png", np.ascontiguousarray(variants[i % len(variants)]))
    if bad:
        (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def _records(results) -> list[tuple]:
    """What must be equal between two ways of running the same batch (not timings or paths)."""
    return [(Path(r.input).name, r.ok, r.exit_code, r.error, [Path(o).name for o in r.outputs],
             r.n_frames, r.expressions) for r in results]


def _bytes(folder: Path) -> dict[str, bytes]:
    """Every output's bytes; a zip's members instead of the zip (member times differ)."""
    import zipfile

    out = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.suffix == ".zip":
            with zipfile.ZipFile(p) as zf:
                out.update({f"{p.name}/{n}": zf.read(n) for n in zf.namelist()})
        else:
            out[p.name] = p.read_bytes()
    return out


# ------------------------------------------------------------------------------- pure logic --

def test_plan_workers_sizes_the_pool_from_cpus_gpus_and_inputs():
    assert batch.plan_workers({"CPU": 8.0}, 100, 0).workers == 8
    assert batch.plan_workers({"CPU": 8.0}, 3, 0).workers == 3            # never more than inputs
    assert batch.plan_workers({"CPU": 16.0, "GPU": 2.0}, 100, 0.5).workers == 4  # 2 per GPU
    assert batch.plan_workers({"CPU": 2.0, "GPU": 4.0}, 100, 1).workers == 2     # CPUs bound it
    with pytest.raises(DependencyError, match="1 GPUs"):
        batch.plan_workers({"CPU": 4.0, "GPU": 1.0}, 10, 2)
    with pytest.raises(DependencyError, match="no CPU"):
        batch.plan_workers({}, 10, 0)


def test_options_hash_follows_what_is_written_not_how_it_runs(tmp_path):
    cfg = MakeConfig(output=tmp_path, **FAST)
    h = batch.options_hash(cfg)
    assert h == batch.options_hash(dataclasses.replace(cfg, jobs=4))
    assert h == batch.options_hash(dataclasses.replace(cfg, ray="auto"))
    assert h != batch.options_hash(dataclasses.replace(
        cfg, animation=dataclasses.replace(cfg.animation, fps=10.0)))
    assert h != batch.options_hash(dataclasses.replace(cfg, style="baby"))


def test_ray_options_are_checked_before_any_work(tmp_path):
    with pytest.raises(UsageError, match="exclude each other"):
        MakeConfig(output=tmp_path, ray="local", jobs=2).validate(2)
    with pytest.raises(UsageError, match="needs --ray"):
        MakeConfig(output=tmp_path, gpus_per_worker=0.5).validate(2)
    with pytest.raises(UsageError, match="0..8"):
        MakeConfig(output=tmp_path, ray="local", gpus_per_worker=-1).validate(2)


def test_bare_ray_flag_means_a_local_cluster():
    from emoget_cli.cli.app import _bare_ray_flag

    assert _bare_ray_flag(["make", "a.jpg", "--ray"]) == ["make", "a.jpg", "--ray=local"]
    assert _bare_ray_flag(["make", "--ray", "-o", "x/"]) == ["make", "--ray=local", "-o", "x/"]
    assert _bare_ray_flag(["make", "--ray", "auto", "a.jpg"]) == ["make", "--ray", "auto", "a.jpg"]


# ----------------------------------------------------------------------------- local resume --

def test_rerun_with_same_options_skips_finished_inputs_and_redoes_changed_ones(tmp_path):
    inputs = _selfies(tmp_path / "in", n=2)
    out = tmp_path / "out"
    cfg = MakeConfig(output=out, output_is_folder=True, **FAST)
    first = make([inputs], cfg)
    assert [r.ok for r in first] == [False, True, True] and not any(r.skipped for r in first)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.gif")}

    again = make([inputs], cfg)
    assert [r.skipped for r in again] == [False, True, True]  # the broken file is tried again
    assert _records(again)[1:] == _records(first)[1:]
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.gif")} == stamps

    (out / "face1.gif").unlink()  # a missing output means that input is redone
    partial = make([inputs], cfg)
    assert [r.skipped for r in partial] == [False, True, False] and (out / "face1.gif").is_file()

    changed = make([inputs], dataclasses.replace(
        cfg, animation=dataclasses.replace(cfg.animation, fps=10.0)))
    assert not any(r.skipped for r in changed)


def test_ledger_ignores_garbage_lines(tmp_path):
    inputs = _selfies(tmp_path / "in", n=2, bad=False)
    out = tmp_path / "out"
    cfg = MakeConfig(output=out, output_is_folder=True, **FAST)
    make([inputs], cfg)
    ledger = out / batch.LEDGER_NAME
    ledger.write_text("{not json\n" + "[1, 2]\n" + ledger.read_text() + '{"format": 3}\n')
    assert [r.skipped for r in make([inputs], cfg)] == [True, True]


def test_one_input_writes_no_ledger(tmp_path):
    inputs = _selfies(tmp_path / "in", n=1, bad=False)
    make([inputs], MakeConfig(output=tmp_path / "out", output_is_folder=True, **FAST))
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["face0.gif"]


# ------------------------------------------------------------------------------------- Ray --

@pytest.fixture(scope="module")
def ray():
    return pytest.importorskip("ray", reason="the [ray] extra is not installed")


@pytest.fixture(scope="module")
def ray_cluster(ray):
    """A local cluster of 2 CPUs in this process, stopped after this module's tests."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray.cluster_resources()
    ray.shutdown()


@pytest.mark.slow
def test_ray_results_and_files_equal_the_local_path(tmp_path, ray, ray_cluster):
    inputs = _selfies(tmp_path / "in", n=3)
    local = make([inputs], MakeConfig(output=tmp_path / "local", output_is_folder=True, **FAST))
    on_ray = make([inputs], MakeConfig(output=tmp_path / "ray", output_is_folder=True, ray="local",
                                       **FAST))
    assert _records(on_ray) == _records(local)
    assert [r.ok for r in on_ray] == [False, True, True, True]
    assert on_ray[0].exit_code == 3 and "broken.jpg" in on_ray[0].error
    assert _bytes(tmp_path / "ray") == _bytes(tmp_path / "local")  # byte-identical GIFs
    assert ray.is_initialized()  # a cluster we did not start is left running
    assert not list((tmp_path / "ray").glob(".emoget-ray-probe-*"))

    rerun = make([inputs], MakeConfig(output=tmp_path / "ray", output_is_folder=True,
                                      ray="local", **FAST))
    assert [r.skipped for r in rerun] == [False, True, True, True]


@pytest.mark.slow
def test_ray_without_shared_storage_returns_bytes_to_the_driver(tmp_path, ray_cluster,
                                                                monkeypatch):
    inputs = _selfies(tmp_path / "in", n=2, bad=False)
    cfg = MakeConfig(output=tmp_path / "local", output_is_folder=True, pack=True,
                     expressions=("surprise", "wink"), **FAST)
    local = make([inputs], cfg)
    monkeypatch.setattr(batch, "_write_probe", lambda config: None)  # workers see no shared disk
    remote = make([inputs], dataclasses.replace(cfg, output=tmp_path / "ray", ray="local"))
    assert _records(remote) == _records(local)
    assert all(Path(r.zip).parent == tmp_path / "ray" for r in remote)
    assert _bytes(tmp_path / "ray") == _bytes(tmp_path / "local")


@pytest.mark.slow
def test_ctrl_c_cancels_the_rest_and_leaves_only_complete_files(tmp_path, ray):
    inputs = _selfies(tmp_path / "in", n=8, bad=False)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "emoget_cli", "make", str(inputs), "-o",
                             f"{out}/", "--size", "128", "--frames", "12", "--ray"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ledger = out / batch.LEDGER_NAME
    # wait for a finished AND recorded selfie: a Ctrl-C between a file's rename and its ledger
    # line is legal (the rerun redoes it), and under load it left no ledger at all to read
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (ledger.is_file() and ledger.read_text().strip()):
        time.sleep(0.2)
    assert list(out.glob("*.gif")) and ledger.is_file(), "no recorded output appeared"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert "interrupted by Ctrl-C" in err and "nothing partial" in err and "Traceback" not in err
    gifs = sorted(out.glob("*.gif"))
    assert 1 <= len(gifs) < 8
    assert not [p for p in out.iterdir() if ".tmp" in p.name]
    import imageio.v3 as iio

    for gif in gifs:  # every file left is complete: it decodes to the end, at full size
        frames = iio.imread(gif, index=None)
        assert frames.shape[0] >= 8 and frames.shape[1:3] == (128, 128)
    # the ledger names only complete files (one finished just as Ctrl-C came may be unrecorded:
    # a rerun redoes it)
    done = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert {Path(d["outputs"][0]).name for d in done} <= {g.name for g in gifs}
