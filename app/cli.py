"""Command-line entry points: `flask --app wsgi seed-demo | deploy | fire-timers`."""
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
    def deploy_command():
        """Validate and deploy workflows/ and forms/; print each error as file:element: message."""
        from app.database import deploy_workflows
        from app.engine import DeployError

        try:
            results = deploy_workflows(deployed_by="cli")
            db.session.commit()
        except DeployError as exc:
            db.session.rollback()
            for error in exc.errors:
                click.echo(error, err=True)
            raise SystemExit(1) from exc
        for definition, created in results:
            state = "deployed" if created else "unchanged"
            click.echo(f"{definition.name} version {definition.version}: {state}")

    @app.cli.command("fire-timers")
    def fire_timers_command():
        """Run one pass of the timer loop: fire every lapsed timer."""
        from app.timers.service import fire_due_timers

        click.echo(f"fired {fire_due_timers(node='cli')} timer(s)")
