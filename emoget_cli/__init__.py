"""emoget: one selfie in, a looping animated emoticon out."""

__version__ = "0.1.0"
