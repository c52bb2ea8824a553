import os
import shutil

import numpy as np
import pytest

from raivtools.media.decode import FrameSpec, MediaError, MediaItem, _open_reader, _probe_size, decode_item
from tests.factories import make_video


def _brightness(frames):
    return frames.reshape(len(frames), -1).mean(axis=1)


@pytest.mark.parametrize("decoder", ["decord", "pyav", "auto"])
def test_real_mp4_window(media_dir, decoder):
    item = MediaItem("clip", "video", str(media_dir / "clip.mp4"), 1.0, 3.0)
    out = decode_item(item, FrameSpec(frames=4, size=32, decoder=decoder))
    assert out.frames.shape == (4, 32, 32, 3) and out.frames.dtype == np.uint8
    # 12 fps, window [1, 3) holds frames 12..35; middle of 4 intervals of 6 frames: 15, 21, 27, 33
    assert np.allclose(out.timestamps, np.array([15, 21, 27, 33]) / 12, atol=1e-4)
    assert np.all(np.diff(_brightness(out.frames)) > 0)  # brightness grows with time


def test_decord_and_pyav_give_the_same_frames(media_dir):
    item = MediaItem("clip", "video", str(media_dir / "clip.mp4"))
    a = decode_item(item, FrameSpec(frames=4, size=0, decoder="decord"))
    b = decode_item(item, FrameSpec(frames=4, size=0, decoder="pyav"))
    assert np.array_equal(a.timestamps, b.timestamps)
    assert np.abs(a.frames.astype(int) - b.frames.astype(int)).mean() < 2.0


def test_image_is_one_frame(media_dir):
    out = decode_item(MediaItem("p", "image", str(media_dir / "photo.png")), FrameSpec(size=16))
    assert out.frames.shape == (1, 16, 16, 3) and out.timestamps.tolist() == [0.0]
    assert out.frames[0, 0, 0].tolist() == [200, 30, 30]


def test_unicode_path_and_keep_aspect(media_dir):
    item = MediaItem("u", "video", str(media_dir / "vidéo 视频.mp4"))
    out = decode_item(item, FrameSpec(frames=3, size=24, keep_aspect=True))
    assert out.frames.shape == (3, 32, 24, 3)


@pytest.mark.parametrize("name,message", [
    ("missing.mp4", "no such file"),
    ("empty.mp4", "empty file"),
    ("garbage.mp4", "cannot open video"),
    ("truncated.mp4", "cannot open video"),
])
def test_broken_videos_raise_media_error(media_dir, name, message):
    with pytest.raises(MediaError, match=message):
        decode_item(MediaItem("x", "video", str(media_dir / name)), FrameSpec())


def test_broken_image(media_dir):
    with pytest.raises(MediaError, match="cannot read image"):
        decode_item(MediaItem("x", "image", str(media_dir / "broken.png")), FrameSpec())


