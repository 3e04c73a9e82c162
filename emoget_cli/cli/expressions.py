"""`emoget expressions`: the expression library — names, action units, effects, head motion."""

from __future__ import annotations

import typer

from .common import JsonOpt, QuietOpt, Reporter, handle_errors


def register(app: typer.Typer) -> None:
    app.command("expressions")(expressions)


@handle_errors
def expressions(json_output: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """List the expressions --expr accepts: FACS units, timing, effects and head motion.

    Combine them with '+' and weigh a term with ':' (e.g. --expr happiness:0.5+wink).
    """
    from ..motion.expressions import ALIASES, EXPRESSIONS

    report = {"expressions": [e.to_dict() for e in EXPRESSIONS.values()],
              "aliases": dict(ALIASES),
              "syntax": "NAME[:WEIGHT][+NAME[:WEIGHT]...], WEIGHT in 0..1"}
    rep = Reporter(json_output, quiet)

    def human(console) -> None:
        from rich.table import Table

        table = Table("expression", "FACS units", "timing", "head", "effects", "what it shows")
        for e in EXPRESSIONS.values():
            table.add_row(e.name, e.facs, e.timing, e.head, ", ".join(e.effects) or "-",
                          e.description)
        console.print(table)
        console.print("Combine with '+', weigh with ':' (e.g. happiness:0.5+wink).")

    rep.result(report, human)
