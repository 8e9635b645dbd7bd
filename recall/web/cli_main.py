"""The ``recall`` command: ``recall check-config``, and every ``flask --app wsgi recall ...`` command by its
short name (``recall migrate``, ``recall worker``, ``recall serve``, ...).

``check-config`` reads the settings as the service would and says what is missing or unsafe, without building
the app (which refuses to start on what it reports); the others run inside the app, as ``flask`` runs them.
"""

from __future__ import annotations

import os
import sys

import click
from flask.cli import FlaskGroup

import config
from config.audit import describe_url, warnings
from recall.web import create_app


@click.command("check-config")
@click.option(
    "--env",
    "env_name",
    default=None,
    help="the environment to check (default: $RECALL_ENV, or production when it is unset)",
)
def check_config(env_name: str | None) -> None:
    """Say what the settings in the environment lack or risk; exit 1 if the service would refuse to start."""
    name = env_name or os.environ.get("RECALL_ENV") or "production"
    click.echo(f"recall check-config: RECALL_ENV={name}")
    try:
        settings = config.load(name)
    except config.ConfigError as wrong:
        click.echo(f"refused: {wrong}")
        sys.exit(1)
    click.echo(f"database: {describe_url(settings['DATABASE_URL'])}")
    refused = config.refusals(settings)
    for problem in refused:
        click.echo(f"refused: {problem}")
    for finding in warnings(settings) if name == "production" else []:
        click.echo(f"warning: {finding.variable} {finding.message}")
    if refused:
        click.echo("the service would not start with these settings")
        sys.exit(1)
    click.echo("the service would start with these settings")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["check-config"]:
        check_config.main(args=args[1:], prog_name="recall check-config")
        return
    FlaskGroup(create_app=lambda: create_app()).main(args=["recall", *args], prog_name="recall")
