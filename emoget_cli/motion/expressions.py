"""The expression library — each expression defined ONCE: its FACS action units, its timing, its
secondary head motion and the emoticon effects drawn with it — and the `--expr` syntax:
`happiness`, `happiness+wink`, `happiness:0.5+wink` (per-term intensity 0..1).

The units follow the prototypes of Ekman & Friesen's FACS/EMFACS (docs/expressions.md); the
emoticon-only ones (laugh, love, cry, sleepy, kiss, shocked, smug, nervous) are built from the
same units. `effects` are names of render/effects.py overlays (`--effects auto` draws them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..core.choices import EFFECT_NAMES
from ..core.errors import UsageError
from .envelope import ENVELOPE_KINDS, TIMINGS, envelope, timed, trapezoid, phases
from .facs import ACTION_UNITS
from .head import HEAD_CHOICES

SIDES = ("both", "R", "L")


@dataclass(frozen=True)
class Activation:
    """One action unit inside an expression: side "both", "R" (subject's right = image-left) or
    "L"; intensity in [0, 1]; the envelope that drives it over the loop ("sustain" = the
    expression's own timing)."""

    au: str
    side: str = "both"
    intensity: float = 1.0
    envelope: str = "sustain"

    def __post_init__(self) -> None:
        if self.au not in ACTION_UNITS or self.side not in SIDES or self.envelope not in ENVELOPE_KINDS:
            raise ValueError(f"bad activation {self}")

    @property
    def label(self) -> str:
        weight = "" if self.intensity == 1.0 else f":{self.intensity:g}"
        return ("" if self.side == "both" else self.side) + self.au + weight


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
    """name; description; units (the apex, as activations); effects (EFFECT_NAMES drawn by
    `--effects auto`); head: the secondary head motion (head.HEAD_CHOICES) of `--head auto`;
    timing: a name in envelope.TIMINGS; replaces: the expression replaces the photo's own
    (estimated) units (False for blinks and idle loops, which keep the photo's smile)."""

    name: str
    description: str
    units: tuple[Activation, ...]
    effects: tuple[str, ...] = ()
    head: str = "none"
    timing: str = "normal"
    replaces: bool = True
    #: random shift (± phase) of the pulse timing per seed, so idle loops differ
    timing_jitter: float = 0.0

    def __post_init__(self) -> None:
        if (self.head not in HEAD_CHOICES or self.timing not in TIMINGS
                or any(e not in EFFECT_NAMES for e in self.effects)):
            raise ValueError(f"bad expression {self.name!r}")

    @property
    def facs(self) -> str:
        """FACS notation, e.g. '6+12+25'."""
        return "+".join(a.label for a in self.units) or "-"

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "units": self.facs,
                "effects": list(self.effects), "head": self.head, "timing": self.timing,
                "replaces_photo_expression": self.replaces}


EXPRESSIONS: dict[str, Expression] = {e.name: e for e in (
    Expression("happiness", "a Duchenne smile: cheeks up, lip corners up and out, teeth show",
               _units("6+12+25:0.7+10:0.3"), ("blush", "sparkles"), "nod"),
    Expression("surprise", "brows shoot up, eyes wide, jaw drops",
               _units("1+2+5+26"), ("exclaim",), "recoil", "snap"),
    Expression("disgust", "nose wrinkles, upper lip curls up, corners down, brows lower",
               _units("9+10+15:0.6+16:0.4+4:0.5+7:0.5"), ("gloom", "pale"), "recoil"),
    Expression("sadness", "inner brows up and together, lids droop, corners down, chin pouts",
               _units("1+4:0.7+15+17:0.6+45:0.3"), ("tears", "gloom"), "droop", "slow"),
    Expression("anger", "brows down and together, glare, lips pressed thin",
               _units("4+5:0.5+7+23+24:0.5+9:0.3+15:0.5+17:0.4"), ("vein", "flush"), "shake",
               "punch"),
    Expression("fear", "brows up and together, eyes wide, lips stretched back, jaw drops",
               _units("1+2+4:0.6+5+20+25+26:0.5"), ("sweat", "pale"), "tremble", "snap"),
    Expression("contempt", "a one-sided smirk (subject's right) while the other corner sags, "
               "lids lowered", _units("R12+R14+L15:0.4+45:0.25"), (), "tilt"),
    Expression("wink", "the subject's left eye closes (image right) with a small smile",
               _units("L46+L6:0.6+12:0.6"), ("sparkles",), "tilt"),
    Expression("blink", "both eyes close briefly", _units("45", "pulse"), replaces=False),
    Expression("idle", "a subtle blink and breathing",
               _units("45", "pulse") + _units("breath", "breath"), replaces=False,
               timing_jitter=0.15),
    Expression("neutral", "the photo's own expression relaxes to a neutral face", ()),
    Expression("laugh", "a wide open-mouthed grin, eyes squeezed to crescents",
               _units("6+12+25+26:0.7+10:0.4+45:0.6"), ("sparkles", "tears"), "bounce", "punch"),
    Expression("love", "a soft smile with dreamy half-closed eyes and raised brows",
               _units("6:0.8+12:0.8+1:0.4+45:0.45"), ("hearts", "blush"), "sway", "slow"),
    Expression("cry", "a crumpled crying face: brows knit up, eyes squeezed, mouth wails",
               _units("1+4+6:0.5+15+16:0.6+20:0.5+25+26:0.4+45:0.7"), ("stream",), "sob"),
    Expression("sleepy", "heavy lids close, the face goes slack, lip corners sag",
               _units("45:0.9+1:0.3+15:0.4+17:0.3"), ("zzz",), "droop", "slow"),
    Expression("kiss", "puckered lips, one eye closed", _units("18+24:0.4+L46+6:0.4"),
               ("hearts", "blush"), "tilt"),
    Expression("shocked", "eyes pop, brows fly up, mouth gapes wide", _units("1+2+5+27+20:0.4"),
               ("exclaim", "pale"), "recoil", "snap"),
    Expression("smug", "a lopsided grin under heavy lids and one raised brow",
               _units("R12+R14:0.6+45:0.5+L2+L1:0.5"), ("sparkles",), "tilt"),
    Expression("nervous", "a clenched grimace: lips stretched over the teeth, brows up and together",
               _units("20+25:0.6+12:0.3+1+4:0.6+5:0.4"), ("sweat",), "tremble"),
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
            from ..core.choices import suggest

            near = suggest(name, valid) if name else None
            if near is not None and near.lower() == name.replace("_", "-"):
                name = near  # the same name in other case or spelling: take it
        if name not in valid:
            near = suggest(name, valid) if name else None
            shown = (repr(name) if name else "an empty term") + \
                (f" (did you mean '{near}'?)" if near else "")
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


@dataclass(frozen=True)
class Activity:
    """What an --expr does over T frames.

    units: unit code → (right, left) target intensities [T] (the expression's own motion; may
    dip below 0 in anticipation and pass 1 in overshoot); replace: [T] in [0, 1], how far the
    photo's own units are undone (0 at rest, 1 at the apex of a replacing expression); envelope:
    [T] the main expression envelope (for the head motion); head: the head motion `--head auto`
    uses; effects: the effect names `--effects auto` draws.
    """

    units: dict[str, tuple[np.ndarray, np.ndarray]]
    replace: np.ndarray
    envelope: np.ndarray
    head: str
    effects: tuple[str, ...]


def expression_activity(spec: ExpressionSpec, frames: int, *, intensity: float = 1.0,
                        seed: int = 0) -> Activity:
    """Per-frame intensity of every action unit the spec uses.

    Terms add (units, replacement, the head's envelope); each unit's combined intensity is
    clipped to [-0.5, 2] per side and frame, the replacement to [0, 1]. The head motion is that
    of the strongest term (the first on ties); effects are the union.
    """
    rng = np.random.default_rng(seed)
    sums: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    replace = np.zeros(frames)
    main = np.zeros(frames)
    head, best = "none", -1.0
    effects: list[str] = []
    for name, weight in spec.terms:
        expr = EXPRESSIONS[name]
        timing = TIMINGS[expr.timing]
        centre = 0.5 + (rng.uniform(-1.0, 1.0) * expr.timing_jitter if expr.timing_jitter else 0.0)
        own = timed(frames, timing)
        if expr.replaces:
            plain = trapezoid(phases(frames), timing.start, timing.apex, timing.release, timing.end) \
                if frames > 3 else np.clip(own, 0.0, 1.0)
            replace = replace + weight * min(float(intensity), 1.0) * plain
        if expr.units or expr.replaces:
            main = main + own * weight
            if weight > best:
                head, best = expr.head, weight
        effects += [e for e in expr.effects if e not in effects]
        for act in expr.units:
            env = own if act.envelope == "sustain" else envelope(act.envelope, frames, centre=centre)
            env = env * act.intensity * weight * intensity
            right, left = sums.setdefault(act.au, (np.zeros(frames), np.zeros(frames)))
            if act.side in ("both", "R"):
                right += env
            if act.side in ("both", "L"):
                left += env
    units = {code: (np.clip(r, -0.5, 2.0), np.clip(l, -0.5, 2.0)) for code, (r, l) in sums.items()}
    return Activity(units, np.clip(replace, 0.0, 1.0), main, head, tuple(effects))
