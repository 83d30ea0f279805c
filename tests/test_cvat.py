"""CVATDataset: CVAT for images 1.1 XML exports, written as CVAT writes them (hand-written from its layout)."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from isolated import assert_clean_exit, run_isolated
from PIL import Image
from torch.utils.data import DataLoader

from visiondata.exceptions import DatasetFormatError, DatasetValidationError, SkippedSampleWarning
from visiondata.formats import CVATDataset
from visiondata.formats._cvat import looks_like_cvat

# As CVAT 2.x writes "CVAT for images 1.1" for a task: meta, labels with attributes, then the images.
EXPORT = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>12</id>
      <name>fruit</name>
      <size>2</size>
      <mode>annotation</mode>
      <overlap>0</overlap>
      <labels>
        <label>
          <name>kiwi</name>
          <color>#fa3253</color>
          <type>any</type>
          <attributes>
            <attribute>
              <name>ripe</name>
              <mutable>False</mutable>
              <input_type>checkbox</input_type>
              <default_value>false</default_value>
              <values>false</values>
            </attribute>
            <attribute>
              <name>variety</name>
              <mutable>False</mutable>
              <input_type>select</input_type>
              <default_value>gold</default_value>
              <values>gold
green</values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>apple</name>
          <color>#33ddff</color>
          <type>any</type>
          <attributes>
          </attributes>
        </label>
        <label>
          <name>fig</name>
          <color>#34d1b7</color>
          <type>any</type>
          <attributes>
          </attributes>
        </label>
      </labels>
    </task>
    <dumped>2024-05-01 10:00:00.000000+00:00</dumped>
  </meta>
  <image id="0" name="a.png" width="40" height="30">
    <box label="kiwi" source="manual" occluded="1" xtl="2.50" ytl="3.00" xbr="12.25" ybr="20.00" z_order="1">
      <attribute name="ripe">true</attribute>
      <attribute name="variety">green</attribute>
    </box>
    <polygon label="apple" source="manual" occluded="0" points="20.00,5.00;30.00,5.00;30.00,15.00;20.00,15.00" z_order="0">
    </polygon>
    <points label="fig" source="manual" occluded="0" points="1.00,1.00" z_order="0">
    </points>
    <tag label="fig" source="manual">
    </tag>
  </image>
  <image id="1" name="b.png" width="40" height="30">
    <box label="kiwi" source="manual" occluded="0" xtl="0.00" ytl="0.00" xbr="10.00" ybr="10.00" z_order="0">
      <attribute name="ripe">false</attribute>
      <attribute name="variety">gold</attribute>
    </box>
  </image>
</annotations>
"""


