"""Landmark backends behind one small interface, registered in one explicit dict.

    dlib  embedded default: HOG face detector + the 68-point shape predictor shipped in the
          `face_recognition_models` package (no download, CPU, ~20 ms per 512² image)
    fan   face-alignment's 2D FAN with its SFD detector (more accurate on hard poses; needs its
          weight files in the torch hub cache, and benefits from a GPU)

Every backend returns `FaceLandmarks` (68 iBUG points in input pixels, box, score).
Models are loaded once per process (lazy singletons), so many images cost one load.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ..core.choices import LANDMARK_BACKEND_CHOICES
from ..core.errors import DependencyError, UsageError
from ..core.track import FaceLandmarks

#: The `models/` files of face_recognition_models that emoget uses.
DLIB_SHAPE_68 = "shape_predictor_68_face_landmarks.dat"
DLIB_SHAPE_5 = "shape_predictor_5_face_landmarks.dat"
DLIB_FACE_RECOGNITION = "dlib_face_recognition_resnet_model_v1.dat"

#: face-alignment 1.5 weight files (torch hub cache); read from the installed package when
#: possible (`fan_weight_files`), these are the fallback names for face-alignment 1.5.0.
FAN_2D_FILE = "2DFAN4-11f355bf06.pth.tar"
FAN_SFD_FILE = "s3fd-619a316812.pth"

#: Largest image (pixels) the dlib detector is run on after upsampling; beyond it the retry
#: for small faces costs more than it finds.
MAX_UPSAMPLED_PIXELS = 16_000_000

#: HOG detections scoring below this are dropped when a more confident face is in the image.
DLIB_WEAK_SCORE = 0.3

_LOCK = threading.Lock()


# --------------------------------------------------------------------------- model locations
def dlib_models_dir() -> Path:
    """The `models/` folder of face_recognition_models, found without importing the package
    (its __init__ needs pkg_resources, which current setuptools no longer ships)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError("the dlib landmark models are not installed",
                              hint="pip install face_recognition_models")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def dlib_model_path(name: str) -> Path:
    path = dlib_models_dir() / name
    if not path.is_file():
        raise DependencyError(f"dlib model file {name} is missing from {path.parent}",
                              hint="reinstall face_recognition_models")
    return path


def hub_checkpoints_dir() -> Path:
    """torch.hub's weight cache, $TORCH_HOME/hub/checkpoints (default ~/.cache/torch/...).

    Uses torch.hub.get_dir() when torch is already loaded (it honours torch.hub.set_dir);
    otherwise the same environment rules, so `--backend auto` does not pay for importing torch.
    """
    if "torch" in sys.modules:
        return Path(sys.modules["torch"].hub.get_dir()) / "checkpoints"
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch")))
    return Path(torch_home) / "hub" / "checkpoints"


def fan_weight_files() -> list[str]:
    """File names face-alignment's 2D FAN and its SFD detector load from the hub cache.

    Read from the installed package's source (its download URLs) without importing it, which
    would pull in torch and numba; the 1.5.0 names are the fallback.
    """
    spec = importlib.util.find_spec("face_alignment")
    names = [FAN_2D_FILE, FAN_SFD_FILE]
    if spec is None or not spec.origin:
        return names
    root = Path(spec.origin).parent
    sources = (root / "api.py", root / "detection" / "sfd" / "sfd_detector.py")
    patterns = (r"/(2DFAN4[-_][^/'\"?]+)", r"/(s3fd-[^/'\"?]+)")
    for i, (src, pattern) in enumerate(zip(sources, patterns)):
        try:
            found = re.search(pattern, src.read_text(encoding="utf-8"))
        except OSError:
            found = None
        if found:
            names[i] = found.group(1)
    return names


def missing_fan_files() -> list[str]:
    folder = hub_checkpoints_dir()
    return [n for n in fan_weight_files() if not (folder / n).is_file()]


# --------------------------------------------------------------------------- base class
class LandmarkBackend(ABC):
    """Detects faces in an RGB image and fits 68 iBUG landmarks to each."""

    name: str = ""
    description: str = ""

    @classmethod
    @abstractmethod
    def availability(cls) -> tuple[bool, str]:
        """(usable, one-line reason) without loading any model."""

    @abstractmethod
    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        """rgb: uint8 [H, W, 3] → every face found (any order; may be empty)."""


