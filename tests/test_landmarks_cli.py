"""`emoget landmarks` through the CLI: outputs, naming, bad inputs, multi-input runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emoget_cli.core.track import load_track
from emoget_cli.face import detect_faces
from test_image_io import BAD_KINDS, make_bad


@pytest.fixture(scope="module")
def reference_points(astronaut_rgb) -> np.ndarray:
    return detect_faces(astronaut_rgb, backend="dlib")[0].points


def one_error_line(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.output and "Traceback" not in res.stderr
    return lines[0]


def test_single_image_with_align_and_preview(cli, astronaut_path, tmp_path, reference_points):
    out, al, pv = tmp_path / "out" / "a.landmarks.json", tmp_path / "al" / "face.png", tmp_path / "p.png"
    res = cli("landmarks", astronaut_path, "-o", out, "--align", al, "--size", "512",
              "--preview", pv, "--backend", "dlib", "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["backend"] == "dlib" and report["failed"] == []
    assert report["outputs"][0]["faces"] == 1 and report["outputs"][0]["track"] == str(out)
    track = load_track(out)
    assert track.image_size == (512, 512) and track.fps is None and track.source == "astronaut.png"
    assert track.meta["backend"] == "dlib"
    np.testing.assert_allclose(track.frames[0].faces[0].points, reference_points, atol=1e-3)
    assert track.aligned.size == 512 and (out.parent / track.aligned.image).resolve() == al.resolve()
    assert Image.open(al).size == (512, 512)
    assert Image.open(pv).size == (512, 512)
    eyes_y = track.aligned.points[36:48, 1]
    assert eyes_y.max() - eyes_y.min() < 0.05 * 512


def test_default_output_names(cli, astronaut_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = cli("landmarks", astronaut_path, "-q")
    assert res.exit_code == 0 and res.stdout == ""
    assert (tmp_path / "astronaut.landmarks.json").is_file()
    folder = tmp_path / "tracks"
    folder.mkdir()
    assert cli("landmarks", astronaut_path, "-o", folder, "--align", folder).exit_code == 0
    assert (folder / "astronaut.landmarks.json").is_file() and (folder / "astronaut.png").is_file()


@pytest.mark.parametrize("kind", ["gray", "rgba", "palette", "gray16", "exif"])
def test_odd_pixel_formats_find_the_face(kind, cli, astronaut_rgb, tmp_path, reference_points):
    img = Image.fromarray(astronaut_rgb)
    path = tmp_path / f"{kind}.png"
    if kind == "gray":
        img.convert("L").save(path)
    elif kind == "rgba":
        img.convert("RGBA").save(path)
    elif kind == "palette":
        img.quantize(128).save(path)
    elif kind == "gray16":
        Image.fromarray(np.asarray(img.convert("L")).astype(np.uint16) * 257).save(path)
    else:  # stored turned on its side, EXIF Orientation 8 = rotate 270° CW to display
        path = tmp_path / "exif.jpg"
        exif = Image.Exif()
        exif[0x0112] = 8
        img.transpose(Image.Transpose.ROTATE_270).save(path, exif=exif.tobytes(), quality=95)
    out = tmp_path / f"{kind}.json"
    res = cli("landmarks", path, "-o", out, "--backend", "dlib")
    assert res.exit_code == 0, res.output
    pts = load_track(out).frames[0].faces[0].points
    assert np.abs(pts - reference_points).mean() < 4.0


@pytest.mark.parametrize("kind", BAD_KINDS + ["noface", "missing"])
def test_bad_input_one_line_no_output(kind, cli, astronaut_path, tmp_path):
    if kind == "noface":
        src = tmp_path / "wall.png"
        Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 300, 3), dtype=np.uint8)).save(src)
    elif kind == "missing":
        src = tmp_path / "missing.jpg"
    else:
        src = make_bad(kind, tmp_path, astronaut_path)
    out = tmp_path / "o" / "t.landmarks.json"
    res = cli("landmarks", src, "-o", out, "--align", tmp_path / "o" / "a.png",
              "--preview", tmp_path / "o" / "p.png")
    assert res.exit_code == (4 if kind == "noface" else 3)
    line = one_error_line(res)
    assert line.startswith("error:") and src.name in line
    assert not any((tmp_path / "o").glob("*")) if (tmp_path / "o").exists() else True


def test_unwritable_output(cli, astronaut_path, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    res = cli("landmarks", astronaut_path, "-o", blocker / "t.json")
    assert res.exit_code == 7
    one_error_line(res)
    # the aligned image is written first; if the track then fails, it must be removed again
    res = cli("landmarks", astronaut_path, "-o", blocker / "t.json", "--align", tmp_path / "a.png")
    assert res.exit_code == 7 and not (tmp_path / "a.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_folder_run_reports_bad_files_and_writes_the_rest(cli, astronaut_path, astronaut_rgb, tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(astronaut_rgb).save(src / "a.png")
    Image.fromarray(astronaut_rgb).convert("L").save(src / "sub" / "b.jpg")
    bad = make_bad("truncated_png", src, astronaut_path)
    noface = src / "sub" / "flat.png"
    Image.new("RGB", (64, 64), (120, 120, 120)).save(noface)
    (src / "readme.txt").write_text("not an image, and not picked up")
    (src / ".thumbs").mkdir()
    (src / ".thumbs" / "a.png").write_bytes(b"hidden folder: not picked up")
    out, al = tmp_path / "out", tmp_path / "aligned"
    res = cli("landmarks", src, "-o", out, "--align", al, "--json")
    assert res.exit_code == 9, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 3 and "Traceback" not in res.stderr
    assert bad.name in lines[0] or bad.name in lines[1]
    assert any("flat.png" in l for l in lines) and "2 of 4 inputs failed" in lines[-1]
    report = json.loads(res.stdout)
    assert {Path(o["input"]).name for o in report["outputs"]} == {"a.png", "b.jpg"}
    assert {f["exit_code"] for f in report["failed"]} == {3, 4}
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.json")) == [
        "a.landmarks.json", "sub/b.landmarks.json"]
    assert (al / "a.png").is_file() and (al / "sub" / "b.png").is_file()
    assert not (out / "trunc.landmarks.json").exists()


def test_multi_input_needs_folder_output(cli, astronaut_path, tmp_path):
    target = tmp_path / "file.json"
    target.write_text("{}")
    res = cli("landmarks", astronaut_path, astronaut_path, "-o", target)
    assert res.exit_code == 2
    one_error_line(res)


def test_fan_without_weights_says_what_is_missing(cli, astronaut_path, tmp_path, monkeypatch):
    from emoget_cli.face import backends

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setattr(backends, "_INSTANCES", {})
    res = cli("landmarks", astronaut_path, "-o", tmp_path / "t.json", "--backend", "fan")
    assert res.exit_code == 8
    line = one_error_line(res)
    assert "2DFAN4-11f355bf06.pth.tar" in line and "s3fd-619a316812.pth" in line
    assert str(tmp_path / "th" / "hub" / "checkpoints") in line
    assert not (tmp_path / "t.json").exists()
    # auto falls back to dlib
    assert cli("landmarks", astronaut_path, "-o", tmp_path / "t.json", "--json").exit_code == 0


@pytest.mark.parametrize("option,value", [("--size", "300"), ("--every", "0"),
                                          ("--backend", "opencv")])
def test_invalid_option_values(option, value, cli, astronaut_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = cli("landmarks", astronaut_path, option, value)
    assert res.exit_code == 2 and f"Invalid value for '{option}'" in res.stderr, res.output
    assert list(tmp_path.iterdir()) == []


def test_all_faces_option(cli, astronaut_rgb, tmp_path):
    head = astronaut_rgb[30:250, 120:330]
    canvas = np.full((240, 460, 3), 200, np.uint8)
    canvas[10:230, 10:220] = head
    canvas[10:230, 240:450] = head[:, ::-1]
    Image.fromarray(canvas).save(tmp_path / "two.png")
    out = tmp_path / "two.json"
    assert cli("landmarks", tmp_path / "two.png", "-o", out, "--all-faces").exit_code == 0
    faces = load_track(out).frames[0].faces
    assert len(faces) == 2 and faces[0].area >= faces[1].area
    assert cli("landmarks", tmp_path / "two.png", "-o", out).exit_code == 0
    assert len(load_track(out).frames[0].faces) == 1


def test_empty_folder_among_inputs_is_reported_and_skipped(cli, astronaut_path, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no pictures here")
    out = tmp_path / "out"
    res = cli("landmarks", empty, astronaut_path, "-o", out)
    assert res.exit_code == 9, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in res.output
    assert str(empty) in lines[0] and "no images or videos" in lines[0]
    assert "1 of 2 inputs failed (1 written)" in lines[1]
    assert [p.name for p in out.iterdir()] == ["astronaut.landmarks.json"]
    # alone, an empty folder is a plain bad input
    res = cli("landmarks", empty, "-o", out)
    assert res.exit_code == 3 and "no images or videos" in one_error_line(res)


def test_dangling_and_looping_symlinks_are_reported(cli, astronaut_path, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").symlink_to(astronaut_path)
    (src / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(tmp_path / "loop2.jpg")
    (tmp_path / "loop2.jpg").symlink_to(loop)
    res = cli("landmarks", src, "-o", tmp_path / "out")
    assert res.exit_code == 9, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and "gone.jpg: broken or looping symbolic link" in lines[0]
    assert (tmp_path / "out" / "a.landmarks.json").is_file()
    res = cli("landmarks", loop, "-o", tmp_path / "t.json")
    assert res.exit_code == 3 and "symbolic link" in one_error_line(res)


def test_output_names_checked_before_any_work(cli, astronaut_path, tmp_path):
    src = tmp_path / "face.png"
    src.write_bytes(astronaut_path.read_bytes())
    before = src.read_bytes()
    for args in (["--align", tmp_path / "face.xyz"], ["--preview", tmp_path / "noext"],
                 ["--align", src], ["-o", src],
                 ["--align", tmp_path / "same.png", "--preview", tmp_path / "same.png"]):
        res = cli("landmarks", src, "-o", tmp_path / "t.json", *args)
        assert res.exit_code == 2, (args, res.output)
        one_error_line(res)
    # a folder run whose --align folder is the input folder would replace the photos
    res = cli("landmarks", tmp_path, "--align", tmp_path, "-o", tmp_path / "tracks")
    assert res.exit_code == 2 and "one of the inputs" in one_error_line(res)
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.png"]


def test_device_file_is_never_replaced(cli, astronaut_path):
    res = cli("landmarks", astronaut_path, "-o", "/dev/null")
    assert res.exit_code == 7 and "not a regular file" in one_error_line(res)
    assert Path("/dev/null").is_char_device()
