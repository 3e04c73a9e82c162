"""`emoget serve`: the four steps (upload, style, expression, result) as a local web page.

    from emoget_cli.serve import ServeConfig
    from emoget_cli.serve.app import create_app
    app = create_app(ServeConfig())          # an ASGI app: uvicorn, or Starlette's TestClient

The package is a thin web layer over the same core as the CLI: a `make` job builds a
`pipeline.MakeConfig` from form fields named as `make`'s options and validates it with the same
code; options are listed from the same registries. `config` is light to import; `app`,
`jobs` and `work` load Starlette and the pipeline only when a server is started.
"""

from __future__ import annotations

from .config import ServeConfig

__all__ = ["ServeConfig"]
