"""`emoget make` end to end on the real astronaut: every classic style × the seed's three
expressions, --pack, batch with bad files, --sample, --keep-intermediate."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

EXPRS = ("happiness", "surprise", "disgust")
FRAMES, FPS, SIZE = 8, 10.0, 160


def _read_gif(path):
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        loop = im.info.get("loop")
        frames, durations = [], []
        for fr in ImageSequence.Iterator(im):
            durations.append(fr.info.get("duration", 0))
            frames.append(np.asarray(fr.convert("RGB")))
    return frames, durations, loop


@pytest.fixture(scope="module")
def photo_embedding(astronaut_rgb):
    from emoget_cli.face import align_face, detect_faces, face_embedding

    face = detect_faces(astronaut_rgb, backend="dlib")[0]
    rgb, info = align_face(astronaut_rgb, face.points, size=SIZE)
    return face_embedding(rgb, info.points)


@pytest.fixture(scope="module")
def made(astronaut_path, tmp_path_factory):
    """One make run per style, each with the three expressions (a folder of 3 GIFs)."""
    from typer.testing import CliRunner

    from emoget_cli.cli.app import app

    out = {}
    for style in ("baby", "cartoon", "painting"):
        folder = tmp_path_factory.mktemp(style)
        res = CliRunner().invoke(app, ["make", str(astronaut_path), "--style", style, "--expr",
                                       ",".join(EXPRS), "--frames", str(FRAMES), "--fps", str(FPS),
                                       "--size", str(SIZE), "-o", str(folder), "--json"])
        out[style] = (res, folder)
    return out


@pytest.mark.parametrize("style", ["baby", "cartoon", "painting"])
def test_every_style_and_expression(made, style, photo_embedding):
    from emoget_cli.face import detect_faces, face_distance, face_embedding

    res, folder = made[style]
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)["results"][0]
    assert report["ok"] and report["engine"] == "classic" and report["landmarks"] == "moved"
    assert report["n_frames"] == FRAMES
    for expr in EXPRS:
        path = folder / f"astronaut-{expr}.gif"
        frames, durations, loop = _read_gif(path)
        assert loop == 0  # loops forever
        # Pillow merges identical consecutive frames: the total duration tells the frame count
        assert abs(sum(durations) - FRAMES * 1000 / FPS) <= FRAMES * 10
        assert 2 <= len(frames) <= FRAMES and frames[0].shape == (SIZE, SIZE, 3)
        # seamless loop: the last → first step is no larger than the largest inner step
        steps = [np.abs(frames[i + 1].astype(int) - frames[i]).mean() for i in range(len(frames) - 1)]
        closing = np.abs(frames[0].astype(int) - frames[-1]).mean()
        assert closing <= max(steps) + 1.0
        # the styled face is still a face, and still the same person
        face = detect_faces(frames[0], backend="dlib")[0]
        dist = face_distance(photo_embedding, face_embedding(frames[0], face.points))
        assert dist < 0.6, f"{style}/{expr}: identity distance {dist:.3f}"
        # the animation moves (the expression happens)
        assert max(steps) > 0.5


def test_pack_writes_each_expression_a_sheet_and_a_zip(cli, astronaut_path, tmp_path):
    out = tmp_path / "pack"
    res = cli("make", astronaut_path, "--style", "baby", "--pack", "--expr", "happiness,wink",
              "--preset", "discord", "--frames", 6, "--size", 128, "-o", out, "--json")
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)["results"][0]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["astronaut-discord.zip", "astronaut-happiness.gif", "astronaut-manifest.json",
                     "astronaut-sheet.png", "astronaut-wink.gif"]
    with zipfile.ZipFile(out / "astronaut-discord.zip") as zf:
        assert sorted(zf.namelist()) == ["astronaut-happiness.gif", "astronaut-wink.gif"]
        assert zf.testzip() is None
    for gif in ("astronaut-happiness.gif", "astronaut-wink.gif"):
        assert (out / gif).stat().st_size <= 256 * 1024  # discord's limit
        frames, _, _ = _read_gif(out / gif)
        assert frames[0].shape[:2] == (128, 128)
    from emoget_cli.core.image_io import read_image

    sheet = read_image(out / "astronaut-sheet.png").rgb
    assert sheet.shape[1] == 2 * 128 and sheet.shape[0] > 128
    assert r["sheet"].endswith("astronaut-sheet.png")


def test_batch_with_bad_files_exit_9(cli, astronaut_path, tmp_path):
    import shutil

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(astronaut_path, src / "good.png")
    (src / "empty.jpg").write_bytes(b"")
    from PIL import Image

    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(src / "noface.png")
    out = tmp_path / "out"
    res = cli("make", src, "--style", "painting", "--frames", 4, "--size", 96, "-o", out,
              "--jobs", 2, "--json")
    assert res.exit_code == 9, res.output
    report = json.loads(res.stdout)
    by_name = {r["input"].split("/")[-1]: r for r in report["results"]}
    assert by_name["good.png"]["ok"] and by_name["good.png"]["exit_code"] == 0
    assert by_name["empty.jpg"]["exit_code"] == 3 and "empty" in by_name["empty.jpg"]["error"]
    assert by_name["noface.png"]["exit_code"] == 4
    # nothing for the bad ones; the batch's resume ledger records the good one
    assert sorted(p.name for p in out.iterdir()) == [".emoget-make.jsonl", "good.gif"]
    assert "2 of 3 inputs failed" in res.stderr
    # each failure is one line naming its file once (errors already carry the path)
    lines = res.stderr.strip().splitlines()
    empty_lines = [ln for ln in lines if "empty.jpg" in ln]
    assert len(empty_lines) == 1 and empty_lines[0].count("empty.jpg") == 1, res.stderr
    # --quiet still reports which inputs failed
    res = cli("make", src / "empty.jpg", src / "noface.png", "-o", tmp_path / "q", "-q")
    assert res.exit_code == 9 and res.stdout == ""
    assert "empty.jpg" in res.stderr and "noface.png" in res.stderr


def test_single_bad_input_keeps_its_exit_code(cli, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    res = cli("make", bad, "-o", tmp_path / "x.gif")
    assert res.exit_code == 3 and "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.gif").exists()


def test_sample_and_intermediates_rerun_by_hand(cli, tmp_path):
    from emoget_cli.core.track import load_track

    inter = tmp_path / "inter"
    res = cli("make", "--sample", "-o", tmp_path / "out.gif", "--size", 128, "--frames", 6,
              "--expr", "surprise", "--keep-intermediate", inter)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out.gif").stat().st_size > 1000
    names = {p.name for p in inter.iterdir()}
    assert {"aligned.png", "aligned.landmarks.json", "styled.png", "styled.landmarks.json",
            "motion-surprise.landmarks.json", "make.json"} <= names
    assert load_track(inter / "aligned.landmarks.json").aligned.size == 128
    motion = load_track(inter / "motion-surprise.landmarks.json")
    assert len(motion.frames) == 6
    # the styled face + its landmarks re-run through `animate` by hand
    res = cli("animate", inter / "styled.png", "--landmarks", inter / "styled.landmarks.json",
              "--expr", "surprise", "--frames", 6, "-o", tmp_path / "again.gif")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("args, code, match", [
    (["--expr", "giggle"], 2, "giggle"),
    (["--style", "nope"], 2, "unknown style"),
    (["--engine", "gan"], 8, "no generator checkpoint"),
    (["--preset", "myspace"], 2, "myspace"),
    (["--size", "8"], 2, "--size"),
])
def test_bad_options_fail_before_work(cli, astronaut_path, tmp_path, args, code, match):
    res = cli("make", astronaut_path, "-o", tmp_path / "o.gif", *args)
    assert res.exit_code == code, res.output
    assert match in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_output_never_replaces_the_input(cli, astronaut_path, tmp_path):
    import shutil

    src = tmp_path / "me.png"
    shutil.copy(astronaut_path, src)
    before = src.read_bytes()
    res = cli("make", src, "-o", src)  # APNG by suffix: would replace the selfie
    assert res.exit_code == 2 and "would overwrite the input" in res.stderr, res.output
    assert src.read_bytes() == before


def test_trailing_slash_output_is_a_folder(cli, astronaut_path, tmp_path):
    out = tmp_path / "stickers"
    res = cli("make", astronaut_path, "--preset", "slack", "-o", f"{out}/", "--dry-run", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["config"]["output_is_folder"] is True
    assert not out.exists()  # dry run


def test_output_collisions_fail_before_the_work(cli, astronaut_path, tmp_path):
    out = tmp_path / "pack"
    (out / "astronaut-pack.zip").mkdir(parents=True)
    res = cli("make", astronaut_path, "--pack", "--expr", "wink", "-o", out, "--json")
    assert res.exit_code == 7 and "is a folder" in res.stderr, res.output
    assert res.stdout.strip() == ""  # refused by the output check, before any input is read
    assert [p.name for p in out.iterdir()] == ["astronaut-pack.zip"]
    res = cli("make", astronaut_path, "--background", "transparent", "-o", tmp_path / "t.mp4")
    assert res.exit_code == 2 and "MP4 has no alpha" in res.stderr
    (tmp_path / "afile").write_text("x")
    res = cli("make", astronaut_path, "--keep-intermediate", tmp_path / "afile", "-o", tmp_path / "k.gif")
    assert res.exit_code == 2 and "must be a folder" in res.stderr
    assert not (tmp_path / "k.gif").exists()


def test_failing_intermediates_leave_nothing(cli, tmp_path):
    inter = tmp_path / "inter"
    (inter / "styled.png").mkdir(parents=True)  # the styled image cannot be written
    res = cli("make", "--sample", "--size", 64, "--frames", 2, "--keep-intermediate", inter,
              "-o", tmp_path / "x.gif")
    assert res.exit_code == 7 and "Traceback" not in res.output, res.output
    assert len(res.stderr.strip().splitlines()) == 1
    assert [p.name for p in inter.iterdir()] == ["styled.png"]  # aligned.* removed again
    assert not (tmp_path / "x.gif").exists()
    (tmp_path / "afile").write_text("x")
    res = cli("make", "--sample", "--size", 64, "--frames", 2, "--keep-intermediate",
              tmp_path / "afile" / "sub", "-o", tmp_path / "y.gif")
    assert res.exit_code == 7 and "Traceback" not in res.output, res.output
    assert not (tmp_path / "y.gif").exists()
