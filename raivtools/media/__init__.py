"""Media: decoding video windows and images into sampled frames, in worker processes with a timeout.

- :mod:`raivtools.media.sampling`: which frames of a window to keep (uniform, middle, random per interval).
- :mod:`raivtools.media.transform`: short-side resize with centre crop, or keeping the aspect ratio.
- :mod:`raivtools.media.decode`: one media item -> ``[K,H,W,3]`` uint8 frames and their timestamps
  (decord first, PyAV as fallback).
- :mod:`raivtools.media.pool`: a ``spawn`` worker pool with a per-item timeout, results in input order.
- :mod:`raivtools.media.extract`: the ``extract-frames`` pipeline into a frame store.
- :mod:`raivtools.media.clip`: open_clip loading and batched image / text encoding.
- :mod:`raivtools.media.encode`: the ``encode`` pipeline into a feature store.
- :mod:`raivtools.media.store`: one feature store written by several ranks at once.
"""
