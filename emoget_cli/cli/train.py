"""`emoget train`: the group holding `train stylegan` and `train motion`."""

from __future__ import annotations

import typer

from .common import EmogetGroup

train_app = typer.Typer(
    name="train",
    cls=EmogetGroup,
    help="Train the models: a (conditional) StyleGAN2, or the landmark-motion generator.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
