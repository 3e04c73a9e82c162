"""FACS action units as displacement fields of the 68 iBUG landmarks, in face units.

Each unit is a function of the neutral shape n0 ([68, 2] face units: x toward the image-right
eye, y up, IOD = 1; see geometry.FaceFrame) giving the displacement [68, 2] at full intensity.
Most are fixed vector fields (amplitudes are fractions of the inter-ocular distance, so they
scale with the face and rotate with its roll); a few depend on n0's own geometry (lip thickness,
mouth opening) so they stay plausible on any face. Eye closure (AU45 blink / AU46 wink) is not
additive: it draws each upper lid onto its lower lid after the other units have moved them, so a
closed eye is closed whatever else is active.

Bilateral units are written for the image-left half (the subject's right) and mirrored;
"R"/"L" prefixes (R12 = right lip corner puller) apply a unit to one side only.

Amplitudes are calibrated (`CALIBRATION`, docs/expressions.md): each unit's field is scaled so
that, on the neutral reference face (estimate.NEUTRAL_REFERENCE), its key measure at intensity 1
equals the EMOTICON apex — a caricature of the posed apex, because an emoticon must read at
128 px. Intensities up to 1.5 (`--intensity`) exaggerate further.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .geometry import INNER_LIPS, LIDS_LEFT, LIDS_RIGHT, MIRROR, N_POINTS, TEMPLATE, inner_lip_distance
from .reference import NEUTRAL_REFERENCE

Field = Callable[[np.ndarray], np.ndarray]

#: Per-point weight of the subject's right side (image-left): 1 there, 0.5 on the midline, 0 else.
RIGHT_WEIGHT = np.where(TEMPLATE[:, 0] < -1e-6, 1.0, np.where(TEMPLATE[:, 0] > 1e-6, 0.0, 0.5))
LEFT_WEIGHT = 1.0 - RIGHT_WEIGHT

# How far each lid travels when an eye closes (fractions of the lid gap; they sum to 1 so the
# lids meet on a line: the upper lid does most of the work, as in a real blink).
UPPER_LID_SHARE = 0.7


def mirrored(left: dict[int, tuple[float, float]],
             mid: dict[int, tuple[float, float]] | None = None) -> np.ndarray:
    """A symmetric field [68, 2] from image-left entries (x<0 = outward) and midline entries."""
    out = np.zeros((N_POINTS, 2))
    for i, (dx, dy) in left.items():
        out[i] = (dx, dy)
        out[MIRROR[i]] = (-dx, dy)
    for i, (dx, dy) in (mid or {}).items():
        out[i] = (dx, dy)
    return out


def _const(field: np.ndarray) -> Field:
    return lambda n0: field


def _lip_tightener(n0: np.ndarray) -> np.ndarray:
    """AU23: the outer lip contours move 45% of the way to the inner ones (thinner lips)."""
    out = np.zeros((N_POINTS, 2))
    targets = {49: (61,), 50: (61, 62), 51: (62,), 52: (62, 63), 53: (63,),
               55: (65,), 56: (65, 66), 57: (66,), 58: (66, 67), 59: (67,)}
    for outer, inner in targets.items():
        out[outer] = 0.45 * (n0[list(inner)].mean(0) - n0[outer])
    out += mirrored({48: (0.03, 0.0), 60: (0.02, 0.0)})
    return out


# AU26 profile: how much of the jaw drop each point follows. The lower lip follows fully, the
# chin half: an emoticon's mouth opens wide while the chin stays in the picture (aligned crops
# end a little below it), the skin between lip and chin taking up the difference.
_JAW_PROFILE = mirrored({67: (0.0, -0.92), 58: (0.0, -0.92), 59: (0.0, -0.6), 48: (0.03, -0.25),
                         60: (0.03, -0.3), 7: (0.0, -0.45), 6: (0.0, -0.33), 5: (0.0, -0.2),
                         4: (0.0, -0.1), 3: (0.0, -0.04)},
                        {66: (0.0, -1.0), 57: (0.0, -1.0), 8: (0.0, -0.5)})


def _jaw_drop(n0: np.ndarray) -> np.ndarray:
    """AU26: the lower lip and jaw drop by max(0.32 IOD, 1.1 × the neutral mouth opening), so the
    inner-lip distance at least doubles even on a face whose mouth is already open."""
    amplitude = max(0.32, 1.1 * min(inner_lip_distance(n0), 0.6))
    out = amplitude * _JAW_PROFILE
    out += mirrored({61: (0.0, 0.02)}, {62: (0.0, 0.02)})  # the upper lip lifts a little
    return out


@dataclass(frozen=True)
class ActionUnit:
    code: str
    name: str
    field: Field | None  # None: a closure unit, applied by `close_eyes`

    @property
    def is_closure(self) -> bool:
        return self.field is None


_UNITS = [
    ActionUnit("1", "inner brow raiser", _const(mirrored(
        {21: (0.01, 0.13), 20: (0.0, 0.10), 19: (0.0, 0.05), 18: (0.0, 0.02)}))),
    ActionUnit("2", "outer brow raiser", _const(mirrored(
        {17: (-0.01, 0.09), 18: (0.0, 0.11), 19: (0.0, 0.07), 20: (0.0, 0.03)}))),
    ActionUnit("4", "brow lowerer", _const(mirrored(
        {17: (0.0, -0.02), 18: (0.01, -0.04), 19: (0.02, -0.06), 20: (0.04, -0.08),
         21: (0.05, -0.08), 37: (0.0, -0.015), 38: (0.0, -0.02)}))),
    ActionUnit("5", "upper lid raiser", _const(mirrored({37: (0.0, 0.05), 38: (0.0, 0.05)}))),
    ActionUnit("6", "cheek raiser", _const(mirrored(
        {40: (0.0, 0.025), 41: (0.0, 0.025), 36: (0.0, 0.008), 2: (-0.005, 0.01), 3: (-0.005, 0.01)}))),
    ActionUnit("7", "lid tightener", _const(mirrored(
        {40: (0.0, 0.03), 41: (0.0, 0.03), 37: (0.0, -0.015), 38: (0.0, -0.015)}))),
    ActionUnit("9", "nose wrinkler", _const(mirrored(
        {31: (-0.03, 0.04), 32: (-0.01, 0.035), 49: (0.0, 0.02), 50: (0.0, 0.03), 61: (0.0, 0.02),
         21: (0.01, -0.03), 20: (0.0, -0.015)},
        {33: (0.0, 0.03), 30: (0.0, 0.015), 51: (0.0, 0.03), 62: (0.0, 0.02)}))),
    ActionUnit("10", "upper lip raiser", _const(mirrored(
        {49: (0.0, 0.05), 50: (0.0, 0.07), 48: (0.0, 0.015), 60: (0.0, 0.02), 61: (0.0, 0.05),
         31: (0.0, 0.012), 32: (0.0, 0.012)},
        {51: (0.0, 0.07), 62: (0.0, 0.05), 33: (0.0, 0.01)}))),
    ActionUnit("12", "lip corner puller", _const(mirrored(
        {48: (-0.10, 0.10), 60: (-0.08, 0.085), 49: (-0.04, 0.045), 59: (-0.05, 0.06),
         50: (-0.01, 0.015), 58: (-0.015, 0.025), 61: (-0.03, 0.04), 67: (-0.03, 0.045),
         3: (-0.01, 0.01), 4: (-0.01, 0.01), 40: (0.0, 0.008), 41: (0.0, 0.008)}))),
    ActionUnit("14", "dimpler", _const(mirrored(
        {48: (0.03, 0.02), 60: (0.025, 0.015), 49: (0.01, 0.005), 59: (0.01, 0.005)}))),
    ActionUnit("15", "lip corner depressor", _const(mirrored(
        {48: (0.0, -0.08), 60: (0.0, -0.06), 59: (0.0, -0.04), 49: (0.0, -0.03), 58: (0.0, -0.015),
         67: (0.0, -0.035), 61: (0.0, -0.02)}))),
    ActionUnit("20", "lip stretcher", _const(mirrored(
        {48: (-0.10, -0.01), 60: (-0.085, -0.005), 49: (-0.04, 0.0), 59: (-0.05, 0.0),
         50: (-0.015, 0.0), 58: (-0.015, 0.0), 61: (-0.035, 0.0), 67: (-0.035, 0.0),
         4: (-0.01, 0.0), 5: (-0.01, 0.0)}))),
    ActionUnit("16", "lower lip depressor", _const(mirrored(
        {59: (0.0, -0.05), 58: (0.0, -0.08), 67: (0.0, -0.06), 48: (0.0, -0.01)},
        {57: (0.0, -0.09), 66: (0.0, -0.065)}))),
    ActionUnit("17", "chin raiser", _const(mirrored(
        {59: (0.0, 0.03), 58: (0.0, 0.05), 67: (0.0, 0.02), 7: (0.0, 0.03), 6: (0.0, 0.015),
         48: (0.0, -0.01)},
        {57: (0.0, 0.06), 66: (0.0, 0.02), 8: (0.0, 0.04)}))),
    ActionUnit("18", "lip pucker", _const(mirrored(
        {48: (0.12, 0.0), 60: (0.10, 0.0), 49: (0.06, 0.015), 59: (0.06, -0.015),
         50: (0.02, 0.02), 58: (0.02, -0.02), 61: (0.04, -0.005), 67: (0.04, 0.005)},
        {51: (0.0, 0.025), 57: (0.0, -0.025)}))),
    ActionUnit("23", "lip tightener", _lip_tightener),
    ActionUnit("24", "lip pressor", _const(mirrored(
        {49: (0.0, -0.02), 50: (0.0, -0.025), 59: (0.0, 0.02), 58: (0.0, 0.025),
         48: (0.01, -0.005)},
        {51: (0.0, -0.025), 57: (0.0, 0.025)}))),
    ActionUnit("25", "lips part", _const(mirrored(
        {61: (0.0, 0.03), 67: (0.0, -0.08), 58: (0.0, -0.065), 59: (0.0, -0.04), 60: (0.0, -0.01)},
        {62: (0.0, 0.03), 66: (0.0, -0.09), 57: (0.0, -0.07)}))),
    ActionUnit("26", "jaw drop", _jaw_drop),
    ActionUnit("27", "mouth stretch", lambda n0: 1.6 * _jaw_drop(n0) + mirrored(
        {48: (0.04, -0.06), 60: (0.05, -0.06), 49: (0.015, 0.0), 59: (0.02, -0.04),
         61: (0.01, 0.0), 67: (0.02, 0.0)})),
    ActionUnit("45", "blink (eye closure)", None),
    ActionUnit("46", "wink (one-eye closure)", None),
    ActionUnit("breath", "breathing (not a FACS unit)", _const(
        mirrored({31: (-0.008, 0.0)}) + np.array([0.0, 0.012]))),
]

ACTION_UNITS: dict[str, ActionUnit] = {u.code: u for u in _UNITS}


@dataclass(frozen=True)
class Calibration:
    """A unit's key measure: point `point`'s displacement along `axis` (0 = x outward on the
    image-left side, 1 = y up) in IOD, for the posed apex (`posed`, None where no published or
    measured figure exists) and the emoticon apex the unit is scaled to (`emoticon`)."""

    measure: str
    point: int
    axis: int
    posed: float | None
    emoticon: float


#: Key measure per unit, in inter-ocular distances (IOD): see docs/expressions.md for where the
#: posed figures come from and why the emoticon figures are what they are.
CALIBRATION: dict[str, Calibration] = {
    "1": Calibration("inner brow raise", 21, 1, None, 0.17),
    "2": Calibration("outer brow raise", 18, 1, None, 0.15),
    "4": Calibration("inner brow lowering", 21, 1, None, -0.15),
    "5": Calibration("upper lid raise", 37, 1, None, 0.07),
    "6": Calibration("lower lid lift (cheek)", 41, 1, None, 0.045),
    "7": Calibration("lower lid lift (tightener)", 41, 1, None, 0.05),
    "9": Calibration("nose wing lift", 31, 1, None, 0.07),
    "10": Calibration("upper lip lift", 50, 1, None, 0.11),
    "12": Calibration("lip corner lift", 48, 1, 0.11, 0.17),
    "14": Calibration("lip corner inward", 48, 0, None, -0.05),
    "15": Calibration("lip corner drop", 48, 1, None, -0.15),
    "16": Calibration("lower lip drop", 58, 1, None, -0.09),
    "17": Calibration("lower lip lift", 58, 1, None, 0.06),
    "18": Calibration("lip corner inward", 48, 0, None, -0.14),
    "20": Calibration("lip corner outward", 48, 0, None, 0.13),
    "24": Calibration("lip press", 51, 1, None, -0.03),
    "26": Calibration("inner-lip aperture", 66, 1, None, -0.42),
    "27": Calibration("inner-lip aperture", 66, 1, None, -0.68),
}


def _key_value(field: np.ndarray, cal: Calibration) -> float:
    """The signed key measure of a field [68, 2]: x outward (image-left side), y up."""
    value = float(field[cal.point, cal.axis])
    return -value if cal.axis == 0 else value


def _gains() -> dict[str, float]:
    out = {}
    for code, cal in CALIBRATION.items():
        raw = _key_value(ACTION_UNITS[code].field(NEUTRAL_REFERENCE), cal)
        if code in ("26", "27"):  # the aperture: the upper lip's own lift counts too
            field = ACTION_UNITS[code].field(NEUTRAL_REFERENCE)
            raw = float(field[66, 1] - field[62, 1])
        out[code] = cal.emoticon / raw if abs(raw) > 1e-9 else 1.0
    return out


#: Multiplier of each unit's hand-shaped field so its key measure hits the emoticon apex.
GAIN: dict[str, float] = _gains()


def unit_field(code: str, n0: np.ndarray) -> np.ndarray:
    """The calibrated full-intensity field [68, 2] of additive unit `code` on shape n0."""
    return GAIN.get(code, 1.0) * ACTION_UNITS[code].field(n0)


def linear_fields(n0: np.ndarray, codes: list[str]) -> np.ndarray:
    """Full-intensity bilateral fields of the additive units `codes`: [K, 68, 2] face units."""
    return np.stack([unit_field(c, n0) for c in codes]) if codes else np.zeros((0, N_POINTS, 2))


def close_eyes(shapes: np.ndarray, right: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Draw the lids together: shapes [T, 68, 2] (face units), closure amounts [T] in [0, 1] for
    the subject's right (image-left) and left eye. At 1 each upper lid meets its lower lid."""
    out = shapes.copy()
    for amount, pairs in ((right, LIDS_RIGHT), (left, LIDS_LEFT)):
        c = np.asarray(amount, dtype=np.float64)[:, None]
        for upper, lower in pairs:
            gap = shapes[:, lower] - shapes[:, upper]  # [T, 2]
            out[:, upper] += c * UPPER_LID_SHARE * gap
            out[:, lower] -= c * (1.0 - UPPER_LID_SHARE) * gap
    return out


