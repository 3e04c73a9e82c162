"""The CLI skeleton: fast --help, --version, python -m, --config YAML, errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emoget_cli import __version__

HEAVY = ("torch", "cv2", "dlib", "face_alignment", "imageio", "scipy", "skimage", "PIL")


def run_py(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv", [["--help"], ["landmarks", "--help"], ["doctor", "--help"]])
def test_help_imports_no_heavy_library(argv):
    code = ("import sys\nfrom emoget_cli.cli.app import main\n"
            f"sys.argv = ['emoget'] + {argv!r}\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "print('HEAVY', heavy, 'EXIT', code)\n")
    res = run_py(code)
    assert "HEAVY [] EXIT 0" in res.stdout, res.stdout[-2000:] + res.stderr[-2000:]
    assert "Usage" in res.stdout


def test_version_and_python_m_are_the_same_app(cli):
    res = cli("--version")
    assert res.exit_code == 0 and res.stdout.strip() == f"emoget {__version__}"
    mod = subprocess.run([sys.executable, "-m", "emoget_cli", "--version"], capture_output=True,
                         text=True, timeout=120)
    assert mod.returncode == 0 and mod.stdout.strip() == res.stdout.strip()
    mod_help = subprocess.run([sys.executable, "-m", "emoget_cli", "--help"], capture_output=True,
                              text=True, timeout=120)
    assert "landmarks" in mod_help.stdout and "doctor" in mod_help.stdout


def test_config_defaults_are_applied(cli, astronaut_path, tmp_path, monkeypatch):
    from emoget_cli.face import backends

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setattr(backends, "_INSTANCES", {})
    cfg = tmp_path / "emoget.yaml"
    cfg.write_text("common: {device: cpu}\nlandmarks:\n  size: 512\n  backend: dlib\n  all-faces: true\n")
    out = tmp_path / "t.json"
    res = cli("landmarks", astronaut_path, "-o", out, "--align", tmp_path / "a.png", "--config", cfg)
    assert res.exit_code == 0, res.output
    from PIL import Image

    assert Image.open(tmp_path / "a.png").size == (512, 512)          # size from the file
    # a config value that fails proves it is used; the command line still wins over it
    cfg.write_text("landmarks: {backend: fan}\n")
    res = cli("landmarks", astronaut_path, "-o", out, "--config", cfg)
    assert res.exit_code == 8 and "FAN weights missing" in res.stderr
    res = cli("landmarks", astronaut_path, "-o", out, "--config", cfg, "--backend", "dlib")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("text", ["landmarks: [unclosed\n", "just a string\n", "landmarks: 5\n"])
def test_malformed_config_is_a_usage_error(text, cli, astronaut_path, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    res = cli("landmarks", astronaut_path, "-o", tmp_path / "t.json", "--config", cfg)
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "config" in res.stderr
    assert not (tmp_path / "t.json").exists()
    res = cli("landmarks", astronaut_path, "--config", tmp_path / "absent.yaml")
    assert res.exit_code == 2 and "does not exist" in res.stderr


def test_internal_errors_hide_traceback_unless_debug(cli, astronaut_path, monkeypatch):
    from emoget_cli.cli.common import STATE
    from emoget_cli.face import run

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(run, "run_landmarks", boom)
    monkeypatch.setitem(STATE, "debug", False)
    res = cli("landmarks", astronaut_path)
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" in lines[0] and "--debug" in lines[0]
    assert "Traceback" not in res.output
    res = cli("--debug", "landmarks", astronaut_path)
    assert res.exit_code == 1  # --debug adds the traceback and keeps the code
    assert "Traceback" in res.stderr and "simulated bug" in res.stderr


def test_doctor_table_and_json(cli):
    import json

    res = cli("doctor", "--json")
    assert res.exit_code == 0
    checks = {c["name"]: c for c in json.loads(res.stdout)["checks"]}
    assert checks["landmarks dlib"]["ok"] is True
    assert "landmarks fan" in checks and "device cuda" in checks and "ffmpeg" in checks
    assert "FAN 2D weights" in checks and "LPIPS VGG16 weights" in checks
    if not checks["landmarks fan"]["ok"]:
        assert "2DFAN4" in checks["landmarks fan"]["details"]
    assert json.loads(res.stdout)["ok"] is True     # dlib alone is enough to run `landmarks`
    human = cli("doctor")
    assert human.exit_code == 0 and "landmarks dlib" in human.stdout


def test_doctor_tolerates_missing_weights_module_and_reports_fan_files(monkeypatch, tmp_path):
    import sys

    from emoget_cli import doctor

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setitem(sys.modules, "emoget_cli.weights", None)   # import now raises ImportError
    report = doctor.collect_report()
    names = [c["name"] for c in report["checks"]]
    assert not any(n.startswith("style") for n in names)
    fan = next(c for c in report["checks"] if c["name"] == "FAN 2D weights")
    assert not fan["ok"] and "2DFAN4-11f355bf06.pth.tar" in fan["details"]
    # registry entries of either shape become checks
    entry = doctor._weight_entry_check({"name": "toon", "engine": "gan",
                                        "checkpoint": str(tmp_path / "toon.pt")})
    assert entry == {"name": "style toon", "ok": False,
                     "details": f"gan: {tmp_path / 'toon.pt'} (missing)"}


def test_config_keys_are_option_names_and_typos_are_refused(cli, astronaut_path, tmp_path):
    import json

    cfg = tmp_path / "emoget.yaml"
    cfg.write_text("common: {device: cpu, style: baby}\nlandmarks: {json: true, backend: dlib}\n")
    res = cli("landmarks", astronaut_path, "-o", tmp_path / "t.json", "--config", cfg)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["backend"] == "dlib"                 # --json came from the file
    cfg.write_text("landmarks: {all_face: true}\n")                      # typo of all-faces
    res = cli("landmarks", astronaut_path, "-o", tmp_path / "u.json", "--config", cfg)
    assert res.exit_code == 2 and "all_face" in res.stderr
    assert not (tmp_path / "u.json").exists()


def test_doctor_lpips_needs_vgg16_but_not_the_lpips_package(monkeypatch, tmp_path):
    import importlib.util

    from emoget_cli import doctor

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "lpips" else real_find_spec(name, *a))

    def lpips_check():
        return next(c for c in doctor.collect_report()["checks"] if c["name"] == "LPIPS VGG16 weights")

    missing = lpips_check()
    assert not missing["ok"] and "vgg16-397923af.pth" in missing["details"]
    hub = tmp_path / "th" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "vgg16-397923af.pth").write_bytes(b"x")
    present = lpips_check()
    assert present["ok"] and str(hub) in present["details"]


@pytest.mark.parametrize("argv, fragment", [
    (["make", "--device", "gpu", "x.jpg"], "'--device'"),
    (["make", "--no-such-option"], "--no-such-option"),
    (["animate"], "Missing argument"),
])
def test_console_script_usage_errors_are_one_line(argv, fragment, tmp_path):
    """The real entry point (not CliRunner): a usage error is one stderr line, exit 2."""
    proc = subprocess.run([sys.executable, "-m", "emoget_cli", *argv], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_console_script_exit_codes_pass_through(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "emoget_cli", "landmarks", "empty.jpg", "-o",
                           "t.json"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 3 and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "t.json").exists()
