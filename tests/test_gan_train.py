"""`emoget train stylegan` on tiny nets (16 px, 32 channels) and a procedurally drawn dataset.

Two visibly different classes (round warm heads with a smile, square cool heads with a flat
mouth) are written as PNG folders; every run here is a real training run on CPU.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from emoget_cli.core.errors import CheckpointError, UsageError
from emoget_cli.gan.checkpoint import Checkpoint, load_checkpoint, load_generator, save_checkpoint
from emoget_cli.gan.dataset import ImageDataset, to_float, write_synthetic_dataset
from emoget_cli.gan.train import TRAIN_STATE_KEY, TrainConfig, resolve_config, train

TINY = dict(size=16, batch=4, channel_max=32, style_dim=32, n_mlp=2, workers=0, device="cpu",
            snapshot_every=0, log_every=1)
TINY_CLI = ["--size", "16", "--channel-max", "32", "--style-dim", "32", "--n-mlp", "2",
            "--workers", "0", "--device", "cpu", "--log-every", "1"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_synthetic_dataset(tmp_path_factory.mktemp("faces") / "train", n_per_class=24, size=32)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory) -> Path:
    return write_synthetic_dataset(tmp_path_factory.mktemp("faces") / "held", n_per_class=16,
                                   size=32, seed=99)


@pytest.fixture(scope="module")
def conditional_run(data, tmp_path_factory):
    """40 steps of a conditional run through the CLI: (out folder, parsed --json report)."""
    from typer.testing import CliRunner

    from emoget_cli.cli.app import app

    out = tmp_path_factory.mktemp("runs") / "cond"
    args = ["train", "stylegan", "--data", str(data), "--output", str(out), "--batch", "8",
            "--kimg", "0.32", "--conditional", "--snapshot-every", "0.16", "--json", *TINY_CLI]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout.strip().splitlines()[-1])


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _states_equal(a: dict, b: dict, atol: float = 0.0) -> bool:
    return a.keys() == b.keys() and all(
        torch.allclose(a[k].float(), b[k].float(), atol=atol, rtol=0) for k in a)


def test_cli_run_writes_every_artifact(conditional_run):
    out, report = conditional_run
    assert report["steps"] == 40 and report["kimg"] == pytest.approx(0.32)
    assert sorted(Path(p).name for p in report["snapshots"]) == ["snapshot-000020.pt",
                                                                 "snapshot-000040.pt"]
    for name in ("latest.pt", "reals.png", "training_options.json", "metrics.jsonl",
                 "samples/fakes000000.png", "samples/fakes000020.png", "samples/fakes000040.png"):
        assert (out / name).is_file(), name
    assert not list(out.glob(".*tmp*"))
    options = json.loads((out / "training_options.json").read_text())
    assert options["config"]["conditional"] is True and options["n_classes"] == 2
    assert options["g_lr"] == pytest.approx(0.002 * 4 / 5)
    assert options["d_betas"][1] == pytest.approx(0.99 ** (16 / 17))
    lines = _metrics(out)
    assert [m["step"] for m in lines] == list(range(1, 41))
    # step 0 ran the path-length regulariser: the running mean moved 1% of the way from 0
    assert lines[0]["pl_mean"] == pytest.approx(0.01 * lines[0]["path_length"], rel=1e-5)
    for key in ("kimg", "img_per_s", "d_loss", "g_loss", "r1", "path_length", "ada_p", "ac_acc"):
        assert any(key in m for m in lines), key
    G = load_generator(out / "latest.pt")
    assert G.class_names == ["round", "square"] and G.size == 16
    ckpt = load_checkpoint(out / "latest.pt")
    assert ckpt.extras[TRAIN_STATE_KEY]["step"] == 40 and ckpt.latent_avg is not None
    assert set(ckpt.g_optim) == {"state", "param_groups"} and ckpt.d is not None


def test_training_lowers_the_losses_and_learns_the_classes(conditional_run, held_out):
    out, _ = conditional_run
    lines = _metrics(out)

    def early_late(key):
        values = [m[key] for m in lines if key in m]
        return np.mean(values[:8]), np.mean(values[-8:])

    d_early, d_late = early_late("d_loss")
    assert d_late < d_early - 0.2  # D learns to separate reals from fakes
    ac_early, ac_late = early_late("ac_loss")
    assert ac_late < 0.5 * ac_early  # D's class head learns the classes
    gac_early, gac_late = early_late("g_ac_loss")
    assert gac_late < 0.7 * gac_early  # G learns to draw the class it is asked for
    # the auxiliary classifier beats chance (0.5) on held-out real images
    D = load_checkpoint(out / "latest.pt").build_discriminator().eval()
    ds = ImageDataset(held_out, 16)
    x = to_float(torch.from_numpy(np.stack([ds.image(i) for i in range(len(ds))])), "cpu")
    with torch.no_grad():
        _, class_logits = D.forward_with_classes(x)
    accuracy = float((class_logits.argmax(1).numpy() == ds.labels).mean())
    assert accuracy >= 0.8, accuracy


def test_exact_resume_refuses_renamed_classes(conditional_run, tmp_path):
    out, _ = conditional_run
    renamed = write_synthetic_dataset(tmp_path / "renamed", n_per_class=2, size=16,
                                      class_names=("cat", "dog"))
    cfg = TrainConfig(data=str(renamed), out=str(out), resume="auto", conditional=True,
                      kimg=1.0, workers=0, device="cpu")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(CheckpointError, match="trained on classes round, square; the dataset has cat, dog"):
        train(cfg)
    assert sorted(p.name for p in out.iterdir()) == before


def test_resume_continues_identically(data, tmp_path):
    # regularisers on both sides of the split; ADA at p=0.5, x-flips and labels all draw from RNGs
    opts = dict(TINY, data=str(data), conditional=True, aug="ada", aug_p=0.5, xflip=True,
                r1_every=4, pl_every=3)
    straight = train(TrainConfig(out=str(tmp_path / "a"), kimg=0.04, **opts))
    assert straight.steps == 10
    train(TrainConfig(out=str(tmp_path / "b"), kimg=0.024, **opts))
    resumed = train(TrainConfig(out=str(tmp_path / "b"), kimg=0.04, resume="auto", **opts))
    assert resumed.steps == 10
    a, b = (load_checkpoint(tmp_path / run / "latest.pt") for run in ("a", "b"))
    for name in ("g", "d", "g_ema"):
        assert _states_equal(getattr(a, name), getattr(b, name), atol=1e-6), name
    sa, sb = a.extras[TRAIN_STATE_KEY], b.extras[TRAIN_STATE_KEY]
    assert sa["augment"] == pytest.approx(sb["augment"]) and sa["pl_mean"] == pytest.approx(sb["pl_mean"])
    assert [m["step"] for m in _metrics(tmp_path / "b")] == list(range(1, 11))


def test_sigkill_then_resume_auto_matches_an_uninterrupted_run(data, tmp_path, cli):
    out = tmp_path / "killed"
    opts = ["--data", str(data), "--output", str(out), "--kimg", "0.1", "--batch", "4",
            "--snapshot-every", "0.008", *TINY_CLI]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EMOGET_NO_PROGRESS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "emoget_cli", "train", "stylegan", *opts],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not (out / "snapshot-000002.pt").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    killed_at = load_checkpoint(out / "latest.pt").extras[TRAIN_STATE_KEY]["step"]
    assert 2 <= killed_at < 25
    stale = [out / ".latest.k1l1.tmp.pt", out / ".metrics.k1l1.tmp.jsonl",
             out / "samples" / ".fakes000024.k1l1.tmp.png"]  # writes a kill can cut short
    for path in stale:
        path.write_bytes(b"partial")
    result = cli("train", "stylegan", *opts, "--resume", "auto", "--json")
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in stale)
    assert json.loads(result.stdout.strip().splitlines()[-1])["steps"] == 25
    assert [m["step"] for m in _metrics(out)] == list(range(1, 26))
    straight = tmp_path / "straight"
    train(TrainConfig(data=str(data), out=str(straight), kimg=0.1,
                      **{**TINY, "snapshot_every": 0.0}))
    a, b = load_checkpoint(out / "latest.pt"), load_checkpoint(straight / "latest.pt")
    assert _states_equal(a.g_ema, b.g_ema, atol=1e-6) and _states_equal(a.d, b.d, atol=1e-6)


def test_resume_with_another_batch_keeps_the_kimg_count(data, tmp_path):
    out = tmp_path / "rb"
    opts = dict(TINY, data=str(data), out=str(out))
    train(TrainConfig(kimg=0.024, **opts))  # 6 steps of 4 images
    assert resolve_config(TrainConfig(resume="auto", **{**opts, "batch": None})).batch == 4
    result = train(TrainConfig(kimg=0.04, resume="auto", **{**opts, "batch": 8}))
    # 24 images were shown: step 3 of batch 8, then 2 more steps up to 40 images (not 6 + ...)
    assert result.steps == 5 and result.kimg == pytest.approx(0.04)
    state = load_checkpoint(out / "latest.pt").extras[TRAIN_STATE_KEY]
    assert state["cur_nimg"] == 40 and state["batch"] == 8
    lines = _metrics(out)  # the log keeps the batch-4 lines and continues in kimg
    assert [m["kimg"] for m in lines] == pytest.approx([0.004 * k for k in range(1, 7)] + [0.032, 0.04])


def test_one_iteration_follows_the_stylegan2_schedule(data, tmp_path):
    """D step, lazy R1, G step, lazy path length and EMA checked against hand-computed values."""
    from emoget_cli.gan.distributed import DistInfo
    from emoget_cli.gan.losses import path_lengths, r1_penalty
    from emoget_cli.gan.train import Trainer

    cfg = resolve_config(TrainConfig(data=str(data), out=str(tmp_path / "t"), conditional=True,
                                     aug="ada", aug_p=0.5, freeze_d=1, **TINY))
    tr = Trainer(DistInfo(), cfg)
    images, labels = next(tr.batches)
    reals, stats = to_float(images, "cpu"), {}
    tr.d_step(reals, labels, stats)
    assert not any(p.requires_grad for p in tr.G.parameters())
    assert all(p.requires_grad != (p in tr.frozen) for p in tr.D.parameters()) and tr.frozen

    def replay(fn):  # run fn with the RNG state the trainer is about to use
        state = torch.get_rng_state()
        out = fn()
        torch.set_rng_state(state)
        return out

    # R1: gradient w.r.t. the UN-augmented reals, through the augmentation; weight gamma/2 * 16
    def manual_r1():
        x = reals.clone().requires_grad_(True)
        penalty = r1_penalty(tr.D(tr.augment(x), labels), x)
        w = tr.D.final_linear[1].weight
        return penalty.detach(), torch.autograd.grad(penalty * (10.0 / 2 * 16), w)[0]

    r1, r1_grad = replay(manual_r1)
    frozen_before = [p.detach().clone() for p in tr.frozen]
    tr.d_regularize(reals, labels, stats)
    assert stats["r1"] == pytest.approx(float(r1), rel=1e-5)
    assert torch.allclose(tr.D.final_linear[1].weight.grad, r1_grad, rtol=1e-4, atol=1e-7)
    assert tr.D.classifier.weight.grad is None  # the class head stays out of R1
    assert all(torch.equal(p, q) for p, q in zip(tr.frozen, frozen_before))

    tr.g_step(reals.shape[0], stats)
    assert all(p.requires_grad for p in tr.G.parameters())
    assert not any(p.requires_grad for p in tr.D.parameters())

    # path length: half batch, weight 2 * 4, running mean 0 -> 0.01 * mean length
    def manual_pl():
        fakes, w_plus = tr.generate(2, tr._fake_labels(2))
        lengths = path_lengths(fakes, w_plus)
        a = 0.01 * lengths.mean()
        penalty = (lengths - a).pow(2).mean() * (2.0 * 4)
        return lengths.detach(), torch.autograd.grad(penalty, tr.G.style[1].weight)[0]

    lengths, pl_grad = replay(manual_pl)
    assert lengths.shape == (2,)
    tr.g_regularize(stats)
    assert tr.pl_mean == pytest.approx(0.01 * float(lengths.mean()), rel=1e-5)
    assert torch.allclose(tr.G.style[1].weight.grad, pl_grad, rtol=1e-4, atol=1e-8)

    # EMA over parameters: beta = 0.5 ** (batch / 10 kimg)
    ema_before = [p.clone() for p in tr.G_ema.parameters()]
    tr.update_ema()
    beta = 0.5 ** (4 / 10000)
    assert all(torch.allclose(e, beta * e0 + (1 - beta) * g) for e, e0, g in
               zip(tr.G_ema.parameters(), ema_before, tr.G.parameters()))
    # conditional fakes: labels drawn from the dataset's own label distribution (here 1:1)
    drawn = torch.bincount(tr._fake_labels(4000), minlength=2).tolist()
    assert all(1800 < k < 2200 for k in drawn)


def test_path_length_penalty_keeps_the_running_mean_in_the_graph():
    from emoget_cli.gan.losses import path_length_penalty

    lengths = torch.tensor([1.0, 2.0, 4.0], requires_grad=True)
    penalty, a = path_length_penalty(lengths, 0.5, 0.01)
    assert float(a.detach()) == pytest.approx(0.5 + 0.01 * (7 / 3 - 0.5))
    penalty.backward()
    dev = lengths.detach() - float(a.detach())
    # d/dL_k mean((L - a)^2) with a = a0 + d (mean L - a0): the rosinality/NVlabs gradient
    assert torch.allclose(lengths.grad, 2 / 3 * dev - 2 * 0.01 / 9 * dev.sum())
    assert not torch.allclose(lengths.grad, 2 / 3 * dev)  # what a detached mean would give


def test_two_process_gloo_run_writes_one_checkpoint(data, tmp_path):
    out = tmp_path / "ddp"
    result = train(TrainConfig(data=str(data), out=str(out), kimg=0.016, gpus=2,
                               **{**TINY, "log_every": 2}))
    assert result.steps == 4 and result.latest.is_file()
    state = load_checkpoint(result.latest).extras[TRAIN_STATE_KEY]
    assert state["world"] == 2 and len(state["rng"]) == 2
    assert state["rng"][0]["torch"] != state["rng"][1]["torch"]  # ranks drew different latents
    options = json.loads((out / "training_options.json").read_text())
    assert options["world_size"] == 2 and options["batch_per_process"] == 2
    assert [m["step"] for m in _metrics(out)] == [2, 4]


def test_a_user_error_on_any_rank_reaches_the_parent(tmp_path):
    from emoget_cli.core.errors import InputError
    from emoget_cli.gan.distributed import DistInfo
    from emoget_cli.gan.train import _rank_entry, _rebuild_error

    class Queue(list):
        put = list.append

    queue = Queue()
    bad = TrainConfig(data=str(tmp_path / "gone"), out=str(tmp_path / "o"), size=16, batch=4)
    with pytest.raises(InputError):  # rank 1 fails too, so the parent stops the group ...
        _rank_entry(DistInfo(1, 2, 1), bad, queue)
    (kind, payload), = queue  # ... and its one-line message (exit code 3) travels back
    assert kind == "error" and isinstance(_rebuild_error(payload), InputError)
    assert "no such folder" in payload[1]


def test_finetune_from_a_base_model_with_frozen_d_blocks(data, tmp_path):
    from emoget_cli.gan.networks import Discriminator, Generator

    torch.manual_seed(7)
    G, D = Generator(16, 32, 2, channel_max=32), Discriminator(16, channel_max=32)
    base = tmp_path / "base.pt"  # weights only: no optimisers, no training state
    save_checkpoint(Checkpoint.from_modules(G, g=G, d=D), base)
    out = tmp_path / "ft"
    result = train(TrainConfig(data=str(data), out=str(out), kimg=0.008, resume=str(base),
                               freeze_d=1, **TINY))
    assert result.steps == 2  # counters start at 0 when fine-tuning
    tuned = load_checkpoint(out / "latest.pt")
    base_d = D.state_dict()
    frozen = [k for k in base_d if k.startswith(("convs.0.", "convs.1."))]
    assert frozen and all(torch.equal(tuned.d[k], base_d[k]) for k in frozen)
    trained = [k for k in base_d if k.startswith("final_linear") and k.endswith("weight")]
    assert all(not torch.equal(tuned.d[k], base_d[k]) for k in trained)
    # G starts from the base weights: after 2 small Adam steps it is still close to them
    g0 = G.state_dict()["style.1.weight"]
    assert (tuned.g["style.1.weight"] - g0).abs().max() < 0.05 * g0.abs().max()


def test_mixed_precision_and_diffaugment(data, tmp_path):
    out = tmp_path / "amp"
    result = train(TrainConfig(data=str(data), out=str(out), kimg=0.008, aug="diffaug",
                               mixed_precision=True, **TINY))
    assert result.steps == 2
    assert all(np.isfinite(m["d_loss"]) and np.isfinite(m["g_loss"]) for m in _metrics(out))
    options = json.loads((out / "training_options.json").read_text())
    assert options["mixed_precision"] == "bfloat16"


def test_config_errors_come_before_any_model(data, tmp_path, cli):
    base = dict(data=str(data), out=str(tmp_path / "r"))
    for bad, word in ((dict(batch=6, gpus=4), "divisible"), (dict(size=48), "power of two"),
                      (dict(size=16, freeze_d=3), "freeze-d"), (dict(aug="fancy"), "--aug"),
                      (dict(kimg=0), "--kimg"), (dict(mixing=1.5), "mixing"),
                      (dict(kimg=float("inf")), "--kimg must be a finite"),
                      (dict(snapshot_every=float("inf")), "--snapshot-every must be a finite"),
                      (dict(lr=float("nan")), "--lr must be a finite")):
        with pytest.raises(UsageError, match=word):
            resolve_config(TrainConfig(**base, **bad))
    with pytest.raises(CheckpointError):
        resolve_config(TrainConfig(**base, resume=str(tmp_path / "nope.pt")))
    flat = write_synthetic_dataset(tmp_path / "flat", n_per_class=2, size=16, labels="none")
    result = cli("train", "stylegan", "--data", flat, "--output", tmp_path / "c", "--conditional", *TINY_CLI)
    assert result.exit_code == 2 and "needs class labels" in result.output


def test_dry_run_and_existing_run_folder(conditional_run, data, cli, tmp_path):
    out, _ = conditional_run
    result = cli("train", "stylegan", "--data", data, "--output", out, "--dry-run", "--json")
    assert result.exit_code == 2 and "--resume auto" in result.output  # would clobber the run
    result = cli("train", "stylegan", "--data", data, "--output", out, "--resume", "auto",
                 "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    cfg = json.loads(result.stdout)["config"]
    # the architecture comes from the checkpoint: nobody retypes --size
    assert cfg["resume"] == str(out / "latest.pt") and cfg["size"] == 16 and cfg["channel_max"] == 32
    # the batch, too, is the run's own (8) when not retyped: `--resume auto` continues exactly
    assert cfg["batch"] == 8 and json.loads(result.stdout)["total_steps"] == 1000 * 1000 // 8
    for resume in ("auto", str(out / "latest.pt")):  # would overwrite the run's snapshots/log
        result = cli("train", "stylegan", "--data", data, "--output", out, "--resume", resume,
                     "--reset-progress", "--dry-run")
        assert result.exit_code == 2 and "choose another --output" in result.output
    result = cli("train", "stylegan", "--data", data, "--output", out, "--resume", "auto",
                 "--size", "32", "--dry-run")
    assert result.exit_code == 2 and "does not match the checkpoint" in result.output
    fresh = tmp_path / "never"  # a dry run writes nothing, not even the run folder
    result = cli("train", "stylegan", "--data", data, "--output", fresh, "--dry-run", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["config"]["batch"] == 16
    assert not fresh.exists()


def test_ctrl_c_finishes_the_step_and_saves(data, tmp_path):
    out = tmp_path / "int"

    def interrupt(status):
        if status.step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends

    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(data=str(data), out=str(out), kimg=0.04, **TINY), progress=interrupt)
    assert load_checkpoint(out / "latest.pt").extras[TRAIN_STATE_KEY]["step"] == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
