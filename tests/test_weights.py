"""Weights registry: list/add/verify through the CLI, hashes, malformed registries."""

from __future__ import annotations

import json

import pytest

from emoget_cli.core.errors import CheckpointError, DependencyError, UsageError
from emoget_cli.weights import (check_file, load_registry, read_registry_file, sha256_file,
                                shipped_registry_path)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    import torch

    from emoget_cli.gan import Generator, save_checkpoint
    from emoget_cli.gan.checkpoint import Checkpoint

    torch.manual_seed(0)
    G = Generator(16, style_dim=16, n_mlp=1, channel_multiplier=1, channel_max=8).eval()
    return save_checkpoint(Checkpoint.from_modules(G), tmp_path_factory.mktemp("w") / "tiny.pt")


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOGET_WEIGHTS_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


def test_shipped_registry_has_the_classic_styles(user_dir):
    entries = read_registry_file(shipped_registry_path())
    assert {"baby", "cartoon", "painting"} <= set(entries)
    reg = load_registry()
    assert all(reg.get(n).engine == "classic" and reg.get(n).available for n in ("baby", "cartoon"))


def test_weights_list_json(cli, user_dir):
    res = cli("weights", "list", "--json")
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)["styles"]}
    assert rows["painting"]["engine"] == "classic" and rows["painting"]["available"]


def test_add_verify_list_and_tamper(cli, user_dir, tiny_ckpt, tmp_path):
    import shutil

    ckpt = tmp_path / "toon.pt"
    shutil.copy(tiny_ckpt, ckpt)
    res = cli("weights", "add", "toon", ckpt, "--swap-res", "8", "--invert-steps", "5",
              "--description", "test toon", "--json")
    assert res.exit_code == 0, res.output
    added = json.loads(res.stdout)
    assert added["sha256"] == sha256_file(ckpt)
    registry = user_dir / "registry.yaml"
    assert registry.is_file() and not list(user_dir.glob(".*tmp*"))
    entry = load_registry().get("toon")
    assert entry.engine == "gan" and entry.available and entry.invert_steps == 5 and entry.swap_res == 8
    # adding again needs --force
    res = cli("weights", "add", "toon", ckpt)
    assert res.exit_code == 2 and "--force" in res.output
    res = cli("weights", "verify", "toon")
    assert res.exit_code == 0 and "sha256 ok" in res.output
    rows = {r["name"]: r for r in json.loads(cli("weights", "list", "--json").stdout)["styles"]}
    assert rows["toon"]["available"] and rows["toon"]["engine"] == "gan"
    # tampered file: verify fails with one line, exit 5
    ckpt.write_bytes(ckpt.read_bytes() + b"x")
    res = cli("weights", "verify")
    assert res.exit_code == 5
    assert "does not match its sha256" in res.stderr and "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1
    # missing file: verify fails, list says unavailable
    ckpt.unlink()
    res = cli("weights", "verify", "toon")
    assert res.exit_code == 5 and "not found" in res.stderr
    rows = {r["name"]: r for r in json.loads(cli("weights", "list", "--json").stdout)["styles"]}
    assert rows["toon"]["available"] is False


def test_add_refuses_bad_files_and_names(cli, user_dir, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    res = cli("weights", "add", "junk", junk)
    assert res.exit_code == 5 and len(res.stderr.strip().splitlines()) == 1
    assert not (user_dir / "registry.yaml").exists()
    assert cli("weights", "add", "baby", junk).exit_code == 2  # built-in name
    assert cli("weights", "add", "Bad Name", junk).exit_code == 2
    assert cli("weights", "add", "x", tmp_path / "missing.pt").exit_code == 8


@pytest.mark.parametrize("text, match", [
    ("styles: [1, 2]", "must be a mapping"),
    ("version: 7\nstyles: {}", "unsupported version"),
    ("styles:\n  toon: {engine: gan, checkpoint: t.pt}", "needs the checkpoint's sha256"),
    ("styles:\n  toon: {engine: gan, checkpoint: t.pt, sha256: abc}", "64 hexadecimal"),
    ("styles:\n  toon: {engine: magic}", "engine must be"),
    ("styles:\n  toon: {engine: gan, checkpoint: t.pt, sha256: %s, colour: red}" % ("a" * 64),
     "unknown key"),
    ("styles: {a: [", "not valid YAML"),
])
def test_malformed_registry_is_one_line_usage_error(cli, tmp_path, text, match):
    reg = tmp_path / "registry.yaml"
    reg.write_text(text)
    with pytest.raises(UsageError, match=match):
        load_registry([reg])
    res = cli("weights", "list", "--registry", reg)
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1


def test_a_missing_registry_file_is_not_an_empty_one(cli, tmp_path):
    for cmd in ("list", "verify"):
        res = cli("weights", cmd, "--registry", tmp_path / "typo.yaml")
        assert res.exit_code == 2 and "no such file" in res.stderr, res.output


def test_check_file_errors(tmp_path):
    f = tmp_path / "g.pt"
    with pytest.raises(DependencyError, match="not found"):
        check_file(f, None, "style 'x'")
    f.write_bytes(b"abc")
    with pytest.raises(CheckpointError, match="sha256"):
        check_file(f, "0" * 64, "style 'x'")
    assert check_file(f, sha256_file(f), "style 'x'") == f


def test_registry_style_drives_make_engine_choice(user_dir, tiny_ckpt):
    """A gan entry in the user registry resolves to the gan engine with its parameters."""
    from emoget_cli.style import resolve_style
    from emoget_cli.weights import add_style

    add_style("toon2", tiny_ckpt, class_name=None, invert_steps=7)
    res = resolve_style("toon2")
    assert res.engine == "gan" and res.gan.invert_steps == 7 and res.gan.sha256 == sha256_file(tiny_ckpt)
