"""The `agora` command: serve, migrate, seed, openapi."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from agora.settings import Settings

cli = typer.Typer(help="Agora, the commerce API.", no_args_is_help=True, add_completion=False)


def _echo(message: str) -> None:
    typer.echo(message)


def uvicorn_options(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """How Agora runs under uvicorn (also used by the tests' real-server fixture)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "loop": "auto",  # uvloop when installed
        "http": "auto",  # httptools when installed
        "proxy_headers": False,  # the app applies X-Forwarded-* from AGORA_TRUSTED_PROXIES
        "server_header": False,
        "date_header": True,
        "access_log": False,  # Agora writes its own structured access log
        "log_config": None,
        **overrides,
    }


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (AGORA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (AGORA_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (AGORA_WORKERS).")] = None,
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
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (SQLite or PostgreSQL, from AGORA_DATABASE_URL)."""
    from agora.platform.migrate import upgrade
    from agora.platform.observability import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    upgrade(settings, revision)
    _echo(f"Database migrated to {revision}.")


@cli.command()
def seed() -> None:
    """Load demo data. Idempotent: running it twice changes nothing the second time."""
    from agora.seeding import seed_all

    settings = Settings()
    for line in seed_all(settings):
        _echo(line)


@cli.command()
def openapi(
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of stdout.")
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
