"""The ASGI app: one page and a JSON API over `jobs.JobStore`.

    GET    /                          the page (static/index.html; app.js, app.css, icon.svg)
    GET    /api/options               styles, expressions, presets, formats (the CLI's registries)
    GET    /api/status                jobs held / running / queued, workers and GPUs
    POST   /api/previews              multipart `image` → {"id"}: a styled still per style
    POST   /api/jobs                  multipart `image` + make's options → {"id"}
    GET    /api/jobs/{id}             {"status", "error", "results": [{"name", "url", "bytes"}], ...}
    GET    /api/jobs/{id}/files/{name} one result file
    DELETE /api/jobs/{id}             the job, its results and the uploaded photo, now

Errors are JSON `{"error": one line, "kind": ...}` with a fitting status code. Safety, in
order: a body over the upload limit is cut off while it streams (413); on a loopback address
only loopback Host headers are answered (no DNS rebinding); with a token every /api call must
carry it (`Authorization: Bearer`, `X-Emoget-Token` or the page's `emoget_token` cookie);
a cross-site POST/DELETE (an Origin that is not this server) is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import logging
import secrets
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..core.errors import EmogetError, InputError, UsageError
from . import forms, work
from .config import ServeConfig, is_loopback
from .jobs import Job, JobStore

log = logging.getLogger("emoget.serve")

#: the page's files: URL path → (file in static/, media type). Nothing else is served from disk.
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/icon.svg": ("icon.svg", "image/svg+xml"),
}  # and /sample.jpg: the bundled sample portrait
MEDIA_TYPES = {".gif": "image/gif", ".png": "image/png", ".webp": "image/webp",
               ".webm": "video/webm", ".mp4": "video/mp4", ".zip": "application/zip"}
#: Pillow format → the suffix the upload is stored under
UPLOAD_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp",
                   "TIFF": ".tif", "PPM": ".ppm", "MPO": ".jpg"}
CSP = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
       "script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin")]
SWEEP_EVERY_S = 30.0
#: room for the form fields and multipart framing around the photo
FORM_OVERHEAD_BYTES = 64_000


class BodyTooLarge(Exception):
    pass


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split()), "kind": kind}, status_code=status,
                        headers={"cache-control": "no-store"})


class Guard:
    """ASGI middleware: body limit, Host check, token, same-origin writes, security headers."""

    def __init__(self, app, config: ServeConfig):
        self.app, self.config = app, config
        self.max_body = config.max_upload_bytes + FORM_OVERHEAD_BYTES

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refuse(scope, headers)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        if refusal is not None:
            return await refusal(scope, receive, send_secured)
        received = 0

        async def receive_bounded():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge()
            return message

        await self.app(scope, receive_bounded, send_secured)

    def _refuse(self, scope, headers: dict[str, str]) -> Optional[Response]:
        path, method = scope["path"], scope["method"]
        cfg = self.config
        if cfg.token is None:
            host = urlsplit("//" + headers.get("host", "")).hostname or ""
            if not is_loopback(host):
                return error(421, "forbidden", "this server answers only to localhost / 127.0.0.1")
        if not path.startswith("/api/"):
            return None
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return _too_large(cfg)
        if cfg.token is not None and not self._has_token(headers):
            return error(401, "unauthorized", "this server needs its token: open the address "
                         "`emoget serve` printed (it ends with #token=...), or send "
                         "'Authorization: Bearer <token>'")
        if method not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != headers.get("host"):
                return error(403, "forbidden", "cross-site requests are refused")
        return None

    def _has_token(self, headers: dict[str, str]) -> bool:
        expected = self.config.token.encode()
        candidates = []
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            candidates.append(auth[7:].strip())
        candidates.append(headers.get("x-emoget-token", ""))
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "emoget_token":
                candidates.append(value)
        return any(secrets.compare_digest(c.encode("latin-1", "replace"), expected) for c in candidates if c)


def _too_large(cfg: ServeConfig) -> JSONResponse:
    return error(413, "too_large", f"the photo is too large: the limit is "
                 f"{cfg.max_upload_bytes / 1e6:g} MB")


def job_json(store: JobStore, job: Job) -> dict[str, Any]:
    done, total = job.progress()
    results = []
    for name in job.files:
        path = job.result_path(name)
        if path is not None:
            results.append({"name": name, "url": f"/api/jobs/{job.id}/files/{name}",
                            "bytes": path.stat().st_size})
    expires = job.created + store.keep_seconds - store.clock()
    return {"id": job.id, "kind": job.kind, "status": job.status, "error": job.error,
            "error_kind": job.error_kind, "queue_position": store.queue_position(job),
            "progress": {"done": done, "total": total}, "results": results,
            "seconds": job.info.get("seconds"), "adjustments": job.info.get("adjustments", []),
            "expires_in": max(0, round(expires))}


def create_app(config: ServeConfig, *, root: Optional[Path] = None, clock=None,
               warm_up: bool = True) -> Starlette:
    """The app for `config` (validated here). root: where job folders go (default: a fresh
    temporary folder, removed at shutdown). clock: time source, for expiry tests. warm_up:
    start the worker processes at startup (else with the first job)."""
    import time

    config.validate()
    store = JobStore(config.workers, config.keep_seconds, config.max_jobs,
                     gpus=config.gpus or 0, root=root, clock=clock or time.time)

    def static_bytes(name: str) -> bytes:
        return resources.files(__package__).joinpath("static", name).read_bytes()

    pages = {path: (static_bytes(name), media) for path, (name, media) in STATIC.items()}
    from ..pipeline import SAMPLE_FACE

    if SAMPLE_FACE.is_file():  # the page's "Try the sample face"
        pages["/sample.jpg"] = (SAMPLE_FACE.read_bytes(), "image/jpeg")

    async def page(request: Request) -> Response:
        body, media = pages[request.url.path]
        return Response(body, media_type=media, headers={"cache-control": "no-cache"})

    async def options(request: Request) -> Response:
        data = await run_in_threadpool(forms.options)
        data["limits"] = {"max_upload_bytes": config.max_upload_bytes,
                          "max_pixels": config.max_pixels, "keep_seconds": config.keep_seconds,
                          "cpu_workers": config.workers}
        return JSONResponse(data, headers={"cache-control": "no-store"})

    async def status(request: Request) -> Response:
        return JSONResponse(store.stats(), headers={"cache-control": "no-store"})

    async def read_upload(request: Request) -> tuple[bytes, str, list[tuple[str, str]]]:
        """The photo (bytes, suffix) and the other form fields; raises EmogetError/BodyTooLarge."""
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            raise UsageError("send multipart/form-data with the photo as `image`")
        async with request.form(max_files=1, max_fields=64) as form:
            image = form.get("image")
            if image is None or isinstance(image, str):
                raise UsageError("no photo: send it as the file field `image`")
            pairs = forms.form_pairs(form)
            data = await image.read(config.max_upload_bytes + 1)
        if len(data) > config.max_upload_bytes:
            raise BodyTooLarge()
        suffix = await run_in_threadpool(check_photo, data)
        return data, suffix, pairs

    # a decoded 64-megapixel photo is ~200 MB: decode two uploads at a time, not one per thread
    decode_slots = threading.BoundedSemaphore(2)

    def check_photo(data: bytes) -> str:
        """The same refusals as the CLI's reader (core.image_io); the suffix to store it under."""
        from PIL import Image

        from ..core.image_io import decode_image_bytes

        with decode_slots:
            decode_image_bytes(data, "photo", max_pixels=config.max_pixels)
        with Image.open(io.BytesIO(data)) as img:
            return UPLOAD_SUFFIXES.get(img.format or "", ".img")

    async def submit(request: Request, kind: str) -> Response:
        try:
            data, suffix, pairs = await read_upload(request)
            if kind == "make":
                # validated before the photo is stored; the job's folder replaces the placeholder
                probe = await run_in_threadpool(forms.make_config_from_form, pairs,
                                                store.root / "not-a-job")
                expected = _expected_make_files(probe)
                lane = store.lane_for(_wants_gpu(probe))
            else:
                styles = _preview_styles(pairs)
                expected = [f"{s}.png" for s in styles]
                lane = store.cpu
        except BodyTooLarge:
            return _too_large(config)
        except EmogetError as exc:
            too_large = isinstance(exc, InputError) and "too large" in str(exc)
            if too_large:
                return error(413, "too_large", str(exc))
            if isinstance(exc, InputError):
                return error(400, "bad_input", str(exc))
            return error(422, "usage", str(exc))
        try:
            job = await run_in_threadpool(store.new_job, kind, data, suffix, expected, lane)
        except RuntimeError:
            return error(503, "busy", "the server holds too many jobs; try again in a few minutes")
        except OSError as exc:
            return error(507, "output", f"cannot store the photo ({exc.strerror or exc})")
        if kind == "make":
            cfg = dataclasses.replace(probe, output=job.out)
            store.enqueue(job, work.run_make, str(job.photo), cfg, store.lane_named(job.lane).device)
        else:
            store.enqueue(job, work.run_previews, str(job.photo), str(job.out),
                          [n[:-4] for n in expected], "cpu")
        return JSONResponse({"id": job.id}, status_code=201,
                            headers={"location": f"/api/jobs/{job.id}", "cache-control": "no-store"})

    async def create_job(request: Request) -> Response:
        return await submit(request, "make")

    async def create_previews(request: Request) -> Response:
        return await submit(request, "previews")

    def find(request: Request) -> Optional[Job]:
        return store.get(request.path_params["job_id"])

    async def get_job(request: Request) -> Response:
        job = find(request)
        if job is None:
            return error(404, "not_found", "no such job (it may have expired or been deleted)")
        body = await run_in_threadpool(job_json, store, job)
        return JSONResponse(body, headers={"cache-control": "no-store"})

    async def delete_job(request: Request) -> Response:
        job = find(request)
        if job is None or not store.delete(job.id):
            return error(404, "not_found", "no such job (it may have expired or been deleted)")
        return Response(status_code=204)

    async def get_file(request: Request) -> Response:
        job = find(request)
        path = job.result_path(request.path_params["name"]) if job is not None else None
        if path is None:
            return error(404, "not_found", "no such file")
        return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                            headers={"cache-control": "private, max-age=3600"})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if warm_up:
            store.cpu.warm_up()
        probe = None
        if config.gpus is None:
            # a worker (not the server process, which never imports torch) counts the GPUs; the
            # page answers meanwhile, and GPU work goes to the CPU lane until the lanes exist
            async def add_gpu_lanes():
                gpus = await run_in_threadpool(store.cpu.call, work.cuda_device_count)
                store.add_gpu_lanes(gpus)
                if warm_up:
                    for lane in store.gpu_lanes:
                        lane.warm_up()

            probe = asyncio.create_task(add_gpu_lanes())

        async def sweeper():
            while True:
                await asyncio.sleep(SWEEP_EVERY_S)
                await run_in_threadpool(store.sweep)

        task = asyncio.create_task(sweeper())
        try:
            yield
        finally:
            task.cancel()
            if probe is not None:
                probe.cancel()
            store.close()

    routes = [Route(path, page, methods=["GET", "HEAD"]) for path in pages]
    routes += [
        Route("/api/options", options, methods=["GET"]),
        Route("/api/status", status, methods=["GET"]),
        Route("/api/previews", create_previews, methods=["POST"]),
        Route("/api/jobs", create_job, methods=["POST"]),
        Route("/api/jobs/{job_id}", get_job, methods=["GET"]),
        Route("/api/jobs/{job_id}", delete_job, methods=["DELETE"]),
        Route("/api/jobs/{job_id}/files/{name}", get_file, methods=["GET", "HEAD"]),
    ]

    async def not_found(request: Request, exc) -> Response:
        return error(404, "not_found", "no such page")

    async def not_allowed(request: Request, exc) -> Response:
        return error(405, "usage", f"{request.method} is not allowed here")

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: not_found, 405: not_allowed})
    app.add_middleware(Guard, config=config)
    app.state.store = store
    app.state.config = config
    return app


