"""One media item -> ``K`` sampled RGB frames and their timestamps.

Videos are decoded with decord first and PyAV as the fallback (``decoder="auto"``), or with one of them.
Which frames exist is learnt from the stream itself (decord's packet index, PyAV's demuxed packets and
decoded frames), never from the frame count a container header claims: headers over-report, and decord's
``get_batch`` can loop forever on such files, which is why this runs in a worker with a timeout
(:mod:`raivtools.media.pool`). Images are one-frame videos.

The container header (read once per file, without decoding) routes the rest: MPEG-TS/PS files, whose
index and seeking are unreliable, are decoded by PyAV from their first packet; an mp4 whose index lists
data past the end of the file (a cut download) refuses windows that reach past the cut; a display matrix
(phone videos) turns frames upright in both decoders.

Every per-item problem (missing, empty, garbage, truncated file, empty window) raises :class:`MediaError`
with a message meant for the record's ``error`` field.
"""

from __future__ import annotations

import functools
import math
import os
import stat
import struct
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
            pixels = _rgb8(ImageOps.exif_transpose(image))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"cannot read image: {_short(exc)}") from None
    return DecodedFrames(pixels[None].copy(), np.zeros(1, np.float32), "pil")


def _rgb8(image) -> np.ndarray:
    """uint8 [H,W,3] RGB of a PIL image.

    PIL's ``convert("RGB")`` clips the wide single-channel modes instead of scaling them (a 16-bit PNG comes
    out nearly white, a float TIFF in [0, 1] black), so those are scaled here: 16-bit (``I;16*``, and ``I``
    holding 0..65535) by 1/257, float (``F``) from [0, 1]. Other ranges are unknown: an error, not a guess.
    """
    if not image.mode.startswith(("I", "F")):
        return np.asarray(image.convert("RGB"))
    values = np.asarray(image).astype(np.float64)
    if not np.isfinite(values).all():
        raise MediaError(f"cannot read image: mode {image.mode} has NaN or infinite pixels")
    low, high = float(values.min()), float(values.max())
    if image.mode == "F" and low >= 0 and high <= 1:
        gray = values * 255
    elif image.mode != "F" and low >= 0 and high <= 65535:
        gray = values / 257
    else:
        kind = "float" if image.mode == "F" else "integer"
        limit = "[0, 1]" if image.mode == "F" else "[0, 65535]"
        raise MediaError(f"cannot read image: {kind} pixels (mode {image.mode}) span {low:g}..{high:g}, "
                         f"outside {limit}: unknown range")
    return np.repeat(np.rint(gray).astype(np.uint8)[..., None], 3, axis=2)


def _decode_video(item: MediaItem, spec: FrameSpec) -> DecodedFrames:
    rng = rng_for(spec.seed, "frames", item.record_id) if spec.sampling == "random" else None
    header = _header(item.path)
    _refuse_cut(header.cut_at, item)
    if header.sequential:
        # decord's index of an MPEG-TS/PS file starts a GOP late (its frames come out ~1 s later than their
        # labels) and seeking lands off target: PyAV decodes such files from their first packet
        if spec.decoder == "decord":
            raise MediaError(f"decord cannot decode {header.sequential} files reliably (its frame index is off); "
                             "use --decoder pyav or auto")
        return _decode_pyav(item, spec, rng, sequential=True)
    if spec.decoder in ("auto", "decord"):
        try:
            return _decode_decord(item, spec, rng, header)
        except MediaError:
            raise
        except Exception as exc:
            if spec.decoder == "decord":
                raise MediaError(f"decord cannot decode: {_short(exc)}") from None
            # auto: PyAV decodes what decord refuses (e.g. a partial file whose index is at the front)
            if rng is not None:
                rng = rng_for(spec.seed, "frames", item.record_id)
    return _decode_pyav(item, spec, rng, sequential=False)


