"""common.images: every image a student might pass by mistake gives one clear LessonError.

These run in-process and take milliseconds. That a lesson turns the LessonError into one
stderr line and exit code 2 is checked once per lesson, in that lesson's test file.
"""

import cv2
import numpy as np
import pytest
from synthetic import synthetic_image

from common.files import center_square, read_gray, read_rgb
from common.lesson import LessonError

# Each bad input (a key of the bad_inputs fixture in conftest.py) and words its message must hold.
BAD_INPUT_MESSAGES = {
    "missing": "no such file",
    "directory": "is a folder, not an image file",
    "not an image": "is not an image OpenCV can read",
    "empty": "is empty (0 bytes)",
    "truncated jpeg": "is not an image OpenCV can read (or the file is broken)",
    "truncated png": "is not an image OpenCV can read (or the file is broken)",
    "smaller than the kernel": "is 2x2 pixels, smaller than the kernel (3x3)",
}


@pytest.mark.parametrize("case", BAD_INPUT_MESSAGES)
def test_read_gray_gives_one_line_that_names_the_problem(bad_inputs, case):
    with pytest.raises(LessonError) as caught:
        read_gray(bad_inputs[case])
    message = str(caught.value)
    assert BAD_INPUT_MESSAGES[case] in message
    assert str(bad_inputs[case]) in message  # the student sees which file it was
    assert "\n" not in message  # one line


@pytest.mark.parametrize("case", ["missing", "directory", "not an image", "empty"])
def test_read_rgb_gives_the_same_errors(bad_inputs, case):
    with pytest.raises(LessonError) as caught:
        read_rgb(bad_inputs[case])
    assert BAD_INPUT_MESSAGES[case] in str(caught.value)


def test_a_cut_off_jpeg_that_opencv_would_decode_is_still_refused(tmp_path):
    # Some OpenCV builds decode a cut-off JPEG without complaint (this one refuses it);
    # Pillow's check catches it either way.
    from common.files import _check_not_truncated

    ok, jpeg = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8))
    data = jpeg.tobytes()
    _check_not_truncated(data, "whole.jpg")  # a whole JPEG passes
    with pytest.raises(LessonError, match="cut.jpg is a broken or truncated JPEG"):
        _check_not_truncated(data[: len(data) * 2 // 3], "cut.jpg")


def test_a_float_image_of_nans_is_refused_and_a_few_nans_are_not(tmp_path):
    nans = tmp_path / "nan.tiff"
    assert cv2.imwrite(str(nans), np.full((8, 8), np.nan, np.float32))
    with pytest.raises(LessonError) as caught:
        read_gray(nans)
    assert str(caught.value) == f"{nans} has no pixel values that are numbers (all NaN or infinite)"
    some = np.tile(np.linspace(0.0, 1.0, 8, dtype=np.float32), (8, 1))
    some[2, 3] = np.nan  # one missing pixel in a float image: read, as 0
    assert cv2.imwrite(str(tmp_path / "some.tiff"), some)
    image, _ = read_gray(tmp_path / "some.tiff")
    assert np.isfinite(image).all() and image[2, 3] == 0.0
    np.testing.assert_allclose(image[0], 255 * some[0], rtol=1e-6)


def test_min_size_is_the_callers_choice(tmp_path):
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), np.full((5, 8), 100, np.uint8))
    image, note = read_gray(path)  # 5x8 is enough for a 3x3 kernel
    assert image.shape == (5, 8) and note is None
    with pytest.raises(LessonError, match="8x5 pixels"):
        read_gray(path, min_size=7)


def test_reads_16_bit_and_rgba_images_to_the_same_gray(tmp_path):
    gray8 = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (20, 1))
    cv2.imwrite(str(tmp_path / "gray16.png"), gray8.astype(np.uint16) * 257)
    rgba = cv2.cvtColor(gray8, cv2.COLOR_GRAY2BGRA)
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    from_16, _ = read_gray(tmp_path / "gray16.png")
    from_rgba, _ = read_gray(tmp_path / "rgba.png")
    assert from_16.dtype == np.float32
    np.testing.assert_allclose(from_16, gray8, atol=0.01)
    np.testing.assert_allclose(from_rgba, gray8, atol=0.51)


def test_colour_image_becomes_opencv_gray(tmp_path):
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[:, :, 2] = 200  # pure red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    image, _ = read_gray(tmp_path / "red.png")
    np.testing.assert_allclose(image, 0.299 * 200, atol=0.5)  # OpenCV's weight for red
    rgb = read_rgb(tmp_path / "red.png")
    assert rgb.dtype == np.uint8 and rgb[0, 0].tolist() == [200, 0, 0]  # RGB for Keras


def test_huge_image_is_shrunk_not_loaded_at_full_size(tmp_path):
    huge = np.random.default_rng(0).integers(0, 255, (4000, 6000), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "huge.png"), huge)
    image, note = read_gray(tmp_path / "huge.png")
    assert image.shape == (683, 1024)
    assert "6000x4000" in note


def test_default_photo_is_read_when_no_path_is_given():
    image, note = read_gray(None, max_side=0)  # 0: keep the full size
    assert image.shape == (600, 512) and note is None
    assert 0 <= image.min() < image.max() <= 255


def test_center_square_takes_the_middle():
    image = np.zeros((10, 20), np.float32)
    image[:, 5:15] = 1.0  # the centred 10x10 square
    np.testing.assert_array_equal(center_square(image, 10), 1.0)


def test_synthetic_image_puts_the_rectangle_where_it_says():
    image, edges = synthetic_image(size=64, seed=0)
    inside = image[edges["top"] + 1 : edges["bottom"] - 1, edges["left"] + 1 : edges["right"] - 1]
    assert abs(float(inside.mean()) - 200.0) < 1.0
    assert image[edges["top"] - 2, edges["left"] + 2] < 100  # just above it: the dark ramp
