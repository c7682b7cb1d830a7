"""The ``tenantwatch`` command line (typer + rich)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from tenantwatch import __version__
from tenantwatch.errors import TenantwatchError

__all__ = ["app", "main"]

app = typer.Typer(
    name="tenantwatch",
    help="Watch a Microsoft 365 tenant: collect every audit record, normalize to OCSF, "
    "detect attacks, keep a tamper-evident store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tenantwatch {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more detail.")] = False,
) -> None:
    """tenantwatch: continuous Microsoft 365 audit collection and detection."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )


@app.command()
def demo(
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: run until Ctrl-C)."),
    ] = None,
    users: Annotated[int, typer.Option(min=1, help="Users in the simulated tenant.")] = 200,
    data_dir: Annotated[
        Path, typer.Option(help="Where the store, findings.jsonl and demo state go.")
    ] = Path("tenantwatch-demo"),
    speed: Annotated[
        float, typer.Option(min=0.1, help="Simulated seconds per real second.")
    ] = 30.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulated tenant.")] = 7,
    reset: Annotated[bool, typer.Option(help="Start over instead of continuing.")] = False,
    live: Annotated[
        bool, typer.Option(help="Show the live view (off when output is not a terminal).")
    ] = True,
) -> None:
    """Run the pipeline against an emulated tenant under a password-spray attack."""
    from tenantwatch.cli.demo import DemoOptions, run_demo

    console = Console()
    options = DemoOptions(
        data_dir=data_dir,
        duration_secs=duration,
        users=users,
        speed=speed,
        seed=seed,
        reset=reset,
        live=live and console.is_terminal,
    )
    run_demo(options, console)


def main() -> None:
    """Entry point: run the app, turning tenantwatch errors into a clear message and exit 2."""
    try:
        app()
    except TenantwatchError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}")
        sys.exit(2)