def _choose(times: np.ndarray, item: MediaItem, spec: FrameSpec, rng: np.random.Generator | None) -> np.ndarray:
    """Frame positions (into ``times``) to keep, or a MediaError when the window holds none."""
    inside = frames_in_window(times, item.start, item.end)
    if inside.size == 0:
        span = f"{times[0]:.2f}-{times[-1]:.2f} s" if times.size else "no frames"
        end = "end" if item.end is None else f"{item.end:g}"
        raise MediaError(f"no frame in window [{item.start:g}, {end}) s; the video has {span}")
    return inside[sample_positions(inside.size, spec.frames, spec.sampling, rng)]


def _decode_decord(item: MediaItem, spec: FrameSpec, rng: np.random.Generator | None,
                   header: _Header) -> DecodedFrames:
    height, width = _decord_size(header, spec)
    reader, times = _open_reader.open(item.path, spec.threads, height, width)
    if header.time_base:
        # decord's timestamps are float32 (a frame at 40.1 s comes out at 40.0999985, outside a window that
        # starts at 40.1, where PyAV's is inside): they are whole ticks of the time base, so snap them back
        times = np.round(times / header.time_base) * header.time_base
    chosen = _choose(times, item, spec, rng)
    unique, inverse = np.unique(chosen, return_inverse=True)
    try:
        frames = reader.get_batch(unique.tolist()).asnumpy()
        _check_shape(frames, height, width)
    except BaseException:
        # a reader that failed may be left mid-packet: the next window opens the file afresh
        _open_reader.close()
        raise
    if len(unique) != len(chosen):  # a short window repeats frames; copy only then
        frames = frames[inverse]
    return DecodedFrames(frames, times[chosen].astype(np.float32), "decord")


def _decord_size(header: _Header, spec: FrameSpec) -> tuple[int, int]:
    """The (height, width) decord is asked to scale to, or (-1, -1) for the decoded size.

    Scaling inside the decoder (swscale, straight from YUV) is much cheaper than resizing RGB frames after;
    but decord scales a rotated video to the unrotated shape and turns it after (squashed, or garbage), so
    rotated videos are decoded at full size and resized after.
    """
    if spec.size <= 0 or header.height <= 0 or header.rotation:
        return -1, -1
    return scaled_shape(header.height, header.width, spec.size, spec.keep_aspect)


def _check_shape(frames: np.ndarray, height: int, width: int) -> None:
    """decord's output is not always what was asked for (a display matrix the header probe missed): refuse
    it rather than store squashed frames (auto falls back to PyAV)."""
    if frames.ndim != 4 or frames.shape[3] != 3 or (height > 0 and frames.shape[1:3] != (height, width)):
        raise RuntimeError(f"decord gave frames of shape {frames.shape}, expected [K,{height},{width},3]")


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
            times = reader.get_frame_timestamp(np.arange(len(reader)))[:, 0].astype(np.float64)
            if np.any(np.diff(times) <= 0):
                # packets without a pts (AVI with B-frames) all get FFmpeg's no-pts marker, and decord's
                # seeking in such files lands on other frames: refuse (auto falls back to PyAV)
                raise RuntimeError("decord's frame timestamps are missing or out of order")
            self._reader, self._times, self._key = reader, times, key
        return self._reader, self._times

    def close(self) -> None:
        """Frees the reader (decord's memory is released with it)."""
        self._key = self._reader = self._times = None


_open_reader = _OpenReader()


def decode_affinity(task: tuple[MediaItem, FrameSpec]) -> str | None:
    """What the pool keeps on one worker: the video file, so that its windows meet the reader kept open."""
    item = task[0]
    return item.path if item.kind == "video" else None


@dataclass(frozen=True)
class _Header:
    """What a video's container header says (read without decoding)."""

    height: int = -1  # stored size of the first video stream, -1 when unknown
    width: int = -1
    rotation: int = 0  # counterclockwise quarter turns that display it upright (mp4/mov track matrix)
    sequential: str = ""  # the format's name where index and seeking are unreliable (MPEG-TS/PS), else ""
    cut_at: float | None = None  # seconds from the first frame after which indexed data is missing from the file
    time_base: float = 0.0  # seconds per tick of the first video stream's timestamps, 0 when unknown


