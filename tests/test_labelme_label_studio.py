"""LabelMe and Label Studio readers, on files laid out exactly as the tools write them.

LabelMe (wkentaro/labelme ``LabelFile.save``): one JSON per image with ``version``, ``flags``, ``shapes``
(``label``, ``points``, ``group_id``, ``description``, ``shape_type``, ``flags``), ``imagePath`` relative
to the JSON, ``imageData`` (base64 or null), ``imageHeight``, ``imageWidth``.
Label Studio (``Export -> JSON``): a list of tasks, ``data.image``, ``annotations[].result`` items with
``original_width``/``original_height`` and ``value`` in percent.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from isolated import assert_clean_exit, run_isolated
from PIL import Image

from visiondata.datasets._detection import rasterize_polygon
from visiondata.exceptions import DatasetFormatError, DatasetValidationError, SkippedSampleWarning
from visiondata.formats import LabelMeDataset, LabelStudioDataset
from visiondata.formats._label_studio import looks_like_label_studio
from visiondata.formats._labelme import looks_like_labelme

# ---------------------------------------------------------------------------------------------- LabelMe


def _png(path: Path, size: tuple[int, int] = (40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (10, 20, 30)).save(path)


def _shape(
    label: str, points: list[list[float]], shape_type: str | None, group_id: int | None = None
) -> dict:
    return {
        "label": label,
        "points": points,
        "group_id": group_id,
        "description": "",
        "shape_type": shape_type,
        "flags": {},
    }


def _labelme(path: Path, image_path: str, shapes: list, size=(30, 40), image_data: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": "5.4.1",
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": image_data,
        "imageHeight": size[0],
        "imageWidth": size[1],
    }
    path.write_text(json.dumps(document, indent=2))


def _all_shapes() -> list[dict]:
    return [
        _shape("dog", [[30, 20], [10, 5]], "rectangle", group_id=3),  # corners in reverse order
        _shape("cat", [[2, 2], [12, 2], [12, 10], [2, 10], [7, 14]], "polygon"),
        _shape("cat", [[20, 15], [25, 15]], "circle"),  # centre (20, 15), radius 5
        _shape("cat", [[5, 5]], "point"),
        _shape("dog", [[1, 1], [5, 5]], "line"),
        _shape("dog", [[1, 1], [5, 5], [9, 1]], "linestrip"),
    ]


def test_labelme_shapes_become_boxes_and_skipped_shapes_are_counted(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _labelme(tmp_path / "a.json", "a.png", _all_shapes())
    with pytest.warns(UserWarning, match=r"left out 3 shapes .*1 line, 1 linestrip, 1 point"):
        dataset = LabelMeDataset(tmp_path)
    assert dataset.classes == ["__background__", "cat", "dog"]  # sorted names found
    image, target = dataset[0]
    assert tuple(image.shape) == (3, 30, 40)
    assert target["boxes"].tolist() == [[10, 5, 30, 20], [2, 2, 12, 14], [15, 10, 25, 20]]
    assert target["labels"].tolist() == [2, 1, 1]
    assert target["group_id"].tolist() == [3, -1, -1]
    assert dict(dataset.skipped_shapes) == {"point": 1, "line": 1, "linestrip": 1}
    assert dataset.annotation_files == ["a.json"]


def test_labelme_shape_without_type_is_a_polygon_and_classes_fix_the_order(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _labelme(tmp_path / "a.json", "a.png", [_shape("cat", [[1, 1], [9, 1], [9, 6]], None)])
    dataset = LabelMeDataset(tmp_path, classes=["zebra", "cat"], background=False)
    assert dataset.classes == ["zebra", "cat"]
    _, target = dataset[0]
    assert target["boxes"].tolist() == [[1, 1, 9, 6]]
    assert target["labels"].tolist() == [1]


def test_labelme_masks_draw_polygons_circles_and_rectangles(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _labelme(tmp_path / "a.json", "a.png", _all_shapes()[:3])
    dataset = LabelMeDataset(tmp_path, masks=True)
    _, target = dataset[0]
    masks = target["masks"].numpy()
    assert masks.shape == (3, 30, 40)
    assert int(masks[0].sum()) == 20 * 15 and masks[0][5:20, 10:30].all()  # the rectangle's box
    polygon = np.array(_all_shapes()[1]["points"], dtype=np.float64)
    assert np.array_equal(masks[1], rasterize_polygon(polygon, 30, 40))
    assert abs(int(masks[2].sum()) - math.pi * 25) < 6  # the disc of radius 5
    assert masks[2][15, 20] == 1 and masks[2][15, 26] == 0
    polygons = dataset.polygons(0)
    assert polygons[0] is None and polygons[1].tolist() == polygon.tolist() and polygons[2].shape == (64, 2)


def test_labelme_circle_reaching_beyond_the_image_is_clipped_to_it(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _labelme(tmp_path / "a.json", "a.png", [_shape("cat", [[2, 3], [8, 3]], "circle")])
    _, target = LabelMeDataset(tmp_path)[0]
    assert target["boxes"].tolist() == [[0, 0, 8, 9]]


def test_labelme_image_path_is_relative_to_the_json_and_backslashes_are_separators(tmp_path: Path) -> None:
    _png(tmp_path / "images" / "a.png")
    _png(tmp_path / "images" / "b.png")
    rectangle = [_shape("cat", [[1, 1], [5, 5]], "rectangle")]
    _labelme(tmp_path / "annotations" / "a.json", "../images/a.png", rectangle)
    _labelme(tmp_path / "annotations" / "b.json", "..\\images\\b.png", rectangle)  # saved on Windows
    dataset = LabelMeDataset(tmp_path)
    assert list(dataset.paths) == [os.path.join("images", "a.png"), os.path.join("images", "b.png")]
    assert dataset[1][1]["boxes"].tolist() == [[1, 1, 5, 5]]


def test_labelme_image_path_leaving_the_root_is_refused_unless_allowed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _png(tmp_path / "outside.png")
    _labelme(root / "a.json", "../outside.png", [_shape("cat", [[1, 1], [5, 5]], "rectangle")])
    with pytest.raises(DatasetValidationError, match=r"a\.json.*outside the root"):
        LabelMeDataset(root)
    skipped = LabelMeDataset(root, on_error="skip")
    assert len(skipped) == 0 and "outside the root" in skipped.problems[0]
    allowed = LabelMeDataset(root, allow_outside_root=True)
    assert allowed[0][1]["boxes"].tolist() == [[1, 1, 5, 5]]


def test_labelme_embedded_image_data_is_decoded_when_the_file_is_missing(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 0, 0)).save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    _labelme(tmp_path / "a.json", "gone.png", [_shape("cat", [[1, 1], [5, 5]], "rectangle")], image_data=data)
    dataset = LabelMeDataset(tmp_path)
    image, target = dataset[0]
    assert tuple(image.shape) == (3, 30, 40) and image[0, 0, 0].item() == 200
    assert target["boxes"].tolist() == [[1, 1, 5, 5]]


def test_labelme_missing_image_without_image_data_is_a_problem(tmp_path: Path) -> None:
    _labelme(tmp_path / "a.json", "gone.png", [])
    with pytest.raises(DatasetValidationError, match=r"gone\.png does not exist.*imageData"):
        LabelMeDataset(tmp_path)


def _two_files_one_bad(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _labelme(tmp_path / "a.json", "a.png", [_shape("cat", [[1, 1], [5, 5]], "rectangle")])
    (tmp_path / "b.json").write_text('{"shapes": [')


def test_labelme_malformed_file_raises_naming_it(tmp_path: Path) -> None:
    _two_files_one_bad(tmp_path)
    with pytest.raises(DatasetValidationError, match=r"b\.json: LabelMe annotation: expected JSON"):
        LabelMeDataset(tmp_path)


def test_labelme_malformed_file_is_left_out_under_skip_and_warn(tmp_path: Path) -> None:
    _two_files_one_bad(tmp_path)
    skipped = LabelMeDataset(tmp_path, on_error="skip")
    assert len(skipped) == 1 and len(skipped.problems) == 1 and "b.json" in skipped.problems[0]
    with pytest.warns(SkippedSampleWarning, match=r"skipped 1 annotation problem"):
        warned = LabelMeDataset(tmp_path, on_error="warn")
    assert len(warned) == 1


def test_labelme_file_that_is_not_labelme_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "coco.json").write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(
        DatasetValidationError, match=r"coco\.json: LabelMe annotation: expected an object with a 'shapes'"
    ):
        LabelMeDataset(tmp_path)


def test_labelme_shape_problems_name_file_and_shape_and_follow_on_error(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    shapes = [
        _shape("cat", [[1, 1], [5, 5]], "rectangle"),
        _shape("cat", [[1, 1], [5, 5], [6, 6]], "rectangle"),  # three points
        _shape("cat", [[1, 1], ["x", 5]], "rectangle"),  # not a number
        _shape("cat", [[1, 1], [80, 5]], "rectangle"),  # beyond the 40x30 image
        _shape("cat", [[3, 3], [3, 9]], "rectangle"),  # no area
        _shape("eel", [[1, 1], [5, 5]], "rectangle"),  # not in classes=
        _shape("cat", [[1, 1], [5, 5]], "polygon"),  # two points
    ]
    _labelme(tmp_path / "a.json", "a.png", shapes)
    with pytest.raises(DatasetValidationError) as raised:
        LabelMeDataset(tmp_path, classes=["cat"])
    message = str(raised.value)
    for number in range(1, 7):
        assert f"a.json shape {number} " in message
    assert "a rectangle has 2 corners (or 4), got 3 points" in message
    assert "expected a finite number, got 'x'" in message
    assert "outside the 40x30 image" in message and "has no area" in message
    assert "label 'eel' is not one of the classes" in message
    skipped = LabelMeDataset(tmp_path, classes=["cat"], on_error="skip")
    assert len(skipped.problems) == 6
    assert skipped[0][1]["boxes"].tolist() == [[1, 1, 5, 5]]  # the good shape stays


def test_labelme_fifo_annotation_is_refused_without_hanging(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _labelme(tmp_path / "a.json", "a.png", [_shape("cat", [[1, 1], [5, 5]], "rectangle")])
    os.mkfifo(tmp_path / "b.json")
    result = run_isolated(
        f"""
        from visiondata.formats import LabelMeDataset
        dataset = LabelMeDataset({str(tmp_path)!r}, on_error="skip")
        assert len(dataset) == 1, dataset.problems
        assert "FIFO" in dataset.problems[0] and "b.json" in dataset.problems[0], dataset.problems
        print("ok")
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    assert "ok" in result.stdout


