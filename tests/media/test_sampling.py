import numpy as np
import pytest

from raivtools.media.sampling import frames_in_window, sample_positions
from raivtools.media.transform import output_shape, resize_frames
from raivtools.seeding import rng_for


def test_middle_takes_the_middle_of_k_equal_intervals():
    assert sample_positions(8, 4, "middle").tolist() == [1, 3, 5, 7]
    assert sample_positions(60, 4, "middle").tolist() == [7, 22, 37, 52]


def test_uniform_spans_first_to_last():
    assert sample_positions(10, 4, "uniform").tolist() == [0, 3, 6, 9]


def test_random_draws_one_frame_inside_each_interval_and_follows_the_seed():
    draws = [sample_positions(40, 4, "random", rng_for(0, "frames", f"id{i}")) for i in range(50)]
    for positions in draws:
        assert [p // 10 for p in positions] == [0, 1, 2, 3]
    assert len({tuple(d) for d in draws}) > 1
    again = sample_positions(40, 4, "random", rng_for(0, "frames", "id3"))
    assert again.tolist() == draws[3].tolist()


def test_fewer_frames_than_k_repeat_frames():
    for mode in ("middle", "uniform"):
        positions = sample_positions(2, 4, mode)
        assert len(positions) == 4 and set(positions.tolist()) <= {0, 1}
    assert sample_positions(1, 3, "random", rng_for(0, "x")).tolist() == [0, 0, 0]


def test_bad_arguments():
    with pytest.raises(ValueError):
        sample_positions(0, 4, "middle")
    with pytest.raises(ValueError):
        sample_positions(4, 4, "sideways")


def test_window_is_half_open():
    times = np.arange(10) / 2.0  # 0, 0.5, ... 4.5
    assert frames_in_window(times, 1.0, 2.0).tolist() == [2, 3]
    assert frames_in_window(times, 4.0, None).tolist() == [8, 9]


def test_resize_short_side_and_centre_crop():
    frames = np.zeros((2, 48, 64, 3), np.uint8)
    frames[:, :, 32:] = 255  # right half white
    out = resize_frames(frames, 24)
    assert out.shape == (2, 24, 24, 3) and out.dtype == np.uint8
    assert out[0, :, :10].max() < 10 and out[0, :, 14:].min() > 245
    assert resize_frames(frames, 24, keep_aspect=True).shape == (2, 24, 32, 3)
    assert resize_frames(frames, 0).shape == frames.shape
    assert output_shape(48, 64, 24, True) == (24, 32)


def test_random_never_draws_one_frame_twice_when_there_are_enough():
    # n=10, k=4: the intervals [0, 3) and [2, 5) shared frame 2, and a clip could get it twice
    for n, k in [(10, 4), (7, 3), (9, 8), (5, 5)]:
        for i in range(300):
            positions = sample_positions(n, k, "random", rng_for(0, "frames", f"id{i}"))
            assert (np.diff(positions) > 0).all(), (n, k, positions)
