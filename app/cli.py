"""Command-line entry points: `flask --app wsgi seed-demo | deploy | test-flows | fire-timers`."""
import click

from app.extensions import db


def register_cli(app):
    @app.cli.command("seed-demo")
    @click.option("--password", default="demo1234", show_default=True, help="Password for every demo user.")
    def seed_demo_command(password):
        """Create demo departments, users and customers (idempotent)."""
        from app.seed import seed_demo

        created = seed_demo(password=password)
        click.echo(f"demo data ready ({created} new rows); log in as agent1 / {password}")

    @app.cli.command("deploy")
    @click.option("--replace-file", is_flag=True, default=False,
                  help="Let a file take over a process id that another file deployed (a process keeps its file "
                       "otherwise; use this to rename or move a diagram on purpose).")
    def deploy_command(replace_file):
        """Validate workflows/ and forms/ as one batch and deploy what changed.

        Any problem refuses the whole batch (nothing is deployed); each is printed as
        file:process:element: field: message.
        """
        from app.database import deploy_workflows
        from app.engine import DeployError

        try:
            results = deploy_workflows(deployed_by="cli", replace_file=replace_file)
            db.session.commit()
        except DeployError as exc:
            db.session.rollback()
            for error in exc.errors:
                click.echo(str(error), err=True)
            click.echo(f"deploy refused: {len(exc.errors)} problem(s); nothing was deployed", err=True)
            raise SystemExit(1) from exc
        for definition, created in results:
            state = "deployed" if created else "unchanged"
            click.echo(f"{definition.name} version {definition.version}: {state}")

    @app.cli.command("test-flows")
    @click.option("--file", "only", type=click.Path(exists=True, dir_okay=False),
                  help="Run only this scenario file (default: every *.scenarios.yaml/.yml/.json under workflows/).")
    def test_flows_command(only):
        """Run the diagrams' scenario tests in memory (nothing is written to the database, no mail is sent).

        Prints PASS or FAIL per scenario, a failure with its step and why; exits 1 when any fails.
        """
        from flask import current_app

        from app.scenarios import run_directory

        results = run_directory(current_app.config["WORKFLOWS_DIR"], current_app.config["FORMS_DIR"], only)
        for result in results:
            click.echo(str(result), err=not result.passed)
        failed = sum(not r.passed for r in results)
        click.echo(f"{len(results) - failed} passed, {failed} failed", err=bool(failed))
        if failed or not results:
            if not results:
                click.echo("no scenario files found (name them <diagram>.scenarios.yaml)", err=True)
            raise SystemExit(1)

    @app.cli.command("fire-timers")
    def fire_timers_command():
        """Run one pass of the timer loop: fire every lapsed timer."""
        from app.timers.service import fire_due_timers

        click.echo(f"fired {fire_due_timers(node='cli')} timer(s)")
