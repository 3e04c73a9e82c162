"""The Typer command-line interface: thin modules over the core, one per subcommand."""
