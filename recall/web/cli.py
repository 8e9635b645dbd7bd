"""Flask CLI: ``flask --app wsgi recall <command>``."""

from __future__ import annotations

import logging
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

import config
from recall.clinic.clinics import ClinicInput, create_clinic
from recall.clinic.staff import create_staff, get_staff, issue_token
from recall.common.actors import Role
from recall.migrate import upgrade
from recall.web.common import clock, database

group = AppGroup("recall", help="Run and administer the recall service.")


@group.command("migrate")
def migrate_cmd() -> None:
    """Bring the database schema to the latest revision (Alembic)."""
    upgrade(database().engine)
    click.echo("database is at the latest revision")


@group.command("create-clinic")
@click.option("--name", required=True)
@click.option("--timezone", "zone", required=True, help="IANA name, e.g. Europe/Warsaw")
@click.option("--region", required=True, help="default phone region, e.g. PL")
@click.option("--currency", default="EUR", show_default=True)
def create_clinic_cmd(name: str, zone: str, region: str, currency: str) -> None:
    """Create a clinic (with the default pay plan) and print its id."""
    with database().writer() as s:
        clinic = create_clinic(
            s, clock(), ClinicInput(name=name, timezone=zone, phone_region=region, currency=currency)
        )
    click.echo(f"clinic {clinic.id} created")


@group.command("create-staff")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", default=None)
def create_staff_cmd(clinic_id: int, name: str, role: str, email: str | None) -> None:
    """Create a staff member and print their first API token (shown once)."""
    with database().writer() as s:
        member = create_staff(s, clock(), clinic_id, name=name, role=Role(role), email=email)
        issued = issue_token(s, clock(), member, "cli")
    click.echo(f"staff {member.id} ({role}) created; token: {issued.secret}")


@group.command("issue-token")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--staff", "staff_id", type=int, required=True)
@click.option("--label", default="cli")
def issue_token_cmd(clinic_id: int, staff_id: int, label: str) -> None:
    """Issue another API token for a staff member."""
    with database().writer() as s:
        issued = issue_token(s, clock(), get_staff(s, clinic_id, staff_id), label)
    click.echo(issued.secret)


@group.command("load-demo")
def load_demo_cmd() -> None:
    """Load a demo clinic with providers, services and patients in five languages."""
    from recall.demo import load_demo

    with database().writer() as s:
        report = load_demo(s, clock())
    click.echo(report)


def _callback_base(app: Flask, development_default: str) -> str:
    """The absolute http(s) address Twilio calls back (status callbacks, the call's TwiML). A relative one makes
    Twilio reject every send, so outside development a missing or relative PUBLIC_BASE_URL stops the command;
    in development an unset one is the local server's address."""
    configured = app.config["PUBLIC_BASE_URL"]
    if not configured and app.config["ENV_NAME"] == "development":
        return development_default
    problem = config.public_base_url_problem(configured)
    if problem:
        raise click.ClickException(f"{problem}; Twilio could not call back the reminders sent")
    return configured


@group.command("worker")
@click.option("--once", is_flag=True, help="send what is due now and exit")
def worker_cmd(once: bool) -> None:
    """Send due reminders through Twilio: APScheduler ticks until stopped (any number may run)."""
    from flask import current_app

    from recall.common.db import Database
    from recall.worker import build_dispatcher, run_until_stopped

    app = current_app._get_current_object()
    # Without a server of its own, a development worker is called back at serve's default address.
    settings = {"PUBLIC_BASE_URL": _callback_base(app, "http://127.0.0.1:8000")}
    # Each parallel send holds a connection while it is recorded; size the pool for them.
    db = Database(
        app.config["DATABASE_URL"],
        busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        pool_size=app.config["WORKER_CONCURRENCY"] + 4,
        max_overflow=4,
    )
    if once:
        dispatcher, gateway = build_dispatcher({**app.config, **settings}, db, clock())
        click.echo(f"dispatched: {dispatcher.drain().outcomes}")
        gateway.close()
        return
    click.echo(f"recall worker: sending due reminders every {app.config['WORKER_INTERVAL_SECONDS']} s")
    run_until_stopped(app, db, settings)


@group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--threads", default=8, show_default=True)
@click.option("--demo/--no-demo", default=True, show_default=True, help="load the demo clinic if none exists")
@click.option(
    "--worker/--no-worker", default=True, show_default=True, help="run the reminder worker inside the web process"
)
@click.option(
    "--standin/--no-standin",
    default=True,
    show_default=True,
    help="without TWILIO_BASE_URL set, start the local Twilio stand-in and send to it",
)
def serve_cmd(host: str, port: int, threads: int, demo: bool, worker: bool, standin: bool) -> None:
    """Migrate, load the demo clinic if the database is empty, run the worker, and serve with waitress.

    SIGTERM or SIGINT stops it gently, as it does ``recall worker``: the worker claims nothing more, its sends in
    flight finish and are recorded, the reminders it claimed ahead go back to the queue, then the process exits 0.
    """
    import sqlalchemy as sa
    from flask import current_app
    from waitress.server import create_server

    from recall.clinic.clinics import Clinic
    from recall.demo import load_demo
    from recall.worker import schedule, stop_gently_on_signals

    app = current_app._get_current_object()
    # What the in-process worker is told, instead of changing the app's settings under the web views.
    settings: dict[str, Any] = {"PUBLIC_BASE_URL": _callback_base(app, f"http://{host}:{port}")}
    upgrade(database().engine)
    if demo:
        with database().writer() as s:
            if s.scalar(sa.select(sa.func.count()).select_from(Clinic)) == 0:
                click.echo(load_demo(s, clock()))
    fake = None
    if standin and not app.config["TWILIO_BASE_URL"] and app.config["ENV_NAME"] != "production":
        from integrations.twilio.standin import StandIn

        # The stand-in holds this run's token (development makes one per run), so only it can sign our webhooks.
        fake = StandIn(auth_token=app.config["TWILIO_AUTH_TOKEN"], account_sid=app.config["TWILIO_ACCOUNT_SID"])
        settings["TWILIO_BASE_URL"] = fake.start()
        fake.set_auto_deliver(True)
        click.echo(f"local Twilio stand-in at {settings['TWILIO_BASE_URL']} (nothing leaves this machine)")
    scheduler = None
    try:
        if worker:
            # In the web process the worker shares the request pool: keep its parallel sends few.
            settings["WORKER_CONCURRENCY"] = min(app.config["WORKER_CONCURRENCY"], 4)
            scheduler, dispatcher = schedule(app, database(), blocking=False, settings=settings)
            stop_gently_on_signals(dispatcher)
            scheduler.start()
            click.echo(f"reminder worker running every {app.config['WORKER_INTERVAL_SECONDS']} s")
        else:
            stop_gently_on_signals()
        logging.basicConfig()  # as waitress.serve does: its warnings and ours reach stderr
        server = create_server(app, host=host, port=port, threads=threads, ident="recall")
        click.echo(f"recall listening on http://{host}:{port}  (API docs: http://{host}:{port}/api/v1/docs)")
        server.run()  # returns on the SystemExit our signal handler raises, having closed the listening socket
    except SystemExit:
        pass  # a signal before the server ran: stop as gently
    finally:
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=True)  # the drain under way sees the stop, finishes its sends, records them
        if fake is not None:
            fake.stop()
    click.echo("recall stopped")


def register(app: Flask) -> None:
    app.cli.add_command(group)
