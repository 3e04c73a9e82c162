"""`emoget effects`: the emoticon effects `--effects` draws — names, what they show, who uses them."""

from __future__ import annotations

import typer

from .common import JsonOpt, QuietOpt, Reporter, handle_errors


def register(app: typer.Typer) -> None:
    app.command("effects")(effects)


@handle_errors
def effects(json_output: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """List the effects --effects accepts and the expressions that draw them by default.

    --effects auto (the expression's own), none, or names joined with '+' (e.g. tears+zzz).
    """
    from ..motion.expressions import EXPRESSIONS
    from ..render.effects import DESCRIPTIONS, expression_effects

    users = {name: [e for e in EXPRESSIONS if name in expression_effects(e)] for name in DESCRIPTIONS}
    report = {"effects": [{"name": name, "description": text, "auto_for": users[name]}
                          for name, text in DESCRIPTIONS.items()],
              "syntax": "auto | none | NAME[+NAME...]"}
    rep = Reporter(json_output, quiet)

    def human(console) -> None:
        from rich.table import Table

        table = Table("effect", "what it shows", "drawn by default for")
        for name, text in DESCRIPTIONS.items():
            table.add_row(name, text, ", ".join(users[name]) or "-")
        console.print(table)
        console.print("--effects auto (default), none, or names joined with '+' (e.g. tears+zzz).")

    rep.result(report, human)
