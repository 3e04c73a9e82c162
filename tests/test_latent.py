"""The latent file format: round trip, validation, refusal of foreign files."""

from __future__ import annotations

import pickle

import pytest

torch = pytest.importorskip("torch")

from emoget_cli.core.errors import CheckpointError  # noqa: E402
from emoget_cli.core.latent import LatentFile, file_sha256, load_latent, save_latent  # noqa: E402


def _latent():
    return LatentFile(w_plus=torch.randn(8, 32), noise=[torch.randn(1, 1, 4, 4), torch.randn(1, 1, 8, 8)],
                      space="w", generator_sha256="ab" * 32, resolution=32, class_name="toon",
                      losses={"mse": 0.01, "psnr": 31.5}, source="face.png",
                      extra={"perceptual": "fallback", "pti_steps": 0})


def test_round_trip(tmp_path):
    lat = _latent()
    path = save_latent(lat, tmp_path / "f.latent.pt")
    back = load_latent(path)
    assert torch.equal(back.w_plus, lat.w_plus)
    assert [tuple(n.shape) for n in back.noise] == [(1, 1, 4, 4), (1, 1, 8, 8)]
    assert all(torch.equal(a, b) for a, b in zip(back.noise, lat.noise))
    assert (back.space, back.generator_sha256, back.resolution, back.class_name) == \
        ("w", "ab" * 32, 32, "toon")
    assert back.losses == {"mse": 0.01, "psnr": 31.5} and back.extra["perceptual"] == "fallback"
    assert (back.n_latent, back.style_dim) == (8, 32)
    # plain types only: the strict loader reads it
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "emoget-latent" and raw["version"] == 1


def _write(path, payload):
    torch.save(payload, path)
    return path


def test_refusals(tmp_path):
    good = torch.load(save_latent(_latent(), tmp_path / "g.pt"), weights_only=True)
    cases = {
        "junk": None,
        "checkpoint": {"g_ema": {"a": torch.zeros(1)}},
        "newer": {**good, "version": 99},
        "shape": {**good, "w_plus": torch.zeros(3)},
        "nan": {**good, "w_plus": torch.full((8, 32), float("nan"))},
        "noise": {**good, "noise": [torch.zeros(4, 4)]},
        "space": {**good, "space": "z"},
        "missing": {k: v for k, v in good.items() if k != "losses"},
    }
    for name, payload in cases.items():
        path = tmp_path / f"{name}.pt"
        if payload is None:
            path.write_bytes(b"\x00garbage")
        else:
            _write(path, payload)
        with pytest.raises(CheckpointError) as err:
            load_latent(path)
        assert "\n" not in str(err.value), name
    with pytest.raises(CheckpointError):
        load_latent(tmp_path / "absent.pt")


def test_pickled_objects_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": "emoget-latent", "x": Evil()}, protocol=2))
    with pytest.raises(CheckpointError):
        load_latent(path)


def test_invalid_latent_is_never_written(tmp_path):
    lat = _latent()
    lat.w_plus = torch.zeros(2, 3, 4)
    with pytest.raises(CheckpointError):
        save_latent(lat, tmp_path / "x.latent.pt")
    assert not list(tmp_path.iterdir())


def test_sha256(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    assert file_sha256(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