class DlibBackend(LandmarkBackend):
    name = "dlib"
    description = "dlib HOG detector + 68-point predictor (embedded, CPU)"

    def __init__(self, device: str = "cpu"):  # dlib-bin is CPU-only; device is accepted for symmetry
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(dlib_model_path(DLIB_SHAPE_68)))
        self._dlib = dlib

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        if importlib.util.find_spec("dlib") is None:
            return False, "dlib is not installed (pip install dlib-bin)"
        try:
            dlib_model_path(DLIB_SHAPE_68)  # raises when the model file is missing
        except DependencyError as exc:
            return False, str(exc)
        return True, "HOG detector + 68-point predictor"

    def _boxes(self, rgb: np.ndarray):
        """HOG detection, retried with 1 and 2 upsamplings when nothing is found (small faces)."""
        h, w = rgb.shape[:2]
        for upsample in range(3):
            if upsample and h * w * 4 ** upsample > MAX_UPSAMPLED_PIXELS:
                break
            rects, scores, _ = self._detector.run(rgb, upsample, 0.0)
            if len(rects):
                found = list(zip(rects, scores))
                # Weak HOG hits (e.g. a badge on a space suit, score 0.03..0.12 on the astronaut)
                # would otherwise win "largest face": keep them only when nothing is confident.
                strong = [(r, s) for r, s in found if s >= DLIB_WEAK_SCORE]
                return strong or found
        return []

    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        faces = []
        for rect, score in self._boxes(rgb):
            shape = self._predictor(rgb, rect)
            pts = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
            box = (rect.left(), rect.top(), rect.right(), rect.bottom())
            faces.append(FaceLandmarks(pts, box, float(score)))
        return faces


class FanBackend(LandmarkBackend):
    name = "fan"
    description = "face-alignment 2D FAN + SFD detector (weights in the torch hub cache)"

    @staticmethod
    def require_weights() -> None:
        """DependencyError naming every missing weight file and the folder it belongs in."""
        missing = missing_fan_files()
        if missing:
            raise DependencyError(
                f"FAN weights missing: {', '.join(missing)}; `emoget weights fetch fan-2d fan-sfd` "
                f"puts them in {hub_checkpoints_dir()} (or use --backend dlib)")

    def __init__(self, device: str = "cpu"):
        self.require_weights()
        import face_alignment

        # Hand SFD its file explicitly: face-alignment then loads it with weights_only=True
        # (its default path goes through torch.hub.load_state_dict_from_url, which unpickles).
        sfd = hub_checkpoints_dir() / fan_weight_files()[1]
        kwargs = dict(device=str(device), flip_input=False,
                      face_detector="sfd", face_detector_kwargs={"path_to_detector": str(sfd)})
        try:  # face-alignment >= 1.5 compiles by default (about 25 s the first time)
            self._fa = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D,
                                                    compile=False, **kwargs)
        except TypeError:  # 1.4.x has no compile argument
            self._fa = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, **kwargs)

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        if importlib.util.find_spec("face_alignment") is None:
            return False, "face-alignment is not installed (pip install face-alignment)"
        missing = missing_fan_files()
        if missing:
            return False, (f"weights missing: {', '.join(missing)} (`emoget weights fetch fan-2d "
                           f"fan-sfd` puts them in {hub_checkpoints_dir()})")
        return True, "2D FAN + SFD detector"

    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        import warnings

        with warnings.catch_warnings():  # it warns "No faces were detected" instead of returning []
            warnings.simplefilter("ignore")
            result = self._fa.get_landmarks_from_image(np.ascontiguousarray(rgb), return_bboxes=True)
        landmarks, _, boxes = result if isinstance(result, tuple) else (result, None, None)
        if not landmarks:
            return []
        faces = []
        for i, pts in enumerate(landmarks):
            row = boxes[i] if boxes is not None and i < len(boxes) else None
            box = tuple(float(v) for v in row[:4]) if row is not None else None
            score = float(row[4]) if row is not None and len(row) > 4 else None
            faces.append(FaceLandmarks(np.asarray(pts, dtype=np.float32)[:, :2], box, score))
        return faces


#: The registry: what `--backend` accepts (plus "auto") and `emoget doctor` lists.
BACKENDS: dict[str, type[LandmarkBackend]] = {"dlib": DlibBackend, "fan": FanBackend}
BACKEND_CHOICES = LANDMARK_BACKEND_CHOICES

_INSTANCES: dict[tuple[str, str], LandmarkBackend] = {}


def resolve_backend_name(name: str = "auto") -> str:
    """`auto` → fan when its weights are in the cache (and it is installed), else dlib."""
    if name == "auto":
        return "fan" if FanBackend.availability()[0] else "dlib"
    if name not in BACKENDS:
        raise UsageError(f"unknown landmark backend {name!r} (choose from {', '.join(BACKEND_CHOICES)})")
    return name


def get_backend(name: str = "auto", device: str = "cpu") -> LandmarkBackend:
    """The loaded backend `name` on `device`, created once per process."""
    name = resolve_backend_name(name)
    if name == "fan":
        from ..core.device import resolve_device

        FanBackend.require_weights()  # before importing torch: fail fast and cheaply

        device = str(resolve_device(device))
    else:
        device = "cpu"
    key = (name, device)
    with _LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = BACKENDS[name](device)
        return _INSTANCES[key]
