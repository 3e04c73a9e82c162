"""`emoget serve`: the four steps as a local web page (upload, style, expression, result)."""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from .common import handle_errors


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


@handle_errors
def serve(
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on. Anything but a loopback address needs --token.")]
        = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port (0: any free port).")] = 8000,
    open_browser: Annotated[bool, typer.Option(
        "--open", help="Open the page in the default web browser.")] = False,
    token: Annotated[Optional[str], typer.Option(
        "--token", help="Secret every API call must carry (default: $EMOGET_SERVE_TOKEN). "
        "Required with a non-loopback --host.", show_default=False)] = None,
    workers: Annotated[int, typer.Option(
        "--workers", "-j", help="CPU jobs run at once (one process each); GPUs run one job each.")]
        = 2,
    keep: Annotated[float, typer.Option(
        "--keep", help="Minutes a job's results are kept before deletion.")] = 60.0,
    max_upload_mb: Annotated[float, typer.Option(
        "--max-upload-mb", help="Largest photo accepted, in MB (at most the CLI's image limit, "
        "268 MB); the pixel limit is the CLI's.")] = 25.0,
) -> None:
    """Serve the web page: upload a selfie, pick a style and an expression, download the emoticon.

    [bold]emoget serve --open[/] · the API: POST /api/jobs (multipart `image` + make's options),
    GET /api/jobs/ID, GET /api/options.
    """
    from ..serve.config import ServeConfig
    from ..serve.server import run

    config = ServeConfig(host=host, port=port, token=token or ServeConfig.token_from_env(),
                         workers=workers, keep_seconds=keep * 60.0,
                         max_upload_bytes=int(max_upload_mb * 1e6))
    config.validate()
    run(config, open_browser=open_browser)