def test_looks_like_labelme(tmp_path: Path) -> None:
    _labelme(tmp_path / "a.json", "a.png", [])
    assert looks_like_labelme(tmp_path) and looks_like_labelme(tmp_path / "a.json")
    other = tmp_path / "coco"
    other.mkdir()
    (other / "x.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    assert not looks_like_labelme(other) and not looks_like_labelme(tmp_path / "nothing")


# ----------------------------------------------------------------------------------------- Label Studio


def _rect(label, x, y, w, h, rotation=0.0, size=(200, 100)) -> dict:
    return {
        "id": "r1",
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": size[0],
        "original_height": size[1],
        "image_rotation": 0,
        "value": {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]},
    }


def _poly(label, points, size=(200, 100)) -> dict:
    return {
        "id": "p1",
        "type": "polygonlabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": size[0],
        "original_height": size[1],
        "image_rotation": 0,
        "value": {"points": points, "polygonlabels": [label]},
    }


def _task(task_id, image, results, cancelled_first=False) -> dict:
    annotations = [{"id": 1, "was_cancelled": False, "result": results, "ground_truth": False}]
    if cancelled_first:
        annotations.insert(0, {"id": 0, "was_cancelled": True, "result": [_rect("dog", 0, 0, 50, 50)]})
    return {"id": task_id, "data": {"image": image}, "annotations": annotations, "predictions": []}