def _header(path: str) -> _Header:
    """The header of the file as it is now; cached per file version, as windows of one video usually come
    one after another."""
    try:
        info = os.stat(path)
    except OSError:
        return _Header()
    return _read_header(path, info.st_mtime_ns, info.st_size)


def _probe_size(path: str) -> tuple[int, int]:
    """(height, width) of the first video stream as displayed (rotation applied), (-1, -1) when unknown."""
    header = _header(path)
    if header.rotation % 2:
        return header.width, header.height
    return header.height, header.width


# FFmpeg's default probe decodes frames to guess stream parameters (12.6 ms for a 720p mp4, an eighth of
# decoding its 4 frames); the header of an mp4 or mkv already has the size, so a tiny probe is tried first
_QUICK_PROBE = {"probesize": "32", "analyzeduration": "0"}


@functools.lru_cache(maxsize=256)
def _read_header(path: str, mtime_ns: int, size: int) -> _Header:
    import av

    for options in (_QUICK_PROBE, None):
        try:
            with av.open(path, options=options) as container:
                stream = container.streams.video[0]
                context = stream.codec_context
                if context.height and context.width:
                    return _Header(context.height, context.width, _rotation(path, container.format.name),
                                   _sequential(container), _index_cut(stream, size), float(stream.time_base or 0))
        except (av.FFmpegError, OSError, IndexError, ValueError):
            continue
    return _Header()


def _sequential(container) -> str:
    """The format's name when it allows timestamp discontinuities (MPEG-TS/PS, Ogg, raw streams): such
    files have no trustworthy index, so they are decoded from the start rather than by seeking."""
    import av

    return container.format.name if container.format.flags & av.format.Flags.ts_discont.value else ""


def _index_cut(stream, file_size: int) -> float | None:
    """Where the data the container's index lists runs past the end of the file (a cut download of an mp4
    whose index is at the front), in seconds from the first frame; None when it is all there.

    Free: the index is read with the header. Muxers store a stream's samples in order, so the last entry is
    checked first and the others only when it is missing. Index times are decode times, never later than
    the frame's own, so every frame shown before the returned time is in the file.
    """
    entries = stream.index_entries
    if not len(entries) or _in_file(entries[len(entries) - 1], file_size):
        return None
    missing = min(entry.timestamp for entry in entries if not _in_file(entry, file_size))
    return max(0.0, (missing - (stream.start_time or 0)) * float(stream.time_base))


def _in_file(entry, file_size: int) -> bool:
    return entry.pos < 0 or entry.pos + entry.size <= file_size


def _refuse_cut(cut_at: float | None, item: MediaItem) -> None:
    """A window reaching past where the file's data stops is an error; a window before it decodes."""
    if cut_at is None or (item.end is not None and item.end <= cut_at + 1e-6):
        return
    wanted = "the end of the video" if item.end is None else f"{item.end:g} s"
    raise MediaError(f"truncated video: the data its index lists is missing from the file after {cut_at:.2f} s, "
                     f"window needs {wanted}")


def _rotation(path: str, format_name: str) -> int:
    """Counterclockwise quarter turns from an mp4/mov video track's matrix (FFmpeg's display matrix, which
    PyAV shows only on decoded frames); 0 for other formats or an unreadable header. Only regular files are
    read a second time (a FIFO would lose its data)."""
    if "mov" not in format_name.split(",") or not os.path.isfile(path):
        return 0
    try:
        with open(path, "rb") as file:
            matrix = _mov_video_matrix(file, os.fstat(file.fileno()).st_size)
    except (OSError, struct.error):
        return 0
    if matrix is None:
        return 0
    # av_display_rotation_get: the matrix turns the frame by -atan2(b, a) counterclockwise
    return round(-math.degrees(math.atan2(matrix[1], matrix[0])) / 90) % 4


