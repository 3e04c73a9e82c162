"""Shared fixtures: the real portrait from scikit-image, a CLI runner, a scratch folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("EMOGET_NO_PROGRESS", "1")

SAMPLE = Path(__file__).resolve().parents[1] / "emoget_cli" / "assets" / "sample_face.jpg"


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """skimage.data.astronaut(): a real 512x512 RGB portrait (uint8 [512, 512, 3])."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_aligned(astronaut_rgb) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut FFHQ-aligned to 256 px with dlib's landmarks: (uint8 [256, 256, 3], its
    68 points [68, 2] in aligned pixels). Shared: the detection and alignment run once."""
    from emoget_cli.face import align_face, detect_faces

    face = detect_faces(astronaut_rgb, backend="dlib")[0]
    rgb, info = align_face(astronaut_rgb, face.points, size=256)
    return rgb, info.points


@pytest.fixture(scope="session")
def astronaut_path(tmp_path_factory, astronaut_rgb) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    Image.fromarray(astronaut_rgb).save(path)
    return path


@pytest.fixture()
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture()
def cli(runner):
    """Invoke the emoget app: cli("landmarks", "x.png", "-o", "y.json") -> Result."""
    from emoget_cli.cli.app import app

    def invoke(*args: str, **kwargs):
        return runner.invoke(app, [str(a) for a in args], **kwargs)

    return invoke


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny networks run fastest on one intra-op thread (2 cores: no OpenMP oversubscription).
    Use with `pytestmark = pytest.mark.usefixtures("torch_one_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
