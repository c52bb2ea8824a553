"""One media item -> ``K`` sampled RGB frames and their timestamps.

Videos are decoded with decord first and PyAV as the fallback (``decoder="auto"``), or with one of them.
Which frames exist is learnt from the stream itself (decord's packet index, PyAV's demuxed packets and
decoded frames), never from the frame count a container header claims: headers over-report, and decord's
``get_batch`` can loop forever on such files, which is why this runs in a worker with a timeout
(:mod:`raivtools.media.pool`). Images are one-frame videos.

Every per-item problem (missing, empty, garbage, truncated file, empty window) raises :class:`MediaError`
with a message meant for the record's ``error`` field.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass

import numpy as np

from raivtools.media.sampling import SAMPLING_MODES, frames_in_window, sample_positions
from raivtools.media.transform import resize_frames, scaled_shape
from raivtools.seeding import rng_for

DECODERS = ("auto", "decord", "pyav")


class MediaError(Exception):
    """A per-record media problem; its message goes into the record's ``error`` field."""


@dataclass(frozen=True)
class FrameSpec:
    """How to turn one media item into frames (the same for every item of a run)."""

    frames: int = 4  # K: frames kept per video (images always give one)
    sampling: str = "middle"  # uniform | middle | random, over K equal intervals of the window
    size: int = 224  # short side after resizing; 0 keeps the decoded size
    keep_aspect: bool = False  # resize the short side only, no centre crop
    decoder: str = "auto"  # auto (decord, then PyAV) | decord | pyav
    seed: int = 0  # seeds random sampling, together with the record id
    threads: int = 1  # decoder threads inside one worker

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError("frames must be at least 1")
        if self.sampling not in SAMPLING_MODES:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLING_MODES)}")
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}")


@dataclass(frozen=True)
class MediaItem:
    """One media reference taken from a record."""

    record_id: str  # the record's id (keys the random sampling and the store)
    kind: str  # "video" or "image"
    path: str  # file to decode
    start: float = 0.0  # window start in seconds (videos)
    end: float | None = None  # window end in seconds, None for the end of the video


@dataclass
class DecodedFrames:
    """What one item decodes to."""

    frames: np.ndarray  # uint8 [K,H,W,3] RGB
    timestamps: np.ndarray  # float32 [K], seconds from the start of the video
    decoder: str  # which decoder produced the frames ("decord", "pyav" or "pil")


def decode_item(item: MediaItem, spec: FrameSpec) -> DecodedFrames:
    """Decodes, samples and resizes one item.

    Raises:
        MediaError: the file is missing, empty, not decodable, truncated before the window, or the window
            holds no frame.
    """
    check_file(item.path)
    if item.kind == "image":
        decoded = _decode_image(item.path)
    else:
        decoded = _decode_video(item, spec)
    decoded.frames = resize_frames(decoded.frames, spec.size, spec.keep_aspect)
    return decoded


def decode_task(task: tuple[MediaItem, FrameSpec]) -> DecodedFrames:
    """The function worker processes run (one picklable argument)."""
    return decode_item(*task)


def quiet_decoders() -> None:
    """Silences FFmpeg's and decord's own log lines in this worker process (errors reach the record instead).

    decord logs through its own C++ logger straight to file descriptor 2, so the worker's stderr is sent to
    /dev/null; set ``RAIV_DECODER_LOG=1`` to see it while debugging.
    """
    if os.environ.get("RAIV_DECODER_LOG", "") in ("", "0"):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    try:
        import av.logging

        av.logging.set_level(av.logging.PANIC)
    except Exception:  # a missing or changed PyAV must not stop the worker from starting
        pass
    try:
        import decord.logging

        decord.logging.set_level(decord.logging.QUIET)
    except Exception:
        pass