def _mov_video_matrix(file, size: int) -> tuple[int, int] | None:
    """(a, b) of the first video track's tkhd matrix: moov > trak > tkhd, where trak > mdia > hdlr is 'vide'."""
    moov = _mov_boxes(file, 0, size).get(b"moov")
    for start, end in _mov_traks(file, *moov) if moov else ():
        boxes = _mov_boxes(file, start, end)
        media = _mov_boxes(file, *boxes[b"mdia"]) if b"mdia" in boxes else {}
        if b"tkhd" not in boxes or b"hdlr" not in media:
            continue
        file.seek(media[b"hdlr"][0] + 8)  # version/flags, pre_defined, then the handler type
        if file.read(4) != b"vide":
            continue
        file.seek(boxes[b"tkhd"][0])
        version = file.read(1)[0]
        file.seek(boxes[b"tkhd"][0] + 4 + (32 if version == 1 else 20) + 16)  # times, ids, layer, volume
        return struct.unpack(">2i", file.read(8))
    return None


def _mov_box_headers(file, start: int, end: int):
    """(type, body start, box end) of the boxes in [start, end) of an ISO media file."""
    while start + 8 <= end:
        file.seek(start)
        size, kind = struct.unpack(">I4s", file.read(8))
        body = start + 8
        if size == 1:  # 64-bit size follows the type
            size, body = struct.unpack(">Q", file.read(8))[0], start + 16
        elif size == 0:  # the box runs to the end of its parent
            size = end - start
        if size < body - start:
            return
        yield kind, body, min(start + size, end)
        start += size


