"""Video input: frames through imageio-ffmpeg, fps, --every, one track per video."""

from __future__ import annotations

import numpy as np
import pytest

from emoget_cli.core.errors import InputError, UsageError
from emoget_cli.core.track import load_track
from emoget_cli.face import is_video, read_video_frames

SHIFT = 6  # pixels the face moves right per frame


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory, astronaut_rgb):
    import imageio.v2 as iio

    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    frames = [np.roll(astronaut_rgb, SHIFT * i, axis=1) for i in range(6)]
    with iio.get_writer(str(path), format="ffmpeg", fps=10, codec="libx264", quality=8,
                        macro_block_size=16, ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(frame)
    return path


def test_read_video_frames(clip_path):
    video = read_video_frames(clip_path)
    assert video.fps == pytest.approx(10.0)
    assert video.size == (512, 512)
    frames = list(video)
    assert [i for i, _ in frames] == list(range(6))
    assert frames[0][1].shape == (512, 512, 3) and frames[0][1].dtype == np.uint8
    assert [i for i, _ in read_video_frames(clip_path, every=2)] == [0, 2, 4]
    assert is_video(clip_path) and not is_video("face.png")


def test_bad_videos(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video at all" * 50)
    with pytest.raises(InputError):
        list(read_video_frames(junk))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError):
        read_video_frames(empty)
    with pytest.raises(InputError):
        read_video_frames(tmp_path / "missing.mp4")
    with pytest.raises(UsageError):
        read_video_frames(junk, every=0)


def test_cli_video_track_follows_motion(cli, clip_path, tmp_path):
    out = tmp_path / "clip.landmarks.json"
    res = cli("landmarks", clip_path, "-o", out, "--every", "2", "--preview", tmp_path / "p.png")
    assert res.exit_code == 0, res.output
    track = load_track(out)
    assert track.fps == pytest.approx(10.0)
    assert track.image_size == (512, 512)
    assert [f.index for f in track.frames] == [0, 2, 4]
    pts = track.points_array()                       # [3, 68, 2]
    dx = np.diff(pts[:, 30:48, 0].mean(1))           # nose + eyes move with the picture
    np.testing.assert_allclose(dx, 2 * SHIFT, atol=2.0)
    assert (tmp_path / "p.png").is_file()


def test_cli_unreadable_video(cli, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    out = tmp_path / "junk.landmarks.json"
    res = cli("landmarks", junk, "-o", out)
    assert res.exit_code == 3
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not out.exists()


def test_oversized_video_frames_are_refused(clip_path, monkeypatch):
    from emoget_cli.face import video

    monkeypatch.setattr(video, "MAX_PIXELS", 512 * 512 - 1)
    with pytest.raises(InputError, match="too large"):
        read_video_frames(clip_path)
