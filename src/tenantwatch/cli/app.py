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


@app.command()
def emulator(
    users: Annotated[int, typer.Option(min=1, help="Users in the simulated tenant.")] = 200,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", help="Attack scenario to inject (repeatable)."),
    ] = None,
    ground_truth: Annotated[
        Path | None, typer.Option(help="Write the scenarios' ground truth (JSON) here.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated tenant.")] = 7,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 0,
    speed: Annotated[
        float, typer.Option(min=0.01, help="Simulated seconds per real second.")
    ] = 1.0,
    start: Annotated[
        str | None, typer.Option(help="Simulated start time (ISO 8601, UTC); default: now.")
    ] = None,
    backfill_days: Annotated[
        float, typer.Option(min=0, help="Days of history served before the start.")
    ] = 1.0,
    scenario_delay: Annotated[
        float, typer.Option(help="Minutes after the start at which scenarios begin.")
    ] = 2.0,
    state_dir: Annotated[
        Path, typer.Option(help="Where TLS files, credentials and the sample config go.")
    ] = Path("tenantwatch-emulator"),
    graph_limit: Annotated[
        int, typer.Option(help="Graph requests per 10 s per app and tenant (0 = unlimited).")
    ] = 5,
    duplicate_rate: Annotated[
        float, typer.Option(help="Share of Activity API records served in two blobs.")
    ] = 0.005,
    server_error_rate: Annotated[
        float, typer.Option(help="Share of requests answering 5xx.")
    ] = 0.0,
    truncate_rate: Annotated[float, typer.Option(help="Share of responses cut short.")] = 0.0,
    throttle_rate: Annotated[float, typer.Option(help="Share of requests throttled.")] = 0.0,
    first_content_delay: Annotated[
        float,
        typer.Option(
            help="Minutes before a new subscription's first content (Microsoft: up to 720)."
        ),
    ] = 0.0,
    subscribed: Annotated[
        bool, typer.Option(help="Start with all five Activity API subscriptions enabled.")
    ] = True,
) -> None:
    """Serve an emulated Microsoft 365 tenant (Entra ID, Graph, Management Activity API)."""
    from datetime import UTC, datetime

    from tenantwatch.cli.emulator import EmulatorOptions, serve
    from tenantwatch.emulator import Faults
    from tenantwatch.emulator.scenarios import SCENARIOS
    from tenantwatch.errors import ConfigError

    unknown = [s for s in scenario or [] if s not in SCENARIOS]
    if unknown:
        raise ConfigError(
            f"unknown scenario {unknown[0]!r}", fix=f"choose from: {', '.join(sorted(SCENARIOS))}"
        )
    begin = None
    if start:
        try:
            begin = datetime.fromisoformat(start)
        except ValueError:
            raise ConfigError(
                f"--start {start!r} is not an ISO 8601 time", fix="e.g. 2026-01-12T09:00:00Z"
            ) from None
        begin = begin if begin.tzinfo else begin.replace(tzinfo=UTC)
    options = EmulatorOptions(
        state_dir=state_dir,
        users=users,
        seed=seed,
        scenarios=list(scenario or []),
        ground_truth=ground_truth,
        host=host,
        port=port,
        speed=speed,
        start=begin,
        backfill_days=backfill_days,
        scenario_delay_minutes=scenario_delay,
        graph_limit=graph_limit,
        duplicate_rate=duplicate_rate,
        faults=Faults(
            server_error_rate=server_error_rate,
            truncate_rate=truncate_rate,
            throttle_rate=throttle_rate,
            seed=seed,
        ),
        first_content_delay_minutes=first_content_delay,
        subscribed=subscribed,
    )
    serve(options, Console(soft_wrap=True))


@app.command()
def normalize(
    files: Annotated[list[Path], typer.Argument(help="Exported audit files to normalize.")],
    format: Annotated[str, typer.Option("--format", help="auto, ndjson, json or csv.")] = "auto",
    tenant: Annotated[str, typer.Option(help="Tenant id to stamp on the events.")] = "local",
) -> None:
    """Print what tenantwatch makes of exported records: OCSF events, one JSON per line.

    Records that cannot be normalized are reported on stderr with their reason.
    """
    import sys

    import orjson

    from tenantwatch.cli.normalize import normalize_files

    err = Console(stderr=True)
    for event, problem in normalize_files(files, format, tenant):
        if event is not None:
            sys.stdout.buffer.write(orjson.dumps(event) + b"\n")
        else:
            err.print(f"[yellow]quarantined[/] {problem}", highlight=False, markup=True)
    sys.stdout.flush()


