"""The ``connector`` command: serve the connectors, run the exporter."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from connector.config import Settings


@click.group()
def main() -> None:
    """Connector: low-code integration connectors served over HTTP."""


def metrics_directory(data_dir: str, port: int) -> str:
    """prometheus-client's multiprocess directory for this instance (``PROMETHEUS_MULTIPROC_DIR`` if
    set, else one per port in the data directory), emptied: each run counts from zero, and files of
    another run's processes would be added in."""
    from connector.metrics import MULTIPROCESS_DIR

    configured = os.environ.get(MULTIPROCESS_DIR)
    directory = Path(configured) if configured else Path(data_dir).resolve() / f"metrics-{port}"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return str(directory)


def control_socket_path(data_dir: str, port: int) -> str:
    """This instance's gunicorn control socket (for ``gunicornc -s``), in its data directory."""
    directory = Path(data_dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory / f"gunicorn-{port}.ctl")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--sandbox", is_flag=True, help="Run the embedded vendor emulators and use them as upstreams.")
@click.option(
    "--workers",
    default=None,
    type=int,
    help="gunicorn worker processes [default: 2 with a shared rate-limit store such as Redis, else 1].",
)
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
def serve(host: str, port: int, sandbox: bool, workers: int | None, threads: int) -> None:
    """Serve every installed connector with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from connector.app import create_app, start_embedded_worker
    from connector.errors import Problem
    from connector.wiring import runtime_of

    overrides: dict[str, Any] = {}
    if sandbox:
        overrides["SANDBOX"] = True
    if "CONNECTOR_PUBLIC_URL" not in os.environ:
        overrides["PUBLIC_URL"] = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    # Every worker process counts into its own file there and a scrape of /metrics adds them up; set
    # before anything imports prometheus_client (connector.metrics imports it on first use).
    from connector.metrics import MULTIPROCESS_DIR

    own_metrics_dir = MULTIPROCESS_DIR not in os.environ
    os.environ[MULTIPROCESS_DIR] = metrics_dir = metrics_directory(Settings.load(overrides).data_dir, port)
    # Built before forking (preload): specs are generated once and the sandbox, if any, runs in
    # this master process where every worker reaches it over loopback.
    app = create_app(overrides)
    runtime = runtime_of(app)
    try:
        runtime.stores  # noqa: B018 - opens and migrates the database now: a wrong DATABASE_URL stops here
    except Problem as problem:  # the cause is logged
        raise click.ClickException(problem.detail) from None
    shared_limits = runtime.limits.shared
    if workers is None:
        # in-memory rate-limit counters are per process: one process keeps the documented limit
        workers = 2 if shared_limits else 1
    settings: Settings = runtime.settings
    say = _say(settings)
    if workers > 1 and not shared_limits:
        say(
            f"warning: {workers} workers with in-memory rate limits allow up to {workers}x the limit per "
            "credential; set CONNECTOR_RATELIMIT_STORAGE_URL=redis://... to share them"
        )
    control_socket = control_socket_path(settings.data_dir, port)

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            # gunicorn's own error answers (request line or header too long, malformed request)
            # in problem+json like the application's
            self.cfg.set(
                "worker_class",
                f"connector.gunicorn_workers.{'ProblemThreadWorker' if threads > 1 else 'ProblemSyncWorker'}",
            )
            self.cfg.set("limit_request_line", settings.max_request_line)
            self.cfg.set("limit_request_field_size", settings.max_header_bytes)
            # one control socket per instance: the default path is shared by every gunicorn of a
            # user, and a second instance would take over the first one's
            self.cfg.set("control_socket", control_socket)
            self.cfg.set("preload_app", True)
            self.cfg.set("accesslog", "-")
            self.cfg.set("logger_class", "connector.accesslog.RedactingLogger")
            self.cfg.set("timeout", 120)
            # The embedded default delivers webhook events from each worker process (leases keep
            # them from sending one event twice); WORKER=off leaves that to `connector worker`.
            self.cfg.set("post_worker_init", lambda _worker: start_embedded_worker(app))

        def load(self) -> Any:
            return app

    say(f"Serving on http://{host}:{port}  (each connector and its docs: http://{host}:{port}/)")
    master = os.getpid()
    try:
        Server().run()
    finally:
        if own_metrics_dir and os.getpid() == master:  # workers leave through here too, when they exit
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _say(settings: Settings) -> Any:
    """How ``serve`` tells the operator something: on stderr, or as a log line when logs are JSON
    (so that every line a log shipper reads parses)."""
    if settings.log_format == "json":
        import logging

        logger = logging.getLogger("connector.cli")
        return lambda message: logger.log(logging.WARNING if message.startswith("warning") else logging.INFO, message)
    return lambda message: click.echo(message, err=True)


@main.command()
@click.option("--public-url", default=None, help="Public base URL of the service, written into the specs.")
@click.option(
    "--out", "out_dir", default="openapi", show_default=True, type=click.Path(file_okay=False), help="Directory."
)
@click.option(
    "--platform",
    "platform_names",
    default=None,
    metavar="NAME[,NAME...]",
    help="Platforms to export, comma-separated (e.g. powerautomate,openapi3) [default: all].",
)
@click.option("--check", is_flag=True, help="Exit 1 if the files on disk differ from the declarations.")
def export(public_url: str | None, out_dir: str, platform_names: str | None, check: bool) -> None:
    """Write each connector's files for each platform (Power Automate package, OpenAPI 3...) into OUT/<connector>/."""
    from connector.platforms import select
    from connector.registry import discover
    from connector.spec.documents import Documents

    names = [n.strip() for n in platform_names.split(",") if n.strip()] if platform_names else None
    try:
        select(names)
    except LookupError as error:
        raise click.UsageError(str(error)) from None
    settings = Settings.load({"PUBLIC_URL": public_url} if public_url else None)
    stale = []
    for catalog in discover(settings.catalogs):
        documents = Documents.build(catalog, settings.public_url, names)
        directory = Path(out_dir) / catalog.name
        if check:
            for name, content in documents.files.items():
                path = directory / name
                if not path.exists() or path.read_bytes() != content:
                    stale.append(str(path))
            continue
        for path in documents.write(directory):
            click.echo(f"wrote {path}")
    if stale:
        click.echo("stale: " + ", ".join(stale) + "\nrun: connector export", err=True)
        sys.exit(1)


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (``serve`` also does this at start-up)."""
    from connector.config import Settings
    from connector.database import database_url, open_database

    settings = Settings.load()
    open_database(settings).dispose()
    url = database_url(settings)
    click.echo(f"database schema is current: {url.split('@')[-1] if '@' in url else url}")


@main.command()
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve Prometheus metrics (delivery attempts, outbox gauges) at http://HOST:PORT/metrics.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Interface of --metrics-port.")
def worker(metrics_port: int | None, metrics_host: str) -> None:
    """Deliver webhook events from the outbox (any number of these against one PostgreSQL)."""
    import signal
    import threading

    from connector.app import create_app, create_worker
    from connector.wiring import runtime_of

    app = create_app()
    delivery = create_worker(app)
    if metrics_port is not None:
        from connector import metrics

        runtime = runtime_of(app)
        metrics.serve_metrics(runtime.engine, runtime.catalogs, metrics_host, metrics_port)
        click.echo(f"metrics on http://{metrics_host}:{metrics_port}/metrics", err=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"delivery worker {delivery.name} running; stop with Ctrl+C or SIGTERM", err=True)
    delivery.run(stop)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8100, show_default=True, type=int, help="Port to listen on (0: any free port).")
@click.option(
    "--catalog",
    "names",
    multiple=True,
    help="A catalog whose emulator to run (repeat for several) [default: every installed one that has one].",
)
def sandbox(host: str, port: int, names: tuple[str, ...]) -> None:
    """Run the vendor emulators standalone, in the foreground, for several services to share.

    Each catalog's emulator is served under /<catalog> on one port. The CONNECTOR_*_URL settings
    that point a service at them are printed on stdout, one KEY=VALUE a line (a dotenv file); start
    the services with those (and without --sandbox). Stop with Ctrl+C or SIGTERM."""
    import signal

    from connector import sandbox as sandboxes
    from connector.registry import discover

    try:
        catalogs = discover(list(names) if names else Settings.load().catalogs)
    except LookupError as error:
        raise click.UsageError(str(error)) from None
    if names:
        without = [c.name for c in catalogs if c.sandbox is None]
        if without:
            raise click.UsageError(f"no sandbox in: {', '.join(without)}")
    catalogs = [c for c in catalogs if c.sandbox is not None]
    if not catalogs:
        raise click.UsageError("no installed catalog has a sandbox")
    server = sandboxes.shared_server(catalogs, host, port)
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{f'[{reachable}]' if ':' in reachable else reachable}:{server.server_port}"
    for catalog in catalogs:
        click.echo(f"# {catalog.title} emulator: {base}/{catalog.name}/")
        for setting, url in sandboxes.urls_at(catalog, f"{base}/{catalog.name}").items():
            click.echo(f"CONNECTOR_{setting}={url}")
    sys.stdout.flush()
    click.echo(f"Sandbox on {base} (stop with Ctrl+C or SIGTERM)", err=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _pairs(values: tuple[str, ...], option: str, example: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, equals, text = value.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, e.g. {example}; got {value!r}", param_hint=option)
        pairs.append((name.strip(), text.strip()))
    return pairs


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--connector",
    "connector_name",
    required=True,
    help="The connector to import into (its name, as in /<name>/actions/...).",
)
@click.option("--list", "list_value", default=None, help="The list to import into (the import action's list field).")
@click.option("--url", default="http://localhost:8000", show_default=True, help="The running service.")
@click.option(
    "--api-key",
    default=None,
    help="The API key passed to the service; default: the <CONNECTOR>_API_KEY environment variable (the name in capitals).",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Fill FIELD from COLUMN (repeat for several); COLUMN= skips a column. Other columns match fields by name.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A field of the import action every call carries, e.g. mode=update (repeat for several).",
)
@click.option("--action", "action_key", default=None, help="The import action, when the connector has several.")
@click.option(
    "--batch-size", default=None, type=int, help="Rows per call [default: 1000, or the action's maximum when smaller]."
)
@click.option("--sheet", default=None, help="The worksheet of an xlsx workbook [default: the first].")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the rejected rows go [default: FILE without its suffix + .rejects.csv].",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The file that records the calls done, for a re-run to skip [default: FILE without its suffix + .import-state.jsonl].",
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the vendor has finished importing.")
@click.option("--wait-timeout", default=600.0, show_default=True, type=float, help="Seconds to wait for that.")
def import_(
    file: Path,
    connector_name: str,
    list_value: str | None,
    url: str,
    api_key: str | None,
    mappings: tuple[str, ...],
    settings: tuple[str, ...],
    action_key: str | None,
    batch_size: int | None,
    sheet: str | None,
    rejects: Path | None,
    state: Path | None,
    wait: bool,
    wait_timeout: float,
) -> None:
    """Import the rows of a CSV or xlsx FILE through a running service, with a progress bar.

    Every row is checked with the import action's own schema before anything is sent; rejected
    rows go to the rejects CSV (row, column, field, value, error) and the rest are sent in batches.
    Interrupted (Ctrl+C, a crash), the same command again resumes: what was done is skipped and
    nothing is sent twice."""
    import signal

    from connector.bulk.batches import Done
    from connector.bulk.client import ActionClient, Refused, Unavailable
    from connector.bulk.display import progress_bar
    from connector.bulk.importer import (
        ImportProblem,
        Report,
        Request,
        finish_rejects,
        prepare,
        rows_done,
        send,
        wait_until_finished,
    )
    from connector.registry import discover

    variable = f"{connector_name.upper()}_API_KEY"
    api_key = api_key or os.environ.get(variable)
    if not api_key:
        raise click.UsageError(f"give the API key with --api-key or the {variable} environment variable")
    try:
        catalog = discover(connector_name)[0]
    except LookupError as error:
        raise click.UsageError(str(error)) from None
    request = Request(
        file,
        catalog,
        list_value,
        dict(_pairs(mappings, "--map", "'E-mail=email'")),
        _pairs(settings, "--set", "mode=update"),
        batch_size,
        action_key,
        sheet,
    )
    try:
        prepared = prepare(request)
    except ImportProblem as error:
        raise click.UsageError(str(error)) from None
    except KeyboardInterrupt:
        click.echo("interrupted before anything was sent", err=True)
        sys.exit(130)
    rejects = rejects or file.with_name(f"{file.stem}.rejects.csv")
    done = Done(state or file.with_name(f"{file.stem}.import-state.jsonl"))
    written = finish_rejects(rejects, prepared, None)
    click.echo(
        f"{_count(prepared.rows_read, 'row')} read: {prepared.good} valid, {len(prepared.rejects)} rejected"
        + (f" (see {written})" if written else "")
    )
    client = ActionClient(url, catalog.name, catalog.credential.header, api_key)
    report = Report()

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)  # SIGTERM stops cleanly, as Ctrl+C does
    code = 0
    try:
        with progress_bar(f"{catalog.title} {prepared.action.key}", prepared.good, rows_done(prepared, done)) as bar:
            send(prepared, client, done, bar, report)
            if wait:
                report.finished = wait_until_finished(prepared, client, bar, wait_timeout)
    except KeyboardInterrupt:
        click.echo("interrupted: run the same command again to resume; what was done is skipped", err=True)
        code = 130
    except (Refused, Unavailable) as error:
        click.echo(f"stopped: {error}; run the same command again to resume", err=True)
        code = 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        written = finish_rejects(rejects, prepared, report)
    click.echo(
        f"{_count(report.rows_sent, 'row')} sent in {_count(report.bulk_calls + report.single_calls, 'call')} "
        f"({report.bulk_calls} bulk, {report.single_calls} single, {report.replayed} answered from an earlier run), "
        f"{report.rows_existing} already in the list, {report.rows_done_before} done by an earlier run"
    )
    if report.failures:
        click.echo(f"{_count(len(report.failures), 'row')} refused by the service (see {written})", err=True)
        code = code or 1
    if report.finished is True:
        click.echo(f"{catalog.title} finished importing")
    elif report.finished is False:
        click.echo(f"{catalog.title} is still importing after {wait_timeout:g} s; ask {prepared.action.status_action}")
    sys.exit(code)


if __name__ == "__main__":  # last, so that every command above is registered
    main()
