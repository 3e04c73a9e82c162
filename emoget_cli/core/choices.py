"""Every named choice of emoget, defined once: the CLI and the domain code both import these.

A new style, expression, preset, format, landmark backend or loss is added HERE first (its name,
and the default when it changes); the module that implements it keys its table by these names,
and `tests/test_choices.py` checks that the two agree and that the CLI offers exactly these.

Pure Python (no numpy, no torch): `emoget --help` and the shell completions import it.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------------ styles --
#: The built-in styles of the classic engine (style/classic.py implements them, same order).
#: gan styles are not listed here: they come from the weights registry (weights.yaml).
CLASSIC_STYLE_NAMES: tuple[str, ...] = (
    "baby", "cartoon", "painting", "none", "caricature", "caricature-cartoon")
DEFAULT_STYLE = "cartoon"
#: auto: gan when the style resolves to a generator checkpoint, else classic.
ENGINES: tuple[str, ...] = ("auto", "classic", "gan")

# ------------------------------------------------------------------------------- expressions --
#: The expression library (motion/expressions.py implements them, same order).
EXPRESSION_NAMES: tuple[str, ...] = (
    "happiness", "surprise", "disgust", "sadness", "anger", "fear", "contempt", "wink", "blink",
    "idle", "neutral", "laugh", "love", "cry", "sleepy", "kiss", "shocked", "smug", "nervous")
DEFAULT_EXPRESSION = "happiness"
#: The expressions of a `make --pack` when only one (or none) is named.
PACK_EXPRESSIONS: tuple[str, ...] = (
    "happiness", "surprise", "disgust", "sadness", "anger", "fear", "wink")

# --------------------------------------------------------------------------------- animation --
#: auto: the expression's own secondary motion (motion/head.py implements them, same order).
HEAD_MOTIONS: tuple[str, ...] = ("auto", "none", "nod", "tilt", "bounce", "shake", "tremble",
                                 "droop", "recoil", "sway", "sob")
DEFAULT_HEAD = "auto"
#: --intensity: 1 is the calibrated emoticon apex, up to MAX_INTENSITY exaggerates further.
MAX_INTENSITY = 1.5
#: What a cut-out keeps (render/matting.py): head = face and hair, cut below the chin;
#: bust = with the neck and shoulders.
CROPS: tuple[str, ...] = ("head", "bust")
DEFAULT_CROP = "head"
#: keep: the picture as it is; transparent: the head cut out (needs a format with alpha).
BACKGROUNDS: tuple[str, ...] = ("keep", "transparent")
#: The image-warp implementations (render/warp.py); "auto" picks torch on CUDA, else OpenCV.
WARP_BACKENDS: tuple[str, ...] = ("opencv", "torch")
WARP_BACKEND_CHOICES: tuple[str, ...] = ("auto", *WARP_BACKENDS)

#: Emoticon effects (render/effects.py draws them, same order = drawing order: tints first).
EFFECT_NAMES: tuple[str, ...] = (
    "flush", "pale", "gloom", "blush", "tears", "stream", "sweat", "vein", "sparkles", "hearts",
    "heart-eyes", "exclaim", "zzz")
#: --effects: auto (each expression's own), none, or EFFECT_NAMES joined with '+'.
EFFECT_MODES: tuple[str, ...] = ("auto", "none")
DEFAULT_EFFECTS = "auto"

# ------------------------------------------------------------------------------------ output --
#: Output format name → file suffixes (the first is the one written); render/formats.py holds
#: one object per format (alpha, fps cap, delays, loop flag, quality ladder, encoder).
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "gif": (".gif",), "apng": (".png", ".apng"), "webp": (".webp",),
    "webm": (".webm",), "mp4": (".mp4", ".m4v"),
}
FORMATS: tuple[str, ...] = tuple(FORMAT_SUFFIXES)
SUFFIX_FORMATS: dict[str, str] = {s: f for f, sufs in FORMAT_SUFFIXES.items() for s in sufs}
#: The formats whose files can hold an alpha channel (--background transparent).
ALPHA_FORMATS: frozenset[str] = frozenset({"gif", "apng", "webp", "webm"})
DEFAULT_FORMAT = "gif"
#: Messenger presets (render/presets.py holds their limits, same order).
PRESET_NAMES: tuple[str, ...] = ("telegram", "telegram-emoji", "line", "whatsapp",
                                 "discord-sticker", "signal", "imessage", "slack", "discord",
                                 "kakao")

# --------------------------------------------------------------------------------- detection --
#: Landmark detectors (face/backends.py implements them); "auto" = the first that is installed.
LANDMARK_BACKENDS: tuple[str, ...] = ("dlib", "fan")
LANDMARK_BACKEND_CHOICES: tuple[str, ...] = ("auto", *LANDMARK_BACKENDS)

# ------------------------------------------------------------------------------ gan inversion --
#: Perceptual losses of the inversion (gan/perceptual.py); auto = lpips when its weights load.
PERCEPTUAL_CHOICES: tuple[str, ...] = ("auto", "lpips", "fallback", "none")
#: Inversion steps when neither the command line nor the style's registry entry says: the same
#: for `make` (gan engine) and `invert`, so a latent from one reproduces in the other.
DEFAULT_INVERT_STEPS = 300

# ---------------------------------------------------------------------------------- compute --
#: auto: CUDA when a GPU is visible, else the CPU.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


# ------------------------------------------------------------------------- matching a name --

def _folded(name: str) -> str:
    return " ".join(str(name).split()).lower().replace("_", "-")


def match_choice(value: str, choices, what: str) -> str:
    """The entry of `choices` that `value` names, ignoring case, surrounding blanks and '_' vs
    '-'. A UsageError otherwise: 'did you mean X?' for a near miss, the list always. The one
    matcher for every named choice (CLI options, config files, registries)."""
    import difflib

    from .errors import UsageError

    options = [str(c) for c in choices]
    key = _folded(value)
    for option in options:
        if _folded(option) == key:
            return option
    close = difflib.get_close_matches(key, [_folded(o) for o in options], n=1, cutoff=0.6)
    shown = f"'{value}'" if str(value).strip() else "an empty name"
    hint = ""
    if close:
        hint = f"did you mean '{options[[_folded(o) for o in options].index(close[0])]}'? "
    raise UsageError(f"unknown {what} {shown}; {hint}(choose from {', '.join(options)})")


def suggest(value: str, choices) -> str | None:
    """The closest of `choices` to `value` (case-insensitive), or None."""
    import difflib

    options = [str(c) for c in choices]
    close = difflib.get_close_matches(_folded(value), [_folded(o) for o in options], n=1, cutoff=0.6)
    return options[[_folded(o) for o in options].index(close[0])] if close else None
