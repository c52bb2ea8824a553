"""Decoding media whose format trips up the decoders: wide-range images, MPEG-TS, cut faststart mp4s and
rotated (phone) videos. Every test checks the pixels against what was written, not only the status."""

import numpy as np
import pytest

from raivtools.media.decode import FrameSpec, MediaError, MediaItem, _open_reader, _probe_size, decode_item
from tests.factories import make_video


def _level(i: int, frames: int) -> float:
    """The brightness make_video gives frame ``i`` (outside its top-left patch)."""
    return 10 + 235 * i / max(frames - 1, 1)


def _bottom_right(frames: np.ndarray) -> np.ndarray:
    """Mean brightness of each frame's bottom-right quarter (make_video's patch is top-left)."""
    height, width = frames.shape[1:3]
    return frames[:, height // 2:, width // 2:].reshape(len(frames), -1).mean(axis=1)


def _remux(source, target, *, options=None, rotation=None):
    """Copies the video packets of ``source`` into ``target`` (faststart, a display rotation) without re-encoding."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w", options=options or {}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    return target


# --- images whose pixels are wider than 8 bits ------------------------------------------------------------

def _gradient(high: float, dtype) -> np.ndarray:
    return np.tile(np.linspace(0, high, 64), (8, 1)).astype(dtype)


@pytest.mark.parametrize("name,pixels,mode", [
    ("g16.png", _gradient(65535, np.uint16), "I;16"),
    ("i32.tiff", _gradient(65535, np.int32), "I"),
    ("f.tiff", _gradient(1.0, np.float32), "F"),
])
def test_wide_grayscale_images_are_scaled_not_clipped(tmp_path, name, pixels, mode):
    from PIL import Image

    image = Image.fromarray(pixels)
    image.save(tmp_path / name)
    assert Image.open(tmp_path / name).mode == mode
    out = decode_item(MediaItem("g", "image", str(tmp_path / name)), FrameSpec(size=0))
    expected = np.rint(np.linspace(0, 255, 64)).astype(np.uint8)
    assert out.frames.shape == (1, 8, 64, 3)
    np.testing.assert_allclose(out.frames[0, 0, :, 0].astype(int), expected, atol=1)
    assert (out.frames[0] == out.frames[0, :, :, :1]).all()  # gray: the three channels agree


def test_float_image_of_unknown_range_is_an_error(tmp_path):
    from PIL import Image

    Image.fromarray(_gradient(1000.0, np.float32)).save(tmp_path / "hdr.tiff")
    with pytest.raises(MediaError, match="unknown range"):
        decode_item(MediaItem("h", "image", str(tmp_path / "hdr.tiff")), FrameSpec(size=0))


# --- MPEG-TS: decord's index is a GOP late and seeking lands off target ------------------------------------

@pytest.mark.parametrize("frames,gop,window", [(96, 24, (0.0, 2.0)), (96, 24, (2.5, 4.0)), (24, None, (0.0, 2.0))])
@pytest.mark.parametrize("decoder", ["auto", "pyav"])
def test_mpegts_frames_match_their_timestamps(tmp_path, frames, gop, window, decoder):
    fps = 24 if gop else 12
    path = make_video(tmp_path / "clip.ts", frames=frames, fps=fps, gop=gop)
    out = decode_item(MediaItem("t", "video", str(path), *window), FrameSpec(frames=4, size=0, decoder=decoder))
    assert out.decoder == "pyav"
    inside = np.arange(round(window[0] * fps), round(window[1] * fps))
    expected = inside[[len(inside) * (2 * k + 1) // 8 for k in range(4)]]  # middle of 4 equal intervals
    np.testing.assert_allclose(out.timestamps, expected / fps, atol=1e-4)
    # each frame is the one its timestamp names
    np.testing.assert_allclose(_bottom_right(out.frames), [_level(i, frames) for i in expected], atol=4)


def test_mpegts_is_refused_by_decord_alone(tmp_path):
    path = make_video(tmp_path / "clip.ts", frames=48, fps=24, gop=24)
    with pytest.raises(MediaError, match="decord cannot decode mpegts"):
        decode_item(MediaItem("t", "video", str(path)), FrameSpec(frames=4, size=0, decoder="decord"))


# --- mp4 with its index at the front, cut short: the index promises frames the file lacks ----------------

@pytest.fixture(scope="module")
def cut_faststart(tmp_path_factory):
    """10 s, keyframe every second, index at the front, cut at 60 %: PyAV's demuxer stops at the cut silently."""
    root = tmp_path_factory.mktemp("cut")
    whole = _remux(make_video(root / "src.mp4", frames=240, fps=24, gop=24), root / "whole.mp4",
                   options={"movflags": "faststart"})
    data = whole.read_bytes()
    (root / "cut.mp4").write_bytes(data[: len(data) * 6 // 10])
    return root


@pytest.mark.parametrize("decoder", ["auto", "decord", "pyav"])
@pytest.mark.parametrize("window", [(0.0, None), (4.0, 8.0), (7.0, 9.0)])
def test_windows_past_the_cut_of_a_faststart_mp4_are_errors(cut_faststart, decoder, window):
    item = MediaItem("c", "video", str(cut_faststart / "cut.mp4"), *window)
    with pytest.raises(MediaError, match="truncated"):
        decode_item(item, FrameSpec(frames=4, size=0, decoder=decoder))


@pytest.mark.parametrize("decoder", ["auto", "pyav"])
def test_window_before_the_cut_still_decodes_and_whole_file_is_fine(cut_faststart, decoder):
    spec = FrameSpec(frames=4, size=0, decoder=decoder)
    early = decode_item(MediaItem("c", "video", str(cut_faststart / "cut.mp4"), 1.0, 3.0), spec)
    np.testing.assert_allclose(early.timestamps, np.array([30, 42, 54, 66]) / 24, atol=1e-4)
    np.testing.assert_allclose(_bottom_right(early.frames), [_level(i, 240) for i in (30, 42, 54, 66)], atol=4)
    whole = decode_item(MediaItem("w", "video", str(cut_faststart / "whole.mp4")), spec)
    assert whole.timestamps[-1] > 8.0


# --- rotated (phone) videos: shown upright, with their own aspect ratio, by both decoders -----------------

@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    """A 64x32 video and copies of it with a display rotation of 90, 180 and 270 degrees (counterclockwise)."""
    root = tmp_path_factory.mktemp("rot")
    source = make_video(root / "src.mp4", frames=12, fps=12, size=(64, 32))
    for degrees in (90, 180, 270):
        _remux(source, root / f"rot{degrees}.mp4", rotation=degrees)
    return root


@pytest.mark.parametrize("degrees", [90, 180, 270])
@pytest.mark.parametrize("decoder", ["decord", "pyav"])
def test_rotated_video_is_turned_upright(rotated, degrees, decoder):
    spec = FrameSpec(frames=2, size=0, decoder=decoder)
    upright = decode_item(MediaItem("s", "video", str(rotated / "src.mp4")), spec).frames
    out = decode_item(MediaItem("r", "video", str(rotated / f"rot{degrees}.mp4")), spec).frames
    np.testing.assert_array_equal(out, np.rot90(upright, degrees // 90, axes=(1, 2)))
    assert _probe_size(str(rotated / f"rot{degrees}.mp4")) == out.shape[1:3]


@pytest.mark.parametrize("decoder", ["decord", "pyav"])
@pytest.mark.parametrize("keep_aspect,shape", [(True, (32, 16)), (False, (16, 16))])
def test_rotated_video_scaled_keeps_its_shape(rotated, decoder, keep_aspect, shape):
    _open_reader.close()
    spec = FrameSpec(frames=1, size=16, keep_aspect=keep_aspect, decoder=decoder)
    out = decode_item(MediaItem("r", "video", str(rotated / "rot90.mp4")), spec).frames[0].astype(int)
    assert out.shape == (*shape, 3)
    # the same picture as the full-size upright frame resized: not squashed, not garbage
    full = decode_item(MediaItem("r", "video", str(rotated / "rot90.mp4")), FrameSpec(frames=1, size=0)).frames
    from raivtools.media.transform import resize_frames

    expected = resize_frames(full, 16, keep_aspect)[0].astype(int)
    assert np.abs(out - expected).mean() < 4


def test_pyav_falls_back_to_decoding_from_the_start_when_a_seek_overshoots(tmp_path, monkeypatch):
    # a TS file not recognised as one: seeking lands after the wanted frames, which the decoded pts reveal
    from raivtools.media import decode

    monkeypatch.setattr(decode, "_sequential", lambda container: "")
    decode._read_header.cache_clear()
    path = make_video(tmp_path / "unflagged.ts", frames=96, fps=24, gop=24)
    out = decode_item(MediaItem("t", "video", str(path), 0.0, 2.0), FrameSpec(frames=4, size=0, decoder="pyav"))
    expected = np.array([6, 18, 30, 42])
    np.testing.assert_allclose(out.timestamps, expected / 24, atol=1e-4)
    np.testing.assert_allclose(_bottom_right(out.frames), [_level(i, 96) for i in expected], atol=4)
    decode._read_header.cache_clear()


# --- AVI with B-frames: the container has no pts, FFmpeg guesses them (in decode order for h264) ----------

def _avi(path, codec, frames=48, fps=12):
    """An AVI whose frame ``i`` has brightness ``_level(i, frames)``, with B-frames."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options={"bf": "2"} if codec == "mpeg4" else {})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = 12
        for i in range(frames):
            image = np.full((48, 64, 3), round(_level(i, frames)), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("codec", ["mpeg4", "libx264"])
@pytest.mark.parametrize("decoder", ["auto", "pyav"])
def test_avi_with_b_frames_gives_each_frame_under_its_own_timestamp(tmp_path, codec, decoder):
    _open_reader.close()
    path = str(_avi(tmp_path / "clip.avi", codec))
    # every frame, in the order they are shown: the k-th has the k-th level and the k-th timestamp
    spec = FrameSpec(frames=48, size=0, sampling="uniform", decoder=decoder)
    whole = decode_item(MediaItem("a", "video", path), spec)
    assert np.all(np.diff(whole.timestamps) > 0)
    np.testing.assert_allclose(_bottom_right(whole.frames), [_level(i, 48) for i in range(48)], atol=6)
    for window in [(0.25, 0.5), (1.0, 3.0), (2.5, 3.9)]:
        out = decode_item(MediaItem("a", "video", path, *window), FrameSpec(frames=4, size=0, decoder=decoder))
        shown = np.searchsorted(whole.timestamps, out.timestamps)
        np.testing.assert_allclose(_bottom_right(out.frames), _bottom_right(whole.frames[shown]), atol=1)


def test_avi_with_b_frames_is_refused_by_decord_alone(tmp_path):
    # decord gives such frames FFmpeg's no-pts marker as timestamp, and its seeks land on other frames
    path = str(_avi(tmp_path / "clip.avi", "mpeg4"))
    with pytest.raises(MediaError, match="decord cannot decode: .*timestamps"):
        decode_item(MediaItem("a", "video", path, 1.0, 3.0), FrameSpec(frames=4, size=0, decoder="decord"))