def test_partial_file_decodes_what_is_there_and_refuses_what_is_not(tmp_path):
    """Index at the front, data cut at 2/3: the header promises 48 frames, far fewer decode."""
    import av

    source = make_video(tmp_path / "src.mp4", frames=48, fps=12)
    faststart = tmp_path / "faststart.mp4"
    with av.open(str(source)) as src, av.open(str(faststart), "w", options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    data = faststart.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    early = decode_item(MediaItem("c", "video", str(cut), 0.0, 1.0), FrameSpec(frames=4, size=0))
    assert early.timestamps.max() < 1.0 and early.frames.shape[0] == 4
    with pytest.raises(MediaError, match="truncated"):
        decode_item(MediaItem("c", "video", str(cut)), FrameSpec(frames=4, size=0))
    # decord failed past the cut: the window before it still decodes, from a reader opened afresh
    again = decode_item(MediaItem("c", "video", str(cut), 0.0, 1.0), FrameSpec(frames=4, size=0))
    np.testing.assert_array_equal(again.frames, early.frames)


def test_window_outside_the_video(media_dir):
    with pytest.raises(MediaError, match="no frame in window"):
        decode_item(MediaItem("x", "video", str(media_dir / "clip.mp4"), 10.0, 12.0), FrameSpec())


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_size_probe_reads_common_containers(tmp_path, suffix, monkeypatch):
    import av

    path = make_video(tmp_path / f"vidéo{suffix}", size=(80, 48))
    assert _probe_size(str(path)) == (48, 80)
    # where the quick header-only probe fails, the full probe still gives the size
    real_open = av.open

    def quick_probe_fails(file, *args, options=None, **kwargs):
        if options:
            raise OSError("quick probe refused")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(av, "open", quick_probe_fails)
    other = make_video(tmp_path / f"other{suffix}", size=(64, 96))
    assert _probe_size(str(other)) == (96, 64)


def test_size_probe_is_cached_per_file_version(tmp_path, monkeypatch, media_dir):
    import av

    path = make_video(tmp_path / "v.mp4", size=(80, 48))
    assert _probe_size(str(path)) == (48, 80)

    def no_open(*args, **kwargs):
        raise AssertionError("probed twice")

    monkeypatch.setattr(av, "open", no_open)
    assert _probe_size(str(path)) == (48, 80)
    monkeypatch.undo()
    make_video(path, size=(64, 96))  # the same path, another file
    assert _probe_size(str(path)) == (96, 64)
    assert _probe_size(str(media_dir / "garbage.mp4")) == (-1, -1)
    assert _probe_size(str(tmp_path / "missing.mp4")) == (-1, -1)


def _fresh(item: MediaItem, spec: FrameSpec):
    """What a worker that never decoded this video before gives."""
    _open_reader.close()
    return decode_item(item, spec)


@pytest.mark.parametrize("spec", [FrameSpec(frames=4, size=0, decoder="decord"),
                                  FrameSpec(frames=3, size=24, sampling="random", decoder="decord", threads=2)])
def test_windows_through_the_reader_kept_open_match_a_fresh_reader(tmp_path, spec):
    # several keyframes (every 12 frames) and B-frames: a reader kept open decodes on from the last window,
    # forward or back, where a fresh one seeks; the frames must not differ
    path = str(make_video(tmp_path / "vidéo.mp4", frames=96, fps=12, gop=12))
    windows = [(0, 2), (2, 4), (4, 6), (6, 8), (1, 3), (0.5, 7.5), (3, 5)]
    expected = [_fresh(MediaItem(f"w{i}", "video", path, *w), spec) for i, w in enumerate(windows)]
    _open_reader.close()
    for i, window in enumerate(windows):
        got = decode_item(MediaItem(f"w{i}", "video", path, *window), spec)
        np.testing.assert_array_equal(got.frames, expected[i].frames)
        np.testing.assert_array_equal(got.timestamps, expected[i].timestamps)


def test_a_video_rewritten_in_place_is_opened_again(tmp_path):
    path = tmp_path / "v.mp4"
    make_video(path, frames=24, fps=12)
    spec = FrameSpec(frames=2, size=0)
    first = decode_item(MediaItem("a", "video", str(path)), spec)
    make_video(path, frames=48, fps=12, size=(80, 48))  # same path, another video
    second = decode_item(MediaItem("a", "video", str(path)), spec)
    assert first.frames.shape[1:3] == (48, 64) and second.frames.shape[1:3] == (48, 80)
    assert second.timestamps[-1] > first.timestamps[-1]


def test_a_failed_window_does_not_spoil_the_next_one(tmp_path, media_dir):
    # an empty window, then a window past the end of a cut file: the windows after them still decode
    path = str(media_dir / "clip.mp4")
    spec = FrameSpec(frames=4, size=0)
    before = _fresh(MediaItem("a", "video", path, 0.0, 2.0), spec)
    with pytest.raises(MediaError, match="no frame in window"):
        decode_item(MediaItem("x", "video", path, 10.0, 12.0), spec)
    np.testing.assert_array_equal(decode_item(MediaItem("a", "video", path, 0.0, 2.0), spec).frames, before.frames)
    with pytest.raises(MediaError):
        decode_item(MediaItem("t", "video", str(media_dir / "truncated.mp4")), spec)
    np.testing.assert_array_equal(decode_item(MediaItem("a", "video", path, 0.0, 2.0), spec).frames, before.frames)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_frames_on_a_window_edge_late_in_a_video_are_placed_alike_by_both_decoders(tmp_path, suffix):
    # decord's timestamps are float32: 40.1 s came out as 40.0999985, so its window [40.1, 42.1) lost the
    # frame at its start and took the one at its end, where PyAV's did not
    import av
    from fractions import Fraction

    path = tmp_path / f"late{suffix}"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        for i, pts in enumerate([0, 400, 401, 402, 420, 421]):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 + 40 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 10)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    item = MediaItem("late", "video", str(path), 40.1, 42.1)
    for decoder in ("decord", "pyav"):
        out = _fresh(item, FrameSpec(frames=2, size=0, sampling="uniform", decoder=decoder))
        np.testing.assert_array_equal(out.timestamps, np.float32([40.1, 42.0]))
        np.testing.assert_allclose(_brightness(out.frames), [100, 180], atol=4)