def _mov_boxes(file, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """{type: (body start, box end)} of the first box of each type in [start, end)."""
    boxes: dict[bytes, tuple[int, int]] = {}
    for kind, body, stop in _mov_box_headers(file, start, end):
        boxes.setdefault(kind, (body, stop))
    return boxes


def _mov_traks(file, start: int, end: int) -> list[tuple[int, int]]:
    return [(body, stop) for kind, body, stop in _mov_box_headers(file, start, end) if kind == b"trak"]


def _decode_pyav(item: MediaItem, spec: FrameSpec, rng: np.random.Generator | None,
                 sequential: bool) -> DecodedFrames:
    with _PyavSource(item.path, spec.threads, sequential) as source:
        stream = source.stream
        offset = stream.start_time or 0
        base = float(stream.time_base)
        fps = float(stream.average_rate or 25)
        packet_pts, failure, in_decode_order = _demux_pts(source.container, stream)
        if packet_pts and in_decode_order and stream.codec_context.has_b_frames and not sequential:
            # the codec reorders frames but the pts come in decode order: the container has none and FFmpeg
            # guessed them (h264 with B-frames in AVI), so each frame would be found under another's pts
            source.sequential, source.order = True, packet_pts
        times = (np.asarray(packet_pts, np.float64) - offset) * base
        if times.size:
            _refuse_truncated(times, item, failure, fps)
            chosen = _choose(times, item, spec, rng)
            frames = _decode_chosen(source, packet_pts, chosen, spec)
            if frames is not None:
                return DecodedFrames(frames, times[chosen].astype(np.float32), "pyav")
        # the stream decodes fewer frames than its packets promise: sample from what decodes
        decoded_pts, failure = _decodable_pts(source, item, base, offset)
        times = (np.asarray(decoded_pts, np.float64) - offset) * base
        if times.size == 0:
            raise MediaError(f"no frame decodes{': ' + failure if failure else ''}")
        _refuse_truncated(times, item, failure, fps)
        chosen = _choose(times, item, spec, rng)
        frames = _decode_chosen(source, decoded_pts, chosen, spec)
        if frames is None:
            raise MediaError(f"decoding is not repeatable (truncated or corrupt file){': ' + failure if failure else ''}")
        return DecodedFrames(frames, times[chosen].astype(np.float32), "pyav")


class _PyavSource:
    """The first video stream of a file opened with PyAV, decoded from about a given pts.

    Where seeking is unreliable (MPEG-TS/PS, where it can land after the wanted frame) the file is opened
    afresh and decoded from its first packet instead: slower, but every frame is found under its own pts.
    """

    def __init__(self, path: str, threads: int, sequential: bool):
        self.path, self.threads, self.sequential = path, threads, sequential
        self.order: list[int] | None = None  # pts for the frames in the order they come out, where theirs are wrong
        self.container = self.stream = None
        self._open()

    def _open(self) -> None:
        import av

        self.close()
        try:
            container = av.open(self.path)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(f"cannot open video: {_short(exc)}") from None
        if not container.streams.video:
            container.close()
            raise MediaError("no video stream in file")
        self.container, self.stream = container, container.streams.video[0]
        self.stream.codec_context.thread_count = self.threads

    def frames_from(self, pts: int):
        """Decoded frames from the keyframe before ``pts`` (from the first frame where seeking is unreliable)."""
        if self.sequential:
            self._open()
        else:
            self.container.seek(int(pts), stream=self.stream, backward=True, any_frame=False)
        frames = self.container.decode(self.stream)
        return frames if self.order is None else _relabelled(frames, self.order)

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None

    def __enter__(self) -> _PyavSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _demux_pts(container, stream) -> tuple[list[int], str, bool]:
    """Presentation times of the stream's packets, ascending (no decoding), the read error if any, and
    whether the packets already came in that order."""
    import av

    pts: list[int] = []
    failure = ""
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                pts.append(packet.pts)
    except av.FFmpegError as exc:
        failure = _short(exc)
    ascending = sorted(pts)
    return ascending, failure, ascending == pts


def _decode_chosen(source: _PyavSource, pts: list[int], chosen: np.ndarray, spec: FrameSpec) -> np.ndarray | None:
    """uint8 [K,H,W,3] of the frames at ``pts[chosen]``, or None when some of them do not decode."""
    wanted = sorted({pts[i] for i in chosen.tolist()})
    found, first = _decode_wanted(source, wanted, spec)
    if len(found) < len(wanted) and not source.sequential and (first is None or first > wanted[0]):
        # the seek landed after the first wanted frame (an index that is off): decode from the first packet
        source.sequential = True
        found, _ = _decode_wanted(source, wanted, spec)
    if len(found) < len(wanted):
        return None
    return np.stack([found[pts[i]] for i in chosen.tolist()])


def _decode_wanted(source: _PyavSource, wanted: list[int],
                   spec: FrameSpec) -> tuple[dict[int, np.ndarray], int | None]:
    """Decodes from the keyframe before ``wanted[0]`` and converts only the wanted frames.

    Returns:
        ({pts: uint8 [H,W,3]}, pts of the first frame decoded or None).
    """
    import av

    found: dict[int, np.ndarray] = {}
    first = None
    wanted_set = set(wanted)
    try:
        for frame in source.frames_from(wanted[0]):
            if first is None:
                first = frame.pts
            if frame.pts in wanted_set and frame.pts not in found:
                found[frame.pts] = _frame_rgb(frame, spec)
                if len(found) == len(wanted_set):
                    break
    except av.FFmpegError:
        pass
    return found, first


def _relabelled(frames, order: list[int]):
    """``frames`` (decoded from the first packet) with the ``k``-th given the pts ``order[k]``."""
    for frame, pts in zip(frames, order):
        frame.pts = pts
        yield frame


def _frame_rgb(frame, spec: FrameSpec) -> np.ndarray:
    """uint8 [H,W,3] of one decoded frame, turned upright as its display matrix says (as decord and players
    do), scaled in the same swscale pass as the colour conversion."""
    quarter = round(frame.rotation / 90) % 4
    if spec.size <= 0:
        pixels = frame.to_ndarray(format="rgb24")
    else:
        shown = (frame.width, frame.height) if quarter % 2 else (frame.height, frame.width)
        height, width = scaled_shape(*shown, spec.size, spec.keep_aspect)
        if quarter % 2:  # the stored frame is scaled to the turned size
            height, width = width, height
        pixels = frame.to_ndarray(format="rgb24", height=height, width=width, interpolation="BICUBIC")
    return np.ascontiguousarray(np.rot90(pixels, quarter)) if quarter else pixels


def _decodable_pts(source: _PyavSource, item: MediaItem, base: float, offset: int) -> tuple[list[int], str]:
    """Pts of every frame of the window that really decodes (decoded, not converted), and the error if any."""
    import av

    decoded: list[int] = []
    failure = ""
    end_pts = None if item.end is None else offset + item.end / base
    try:
        for frame in source.frames_from(int(offset + item.start / base)):
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