def write_export(folder: Path, text: str = EXPORT, images: str = "") -> Path:
    """``annotations.xml`` in ``folder`` and real PNGs a.png, b.png (40x30) in ``folder / images``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / images).mkdir(parents=True, exist_ok=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (40, 30), (10, 20, 30)).save(folder / images / name)
    path = folder / "annotations.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_boxes_labels_fields_and_skipped_shapes(tmp_path: Path) -> None:
    dataset = CVATDataset(write_export(tmp_path))
    assert dataset.classes == ["__background__", "kiwi", "apple", "fig"]  # <meta> order, not sorted
    assert len(dataset) == 2
    image, target = dataset[0]
    assert tuple(image.shape) == (3, 30, 40)
    assert target["boxes"].tolist() == [[2.5, 3.0, 12.25, 20.0], [20.0, 5.0, 30.0, 15.0]]
    assert target["labels"].tolist() == [1, 2]
    assert target["image_id"] == 0
    assert target["occluded"].tolist() == [1, 0]
    assert target["z_order"].tolist() == [1, 0]
    # Boolean attribute: float field, NaN where the shape has none (the polygon).
    assert target["ripe"][0].item() == 1.0 and math.isnan(target["ripe"][1].item())
    # Text attribute: codes into attribute_values, -1 where absent.
    assert dataset.attribute_values == {"variety": ["green", "gold"]}
    assert target["variety"].tolist() == [0, -1]
    _, second = dataset[1]
    assert second["ripe"].tolist() == [0.0] and second["variety"].tolist() == [1]
    assert second["image_id"] == 1
    # Points and tags are not boxes: counted, never silently dropped.
    assert dataset.skipped_shapes == {"points": 1, "tag": 1}
    assert dataset.problems == []


def test_classes_override_and_no_background(tmp_path: Path) -> None:
    path = write_export(tmp_path)
    dataset = CVATDataset(path, background=False)
    assert dataset.classes == ["kiwi", "apple", "fig"]
    assert dataset[0][1]["labels"].tolist() == [0, 1]
    dataset = CVATDataset(path, classes=["apple", "kiwi"], background=False)
    assert dataset[0][1]["labels"].tolist() == [1, 0]


def test_masks_from_polygon_and_box(tmp_path: Path) -> None:
    _, target = CVATDataset(write_export(tmp_path), masks=True)[0]
    masks = target["masks"]
    assert tuple(masks.shape) == (2, 30, 40)
    polygon = np.zeros((30, 40), dtype=np.uint8)
    polygon[5:15, 20:30] = 1
    assert np.array_equal(masks[1].numpy(), polygon)
    # A box's mask is its rectangle, not an empty mask.
    assert masks[0].sum().item() > 0
    assert masks[0, 10, 5].item() == 1 and masks[0, 25, 30].item() == 0


def test_mask_rle_and_ellipse(tmp_path: Path) -> None:
    # CVAT's <mask>: counts alternate from background over the region left, top, width, height.
    shapes = (
        '<mask label="fig" source="manual" occluded="0" rle="1, 2, 1, 2" left="4" top="6" width="3" '
        'height="2" z_order="0"></mask>'
        '<ellipse label="apple" source="manual" occluded="0" cx="20" cy="15" rx="5" ry="4" z_order="0"></ellipse>'
    )
    text = EXPORT.replace('<points label="fig"', shapes + '<points label="fig"', 1)
    _, target = CVATDataset(write_export(tmp_path, text), masks=True)[0]
    assert target["boxes"].tolist()[2:] == [[4.0, 6.0, 7.0, 8.0], [15.0, 11.0, 25.0, 19.0]]
    expected = np.zeros((30, 40), dtype=np.uint8)
    expected[6, 5:7] = 1
    expected[7, 5:7] = 1
    assert np.array_equal(target["masks"][2].numpy(), expected)
    assert target["masks"][3, 15, 20].item() == 1 and target["masks"][3, 11, 15].item() == 0


def test_rotated_box_gives_the_enclosing_box(tmp_path: Path) -> None:
    # A 20x10 box centred on (12.5, 18), turned 90 degrees: the enclosing box is 10x20 about that centre.
    text = EXPORT.replace(
        'xtl="2.50" ytl="3.00" xbr="12.25" ybr="20.00" z_order="1"',
        'xtl="2.50" ytl="13.00" xbr="22.50" ybr="23.00" rotation="90.0" z_order="1"',
    )
    _, target = CVATDataset(write_export(tmp_path, text))[0]
    assert torch.allclose(target["boxes"][0], torch.tensor([7.5, 8.0, 17.5, 28.0]), atol=1e-4)


def test_images_dir_defaults_to_images_folder_beside_the_xml(tmp_path: Path) -> None:
    dataset = CVATDataset(write_export(tmp_path, images="images"))
    assert Path(dataset.root) == tmp_path / "images"
    assert dataset[1][1]["boxes"].tolist() == [[0.0, 0.0, 10.0, 10.0]]


def test_unknown_label_bad_numbers_and_box_beyond_image_follow_on_error(tmp_path: Path) -> None:
    text = (
        EXPORT.replace(
            'label="apple" source="manual" occluded="0" points',
            'label="pear" source="manual" occluded="0" points',
        )
        .replace('xtl="0.00" ytl="0.00" xbr="10.00"', 'xtl="0.00" ytl="0.00" xbr="90.00"')
        .replace('xtl="2.50"', 'xtl="two"')
    )
    path = write_export(tmp_path, text)
    with pytest.raises(DatasetValidationError) as caught:
        CVATDataset(path)
    message = str(caught.value)
    assert "image 0 ('a.png') shape 1 (<box> 'kiwi'): xtl: expected a number, got 'two'" in message
    assert "image 0 ('a.png') shape 2 (<polygon> 'pear'): label 'pear' is not one of the classes" in message
    assert "image 1 ('b.png') shape 1 (<box> 'kiwi')" in message and "outside the 40x30 image" in message

    dataset = CVATDataset(path, on_error="skip")
    assert len(dataset.problems) == 3
    assert [len(dataset[i][1]["boxes"]) for i in range(2)] == [0, 0]
    with pytest.warns(SkippedSampleWarning, match="skipped 3 annotation problems"):
        dataset = CVATDataset(path, on_error="warn")
    assert len(dataset.problems) == 3


def test_bad_rle_and_bad_polygon_are_shape_problems(tmp_path: Path) -> None:
    shapes = (
        '<mask label="fig" rle="1, 2" left="4" top="6" width="3" height="2"></mask>'
        '<polygon label="fig" points="1,2;3"></polygon>'
    )
    text = EXPORT.replace('<points label="fig"', shapes + '<points label="fig"', 1)
    dataset = CVATDataset(write_export(tmp_path, text), on_error="skip", masks=True)
    assert any("shape 3 (<mask> 'fig'): rle: expected counts >= 0 summing to" in p for p in dataset.problems)
    assert any("shape 4 (<polygon> 'fig'): points: expected 'x1,y1;x2,y2;...'" in p for p in dataset.problems)
    assert len(dataset[0][1]["boxes"]) == 2


def test_missing_image_is_a_problem_naming_it(tmp_path: Path) -> None:
    path = write_export(tmp_path)
    os.remove(tmp_path / "b.png")
    with pytest.raises(
        DatasetValidationError, match=r"image 1 \('b.png'\): image file .*b.png does not exist"
    ):
        CVATDataset(path)
    assert len(CVATDataset(path, on_error="skip")) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<annotations><image", "expected well-formed XML"),
        ("<annotation><filename>a.png</filename></annotation>", "root <annotation>"),
        (
            '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "kiwi">]><annotations>&x;</annotations>',
            "without a <!DOCTYPE>",
        ),
    ],
)
def test_malformed_file_is_a_named_format_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(text)
    with pytest.raises(DatasetFormatError, match=r"annotations\.xml") as caught:
        CVATDataset(path, on_error="skip")
    assert expected in str(caught.value)


def test_entity_expansion_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    entities = ['<!ENTITY e0 "kiwikiwikiwikiwi">'] + [
        f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 10)
    ]
    bomb = f'<?xml version="1.0"?><!DOCTYPE annotations [{"".join(entities)}]><annotations>&e9;</annotations>'
    path = tmp_path / "annotations.xml"
    path.write_text(bomb)
    result = run_isolated(
        f"""
        from visiondata.exceptions import DatasetFormatError
        from visiondata.formats import CVATDataset
        try:
            CVATDataset({str(path)!r})
        except DatasetFormatError as error:
            assert "DOCTYPE" in str(error), error
        else:
            raise SystemExit("not refused")
        """,
        timeout=60,
    )
    assert_clean_exit(result)


def test_fifo_annotation_file_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "annotations.xml"
    os.mkfifo(fifo)
    result = run_isolated(
        f"""
        from visiondata.exceptions import DatasetFormatError
        from visiondata.formats import CVATDataset
        try:
            CVATDataset({str(fifo)!r})
        except DatasetFormatError as error:
            assert "FIFO" in str(error), error
        else:
            raise SystemExit("not refused")
        """,
        timeout=30,
    )
    assert_clean_exit(result)
    assert not looks_like_cvat(fifo)


def test_looks_like_cvat(tmp_path: Path) -> None:
    path = write_export(tmp_path)
    assert looks_like_cvat(path) and looks_like_cvat(tmp_path)
    voc = tmp_path / "voc.xml"
    voc.write_text("<annotation><filename>a.png</filename></annotation>")
    assert not looks_like_cvat(voc)
    assert not looks_like_cvat(tmp_path / "missing.xml")


def test_labels_without_meta_are_taken_in_order_of_appearance(tmp_path: Path) -> None:
    start, end = EXPORT.index("  <meta>"), EXPORT.index("</meta>") + len("</meta>")
    dataset = CVATDataset(write_export(tmp_path, EXPORT[:start] + EXPORT[end:]))
    assert dataset.classes == ["__background__", "kiwi", "apple"]


def _as_list(batch: list) -> list:
    return batch


def test_dataloader_pass_with_workers(tmp_path: Path) -> None:
    dataset = CVATDataset(write_export(tmp_path), masks=True)
    loader = DataLoader(
        dataset, batch_size=2, num_workers=2, collate_fn=_as_list, multiprocessing_context="fork"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (batch,) = list(loader)
    assert [target["labels"].tolist() for _, target in batch] == [[1, 2], [1]]
    assert [tuple(target["masks"].shape) for _, target in batch] == [(2, 30, 40), (1, 30, 40)]


def test_tracks_are_counted_and_bad_image_size_is_a_problem(tmp_path: Path) -> None:
    track = (
        '<track id="0" label="kiwi" source="manual"><box frame="0" xtl="1" ytl="1" xbr="5" ybr="5"/></track>'
    )
    text = EXPORT.replace("</annotations>", track + "</annotations>").replace(
        'name="b.png" width="40"', 'name="b.png" width="forty"'
    )
    dataset = CVATDataset(write_export(tmp_path, text), on_error="skip")
    assert dataset.skipped_shapes == {"points": 1, "tag": 1, "track": 1}
    assert dataset.problems == ["image 1 ('b.png'): width: expected a whole number, got 'forty'"]
    assert len(dataset) == 1