config_app = typer.Typer(help="Check or start a pipeline file.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("validate")
def config_validate(
    file: Annotated[Path, typer.Argument(help="The pipeline file to check.")],
) -> None:
    """Report every mistake in a pipeline file, with its line."""
    from tenantwatch.config import ConfigErrors, load_config

    console = Console()
    try:
        config = load_config(file)
    except ConfigErrors as exc:
        for error in exc.errors:
            console.print(f"[red]{error}[/]", highlight=False)
        raise typer.Exit(2) from None
    console.print(
        f"{file}: valid ({len(config.tenants)} tenants, {len(config.sources)} sources, "
        f"{len(config.sinks)} sinks)"
    )


@config_app.command("init")
def config_init(
    file: Annotated[Path, typer.Argument(help="Where to write the starter file.")] = Path(
        "tenantwatch.yml"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter pipeline file."""
    from tenantwatch.config.starter import STARTER

    if file.exists() and not force:
        raise TenantwatchError(f"{file} exists; use --force to overwrite it")
    file.write_text(STARTER)
    Console().print(f"wrote {file}; edit the tenant, then: tenantwatch config validate {file}")


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", "-c", help="The pipeline file.")],
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    once: Annotated[
        bool, typer.Option(help="Poll every source once, process everything, and exit.")
    ] = False,
) -> None:
    """Collect, normalize, detect and store continuously, as the pipeline file says."""
    from tenantwatch.assemble import assemble
    from tenantwatch.config import load_config

    settings = load_config(config)
    assembly = assemble(settings)
    console = Console(stderr=True)
    console.print(
        f"tenantwatch: {len(settings.sources)} sources, "
        f"store {settings.data_dir / 'tenantwatch.duckdb'}"
    )
    try:
        assembly.pipeline.run(duration, once=once)
    except KeyboardInterrupt:
        assembly.pipeline.shutdown()
    finally:
        assembly.close()
    s = assembly.pipeline.stats
    console.print(
        f"stopped: {s.received} records, {s.stored} stored, {s.duplicates} duplicates, "
        f"{s.quarantined} quarantined, {s.findings} findings"
    )
    failed = assembly.pipeline.failed_sources
    for source_id, error in failed.items():
        console.print(f"[red]source {source_id} did not complete a poll:[/red] {error}")
    if failed:
        raise typer.Exit(1)


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Exported audit files to load.")],
    data_dir: Annotated[Path, typer.Option(help="The store's directory.")] = Path(
        "tenantwatch-data"
    ),
    tenant: Annotated[str, typer.Option(help="Tenant id the records belong to.")] = "files",
    format: Annotated[str, typer.Option("--format", help="auto, ndjson, json or csv.")] = "auto",
) -> None:
    """Load exported files into the store (and run the detections on them)."""
    from tenantwatch.cli.ingest import ingest_files

    ingest_files(files, data_dir=data_dir, tenant=tenant, fmt=format, console=Console(stderr=True))


@app.command()
def status(
    data_dir: Annotated[Path, typer.Option(help="The store's directory.")] = Path(
        "tenantwatch-data"
    ),
) -> None:
    """Per source: watermark, lag, counts, errors; and the store's totals."""
    from tenantwatch.cli.status import show_status

    show_status(data_dir, Console())


rules_app = typer.Typer(help="Detection rules as code: test, lint, coverage.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

RulePaths = Annotated[
    list[Path] | None,
    typer.Argument(help="Rule files or folders (default: the built-in pack)."),
]
PlaceholderFile = Annotated[
    Path | None,
    typer.Option(help="YAML file giving the values of %name% placeholders (name: [values])."),
]


@rules_app.command("test")
def rules_test(paths: RulePaths = None) -> None:
    """Run every rule's examples (*.tests.yml): true and false records, both engines."""
    from tenantwatch.cli.rules import rule_paths, test_rules

    if not test_rules(rule_paths(paths), Console(highlight=False, soft_wrap=True)):
        raise typer.Exit(1)


@rules_app.command("lint")
def rules_lint(paths: RulePaths = None) -> None:
    """pySigma's validators and tenantwatch's checks (names, tags, examples)."""
    from tenantwatch.cli.rules import lint_rules, rule_paths

    if not lint_rules(rule_paths(paths), Console(highlight=False, soft_wrap=True)):
        raise typer.Exit(1)


@rules_app.command("coverage")
def rules_coverage(
    paths: RulePaths = None,
    placeholders: PlaceholderFile = None,
    json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    fail_under: Annotated[
        float, typer.Option(help="Exit 1 if fewer than this percentage of rules run.")
    ] = 0.0,
) -> None:
    """How many rules load, compile and run, per logsource; each unsupported one with why."""
    import orjson

    from tenantwatch.cli.rules import load_placeholders, print_coverage, rule_coverage, rule_paths

    coverage = rule_coverage(rule_paths(paths), load_placeholders(placeholders))
    if json:
        sys.stdout.write(orjson.dumps(coverage.as_dict(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        print_coverage(coverage, Console(highlight=False, soft_wrap=True))
    if coverage.percent < fail_under:
        raise typer.Exit(1)


@app.command()
def detect(
    files: Annotated[list[Path], typer.Argument(help="Exported audit files.")],
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Rule files or folders (default: the built-in pack)."),
    ] = None,
    placeholders: PlaceholderFile = None,
    format: Annotated[str, typer.Option("--format", help="auto, ndjson, json or csv.")] = "auto",
    tenant: Annotated[str, typer.Option(help="Tenant id to stamp on the events.")] = "local",
) -> None:
    """Run the detections on exported records, offline: findings as OCSF JSON lines."""
    from tenantwatch.cli.rules import detect_files, load_placeholders, rule_paths

    detect_files(
        files,
        rule_paths(rules),
        load_placeholders(placeholders),
        fmt=format,
        tenant=tenant,
        console=Console(stderr=True),
    )


DataDir = Annotated[Path, typer.Option(help="The store's directory.")]
OutputFormat = Annotated[str, typer.Option("--format", help="table, json (lines) or csv.")]


@app.command()
def verify(
    data_dir: DataDir = Path("tenantwatch-data"),
    public_key: Annotated[
        Path | None,
        typer.Option(help="The ledger's public key, kept apart from the data (ledger.pub)."),
    ] = None,
) -> None:
    """Check every stored event against the signed hash chain; exit 1 naming the first record
    altered, deleted, inserted or moved."""
    from tenantwatch.cli.store import verify_store

    if not verify_store(data_dir, public_key, Console(highlight=False, soft_wrap=True)):
        raise typer.Exit(1)


@app.command()
def prune(
    older_than: Annotated[str, typer.Option(help="Remove events older than this (e.g. 365d).")],
    data_dir: DataDir = Path("tenantwatch-data"),
) -> None:
    """Remove old events by whole ledger batches, recording the pruning in the chain."""
    from tenantwatch.cli.store import prune_store

    prune_store(data_dir, older_than, Console())


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A SQL query over the store (events, findings, ...).")],
    data_dir: DataDir = Path("tenantwatch-data"),
    format: OutputFormat = "table",
) -> None:
    """Run SQL over the store (read-only)."""
    from tenantwatch.cli.store import query_store

    query_store(data_dir, sql, format, Console())


@app.command()
def timeline(
    user: Annotated[str | None, typer.Option(help="A user principal name.")] = None,
    app_id: Annotated[
        str | None, typer.Option("--app", help="An application id or display name.")
    ] = None,
    ip: Annotated[str | None, typer.Option(help="An IP address.")] = None,
    since: Annotated[str | None, typer.Option(help="24h, 7d, or an ISO time.")] = "7d",
    limit: Annotated[int, typer.Option(help="At most this many events.")] = 500,
    data_dir: DataDir = Path("tenantwatch-data"),
    format: OutputFormat = "table",
) -> None:
    """One user's, app's or address's activity in time order."""
    from tenantwatch.cli.store import timeline as show_timeline

    show_timeline(
        data_dir,
        user=user,
        app=app_id,
        ip=ip,
        since=since,
        limit=limit,
        fmt=format,
        console=Console(),
    )


export_app = typer.Typer(help="Hand the stored events over.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("lake")
def export_lake_command(
    out: Annotated[Path, typer.Option(help="The lake's root folder (ext/<source>/... below).")],
    data_dir: DataDir = Path("tenantwatch-data"),
    since: Annotated[str | None, typer.Option(help="From this day (7d, 2026-01-12...).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this day (inclusive).")] = None,
    region: Annotated[str, typer.Option(help="Security Lake region partition.")] = "local",
    account_id: Annotated[
        str, typer.Option(help="Security Lake accountId partition (12 digits).")
    ] = "000000000000",
) -> None:
    """Stored events as OCSF Parquet in the Amazon Security Lake custom-source layout."""
    from tenantwatch.cli.store import open_store, parse_since
    from tenantwatch.store.lake import export_lake

    store = open_store(data_dir)
    try:
        report = export_lake(
            store,
            out,
            since=parse_since(since),
            until=parse_since(until),
            region=region,
            account_id=account_id,
        )
    finally:
        store.close()
    console = Console(highlight=False)
    for source, count in sorted(report.by_source.items()):
        console.print(f"{source}: {count:,} events")
    console.print(
        f"{report.events:,} events, {report.files} files, {report.bytes / 1e6:.1f} MB under "
        f"{out / 'ext'} in {report.seconds:.1f} s ({report.events_per_sec:,.0f} events/s)"
    )


access_app = typer.Typer(
    help="Verify every access against the access policy.", no_args_is_help=True
)
app.add_typer(access_app, name="access")


@access_app.command("report")
def access_report(
    data_dir: DataDir = Path("tenantwatch-data"),
    since: Annotated[str, typer.Option(help="30d, 24h, or an ISO time.")] = "30d",
    format: Annotated[str, typer.Option("--format", help="table, json or html.")] = "table",
    out: Annotated[
        Path | None, typer.Option(help="Write to this file instead of the terminal.")
    ] = None,
) -> None:
    """The share of accesses that comply, the top violations and the inventory of protocols,
    apps and workload identities."""
    import json
    from datetime import UTC, datetime

    from tenantwatch.access.report import build_report, render_html, render_table
    from tenantwatch.cli.store import open_store, parse_since

    if format not in ("table", "json", "html"):
        raise TenantwatchError(f"--format {format}: use table, json or html")
    store = open_store(data_dir)
    try:
        # "30d" counts back from the newest stored event (a store copied off-site, or an
        # emulated tenant, is not "now")
        newest = store.newest_event_time()
        start = parse_since(since, min(newest, datetime.now(UTC)) if newest else None)
        assert start is not None
        report = build_report(store, start)
    finally:
        store.close()
    if format == "table":
        console = Console(file=out.open("w") if out else None, width=160 if out else None)
        render_table(report, console)
        return
    text = json.dumps(report, indent=2) if format == "json" else render_html(report)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text)
        Console(stderr=True).print(f"wrote {out}")


@access_app.command("policy")
def access_policy() -> None:
    """Print the default access policy (SCuBA-based), every option commented."""
    from tenantwatch.access.policy import default_policy_text

    sys.stdout.write(default_policy_text())


@access_app.command("check")
def access_check(
    file: Annotated[Path, typer.Argument(help="An access policy file.")],
) -> None:
    """Report every mistake in an access policy file, with its line."""
    from tenantwatch.access.policy import load_policy
    from tenantwatch.config import ConfigErrors

    console = Console()
    try:
        policy = load_policy(file)
    except ConfigErrors as exc:
        for error in exc.errors:
            console.print(f"[red]{error}[/]", highlight=False)
        raise typer.Exit(2) from None
    enabled = [
        name for name in type(policy.rules).model_fields if getattr(policy.rules, name).enabled
    ]
    console.print(f"{file}: valid ({len(enabled)} rules enabled: {', '.join(enabled)})")


def main() -> None:
    """Entry point: run the app, turning tenantwatch errors into a clear message and exit 2."""
    try:
        app()
    except TenantwatchError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}")
        sys.exit(2)