def _export(tmp_path: Path, tasks: list) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, indent=2))
    return path


def test_label_studio_percent_becomes_pixels(tmp_path: Path) -> None:
    _png(tmp_path / "images" / "3a7f2c1d-cat.png", (200, 100))
    tasks = [
        _task(
            11,
            "/data/upload/1/3a7f2c1d-cat.png",
            [_rect("cat", 10, 20, 50, 30), _poly("dog", [[10, 10], [50, 10], [30, 40]])],
        )
    ]
    dataset = LabelStudioDataset(_export(tmp_path, tasks), images_dir=tmp_path / "images")
    assert dataset.classes == ["__background__", "cat", "dog"]
    image, target = dataset[0]
    assert tuple(image.shape) == (3, 100, 200)
    assert target["boxes"].tolist() == [[20, 20, 120, 50], [20, 10, 100, 40]]
    assert target["labels"].tolist() == [1, 2]
    assert target["image_id"] == 11
    assert dataset.polygons(0)[1].tolist() == [[20, 10], [100, 10], [60, 40]]


def test_label_studio_polygon_masks(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", (200, 100))
    points = [[10, 10], [50, 10], [30, 40]]
    dataset = LabelStudioDataset(
        _export(
            tmp_path, [_task(1, "/data/upload/1/a.png", [_rect("cat", 0, 0, 10, 10), _poly("dog", points)])]
        ),
        masks=True,
    )
    masks = dataset[0][1]["masks"].numpy()
    assert int(masks[0].sum()) == 20 * 10
    expected = rasterize_polygon(np.array([[20, 10], [100, 10], [60, 40]], dtype=np.float64), 100, 200)
    assert np.array_equal(masks[1], expected)


def test_label_studio_rotated_rectangle_is_the_box_around_it(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", (200, 100))
    # 40 x 20 px at (100, 20), turned 90 degrees clockwise about its top-left corner: x 80..100, y 20..60.
    dataset = LabelStudioDataset(
        _export(tmp_path, [_task(1, "a.png", [_rect("cat", 50, 20, 20, 20, rotation=90)])]), masks=True
    )
    _, target = dataset[0]
    assert np.allclose(target["boxes"].numpy(), [[80, 20, 100, 60]], atol=1e-4)
    assert int(target["masks"].sum()) == 20 * 40
    # 45 degrees: the rotated square's extent, not the square.
    dataset = LabelStudioDataset(
        _export(tmp_path, [_task(1, "a.png", [_rect("cat", 50, 20, 10, 20, rotation=45)])])
    )
    side = 20 * math.sqrt(0.5)
    assert np.allclose(
        dataset[0][1]["boxes"].numpy(), [[100 - side, 20, 100 + side, 20 + 2 * side]], atol=1e-3
    )


def test_label_studio_reads_the_first_annotation_not_cancelled(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", (200, 100))
    _png(tmp_path / "b.png", (200, 100))
    tasks = [
        _task(1, "a.png", [_rect("cat", 10, 20, 50, 30)], cancelled_first=True),
        {"id": 2, "data": {"image": "b.png"}, "annotations": [{"was_cancelled": True, "result": []}]},
    ]
    dataset = LabelStudioDataset(_export(tmp_path, tasks))
    assert dataset.classes == ["__background__", "cat"]  # the cancelled dog is not read
    assert len(dataset) == 1 and dataset.unannotated_tasks == [2]
    assert dataset[0][1]["boxes"].tolist() == [[20, 20, 120, 50]]


def test_label_studio_image_urls_map_to_images_dir(tmp_path: Path) -> None:
    _png(tmp_path / "cat.png", (200, 100))
    _png(tmp_path / "dog one.png", (200, 100))
    _png(tmp_path / "fig.png", (200, 100))
    tasks = [
        _task(1, "/data/upload/4/9f86d081-cat.png", []),  # upload prefix; the original name is on disk
        _task(2, "/data/local-files/?d=photos/dog%20one.png", []),
        _task(3, "s3://bucket/set/fig.png?X-Amz-Signature=abc", []),
    ]
    dataset = LabelStudioDataset(_export(tmp_path, tasks))
    assert list(dataset.paths) == ["cat.png", "dog one.png", "fig.png"]
    assert [dataset.image_id(i) for i in range(3)] == [1, 2, 3]


def test_label_studio_other_result_types_are_counted(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", (200, 100))
    keypoint = {"type": "keypointlabels", "original_width": 200, "original_height": 100, "value": {}}
    choice = {"type": "choices", "value": {"choices": ["day"]}}
    tasks = [_task(1, "a.png", [_rect("cat", 10, 20, 50, 30), keypoint, choice])]
    with pytest.warns(UserWarning, match=r"left out 2 results .*1 choices, 1 keypointlabels"):
        dataset = LabelStudioDataset(_export(tmp_path, tasks))
    assert dict(dataset.skipped_shapes) == {"keypointlabels": 1, "choices": 1}
    assert len(dataset[0][1]["boxes"]) == 1


def _bad_results_export(tmp_path: Path) -> Path:
    _png(tmp_path / "a.png", (200, 100))
    no_size = _rect("cat", 10, 20, 50, 30)
    del no_size["original_width"]
    two_labels = _rect("cat", 10, 20, 50, 30)
    two_labels["value"]["rectanglelabels"] = ["cat", "dog"]
    tasks = [
        _task(
            5,
            "a.png",
            [
                _rect("cat", 10, 20, 50, 30),
                no_size,
                two_labels,
                _rect("cat", 90, 20, 50, 30),
                _rect("eel", 1, 1, 5, 5),
            ],
        ),
        _task(6, "missing.png", []),
    ]
    return _export(tmp_path, tasks)


def test_label_studio_problems_name_task_and_result(tmp_path: Path) -> None:
    with pytest.raises(DatasetValidationError) as raised:
        LabelStudioDataset(_bad_results_export(tmp_path), classes=["cat"])
    message = str(raised.value)
    assert "task 5 result 1: original_width: expected a finite number, got None" in message
    assert "task 5 result 2: value.rectanglelabels: expected one label name" in message
    assert "task 5 result 3 ('cat'): box" in message and "outside the 200x100 image" in message
    assert "task 5 result 4: label 'eel' is not one of the classes" in message
    assert "task 6: image file" in message and "missing.png does not exist" in message


def test_label_studio_problems_under_skip_and_warn(tmp_path: Path) -> None:
    export = _bad_results_export(tmp_path)
    skipped = LabelStudioDataset(export, classes=["cat"], on_error="skip")
    assert len(skipped.problems) == 5 and len(skipped) == 1
    assert skipped[0][1]["boxes"].tolist() == [[20, 20, 120, 50]]
    with pytest.warns(SkippedSampleWarning, match=r"skipped 5 annotation problems"):
        LabelStudioDataset(export, classes=["cat"], on_error="warn")


def test_label_studio_malformed_export_raises_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text("[{")
    with pytest.raises(DatasetFormatError, match=r"export\.json: Label Studio export: expected JSON"):
        LabelStudioDataset(path)
    path.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(DatasetFormatError, match=r"expected a list of tasks .*got a dict with keys"):
        LabelStudioDataset(path)


def test_looks_like_label_studio(tmp_path: Path) -> None:
    export = _export(tmp_path, [_task(1, "a.png", [])])
    assert looks_like_label_studio(export)
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    assert not looks_like_label_studio(coco) and not looks_like_label_studio(tmp_path)


def test_readers_emit_no_warning_on_clean_files(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", (200, 100))
    _labelme(
        tmp_path / "lm" / "a.json",
        "../a.png",
        [_shape("cat", [[1, 1], [5, 5]], "rectangle")],
        size=(100, 200),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LabelMeDataset(tmp_path / "lm", allow_outside_root=True)
        LabelStudioDataset(_export(tmp_path, [_task(1, "a.png", [_rect("cat", 1, 1, 5, 5)])]))


def test_labelme_unreadable_embedded_image_data_follows_on_error(tmp_path: Path) -> None:
    from visiondata.exceptions import ImageReadError

    _labelme(
        tmp_path / "a.json", "gone.png", [_shape("cat", [[1, 1], [5, 5]], "rectangle")], image_data="@@@"
    )
    with pytest.raises(ImageReadError, match=r"gone\.png.*embedded imageData unreadable.*a\.json"):
        LabelMeDataset(tmp_path)[0]
    dataset = LabelMeDataset(tmp_path, on_error="skip")
    with pytest.raises(ImageReadError, match="no readable image"):
        dataset[0]
    assert list(dataset.errors) == [str(tmp_path / "gone.png")]


def test_label_studio_result_that_is_not_an_object_is_a_problem(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", (200, 100))
    export = _export(tmp_path, [_task(1, "a.png", [_rect("cat", 1, 1, 5, 5), "oops"])])
    with pytest.raises(DatasetValidationError, match=r"task 1 result 1: expected a result object, got oops"):
        LabelStudioDataset(export)
