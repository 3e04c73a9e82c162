"""`emoget serve`'s JSON API through Starlette's ASGI test client: every step on the real
sample portrait, every class of error, the token, concurrency and expiry."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import warnings  # noqa: E402

with warnings.catch_warnings():  # starlette would rather have httpx2; httpx works the same here
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient  # noqa: E402

from emoget_cli.serve.app import create_app  # noqa: E402
from emoget_cli.serve.config import ServeConfig  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "emoget_cli" / "assets" / "sample_face.jpg"
FAST = {"size": "96", "frames": "6"}  # small jobs: the API is under test, not the pipeline


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def client(clock, tmp_path_factory):
    """One server with two CPU workers for the module (worker processes start once)."""
    root = tmp_path_factory.mktemp("serve-jobs")
    app = create_app(ServeConfig(workers=2, gpus=0, keep_seconds=600), root=root, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


def post(client, fields=(), image=None, path="/api/jobs", **kw):
    data = SAMPLE.read_bytes() if image is None else image
    return client.post(path, files={"image": ("me.jpg", data, "image/jpeg")}, data=dict(fields), **kw)


def wait(client, job_id, timeout=120.0, seen=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/jobs/{job_id}").json()
        if seen is not None:
            seen.append(body["status"])
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def png_bytes(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------------- steps --

def test_page_and_static_files_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    for path in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        assert client.get(path).status_code == 200, path
    assert "http" not in re.sub(r"http://www\.w3\.org/2000/svg", "", client.get("/app.js").text
                                + page.text + client.get("/app.css").text), "nothing from the internet"
    assert client.get("/sample.jpg").content == SAMPLE.read_bytes()
    assert client.get("/app.py").status_code == 404
    assert client.get("/static/index.html").status_code == 404


def test_options_come_from_the_cli_registries(client):
    from emoget_cli.core import choices
    from emoget_cli.style import list_styles

    body = client.get("/api/options").json()
    assert [s["name"] for s in body["styles"]] == [s["name"] for s in list_styles() if s["available"]]
    assert {s["name"] for s in body["styles"]} >= set(choices.CLASSIC_STYLE_NAMES)
    assert [e["name"] for e in body["expressions"]] == list(choices.EXPRESSION_NAMES)
    assert [p["name"] for p in body["presets"]] == list(choices.PRESET_NAMES)
    assert [f["name"] for f in body["formats"]] == list(choices.FORMATS)
    assert body["pack_expressions"] == list(choices.PACK_EXPRESSIONS)
    assert body["limits"]["max_upload_bytes"] == ServeConfig().max_upload_bytes


def test_style_previews_are_one_styled_still_per_style(client):
    from PIL import Image

    job = wait(client, post(client, path="/api/previews").json()["id"])
    assert job["status"] == "done", job
    names = [r["name"] for r in job["results"]]
    from emoget_cli.core import choices

    assert names == [f"{s}.png" for s in sorted(choices.CLASSIC_STYLE_NAMES)]
    stills = {}
    for r in job["results"]:
        got = client.get(r["url"])
        assert got.headers["content-type"] == "image/png" and len(got.content) == r["bytes"]
        img = Image.open(io.BytesIO(got.content))
        assert img.size == (192, 192)
        stills[r["name"]] = np.asarray(img.convert("RGB"), np.float32)
    # each style really changes the face: no two stills alike
    keys = list(stills)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert np.abs(stills[a] - stills[b]).mean() > 3, (a, b)


def test_make_job_returns_a_looping_animated_gif(client):
    from PIL import Image

    r = post(client, {"style": "baby", "expr": "surprise"})
    assert r.status_code == 201 and r.headers["location"] == f"/api/jobs/{r.json()['id']}"
    job = wait(client, r.json()["id"])
    assert job["status"] == "done" and job["error"] is None, job
    assert job["progress"] == {"done": 1, "total": 1}
    (result,) = job["results"]
    assert result["name"] == "emoget.gif" and result["url"].endswith("/files/emoget.gif")
    got = client.get(result["url"])
    assert got.headers["content-type"] == "image/gif" and len(got.content) == result["bytes"]
    gif = Image.open(io.BytesIO(got.content))
    assert gif.format == "GIF" and gif.size == (256, 256) and gif.n_frames > 8
    total_ms = 0
    for i in range(gif.n_frames):  # identical neighbours are merged: the loop is still 24/12 s
        gif.seek(i)
        total_ms += gif.info["duration"]
    assert abs(total_ms - 2000) <= 40
    frames = []
    for i in (0, 12):
        gif.seek(i)
        frames.append(np.asarray(gif.convert("RGB"), np.float32))
    assert np.abs(frames[0] - frames[1]).mean() > 1, "the face moves"


def test_pack_job_gives_every_expression_a_sheet_and_a_zip(client):
    from emoget_cli.core.choices import PACK_EXPRESSIONS

    job = wait(client, post(client, {"pack": "true", "preset": "telegram", **FAST}).json()["id"])
    assert job["status"] == "done", job
    names = [r["name"] for r in job["results"]]
    assert names[:len(PACK_EXPRESSIONS)] == [f"emoget-{e}.webm" for e in PACK_EXPRESSIONS]
    assert names[len(PACK_EXPRESSIONS):] == ["emoget-telegram.zip", "emoget-sheet.png"]
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["results"][-2]["url"]).content))
    assert sorted(archive.namelist()) == sorted(names[:len(PACK_EXPRESSIONS)])
    assert client.get(job["results"][0]["url"]).headers["content-type"] == "video/webm"


@pytest.mark.parametrize("fmt,magic", [("webp", b"RIFF"), ("apng", b"\x89PNG")])
def test_format_field_picks_the_encoder(client, fmt, magic):
    job = wait(client, post(client, {"format": fmt, "expr": "wink", **FAST}).json()["id"])
    assert job["status"] == "done", job
    assert client.get(job["results"][0]["url"]).content[:4] == magic


# ---------------------------------------------------------------------------------- errors --

def test_no_face_fails_the_job_with_a_clear_kind_and_no_server_path(client, tmp_path):
    from skimage import data

    job = wait(client, post(client, FAST, image=png_bytes(data.coffee())).json()["id"])
    assert job["status"] == "failed" and job["error_kind"] == "no_face", job
    assert "face" in job["error"] and str(client.app.state.store.root) not in job["error"]
    assert "/" not in job["error"]
    previews = wait(client, post(client, image=png_bytes(data.coffee()), path="/api/previews").json()["id"])
    assert previews["error_kind"] == "no_face"


@pytest.mark.parametrize("payload,needle", [
    (b"", "empty"),
    (b"this is not a photo at all", "not an image"),
    (SAMPLE.read_bytes()[:4000], "decode"),  # a truncated JPEG
])
def test_bad_files_are_refused_before_any_job(client, payload, needle):
    before = len(client.app.state.store)
    r = post(client, FAST, image=payload)
    assert r.status_code == 400 and r.json()["kind"] == "bad_input", r.text
    assert needle in r.json()["error"]
    assert len(client.app.state.store) == before


@pytest.mark.parametrize("fields,needle", [
    ({"style": "nope"}, "unknown style"),
    ({"expr": "glee"}, "glee"),
    ({"frames": "abc"}, "whole number"),
    ({"frames": "5000"}, "--frames"),
    ({"fps": "nan"}, "finite"),
    ({"preset": "myspace"}, "unknown preset"),
    ({"format": "bmp"}, "--format"),
    ({"pack": "maybe"}, "true or false"),
    ({"head": "spin"}, "head must be one of"),
    ({"output": "/etc/passwd"}, "not accepted"),
    ({"motion": "/etc/passwd"}, "not accepted"),
    ({"generator": "../x.pt"}, "not accepted"),
    ({"colour": "red"}, "unknown field"),
    ({"background": "transparent", "format": "mp4"}, "alpha"),
])
def test_bad_options_are_refused_by_the_make_config_code(client, fields, needle):
    r = post(client, fields)
    assert r.status_code == 422 and r.json()["kind"] == "usage", r.text
    assert needle in r.json()["error"]


def test_malformed_requests(client):
    assert client.post("/api/jobs", data={"style": "baby"}).status_code == 422  # urlencoded
    r = client.post("/api/jobs", files={"photo": ("a.jpg", SAMPLE.read_bytes())})
    assert r.status_code == 422 and "image" in r.json()["error"]
    r = client.post("/api/jobs", files=[("image", ("a.jpg", SAMPLE.read_bytes())),
                                        ("other", ("b.jpg", b"x"))])
    assert r.status_code in (400, 422)
    assert client.get("/api/jobs").status_code == 405
    assert client.put("/api/jobs/x").status_code == 405


def test_too_large_by_bytes_and_by_pixels(tmp_path):
    from PIL import Image

    app = create_app(ServeConfig(gpus=0, max_upload_bytes=50_000, max_pixels=200 * 200),
                     root=tmp_path, warm_up=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert SAMPLE.stat().st_size > 50_000
        r = post(c, image=SAMPLE.read_bytes())
        assert r.status_code == 413 and r.json()["kind"] == "too_large" and "0.05 MB" in r.json()["error"]
        # without a Content-Length the body is cut off while it streams
        boundary = "emogetboundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + b"\xff" * 300_000 \
            + f"\r\n--{boundary}--\r\n".encode()
        chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))
        r = c.post("/api/jobs", content=chunks,
                   headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert r.status_code == 413 and r.json()["kind"] == "too_large"
        small = io.BytesIO()
        Image.new("RGB", (400, 300), "white").save(small, format="PNG")  # tiny file, 120k pixels
        r = post(c, image=small.getvalue())
        assert r.status_code == 413 and "pixels" in r.json()["error"]
        assert len(app.state.store) == 0 and not any(tmp_path.iterdir())


def test_full_server_answers_busy(tmp_path):
    app = create_app(ServeConfig(gpus=0, max_jobs=1), root=tmp_path, warm_up=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert post(c, FAST).status_code == 201
        r = post(c, FAST)
        assert r.status_code == 503 and r.json()["kind"] == "busy"


# -------------------------------------------------------------------------------- security --

def test_ids_are_unguessable_and_requests_never_name_files(client):
    ids = [post(client, FAST).json()["id"] for _ in range(3)]
    assert len(set(ids)) == 3
    for job_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", job_id)
    job = wait(client, ids[0])
    store = client.app.state.store
    assert not (store.root / job["id"] / "upload").exists(), "the photo goes when the worker is done"
    # (plain ../ is resolved by the HTTP client itself; encoded forms reach the server)
    for name in ("emoget.jpg", "..%2Fupload%2Femoget.jpg", "%2e%2e", "emoget.gif%00",
                 "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd"):
        r = client.get(f"/api/jobs/{ids[0]}/files/{name}")
        assert r.status_code == 404, name
    for bad in ("..%2F..%2Fetc", "x" * 32, ids[0][:-1] + ("A" if ids[0][-1] != "A" else "B")):
        assert client.get(f"/api/jobs/{bad}").status_code == 404
    for job_id in ids[1:]:
        wait(client, job_id)


def test_a_result_symlinked_out_of_the_job_folder_is_not_served(client):
    job = wait(client, post(client, FAST).json()["id"])
    store = client.app.state.store
    target = store.root / job["id"] / "out" / job["results"][0]["name"]
    target.unlink()
    target.symlink_to(SAMPLE)
    assert client.get(job["results"][0]["url"]).status_code == 404


def test_delete_removes_the_photo_and_results_at_once(client):
    store = client.app.state.store
    job = wait(client, post(client, FAST).json()["id"])
    folder = store.root / job["id"]
    assert (folder / "out").is_dir()
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert not folder.exists()
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404
    assert client.get(job["results"][0]["url"]).status_code == 404
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 404


def test_delete_while_running_removes_the_folder_when_the_worker_returns(client):
    store = client.app.state.store
    job_id = post(client, {"pack": "true", **FAST}).json()["id"]
    folder = store.root / job_id
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    deadline = time.monotonic() + 60
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folder.exists()


def test_results_expire(client, clock):
    store = client.app.state.store
    job = wait(client, post(client, FAST).json()["id"])
    assert 0 < job["expires_in"] <= 600
    assert store.sweep() == 0
    clock.now += 601
    assert store.sweep() >= 1
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404
    assert not (store.root / job["id"]).exists()


def test_loopback_server_answers_only_loopback_host_names(client):
    assert client.get("/api/options", headers={"host": "localhost:8000"}).status_code == 200
    assert client.get("/api/options", headers={"host": "[::1]:8000"}).status_code == 200
    r = client.get("/api/options", headers={"host": "attacker.example:8000"})  # DNS rebinding
    assert r.status_code == 421


def test_cross_site_writes_are_refused(client):
    r = post(client, FAST, headers={"origin": "https://attacker.example"})
    assert r.status_code == 403
    assert client.delete("/api/jobs/" + "x" * 32, headers={"origin": "https://attacker.example"}).status_code == 403


def test_public_address_needs_a_token(tmp_path):
    from emoget_cli.core.errors import UsageError

    with pytest.raises(UsageError, match="--token"):
        create_app(ServeConfig(host="0.0.0.0", gpus=0), root=tmp_path, warm_up=False)
    with pytest.raises(UsageError, match="at least 16"):
        create_app(ServeConfig(host="0.0.0.0", token="short", gpus=0), root=tmp_path, warm_up=False)


def test_every_api_call_must_carry_the_token(tmp_path):
    token = "t0ken-" + "x" * 20
    app = create_app(ServeConfig(host="0.0.0.0", token=token, gpus=0), root=tmp_path, warm_up=False)
    with TestClient(app, base_url="http://192.0.2.7:8000") as c:
        assert c.get("/").status_code == 200  # the page itself: it reads the token from #token=
        for headers in ({}, {"authorization": "Bearer wrong-" + "x" * 20}, {"x-emoget-token": token[:-1]}):
            r = c.get("/api/options", headers=headers)
            assert r.status_code == 401 and r.json()["kind"] == "unauthorized"
        assert post(c, FAST).status_code == 401
        assert c.get("/api/jobs/" + "x" * 32).status_code == 401
        assert c.get("/api/options", headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert c.get("/api/options", headers={"x-emoget-token": token}).status_code == 200
        assert c.get("/api/options", headers={"cookie": f"emoget_token={token}"}).status_code == 200
        r = post(c, FAST, headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 201


# ----------------------------------------------------------------------------- concurrency --

def test_four_jobs_share_two_workers(client):
    """Four uploads at once: two run, the others wait with their place in the queue; all finish."""
    import concurrent.futures

    exprs = ["happiness", "sadness", "anger", "fear"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda e: post(client, {"expr": e, "size": "128", "frames": "12"}).json()["id"], exprs))
    max_running, positions = 0, set()
    pending = set(ids)
    deadline = time.monotonic() + 180
    while pending and time.monotonic() < deadline:
        max_running = max(max_running, client.get("/api/status").json()["running"])  # one snapshot
        states = {i: client.get(f"/api/jobs/{i}").json() for i in ids}
        positions.update(s["queue_position"] for s in states.values() if s["status"] == "queued")
        pending = {i for i, s in states.items() if s["status"] not in ("done", "failed")}
        time.sleep(0.05)
    assert not pending
    assert max_running == 2, "never more jobs at once than workers, and both workers used"
    assert positions and positions <= {0, 1, 2, 3}, "a queued job knows its place"
    assert client.get("/api/status").json() | {"jobs": 0} == {
        "jobs": 0, "running": 0, "queued": 0, "cpu_workers": 2, "gpus": 0}
    gifs = [client.get(client.get(f"/api/jobs/{i}").json()["results"][0]["url"]).content for i in ids]
    assert len(set(gifs)) == 4, "each job made its own expression"


# ------------------------------------------------------------------------------------- CLI --

def test_cli_refuses_a_public_address_without_token(runner, monkeypatch):
    from emoget_cli.cli.app import app

    monkeypatch.delenv("EMOGET_SERVE_TOKEN", raising=False)
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "--token" in r.output
    r = runner.invoke(app, ["serve", "--workers", "0"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["serve", "--max-upload-mb", "1000"])  # above the CLI's image limit
    assert r.exit_code == 2 and "max-upload-mb" in r.output and "268" in r.output


def test_help_does_not_import_the_web_stack():
    import subprocess
    import sys

    code = ("import sys; from emoget_cli.cli.app import app\n"
            "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('starlette', 'uvicorn', 'torch', 'cv2', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_gpu_work_goes_to_the_least_busy_gpu_lane_one_job_each(tmp_path):
    """Routing only (this machine has no GPU): a lane per GPU of one worker; CPU work stays."""
    from emoget_cli.serve.jobs import JobStore

    store = JobStore(workers=2, keep_seconds=60, max_jobs=10, gpus=2, root=tmp_path)
    try:
        assert [(lane.device, lane.size) for lane in store.gpu_lanes] == [("cuda:0", 1), ("cuda:1", 1)]
        assert store.lane_for(wants_gpu=False) is store.cpu
        assert store.lane_for(wants_gpu=True).device == "cuda:0"
        store.gpu_lanes[0].queue.append("a-waiting-job")
        assert store.lane_for(wants_gpu=True).device == "cuda:1"
        assert store.stats()["gpus"] == 2
    finally:
        store.close()
