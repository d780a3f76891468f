"""The `agora` command: serve, migrate, seed, openapi."""

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from agora.settings import Settings

# Plain help (Click's): paragraphs rewrapped to the terminal, no `<str>`/`<bool>` type column.
cli = typer.Typer(
    help="Agora, the commerce API.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_DEFAULTS = Settings.model_fields


def _env_default(name: str) -> str:
    """How `--help` shows a default that the environment may set."""
    return f"AGORA_{name.upper()} or {_DEFAULTS[name].default}"


def _echo(message: str) -> None:
    typer.echo(message)


def uvicorn_options(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """How Agora runs under uvicorn (also used by the tests' real-server fixture)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "loop": "auto",  # uvloop when installed
        # httptools, with bounds on the request head that uvicorn does not set for it.
        "http": "agora.platform.http.server:BoundedHttpToolsProtocol",
        "proxy_headers": False,  # the app applies X-Forwarded-* from AGORA_TRUSTED_PROXIES
        "server_header": False,
        "date_header": True,
        "access_log": False,  # Agora writes its own structured access log
        "log_config": None,
        **overrides,
    }


@cli.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Interface to bind.", metavar="HOST", show_default=_env_default("host")),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port to bind.", metavar="PORT", show_default=_env_default("port")),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes.", metavar="N", show_default=_env_default("workers")),
    ] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Serve the API with uvicorn (uvloop and httptools where available)."""
    import uvicorn

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    base = f"http://{host}:{port}"
    _echo(f"Agora is serving on {base}")
    if settings.docs_enabled:
        _echo(f"  API docs: {base}/docs (Swagger UI), {base}/redoc (ReDoc)")
    uvicorn.run(
        "agora.app:create_app",
        factory=True,
        **uvicorn_options(
            settings, host=host, port=port, workers=workers or settings.workers, reload=reload
        ),
    )


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(metavar="REVISION", help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (SQLite or PostgreSQL, from AGORA_DATABASE_URL)."""
    from agora.platform.migrate import upgrade
    from agora.platform.observability import configure_logging

    settings = Settings()
    configure_logging("warning", settings.log_format)
    upgrade(settings, revision)
    _echo(f"Database migrated to {revision} ({settings.resolved_database_url.split(':', 1)[0]}).")


@cli.command()
def seed(
    products: Annotated[
        int, typer.Option(min=0, max=10_000_000, metavar="N", help="Size of the demo catalog.")
    ] = 240,
) -> None:
    """Load demo data. Idempotent: running it twice changes nothing the second time."""
    from agora.demo_data import seed_all
    from agora.platform.observability import configure_logging

    settings = Settings()
    configure_logging("warning", settings.log_format)

    async def run() -> None:
        lines = []
        with typer.progressbar(length=products, label="Seeding products") as bar:
            async for line in seed_all(settings, products=products, progress=bar.update):
                lines.append(line)  # said once the bar is done, not into its line
        for line in lines:
            _echo(line)

    asyncio.run(run())


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True, metavar="EMAIL", help="The admin's email.")],
    name: Annotated[str, typer.Option(metavar="NAME", help="Display name.")] = "Admin",
) -> None:
    """Create an admin account.

    The password comes from AGORA_ADMIN_PASSWORD or an interactive prompt, never from the
    command line (where it would land in shell history and process lists).
    """
    from agora.identity.module import users_of
    from agora.platform.errors import AgoraError
    from agora.platform.observability import configure_logging
    from agora.platform.runtime import Runtime

    settings = Settings()
    configure_logging("warning", settings.log_format)
    password = os.environ.get("AGORA_ADMIN_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )

    async def run() -> str:
        runtime = Runtime.create(settings)
        try:
            user = await users_of(runtime).create_admin(email, password, name)
            return str(user.id)
        finally:
            await runtime.close()

    try:
        user_id = asyncio.run(run())
    except AgoraError as error:
        typer.echo(f"Not created: {error.message}", err=True)
        raise typer.Exit(1) from None
    _echo(f"Admin {email} created (id {user_id}).")


@cli.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run every job once and exit.")] = False,
) -> None:
    """Run the periodic jobs (order expiry, payment settlement, key cleanup), the outbox relay,
    the event consumers, the webhook dispatcher and the background jobs (imports, reports),
    without HTTP.

    In production, web instances set AGORA_JOBS_ENABLED=false and one or more workers run.
    """
    from agora.app import create_app

    settings = Settings()
    app = create_app(settings.model_copy(update={"jobs_enabled": False}))
    background = app.state.background
    scheduler = background.scheduler

    async def run() -> None:
        await app.state.runtime.broadcast.start()
        try:
            if once:
                for name in scheduler.jobs:
                    _echo(f"{name}: {await scheduler.run_once(name)}")
                await background.broker.start(background.subscriptions)
                _echo(f"events published: {await background.relay.publish_once()}")
                await background.relay.release()
                _echo(f"webhooks sent: {await app.state.webhooks.dispatcher.dispatch_once()}")
                _echo(f"background jobs run: {await app.state.job_runner.run_once()}")
                return
            await background.start()
            consumers = ", ".join(s.name for s in background.subscriptions)
            _echo(
                f"Agora worker running: {', '.join(scheduler.jobs)}, relay, {consumers}, "
                "webhook dispatcher, job runner"
            )
            await asyncio.Event().wait()
        finally:
            await background.stop()
            await app.state.webhooks.dispatcher.sender.aclose()
            await app.state.runtime.close()

    asyncio.run(run())


@cli.command()
def openapi(
    output: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the OpenAPI document."""
    from agora.app import create_app

    settings = Settings(log_level="warning")
    document = json.dumps(create_app(settings).openapi(), indent=2, ensure_ascii=False)
    if output is None:
        _echo(document)
    else:
        output.write_text(document + "\n", encoding="utf-8")
        _echo(f"OpenAPI document written to {output}.")


def main() -> None:
    cli()
