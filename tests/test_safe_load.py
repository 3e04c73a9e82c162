"""core.safe_load: the one door for untrusted torch files."""

from __future__ import annotations

import argparse
import os
import pickle

import pytest
import torch

from emoget_cli.core.errors import CheckpointError
from emoget_cli.core.safe_load import load_torch_file


class _Exploit:
    """Unpickling this would create a marker file (stands for arbitrary code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_plain_tensors_load(tmp_path):
    path = tmp_path / "ok.pt"
    torch.save({"w": torch.arange(4.0), "n": 3, "names": ["a"]}, path)
    data = load_torch_file(path, "latent file")
    assert torch.equal(data["w"], torch.arange(4.0)) and data["n"] == 3 and data["names"] == ["a"]


def test_namespace_only_when_allowed(tmp_path):
    path = tmp_path / "rosinality.pt"
    torch.save({"args": argparse.Namespace(size=256)}, path)
    with pytest.raises(CheckpointError) as err:
        load_torch_file(path, "checkpoint")
    assert "refused" in _one_line(err)
    data = load_torch_file(path, "checkpoint", allowed_globals=[argparse.Namespace])
    assert data["args"].size == 256


@pytest.mark.parametrize("protocol", ["zip", "legacy"])
def test_code_in_the_file_is_never_run(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    if protocol == "zip":
        torch.save({"x": _Exploit(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"x": _Exploit(marker)}, protocol=2))
    with pytest.raises(CheckpointError) as err:
        load_torch_file(path, "motion model")
    assert not marker.exists()
    assert str(path) in _one_line(err)


def test_wrong_files_say_what_is_wrong(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"w": torch.zeros(64)}, good)
    cases = {
        "missing.pt": (None, "no such latent file"),
        "empty.pt": (b"", "empty"),
        "track.json": (b'{"format": "emoget.landmarks"}', "not a latent file"),
        "half.pt": (good.read_bytes()[: good.stat().st_size // 2], "truncated or corrupt archive"),
    }
    for name, (content, expected) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(CheckpointError) as err:
            load_torch_file(path, "latent file")
        assert expected in _one_line(err), name
    with pytest.raises(CheckpointError) as err:
        load_torch_file(tmp_path, "latent file")
    assert "folder" in _one_line(err)