def _expected_make_files(config) -> list[str]:
    from ..pipeline import output_paths, pack_paths

    photo = Path("emoget.jpg")  # the stem is what names the outputs
    names = [p.name for p in output_paths(photo, config, 1).values()]
    if config.pack:
        sheet, zpath = pack_paths(photo, config)
        names += [zpath.name, sheet.name]
    return names


def _wants_gpu(config) -> bool:
    from ..style import resolve_style

    try:
        return resolve_style(config.style, config.engine).engine == "gan"
    except EmogetError:
        return False


def _preview_styles(pairs: list[tuple[str, str]]) -> list[str]:
    """`style` fields (repeat or comma-separate; default: every available style)."""
    from ..style import list_styles, resolve_style

    names = [s.strip() for name, value in pairs if name == "style" for s in value.split(",") if s.strip()]
    unknown = [name for name, _ in pairs if name != "style"]
    if unknown:
        raise UsageError(f"unknown field {unknown[0][:40]!r}; previews take image and style")
    if not names:
        names = [s["name"] for s in list_styles() if s["available"] and s["engine"] == "classic"]
    if len(names) > 16:
        raise UsageError("at most 16 styles per preview")
    for name in names:
        if resolve_style(name).engine != "classic":
            raise UsageError(f"style {name!r}: previews are made for classic styles only (a gan "
                             "style needs an inversion, which is the make job's work)")
    return list(dict.fromkeys(names))