def keep_plausible(shapes: np.ndarray) -> np.ndarray:
    """No upper lid below its lower lid, no upper inner lip below the lower one: crossing pairs
    meet at their mean height instead. shapes [T, 68, 2] face units (y up)."""
    out = shapes.copy()
    for upper, lower in LIDS_RIGHT + LIDS_LEFT + INNER_LIPS:
        crossed = out[:, upper, 1] < out[:, lower, 1]
        mean_y = 0.5 * (out[:, upper, 1] + out[:, lower, 1])
        out[:, upper, 1] = np.where(crossed, mean_y, out[:, upper, 1])
        out[:, lower, 1] = np.where(crossed, mean_y, out[:, lower, 1])
    return out


def deform(n0: np.ndarray, activity: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Apply action units over time.

    n0: [68, 2] shape in face units. activity: unit code → (right, left) intensity changes,
    each [T] (per side; negative undoes a unit the photo shows, see estimate.py; closures are
    clipped to [0, 1]). Returns shapes [T, 68, 2] in face units.
    """
    frames = len(next(iter(activity.values()))[0]) if activity else 1
    additive = [c for c in activity if not ACTION_UNITS[c].is_closure]
    fields = linear_fields(n0, additive)  # [K, 68, 2]
    weights = np.stack([activity[c][0][:, None] * RIGHT_WEIGHT + activity[c][1][:, None] * LEFT_WEIGHT
                        for c in additive], axis=1) if additive else np.zeros((frames, 0, N_POINTS))
    shapes = n0[None] + np.einsum("tkp,kpd->tpd", weights, fields)
    right = np.zeros(frames)
    left = np.zeros(frames)
    for code in activity:
        if ACTION_UNITS[code].is_closure:
            right = right + activity[code][0]
            left = left + activity[code][1]
    shapes = close_eyes(shapes, np.clip(right, 0, 1), np.clip(left, 0, 1))
    return keep_plausible(shapes)
