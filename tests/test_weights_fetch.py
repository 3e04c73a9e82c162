"""`emoget weights fetch` against a local HTTP server on 127.0.0.1 (no internet): resume after a
cut connection, redirects, 404, a too-slow server, wrong hashes, trust-on-first-use pins,
licences, --from, NVlabs pickle -> safetensors round trip, and the painting-gan recipe."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest
import torch

from emoget_cli.core.errors import CheckpointError, DependencyError
from emoget_cli.fetch import FetchOptions, download, mirrored

# the genuine-format NVlabs persistence pickle builder of the checkpoint tests
from test_gan_checkpoint import _g_kwargs, _ours_to_ada_generator, nvlabs_modules  # noqa: F401

pytestmark = pytest.mark.usefixtures("torch_one_thread")


# ------------------------------------------------------------------------ the local server --

class Server:
    """Routes: path -> dict(data=bytes, status=int, location=str, cut=int (first request sends
    only this many bytes, then drops the connection), no_range=bool, stall=float (seconds of
    silence after the headers)). `log` records (path, Range header) per request."""

    def __init__(self):
        self.routes: dict[str, dict] = {}
        self.log: list[tuple[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                rng = self.headers.get("Range") or ""
                server.log.append((self.path, rng))
                route = server.routes.get(self.path)
                if route is None or route.get("status") == 404:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if "location" in route:
                    self.send_response(302)
                    self.send_header("Location", route["location"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data: bytes = route["data"]
                start = 0
                if rng.startswith("bytes=") and not route.get("no_range"):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if route.get("stall"):
                    time.sleep(route["stall"])
                body = data[start:]
                cut = route.pop("cut", None)
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.close()


FAST = FetchOptions(timeout=2.0, retries=2, backoff=0.0)


def _blob(n: int, seed: int = 0) -> bytes:
    g = torch.Generator().manual_seed(seed)
    return bytes(torch.randint(0, 256, (n,), generator=g, dtype=torch.uint8).tolist())


# ----------------------------------------------------------------------- download mechanics --

def test_resume_after_a_cut_connection(server, tmp_path):
    data = _blob(300_000)
    server.routes["/f.bin"] = {"data": data, "cut": 120_000}
    part = tmp_path / "f.bin.part"
    seen = []
    assert download(server.url + "/f.bin", part, options=FAST,
                    progress=lambda done, total: seen.append((done, total))) == len(data)
    assert part.read_bytes() == data
    assert server.log == [("/f.bin", ""), ("/f.bin", "bytes=120000-")]  # resumed, not restarted
    assert seen[-1] == (len(data), len(data))


def test_interrupted_download_is_kept_and_resumed_by_the_next_run(server, tmp_path):
    data = _blob(200_000, 1)
    server.routes["/f.bin"] = {"data": data, "cut": 50_000}
    part = tmp_path / "f.bin.part"
    with pytest.raises(DependencyError, match="next fetch resumes"):
        download(server.url + "/f.bin", part, options=FetchOptions(timeout=2, retries=0))
    assert part.stat().st_size == 50_000
    download(server.url + "/f.bin", part, options=FAST)
    assert part.read_bytes() == data and server.log[-1] == ("/f.bin", "bytes=50000-")


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    data = _blob(100_000, 2)
    server.routes["/f.bin"] = {"data": data, "no_range": True}
    part = tmp_path / "f.bin.part"
    part.write_bytes(data[:30_000] + b"garbage")
    download(server.url + "/f.bin", part, options=FAST)
    assert part.read_bytes() == data


def test_redirect_is_followed(server, tmp_path):
    data = _blob(10_000, 3)
    server.routes["/old/f.bin"] = {"location": "/new/f.bin"}
    server.routes["/new/f.bin"] = {"data": data}
    part = tmp_path / "f.part"
    download(server.url + "/old/f.bin", part, options=FAST)
    assert part.read_bytes() == data


def test_404_is_final_and_one_line(server, tmp_path):
    with pytest.raises(DependencyError, match="HTTP 404") as exc:
        download(server.url + "/missing.pkl", tmp_path / "m.part", options=FAST)
    assert len(server.log) == 1  # not retried
    assert "\n" not in str(exc.value)


def test_too_slow_server_times_out(server, tmp_path):
    server.routes["/slow.bin"] = {"data": _blob(1000, 4), "stall": 3.0}
    t = time.perf_counter()
    with pytest.raises(DependencyError, match="timed out|connection lost"):
        download(server.url + "/slow.bin", tmp_path / "s.part",
                 options=FetchOptions(timeout=0.3, retries=1, backoff=0.0))
    assert time.perf_counter() - t < 2.5 and len(server.log) == 2


def test_oversized_download_is_refused(server, tmp_path):
    server.routes["/big.bin"] = {"data": _blob(50_000, 5)}
    with pytest.raises(DependencyError, match="more than"):
        download(server.url + "/big.bin", tmp_path / "b.part", options=FAST, max_bytes=10_000)
    assert not (tmp_path / "b.part").exists()


def test_mirror_replaces_the_folder_only(monkeypatch):
    url = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl"
    monkeypatch.setenv("EMOGET_WEIGHTS_MIRROR", "http://cache.local/models/")
    assert mirrored(url) == "http://cache.local/models/ffhq.pkl"
    monkeypatch.delenv("EMOGET_WEIGHTS_MIRROR")
    assert mirrored(url) == url


def test_shipped_catalogue_lists_the_public_checkpoints():
    from emoget_cli.catalogue import load_catalogue

    cat = load_catalogue()
    assert {"ffhq", "metfaces", "ffhq-256", "fan-2d", "fan-sfd", "vgg16"} <= set(cat.files)
    assert cat.get("ffhq").urls[0].startswith("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/")
    assert cat.get("ffhq-256").file == "ffhq-res256-mirror-paper256-noaug.pkl"
    assert not cat.get("metfaces").licence.commercial
    assert cat.get("vgg16").sha256_prefix == "397923af"
    r = cat.recipes["painting-gan"]
    assert (r.base, r.coarse, r.swap_res) == ("ffhq", "metfaces", 32)


# ------------------------------------------------------------------------ fetch through the CLI --

@pytest.fixture()
def home(tmp_path, monkeypatch, server):
    """Weights and torch-hub folders in tmp; every catalogue URL mirrored to the local server."""
    monkeypatch.setenv("EMOGET_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("EMOGET_WEIGHTS_MIRROR", server.url + "/m/")
    before = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "torch" / "hub"))
    yield tmp_path
    torch.hub.set_dir(before)


ARCH = dict(size=64, style_dim=32, n_mlp=2, channel_max=16)


def _nvlabs_pickle(nvlabs_modules, seed: int) -> tuple[bytes, "torch.nn.Module"]:
    from emoget_cli.gan import Generator

    module, dumps, EasyDict = nvlabs_modules
    torch.manual_seed(seed)
    G = Generator(**ARCH).eval()
    with torch.no_grad():
        for p in G.parameters():
            p.add_(0.01 * torch.randn_like(p))  # non-trivial biases / noise strengths
    g_meta = module(_ours_to_ada_generator(G.state_dict(), 2, 64, False), "Generator",
                    _g_kwargs(64, 0, 2))
    data = dumps({"G_ema": g_meta, "D": None, "augment_pipe": None,
                  "training_set_kwargs": EasyDict(path="faces.zip", resolution=64)})
    return data, G  # dumps() removed the stand-in modules: one pickle per test


def _pin_of(home: Path, name: str) -> dict:
    import yaml

    doc = yaml.safe_load((home / "weights" / "registry.yaml").read_text())
    return doc["fetched"][name]


def test_fetch_converts_an_nvlabs_pickle_to_safetensors_bit_identically(cli, home, server,
                                                                       nvlabs_modules):
    from emoget_cli.gan import load_checkpoint, load_generator
    from emoget_cli.weights import sha256_file

    data, G = _nvlabs_pickle(nvlabs_modules, 0)
    server.routes["/m/ffhq.pkl"] = {"data": data, "cut": len(data) // 3}

    refused = cli("weights", "fetch", "painting-gan")  # = ffhq metfaces; licence not accepted
    assert refused.exit_code == 2 and "--accept-license" in refused.stderr
    assert not (home / "weights").exists() and server.log == []

    res = cli("weights", "fetch", "ffhq", "--accept-license", "--retries", "2", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)["files"][0]
    target = home / "weights" / "ffhq-1024.safetensors"
    assert out["path"] == str(target) and out["pinned_now"] and out["status"] == "fetched"
    assert server.log[-1][1] == f"bytes={len(data) // 3}-"  # resumed after the cut
    assert any("64 px, the catalogue says 1024" in w for w in out["warnings"])  # informational
    import hashlib

    assert out["source_sha256"] == hashlib.sha256(data).hexdigest()
    # no pickle is left or read afterwards: the installed file is safetensors
    assert target.read_bytes()[8:9] == b"{" and not [
        p for p in (home / "weights").rglob("*") if p.suffix in (".pkl", ".part")]
    pin = _pin_of(home, "ffhq")
    assert pin["sha256"] == sha256_file(target) and pin["source_sha256"] == out["source_sha256"]
    assert pin["licence_accepted"] is True
    ck = load_checkpoint(target)
    assert ck.source == "nvlabs-stylegan2-ada-pytorch" and ck.training["fetched"]["catalogue"] == "ffhq"
    ref = G.state_dict()
    assert set(ck.g_ema) == set(ref)  # (safetensors stores keys sorted)
    assert all(torch.equal(ck.g_ema[k], ref[k]) for k in ref)  # bit-identical tensors
    G2 = load_generator(target)
    w = torch.randn(2, G.n_latent, 32)
    noise = G.make_noise()
    with torch.no_grad():
        assert torch.equal(G.synthesis(w, noise=noise), G2.synthesis(w, noise=noise))

    # again: the installed file matches its pin -> nothing downloaded
    n = len(server.log)
    again = cli("weights", "fetch", "ffhq", "--accept-license", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["files"][0]["status"] == "present"
    assert len(server.log) == n

    # trust on first use: the server now publishes another file -> refused, nothing changed
    other = data[:-1] + b" ."  # one byte more: another sha256
    server.routes["/m/ffhq.pkl"] = {"data": other}
    before = target.read_bytes()
    bad = cli("weights", "fetch", "ffhq", "--accept-license", "--force")
    assert bad.exit_code == 5 and "pinned" in bad.stderr, bad.output
    assert target.read_bytes() == before and _pin_of(home, "ffhq") == pin
    assert not list((home / "weights" / "downloads").glob("*.part"))  # a wrong file is not kept


def test_wrong_hash_against_the_torch_hub_prefix_is_refused(cli, home, server):
    server.routes["/m/vgg16-397923af.pth"] = {"data": _blob(5000, 7)}
    res = cli("weights", "fetch", "vgg16")
    assert res.exit_code == 5 and "397923af" in res.stderr, res.output
    assert not (home / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth").exists()
    assert not (home / "weights" / "registry.yaml").exists()


def test_404_through_the_cli(cli, home, server):
    res = cli("weights", "fetch", "fan-sfd", "--retries", "0")
    assert res.exit_code == 8 and "HTTP 404" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def _shape_only_state_dict(shapes: dict) -> dict:
    """Tensors with the right shapes but one stored element each (stride 0): tiny files that
    pass the shape check of the real networks."""
    return {k: torch.zeros(1).expand(*s) if s else torch.zeros(()) for k, s in shapes.items()}


def test_fan_and_vgg_files_are_checked_and_installed_in_the_hub_cache(cli, home, server, tmp_path):
    from emoget_cli.catalogue import expected_shapes

    cat = tmp_path / "cat.yaml"
    cat.write_text(
        "version: 1\nlicences:\n  bsd: {name: BSD, url: 'https://x', summary: ok, commercial: true}\n"
        "files:\n"
        "  vgg16: {file: vgg16-397923af.pth, urls: ['https://example.org/a/vgg16-397923af.pth'], "
        "kind: vgg16, format: torch, install: torch-hub, store_as: vgg16-397923af.pth, licence: bsd}\n"
        "  fan-2d: {file: fan.pth.tar, urls: ['https://example.org/a/fan.pth.tar'], kind: fan, "
        "format: torch, install: torch-hub, store_as: 2DFAN4-11f355bf06.pth.tar, licence: bsd}\n")
    for name, kind in (("vgg16-397923af.pth", "vgg16"), ("fan.pth.tar", "fan")):
        path = tmp_path / name
        torch.save(_shape_only_state_dict(expected_shapes(kind)), path)
        server.routes[f"/m/{name}"] = {"data": path.read_bytes()}
    res = cli("weights", "fetch", "vgg16", "fan-2d", "--catalogue", cat, "--json")
    assert res.exit_code == 0, res.output
    hub = home / "torch" / "hub" / "checkpoints"
    assert (hub / "vgg16-397923af.pth").is_file() and (hub / "2DFAN4-11f355bf06.pth.tar").is_file()
    from emoget_cli.doctor import collect_report

    rows = {c["name"]: c for c in collect_report()["checks"]}
    assert rows["FAN 2D weights"]["ok"]

    # a generator file served as VGG16 is refused by the shape check
    wrong = {k: v for k, v in _shape_only_state_dict(expected_shapes("vgg16")).items()
             if not k.startswith("classifier")}
    torch.save(wrong, tmp_path / "wrong.pth")
    res = cli("weights", "fetch", "vgg16", "--catalogue", cat, "--from", tmp_path / "wrong.pth")
    assert res.exit_code == 5 and "pinned" in res.stderr  # the pin speaks first
    assert cli("weights", "forget", "vgg16").exit_code == 0
    res = cli("weights", "fetch", "vgg16", "--catalogue", cat, "--from", tmp_path / "wrong.pth")
    assert res.exit_code == 5 and "classifier" in res.stderr


def test_doctor_says_how_to_fetch_missing_fan_and_vgg(home):
    from emoget_cli.doctor import collect_report

    rows = {c["name"]: c for c in collect_report()["checks"]}
    assert "emoget weights fetch fan-2d" in rows["FAN 2D weights"]["details"]
    assert "emoget weights fetch fan-sfd" in rows["FAN detector (SFD)"]["details"]
    assert "emoget weights fetch vgg16" in rows["LPIPS VGG16 weights"]["details"]


# --------------------------------------------------------------------- --from and the recipe --

def test_from_files_build_painting_gan_and_make_uses_it(cli, home, server, nvlabs_modules, tmp_path,
                                                       astronaut_path):
    from emoget_cli.gan import load_checkpoint
    from emoget_cli.gan.blend import layer_of_key

    ffhq_pkl, G_ffhq = _nvlabs_pickle(nvlabs_modules, 10)
    (tmp_path / "ffhq.pkl").write_bytes(ffhq_pkl)
    # the second pickle needs the stand-in modules again: build it as a plain emoget file
    from emoget_cli.gan import Generator, save_checkpoint
    from emoget_cli.gan.checkpoint import Checkpoint

    torch.manual_seed(11)
    G_met = Generator(**ARCH).eval()
    save_checkpoint(Checkpoint.from_modules(G_met), tmp_path / "metfaces.pt")

    res = cli("weights", "fetch", "ffhq", "--from", tmp_path / "ffhq.pkl")  # licence refused
    assert res.exit_code == 2 and not (home / "weights" / "ffhq-1024.safetensors").exists()
    res = cli("weights", "fetch", "ffhq", "--from", tmp_path / "ffhq.pkl", "--accept-license")
    assert res.exit_code == 0, res.output
    import hashlib

    sha = hashlib.sha256(ffhq_pkl).hexdigest()
    assert f"sha256 {sha} pinned" in " ".join(res.stderr.split())  # printed at first use
    assert "registered ffhq" in res.stdout and "painting-gan" not in res.stdout  # metfaces missing
    assert (tmp_path / "ffhq.pkl").read_bytes() == ffhq_pkl  # the input is never touched
    res = cli("weights", "fetch", "painting-gan", "--from", tmp_path / "metfaces.pt")
    assert res.exit_code == 2 and "one NAME" in res.stderr  # the recipe stands for two files
    res = cli("weights", "fetch", "metfaces", "--from", tmp_path / "metfaces.pt", "--accept-license",
              "--json")
    assert res.exit_code == 0, res.output
    built = json.loads(res.stdout)["styles_built"]
    assert [b["name"] for b in built] == ["painting-gan"]
    assert server.log == []  # --from never touches the network

    blend = load_checkpoint(built[0]["checkpoint"])
    f, m = G_ffhq.state_dict(), G_met.state_dict()
    for key, value in blend.g_ema.items():
        layer = layer_of_key(key)
        if layer is None:
            assert torch.equal(value, f[key]), key  # mapping and noise from FFHQ
        elif layer[0] <= 32:
            assert torch.equal(value, m[key]), key  # coarse: MetFaces
        else:
            assert torch.equal(value, f[key]), key  # fine: FFHQ
    assert blend.blend["recipe"]["swap_res"] == 32

    # a --from file that differs from the pin is refused
    save_checkpoint(Checkpoint.from_modules(G_ffhq), tmp_path / "other.pt")
    res = cli("weights", "fetch", "metfaces", "--from", tmp_path / "other.pt", "--accept-license")
    assert res.exit_code == 5 and "pinned" in res.stderr

    listing = json.loads(cli("weights", "list", "--json").stdout)
    status = {f["name"]: f["status"] for f in listing["catalogue"]}
    assert status["ffhq"] == status["metfaces"] == "installed" and status["vgg16"] == "not fetched"
    assert listing["recipes"][0]["built"]
    styles = {s["name"]: s for s in listing["styles"]}
    assert styles["painting-gan"]["engine"] == "gan" and styles["painting-gan"]["available"]

    out = tmp_path / "p.gif"
    res = cli("make", astronaut_path, "--style", "painting-gan", "--invert-steps", 2, "--size", 64,
              "--frames", 3, "--device", "cpu", "-o", out, "--json")
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)["results"][0]
    assert r["style"] == "painting-gan" and r["engine"] == "gan" and out.stat().st_size > 0

    verified = json.loads(cli("weights", "verify", "--json").stdout)
    assert verified["ok"] and {"ffhq", "metfaces", "painting-gan"} <= {x["name"] for x in verified["results"]}
    installed = home / "weights" / "metfaces-1024.safetensors"
    installed.write_bytes(installed.read_bytes()[:-4])
    res = cli("weights", "verify", "metfaces")
    assert res.exit_code == 5 and "metfaces" in res.stderr


def test_cpu_inversion_of_a_large_generator_prints_a_time_estimate(monkeypatch):
    import emoget_cli.style.gan_engine as engine

    clock = iter([10.0, 14.0])  # step 1 at 10 s, step 3 at 14 s -> 2 s per step
    monkeypatch.setattr("time.perf_counter", lambda: next(clock))
    said, seen = [], []
    update = engine._with_time_estimate(lambda *a, **k: seen.append(a), said.append, 300, 1024, "cpu")
    for step in range(1, 5):
        update(step, 300, loss=1.0, phase="invert")
    assert len(seen) == 4 and len(said) == 1
    assert "9.9 min" in said[0] and "2.0 s per step" in said[0] and "1024 px" in said[0]
    # a GPU, or a small generator, is left alone
    quiet = []
    assert engine._with_time_estimate(None, quiet.append, 300, 1024, "cuda") is None
    assert engine._with_time_estimate(None, quiet.append, 300, 256, "cpu") is None


def test_licence_prompt_yes_and_no():
    from emoget_cli.catalogue import check_licence, load_catalogue
    from emoget_cli.core.errors import UsageError

    ffhq, vgg = load_catalogue().get("ffhq"), load_catalogue().get("vgg16")
    asked = []
    assert check_licence(ffhq, False, lambda q: asked.append(q) or True) is True
    assert "non-commercial" in asked[0] and "LICENSE.txt" in asked[0]
    with pytest.raises(UsageError, match="--accept-license"):
        check_licence(ffhq, False, lambda q: False)
    assert check_licence(vgg, False, lambda q: pytest.fail("asked for a permissive licence")) is False


def test_a_second_fetch_of_the_same_file_waits_its_turn(home, server):
    from emoget_cli.catalogue import _EntryLock, fetch, load_catalogue

    entry = load_catalogue().get("vgg16")
    with _EntryLock(entry):
        with pytest.raises(DependencyError, match="another `emoget weights fetch`"):
            fetch(entry, options=FAST)
    assert server.log == []


def test_not_enough_disk_space_is_said_before_downloading(home, server, monkeypatch):
    import shutil as sh
    from collections import namedtuple

    from emoget_cli.core.errors import OutputError
    from emoget_cli.catalogue import fetch, load_catalogue

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(sh, "disk_usage", lambda p: usage(10**9, 10**9 - 5 * 10**6, 5 * 10**6))
    with pytest.raises(OutputError, match="MB are needed"):
        fetch(load_catalogue().get("ffhq"), accept_licence=True, options=FAST)
    assert server.log == []


def test_a_file_url_mirror_works_for_air_gapped_machines(tmp_path):
    data = _blob(20_000, 9)
    (tmp_path / "share").mkdir()
    (tmp_path / "share" / "f.bin").write_bytes(data)
    url = mirrored("https://example.org/models/f.bin", (tmp_path / "share").as_uri() + "/")
    download(url, tmp_path / "f.part", options=FAST)
    assert (tmp_path / "f.part").read_bytes() == data


def test_painting_gan_before_its_fetch_says_what_to_fetch(cli, home, astronaut_path, tmp_path):
    res = cli("make", astronaut_path, "--style", "painting-gan", "-o", tmp_path / "p.gif")
    assert res.exit_code == 8, res.output
    assert "emoget weights fetch ffhq metfaces --accept-license" in " ".join(res.stderr.split())
    assert not (tmp_path / "p.gif").exists()