def check_file(path: str) -> None:
    """Raises :class:`MediaError` for a missing path, a directory or an empty regular file.

    Special files (a FIFO, a device) are left to the decoder: they may be streams.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise MediaError(f"no such file: {path}") from None
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise MediaError(f"is a directory, not a media file: {path}")
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        raise MediaError(f"empty file (0 bytes): {path}")


def _decode_image(path: str) -> DecodedFrames:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            pixels = np.asarray(image)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"cannot read image: {_short(exc)}") from None
    return DecodedFrames(pixels[None].copy(), np.zeros(1, np.float32), "pil")


def _decode_video(item: MediaItem, spec: FrameSpec) -> DecodedFrames:
    rng = rng_for(spec.seed, "frames", item.record_id) if spec.sampling == "random" else None
    if spec.decoder in ("auto", "decord"):
        try:
            return _decode_decord(item, spec, rng)
        except MediaError:
            raise
        except Exception as exc:
            if spec.decoder == "decord":
                raise MediaError(f"decord cannot decode: {_short(exc)}") from None
            # auto: PyAV decodes what decord refuses (e.g. a partial file whose index is at the front)
            if rng is not None:
                rng = rng_for(spec.seed, "frames", item.record_id)
    return _decode_pyav(item, spec, rng)


def _choose(times: np.ndarray, item: MediaItem, spec: FrameSpec, rng: np.random.Generator | None) -> np.ndarray:
    """Frame positions (into ``times``) to keep, or a MediaError when the window holds none."""
    inside = frames_in_window(times, item.start, item.end)
    if inside.size == 0:
        span = f"{times[0]:.2f}-{times[-1]:.2f} s" if times.size else "no frames"
        end = "end" if item.end is None else f"{item.end:g}"
        raise MediaError(f"no frame in window [{item.start:g}, {end}) s; the video has {span}")
    return inside[sample_positions(inside.size, spec.frames, spec.sampling, rng)]


def _decode_decord(item: MediaItem, spec: FrameSpec, rng: np.random.Generator | None) -> DecodedFrames:
    # scaling inside the decoder (swscale, straight from YUV) is much cheaper than resizing RGB frames after
    height, width = _probe_size(item.path) if spec.size > 0 else (-1, -1)
    if height > 0:
        height, width = scaled_shape(height, width, spec.size, spec.keep_aspect)
    reader, times = _open_reader.open(item.path, spec.threads, height, width)
    chosen = _choose(times, item, spec, rng)
    unique, inverse = np.unique(chosen, return_inverse=True)
    try:
        frames = reader.get_batch(unique.tolist()).asnumpy()
    except BaseException:
        # a reader that failed may be left mid-packet: the next window opens the file afresh
        _open_reader.close()
        raise
    if len(unique) != len(chosen):  # a short window repeats frames; copy only then
        frames = frames[inverse]
    return DecodedFrames(frames, times[chosen].astype(np.float32), "decord")


class _OpenReader:
    """The decord reader of the last video decoded, kept open for the next window of the same video.

    Windows of one video usually follow each other (VidSitu's five events of a clip), and a worker gets them
    in a row (``decode_affinity``). Opening a reader reads the container's whole packet index, and a fresh
    reader must decode again from the keyframe before the window, where the open one decodes on from the
    previous window: on the benchmark's clips, in order, a bare decord loop that keeps its reader spends
    1.4-1.6x less CPU per clip than one that reopens (``benchmarks/extract_frames_speed.py``, its "reader kept
    per video" row). Frames are the same as a fresh reader's. The key holds the file's
    size, inode and modification time, so a file rewritten in place is opened again.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._reader = None
        self._times: np.ndarray | None = None

    def open(self, path: str, threads: int, height: int, width: int):
        """(reader, timestamps in seconds of every frame) for this file and output size."""
        import decord

        info = os.stat(path)
        key = (path, info.st_mtime_ns, info.st_size, info.st_ino, threads, height, width)
        if key != self._key:
            self.close()
            reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=threads, width=width, height=height)
            # timestamps come from decord's index of the packets actually read, not from the header count
            self._times = reader.get_frame_timestamp(np.arange(len(reader)))[:, 0].astype(np.float64)
            self._reader, self._key = reader, key
        return self._reader, self._times

    def close(self) -> None:
        """Frees the reader (decord's memory is released with it)."""
        self._key = self._reader = self._times = None


_open_reader = _OpenReader()


def decode_affinity(task: tuple[MediaItem, FrameSpec]) -> str | None:
    """What the pool keeps on one worker: the video file, so that its windows meet the reader kept open."""
    item = task[0]
    return item.path if item.kind == "video" else None


def _probe_size(path: str) -> tuple[int, int]:
    """(height, width) of the first video stream from the container header, or (-1, -1) when unknown; cached
    per file version, because the windows of one video usually come one after another."""
    try:
        info = os.stat(path)
    except OSError:
        return -1, -1
    return _header_size(path, info.st_mtime_ns, info.st_size)


# FFmpeg's default probe decodes frames to guess stream parameters (12.6 ms for a 720p mp4, an eighth of
# decoding its 4 frames); the header of an mp4 or mkv already has the size, so a tiny probe is tried first
_QUICK_PROBE = {"probesize": "32", "analyzeduration": "0"}


@functools.lru_cache(maxsize=256)
def _header_size(path: str, mtime_ns: int, size: int) -> tuple[int, int]:
    import av

    for options in (_QUICK_PROBE, None):
        try:
            with av.open(path, options=options) as container:
                context = container.streams.video[0].codec_context
                if context.height and context.width:
                    return context.height, context.width
        except (av.FFmpegError, OSError, IndexError, ValueError):
            continue
    return -1, -1


def _decode_pyav(item: MediaItem, spec: FrameSpec, rng: np.random.Generator | None) -> DecodedFrames:
    import av

    try:
        container = av.open(item.path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"cannot open video: {_short(exc)}") from None
    with container:
        if not container.streams.video:
            raise MediaError("no video stream in file")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = spec.threads
        context = stream.codec_context
        scaled = scaled_shape(context.height, context.width, spec.size, spec.keep_aspect) \
            if spec.size > 0 and context.height and context.width else None
        offset = stream.start_time or 0
        base = float(stream.time_base)
        fps = float(stream.average_rate or 25)
        packet_pts, failure = _demux_pts(container, stream)
        times = (np.asarray(packet_pts, np.float64) - offset) * base
        if times.size:
            _refuse_truncated(times, item, failure, fps)
            chosen = _choose(times, item, spec, rng)
            wanted = sorted({packet_pts[i] for i in chosen.tolist()})
            found, decoded_pts, failure = _decode_wanted(container, stream, wanted, set(wanted), scaled)
            if len(found) == len(wanted):
                frames = np.stack([found[packet_pts[i]] for i in chosen.tolist()])
                return DecodedFrames(frames, times[chosen].astype(np.float32), "pyav")
        # the stream decodes fewer frames than its packets promise: sample from what decodes
        decoded_pts, failure = _decodable_pts(container, stream, item, base, offset)
        times = (np.asarray(decoded_pts, np.float64) - offset) * base
        if times.size == 0:
            raise MediaError(f"no frame decodes{': ' + failure if failure else ''}")
        _refuse_truncated(times, item, failure, fps)
        chosen = _choose(times, item, spec, rng)
        wanted = sorted({decoded_pts[i] for i in chosen.tolist()})
        found, _, _ = _decode_wanted(container, stream, wanted, set(wanted), scaled)
        if len(found) < len(wanted):
            raise MediaError(f"decoding is not repeatable (truncated or corrupt file){': ' + failure if failure else ''}")
        frames = np.stack([found[decoded_pts[i]] for i in chosen.tolist()])
        return DecodedFrames(frames, times[chosen].astype(np.float32), "pyav")


def _demux_pts(container, stream) -> tuple[list[int], str]:
    """Presentation times of the stream's packets, ascending (no decoding), and the read error if any."""
    import av

    pts: list[int] = []
    failure = ""
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                pts.append(packet.pts)
    except av.FFmpegError as exc:
        failure = _short(exc)
    return sorted(pts), failure


def _decode_wanted(container, stream, wanted: list[int], wanted_set: set[int], scaled: tuple[int, int] | None):
    """Decodes from the keyframe before ``wanted[0]`` and converts only the wanted frames to RGB.

    Returns:
        ({pts: uint8 [H,W,3]}, decoded pts, error message or "").
    """
    import av

    found: dict[int, np.ndarray] = {}
    decoded: list[int] = []
    failure = ""
    try:
        container.seek(int(wanted[0]), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            pts = frame.pts
            if pts is None:
                continue
            decoded.append(pts)
            if pts in wanted_set and pts not in found:
                if scaled is None:
                    found[pts] = frame.to_ndarray(format="rgb24")
                else:
                    found[pts] = frame.to_ndarray(format="rgb24", height=scaled[0], width=scaled[1],
                                                  interpolation="BICUBIC")
            if pts >= wanted[-1] and len(found) == len(wanted_set):
                break
    except av.FFmpegError as exc:
        failure = _short(exc)
    return found, decoded, failure


def _decodable_pts(container, stream, item: MediaItem, base: float, offset: int) -> tuple[list[int], str]:
    """Pts of every frame of the window that really decodes (decoded, not converted), and the error if any."""
    import av

    decoded: list[int] = []
    failure = ""
    end_pts = None if item.end is None else offset + item.end / base
    try:
        container.seek(int(offset + item.start / base), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            if end_pts is not None and frame.pts >= end_pts:
                break
            decoded.append(frame.pts)
    except av.FFmpegError as exc:
        failure = _short(exc)
    return sorted(set(decoded)), failure


def _refuse_truncated(times: np.ndarray, item: MediaItem, failure: str, fps: float) -> None:
    """A decode error before the window's end means the file is cut or damaged there: say so."""
    if not failure:
        return
    last = float(times[-1])
    if item.end is None or item.end > last + 1.5 / fps:
        wanted = "the end of the video" if item.end is None else f"{item.end:g} s"
        raise MediaError(f"truncated or corrupt video: frames decode only up to {last:.2f} s, window needs {wanted} ({failure})")


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
