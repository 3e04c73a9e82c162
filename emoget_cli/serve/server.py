"""Run the app with uvicorn and tell the user where it is."""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser

from ..core.errors import UsageError
from .config import ServeConfig


def page_url(config: ServeConfig, port: int) -> str:
    host = config.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    # the token travels in the fragment: browsers never send it to the server or log it
    return f"http://{shown}:{port}/" + (f"#token={config.token}" if config.token else "")


def _workers_skip_the_launcher() -> None:
    """Worker processes are spawned, and spawn re-imports the launching script in each of them.
    A launcher without a `__main__` guard (a hand-written wrapper around `emoget`) would then
    start one more server per worker. Workers need nothing from the launcher, so they import the
    guarded `emoget_cli.__main__` instead. (`python -m emoget_cli` already works this way.)"""
    import importlib.util

    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None and getattr(main, "__file__", None):
        main.__spec__ = importlib.util.find_spec("emoget_cli.__main__")


def run(config: ServeConfig, *, open_browser: bool = False) -> None:
    """Serve until Ctrl-C. The port is bound here first, so 'in use' is one clear line."""
    import uvicorn

    from .app import create_app

    _workers_skip_the_launcher()
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    port = sock.getsockname()[1]
    app = create_app(config)
    url = page_url(config, port)
    print(f"emoget serve: open {url}  (Ctrl-C stops; results are deleted after "
          f"{config.keep_seconds / 60:g} min)", file=sys.stderr, flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=3))
    server.run(sockets=[sock])
