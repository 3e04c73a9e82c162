"""Landmark motion: the FACS expression library and the learned (trainable) generator.

    from emoget_cli.motion import (EXPRESSIONS, parse_expression, MotionConfig, generate_motion,
                                   load_motion_model)
    track = generate_motion(l0, "happiness+wink:0.5", MotionConfig(frames=24))  # [24, 68, 2]

torch is imported only by the learned model's functions.
"""

from .envelope import envelope
from .expressions import ALIASES, EXPRESSIONS, Activation, Expression, ExpressionSpec, parse_expression
from .facs import ACTION_UNITS
from .generate import MotionConfig, generate_motion
from .geometry import (TEMPLATE, FaceFrame, eye_apertures, inner_lip_distance, inter_ocular_distance,
                       template_points)
from .head import HEAD_CHOICES
from .learned import (ARCH_CHOICES, MotionDataset, MotionModel, TrainMotionConfig, TrainResult,
                      dataset_from_tracks, load_motion_model, load_tracks_dir, train_motion)

__all__ = [
    "ACTION_UNITS", "ALIASES", "ARCH_CHOICES", "Activation", "EXPRESSIONS", "Expression",
    "ExpressionSpec", "FaceFrame", "HEAD_CHOICES", "MotionConfig", "MotionDataset", "MotionModel",
    "TEMPLATE", "TrainMotionConfig", "TrainResult", "dataset_from_tracks", "envelope",
    "eye_apertures", "generate_motion", "inner_lip_distance", "inter_ocular_distance",
    "load_motion_model", "load_tracks_dir", "parse_expression", "template_points", "train_motion",
]
