"""Flask CLI: ``flask --app wsgi recall <command>``.

The commands run inside the app's context (``AppGroup``): they use its database and clock, and build the worker's
settings from its config; the worker itself (recall.worker) knows no Flask app.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from typing import Any, cast

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo, pass_script_info
from waitress.server import create_server

import config
from integrations.twilio.standin import StandIn
from recall.clinic.clinics import Clinic, ClinicInput
from recall.clinic.opening import create_clinic
from recall.clinic.signin import LinkKind, issue_link
from recall.clinic.staff import Staff, create_staff, get_staff, issue_token
from recall.common.actors import STAFF_ROLES, Actor, Role
from recall.common.clock import Clock
from recall.common.db import Database
from recall.common.logs import LogFormat
from recall.common.logs import configure as configure_logging
from recall.demo import load_demo
from recall.migrate import upgrade
from recall.web import cli_imports
from recall.web.common import clock, database
from recall.worker import (
    WorkerSettings,
    build_dispatcher,
    exit_with_parent,
    processes_for,
    run_processes,
    run_until_stopped,
    schedule,
    schedule_webhooks,
    stop_gently_on_signals,
)

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
@click.option("--role", type=click.Choice([r.value for r in STAFF_ROLES]), required=True)
@click.option("--email", default=None)
def create_staff_cmd(clinic_id: int, name: str, role: str, email: str | None) -> None:
    """Create a staff member and print their first API token (shown once)."""
    with database().writer() as s:
        member = create_staff(s, clock(), Actor.system(clinic_id), name=name, role=Role(role), email=email)
        issued = issue_token(s, clock(), member, "cli")
        invite = issue_link(s, clock(), Actor.system(clinic_id), member.id, LinkKind.INVITE) if email else None
    click.echo(f"staff {member.id} ({role}) created; token: {issued.secret}")
    if invite is not None:
        click.echo(f"console invite (once, 7 days): {_console_base()}/console/welcome/{invite.secret}")


@group.command("invite")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--staff", "staff_id", type=int, required=True)
@click.option("--reset", is_flag=True, help="a reset link: unlocks the account and ends its sessions")
def invite_cmd(clinic_id: int, staff_id: int, reset: bool) -> None:
    """Print a one-time link with which a staff member sets their console password."""
    kind = LinkKind.RESET if reset else LinkKind.INVITE
    with database().writer() as s:
        link = issue_link(s, clock(), Actor.system(clinic_id), staff_id, kind)
    click.echo(f"{_console_base()}/console/welcome/{link.secret}")


def _console_base(default: str = "http://127.0.0.1:8000") -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or default).rstrip("/")


def sign_in_links(base: str) -> list[str]:
    """For each clinic's staff with an email and no password yet, a fresh invite link (the demo's staff on a
    first ``serve``); those who chose a password sign in with it."""
    lines = []
    with database().writer() as s:
        members = list(s.scalars(sa.select(Staff).where(Staff.active.is_(True), Staff.email.is_not(None))))
        for member in members:
            if member.password_hash is not None:
                lines.append(f"  {member.role.value:<9} {member.email:<28} signs in with the password they chose")
                continue
            link = issue_link(s, clock(), Actor.system(member.clinic_id), member.id, LinkKind.INVITE)
            lines.append(f"  {member.role.value:<9} {member.email:<28} {base}/console/welcome/{link.secret}")
    return lines


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
    with database().writer() as s:
        report = load_demo(s, clock())
    click.echo(report)


def _callback_base(settings: Mapping[str, Any], development_default: str) -> str:
    """The absolute http(s) address Twilio calls back (status callbacks, the call's TwiML). A relative one makes
    Twilio reject every send, so outside development a missing or relative PUBLIC_BASE_URL stops the command;
    in development an unset one is the local server's address."""
    configured: str = settings["PUBLIC_BASE_URL"]
    if not configured and settings["ENV_NAME"] == "development":
        return development_default
    problem = config.public_base_url_problem(configured)
    if problem:
        raise click.ClickException(f"{problem}; Twilio could not call back the reminders sent")
    return configured


def sending_process(
    settings: WorkerSettings, url: str, engine: dict[str, Any], logs: tuple[str, str], now: Clock, supervisor: int
) -> None:
    """One of ``recall worker --processes N``'s processes: a whole worker of its own, on its own engine."""
    configure_logging(logs[0], cast(LogFormat, logs[1]))
    exit_with_parent(supervisor)
    run_until_stopped(settings, Database(url, **engine), now)


@group.command("worker")
@click.option("--once", is_flag=True, help="send what is due now and exit")
@click.option(
    "--processes",
    type=click.IntRange(0, 64),
    default=None,
    help="sending processes to run (0: one per core); default: the WORKER_PROCESSES setting",
)
def worker_cmd(once: bool, processes: int | None) -> None:
    """Send due reminders through Twilio: APScheduler ticks until stopped (any number may run)."""
    app_settings = current_app.config
    # Without a server of its own, a development worker is called back at serve's default address.
    settings = dataclasses.replace(
        WorkerSettings.from_settings(app_settings),
        public_base_url=_callback_base(app_settings, "http://127.0.0.1:8000"),
    )
    # Each parallel send holds a connection while it is recorded; size the pool for them.
    engine = {
        "busy_timeout_ms": app_settings["SQLITE_BUSY_TIMEOUT_MS"],
        "pool_size": settings.worker_concurrency + 4,
        "max_overflow": 4,
    }
    count = processes_for(app_settings["WORKER_PROCESSES"] if processes is None else processes)
    if count > 1 and not once:
        click.echo(f"recall worker: {count} sending processes, each looking every {settings.worker_interval_seconds} s")
        logs = (app_settings["LOG_LEVEL"], app_settings["LOG_FORMAT"])
        run_processes(
            count, sending_process, (settings, app_settings["DATABASE_URL"], engine, logs, clock(), os.getpid())
        )
        return
    db = Database(app_settings["DATABASE_URL"], **engine)
    if once:
        dispatcher, gateway = build_dispatcher(settings, db, clock())
        click.echo(f"dispatched: {dispatcher.drain().outcomes}")
        gateway.close()
        return
    click.echo(f"recall worker: sending due reminders every {settings.worker_interval_seconds} s")
    run_until_stopped(settings, db, clock())


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
@pass_script_info
def serve_cmd(info: ScriptInfo, host: str, port: int, threads: int, demo: bool, worker: bool, standin: bool) -> None:
    """Migrate, load the demo clinic if the database is empty, run the worker, and serve with waitress.

    SIGTERM or SIGINT stops it gently, as it does ``recall worker``: the worker claims nothing more, its sends in
    flight finish and are recorded, the reminders it claimed ahead go back to the queue, then the process exits 0.
    """
    # The app itself, not the context-bound ``current_app``: waitress calls it from threads with no app context.
    app: Flask = info.load_app()
    # What the in-process worker is told, instead of changing the app's settings under the web views.
    settings = dataclasses.replace(
        WorkerSettings.from_settings(app.config), public_base_url=_callback_base(app.config, f"http://{host}:{port}")
    )
    upgrade(database().engine)
    if demo:
        with database().writer() as s:
            if s.scalar(sa.select(sa.func.count()).select_from(Clinic)) == 0:
                click.echo(load_demo(s, clock()))
    fake = None
    if standin and not app.config["TWILIO_BASE_URL"] and app.config["ENV_NAME"] != "production":
        # The stand-in holds this run's token (development makes one per run), so only it can sign our webhooks.
        fake = StandIn(auth_token=app.config["TWILIO_AUTH_TOKEN"], account_sid=app.config["TWILIO_ACCOUNT_SID"])
        settings = dataclasses.replace(settings, twilio_base_url=fake.start())
        fake.set_auto_deliver(True)
        click.echo(f"local Twilio stand-in at {settings.twilio_base_url} (nothing leaves this machine)")
    scheduler = None
    try:
        if worker:
            # In the web process the worker shares the request pool: keep its parallel sends few.
            settings = dataclasses.replace(settings, worker_concurrency=min(settings.worker_concurrency, 4))
            scheduler, dispatcher = schedule(settings, database(), clock(), blocking=False)
            stop_gently_on_signals(dispatcher, schedule_webhooks(scheduler, settings, database(), clock()))
            scheduler.start()
            click.echo(f"reminder worker running every {settings.worker_interval_seconds} s")
        else:
            stop_gently_on_signals()
        logging.basicConfig()  # as waitress.serve does: its warnings and ours reach stderr
        server = create_server(app, host=host, port=port, threads=threads, ident="recall")
        base = f"http://{host}:{port}"
        click.echo(f"recall listening on {base}  (API docs: {base}/api/v1/docs)")
        click.echo(f"console: {base}/console/  sign-in links (each works once):")
        for line in sign_in_links(base):
            click.echo(line)
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
    cli_imports.add_commands(group)
    app.cli.add_command(group)


from recall.web import cli_fhir  # noqa: E402, F401  (its import-fhir command registers on ``group``)
