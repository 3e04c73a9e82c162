"""Temporal envelopes: how strongly an action unit is active at each frame of a loop.

Every envelope is sampled at phases s = t / T (t = 0..T-1) of one period, is 0 at s = 0 (so
frame 0 is the neutral face) and is smooth across the wrap from frame T-1 to frame 0: the
rises and falls are raised-cosine ramps and the loop rests at 0 around s = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: onset starts, apex reached, offset starts, back to rest (phases in [0, 1]).
SUSTAIN_PHASES = (0.05, 0.35, 0.65, 0.95)
#: a blink: half-width of the whole pulse and of its closed plateau (phases).
PULSE_HALF_WIDTH = 0.10
PULSE_PLATEAU = 0.03

ENVELOPE_KINDS = ("sustain", "pulse", "breath")


@dataclass(frozen=True)
class Timing:
    """How an expression unfolds over one loop (phases in [0, 1]): the onset runs from `start`
    to `apex`, the offset from `release` to `end`; `anticipation` is a small move the other way
    just before the onset (a fraction of the apex), `overshoot` passes the apex and settles back
    during the hold (Thomas & Johnston's principles; docs/expressions.md)."""

    start: float
    apex: float
    release: float
    end: float
    anticipation: float = 0.0
    overshoot: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.start < self.apex < self.release < self.end < 1.0:
            raise ValueError(f"timing phases must increase inside (0, 1): {self}")


#: Named timings: surprise snaps open, sadness sinks slowly, most others in between.
TIMINGS: dict[str, Timing] = {
    "snap": Timing(0.08, 0.20, 0.72, 0.95, anticipation=0.25, overshoot=0.15),
    "punch": Timing(0.08, 0.24, 0.72, 0.95, anticipation=0.18, overshoot=0.12),
    "normal": Timing(0.06, 0.32, 0.70, 0.95, anticipation=0.10, overshoot=0.08),
    "slow": Timing(0.05, 0.50, 0.76, 0.97),
}


def phases(frames: int) -> np.ndarray:
    """[T] phases t / T in [0, 1)."""
    return np.arange(frames, dtype=np.float64) / float(frames)


def _ramp(x: np.ndarray) -> np.ndarray:
    """Raised-cosine step: 0 for x <= 0, 1 for x >= 1, smooth (zero slope at both ends)."""
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def trapezoid(s: np.ndarray, start: float, apex: float, release: float, end: float) -> np.ndarray:
    """Onset–apex–offset window: 0 → raised-cosine rise [start, apex] → 1 → fall [release, end] → 0."""
    rise = _ramp((s - start) / max(apex - start, 1e-9))
    fall = 1.0 - _ramp((s - release) / max(end - release, 1e-9))
    return np.minimum(rise, fall)


def _bump(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """sin² bump on [lo, hi] (0 outside, 1 in the middle, zero slope at both ends)."""
    u = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def timed(frames: int, timing: Timing) -> np.ndarray:
    """An expression's envelope [T]: rest, anticipation dip, onset, overshoot and settle, hold,
    offset, rest. 0 at s = 0 and smooth across the loop's seam; dips below 0 by about
    `anticipation`, peaks near 1 + `overshoot`."""
    if frames <= 3:
        return sustain(frames)
    s = phases(frames)
    plain = trapezoid(s, timing.start, timing.apex, timing.release, timing.end)
    span = timing.apex - timing.start
    x = (s - timing.start) / span  # onset progress: 0 → 1 over the onset
    # the anticipation dip fills the onset's first third, the overshoot straddles the apex
    # and settles before the offset begins
    settle = min(1.6, 1.0 + 0.9 * (timing.release - timing.apex) / span)
    return (plain - timing.anticipation * _bump(x, -0.2, 0.45)
            + timing.overshoot * _bump(x, 0.6, settle))


def sustain(frames: int) -> np.ndarray:
    """The expression envelope: rest, onset, apex hold, offset, rest. [T] in [0, 1]."""
    if frames <= 3:  # too few frames for a ramp: neutral, apex, (half way back)
        return np.array([0.0, 1.0, 0.5][:frames])
    return trapezoid(phases(frames), *SUSTAIN_PHASES)


def pulse(frames: int, centre: float = 0.5) -> np.ndarray:
    """A brief closure (blink) centred at phase `centre`; at least ~3 frames wide. [T] in [0, 1]."""
    s = phases(frames)
    half = min(max(PULSE_HALF_WIDTH, 1.5 / frames), 0.5)
    plateau = min(max(PULSE_PLATEAU, 0.5 / frames), half * 0.5)
    centre = float(np.clip(centre, half, 1.0 - half))  # keep s = 0 at rest
    return trapezoid(s, centre - half, centre - plateau, centre + plateau, centre + half)


def breath(frames: int) -> np.ndarray:
    """One slow full cycle, 0.5·(1 - cos 2πs): idle breathing. [T] in [0, 1]."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * phases(frames))


def envelope(kind: str, frames: int, *, centre: float = 0.5) -> np.ndarray:
    """Sample envelope `kind` (one of ENVELOPE_KINDS) at `frames` frames: [T] float64 in [0, 1]."""
    if kind == "sustain":
        return sustain(frames)
    if kind == "pulse":
        return pulse(frames, centre)
    if kind == "breath":
        return breath(frames)
    raise ValueError(f"unknown envelope kind {kind!r}")
