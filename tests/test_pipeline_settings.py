"""Every bad setting of ``BoxPipeline`` is a ``TransformSpecError`` naming it, and ``load`` adds the file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from visiondata.exceptions import TransformSpecError
from visiondata.transforms import BoxPipeline
from visiondata.transforms._spec import BACKENDS, get_transform_definition

BAD_SETTINGS = [
    ("min_visibility", 2, "expected a fraction in [0, 1], got 2"),
    ("min_visibility", float("nan"), "expected a fraction in [0, 1], got nan"),
    ("min_area", -1, "expected a number >= 0 (pixels), got -1"),
    ("min_size", "x", "expected a number >= 0 (pixels), got 'x'"),
    ("out_of_bounds", "keep", "expected one of 'clip', 'drop', got 'keep'"),
    ("box_format", "nope", "expected a box format"),
    ("backend", "keras", "expected one of 'torchvision', 'albumentations', got 'keras'"),
    ("seed", "a", "expected an int >= 0 or None, got 'a'"),
    ("box_fields", "area", "expected a list of field names, got 'area'"),
    ("flip_pairs", [[0]], "expected a list of (i, j) pairs of keypoint indices"),
    ("scaled_decode", "yes", "expected True or False, got 'yes'"),
]


@pytest.mark.parametrize(("setting", "value", "message"), BAD_SETTINGS, ids=[row[0] for row in BAD_SETTINGS])
def test_a_bad_setting_names_itself(setting: str, value: object, message: str) -> None:
    with pytest.raises(TransformSpecError, match=rf"^{setting}: {re.escape(message)}") as raised:
        BoxPipeline(["HorizontalFlip"], **{setting: value})
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("setting", "written", "message"),
    [
        ("min_visibility", "2", "expected a fraction in [0, 1], got 2"),
        ("out_of_bounds", "keep", "expected one of 'clip', 'drop', got 'keep'"),
        ("min_area", "-1", "expected a number >= 0 (pixels), got -1"),
    ],
)
def test_a_bad_setting_in_a_file_names_the_file(
    setting: str, written: str, message: str, tmp_path: Path
) -> None:
    spec = tmp_path / "augment.yaml"
    spec.write_text(f"transforms:\n  - HorizontalFlip\n{setting}: {written}\n")
    with pytest.raises(
        TransformSpecError, match=rf"^{re.escape(str(spec))}: {setting}: {re.escape(message)}"
    ):
        BoxPipeline.load(spec)


@pytest.mark.parametrize("name", ["nearest", "bilinear", "bicubic", "Bicubic"])
def test_presets_and_specs_take_the_same_interpolation_names(name: str) -> None:
    from torchvision.transforms import InterpolationMode

    from visiondata.transforms import presets

    mode = InterpolationMode(name.lower())
    for preset in (presets.classification_train, presets.classification_eval):
        by_name = [getattr(step, "interpolation", None) for step in preset(64, interpolation=name).transforms]
        by_mode = [getattr(step, "interpolation", None) for step in preset(64, interpolation=mode).transforms]
        assert by_name == by_mode and mode in by_name
    # The same name in a spec, on both backends.
    for backend in ("torchvision", "albumentations"):
        BoxPipeline([{"name": "Resize", "size": [8, 8], "interpolation": name}], backend=backend)


def test_a_preset_refuses_an_unknown_interpolation_name_as_a_spec_does() -> None:
    from visiondata.transforms import presets

    message = "interpolation: expected one of 'nearest', 'bilinear', 'bicubic', got 'cubic'"
    with pytest.raises(TransformSpecError, match=re.escape(message)):
        presets.classification_train(64, interpolation="cubic")
    with pytest.raises(TransformSpecError, match=re.escape(message)):
        BoxPipeline([{"name": "Resize", "size": [8, 8], "interpolation": "cubic"}])


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_declares_how_the_pipeline_runs_it(name: str) -> None:
    """Each backend module declares its step builder and layouts; the pipeline branches on none of them by name."""
    from visiondata.transforms._backend import Backend, get_backend

    backend = get_backend(name)
    assert isinstance(backend, Backend) and backend.name == name
    assert backend.channels_first == (name == "torchvision")  # albumentations takes H x W x C numpy arrays
    step = backend.build_step(get_transform_definition("HorizontalFlip"), {}, 1.0)
    pipeline = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}], backend=name)
    assert type(pipeline._steps[0]) is type(step)  # the pipeline's step is the one its backend builds
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    result = pipeline(image, {"boxes": [[0, 0, 1, 2]]})
    assert np.array_equal(np.asarray(result[0]), image[:, ::-1])
    assert np.asarray(result[1]["boxes"]).tolist() == [[2.0, 0.0, 3.0, 2.0]]
