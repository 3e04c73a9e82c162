"""`emoget doctor`: what this machine can run, and why not."""

from __future__ import annotations

import typer

from .common import JsonOpt, QuietOpt, Reporter, handle_errors


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


@handle_errors
def doctor(json_output: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Report landmark backends, devices and weights that are available here, and why not."""
    from ..doctor import collect_report

    report = collect_report()
    rep = Reporter(json_output, quiet)

    def human(console) -> None:
        from rich.table import Table

        table = Table("component", "status", "details", show_lines=False)
        for item in report["checks"]:
            mark = "[green]ok[/]" if item["ok"] else "[yellow]missing[/]"
            table.add_row(item["name"], mark, item["details"])
        console.print(table)

    rep.result(report, human)
