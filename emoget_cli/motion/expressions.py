"""The expression library — each expression defined once, as FACS action units — and the
`--expr` syntax: `happiness`, `happiness+wink`, `happiness:0.5+wink` (per-term intensity 0..1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..core.errors import UsageError
from .envelope import ENVELOPE_KINDS, envelope
from .facs import ACTION_UNITS

SIDES = ("both", "R", "L")


@dataclass(frozen=True)
class Activation:
    """One action unit inside an expression: side "both", "R" (subject's right = image-left) or
    "L"; intensity in [0, 1]; the envelope that drives it over the loop."""

    au: str
    side: str = "both"
    intensity: float = 1.0
    envelope: str = "sustain"

    def __post_init__(self) -> None:
        if self.au not in ACTION_UNITS or self.side not in SIDES or self.envelope not in ENVELOPE_KINDS:
            raise ValueError(f"bad activation {self}")

    @property
    def label(self) -> str:
        return ("" if self.side == "both" else self.side) + self.au


def _units(text: str, envelope: str = "sustain") -> tuple[Activation, ...]:
    """'6:0.8+12+R14' → activations (FACS-style codes, optional side prefix and intensity)."""
    out = []
    for term in text.split("+"):
        code, _, value = term.partition(":")
        side = code[0] if code[0] in "RL" else "both"
        out.append(Activation(code[1:] if side != "both" else code, side,
                              float(value) if value else 1.0, envelope))
    return tuple(out)


@dataclass(frozen=True)
class Expression:
    name: str
    description: str
    units: tuple[Activation, ...]
    #: random shift (± phase) of the pulse timing per seed, so idle loops differ
    timing_jitter: float = 0.0

    @property
    def facs(self) -> str:
        """FACS notation, e.g. '6+12+25'."""
        return "+".join(a.label for a in self.units) or "-"


EXPRESSIONS: dict[str, Expression] = {e.name: e for e in (
    Expression("happiness", "smile: cheeks up, lip corners up and out, lips part",
               _units("6:0.8+12+25:0.6")),
    Expression("surprise", "brows up, eyes wide, jaw drops", _units("1+2+5:0.6+26")),
    Expression("disgust", "nose wrinkles, upper lip up, corners down", _units("9+10+15:0.7")),
    Expression("sadness", "inner brows up and together, corners down", _units("1:0.9+4:0.6+15")),
    Expression("anger", "brows down and together, glare, lips pressed", _units("4+5:0.6+7+23")),
    Expression("fear", "brows up and together, eyes wide, lips stretched, jaw drops",
               _units("1+2+4:0.5+5+7:0.5+20+26:0.5")),
    Expression("contempt", "one-sided smirk (subject's right)", _units("R12:0.7+R14:0.8")),
    Expression("wink", "the subject's left eye closes (image right), cheek raised",
               _units("L46+L6:0.5")),
    Expression("blink", "both eyes close briefly", _units("45", "pulse")),
    Expression("idle", "a subtle blink and breathing", _units("45", "pulse") + _units("breath", "breath"),
               timing_jitter=0.15),
    Expression("neutral", "no motion", ()),
)}

#: Everyday synonyms accepted by --expr (mapped to the library names).
ALIASES: dict[str, str] = {
    "happy": "happiness", "smile": "happiness", "joy": "happiness", "surprised": "surprise",
    "disgusted": "disgust", "sad": "sadness", "angry": "anger", "afraid": "fear",
    "scared": "fear", "fearful": "fear", "none": "neutral",
}


@dataclass(frozen=True)
class ExpressionSpec:
    """A parsed --expr: terms (name, intensity in [0, 1]) combined by summing their units."""

    terms: tuple[tuple[str, float], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.terms)

    def __str__(self) -> str:
        return "+".join(n if w == 1.0 else f"{n}:{w:g}" for n, w in self.terms)


def parse_expression(text: "str | ExpressionSpec", *, names: Iterable[str] | None = None) -> ExpressionSpec:
    """Parse 'happiness+wink' or 'happiness:0.5+wink' into an ExpressionSpec.

    `names` restricts the vocabulary (e.g. the classes of a learned model); default: EXPRESSIONS.
    Unknown names or bad intensities raise UsageError listing the valid choices.
    """
    if isinstance(text, ExpressionSpec):
        text = str(text)
    valid = list(names) if names is not None else list(EXPRESSIONS)
    aliases = ALIASES if names is None else {}
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"no expression given (choose from {', '.join(valid)})")
    terms = []
    for raw in text.split("+"):
        name, sep, value = (part.strip() for part in raw.partition(":"))
        name = name.lower()
        name = aliases.get(name, name)
        if name not in valid:
            shown = repr(name) if name else "an empty term"
            # the example uses names this vocabulary has (a learned model's classes may differ)
            example = ("happiness:0.5+wink" if names is None else
                       "+".join([f"{valid[0]}:0.5"] + valid[1:2]) if valid else "")
            raise UsageError(f"unknown expression {shown} in {text!r} (valid: {', '.join(valid)}; "
                             f"combine with '+', intensity with ':', e.g. {example})")
        weight = 1.0
        if sep:
            try:
                weight = float(value)
            except ValueError:
                weight = float("nan")
            if not 0.0 <= weight <= 1.0:  # also rejects NaN
                raise UsageError(f"intensity of {name!r} must be a number in 0..1, got {value!r}")
        terms.append((name, weight))
    return ExpressionSpec(tuple(terms))


def expression_activity(spec: ExpressionSpec, frames: int, *, intensity: float = 1.0,
                        seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-frame intensity of every action unit the spec uses.

    Returns unit code → (right, left): [T] arrays in [0, 1]. Terms add; each unit's combined
    intensity is clipped to 1 per side and frame, so happiness+contempt never over-drives AU12.
    """
    rng = np.random.default_rng(seed)
    sums: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, weight in spec.terms:
        expr = EXPRESSIONS[name]
        centre = 0.5 + (rng.uniform(-1.0, 1.0) * expr.timing_jitter if expr.timing_jitter else 0.0)
        for act in expr.units:
            env = envelope(act.envelope, frames, centre=centre) * act.intensity * weight * intensity
            right, left = sums.setdefault(act.au, (np.zeros(frames), np.zeros(frames)))
            if act.side in ("both", "R"):
                right += env
            if act.side in ("both", "L"):
                left += env
    return {code: (np.clip(r, 0.0, 1.0), np.clip(l, 0.0, 1.0)) for code, (r, l) in sums.items()}
