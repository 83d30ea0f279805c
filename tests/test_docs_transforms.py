"""docs/augmentation.md's transform tables come from the registry (scripts/docs_transforms.py), and the page's
pipeline files and side-by-side albumentations pipeline are the pipelines its snippets run."""

from __future__ import annotations

import inspect
import re
import runpy
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from test_docs import load_script

from visiondata.exceptions import TransformSpecError
from visiondata.transforms import BoxPipeline, BoxTransform, list_transforms, register_transform
from visiondata.transforms import unregister_transform as unregister
from visiondata.transforms._own import own_names, transform_targets
from visiondata.transforms._spec import get_transform_definition

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "augmentation.md"
BACKENDS = ("torchvision", "albumentations")


@pytest.fixture(scope="module")
def hook() -> Any:
    return load_script("docs_transforms")


def cells(row: str) -> list[str]:
    """The cells of a Markdown table row, split on pipes that are not escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def rows(table: str) -> dict[str, list[str]]:
    """Name -> cells of each body row of a generated table."""
    body = [line for line in table.splitlines() if line.startswith("| `")]
    return {cells(line)[0].strip("`"): cells(line) for line in body}


# -- the table of portable transforms ------------------------------------------------------------------


def test_table_has_one_row_per_registered_transform_with_its_backends_and_targets(hook: Any) -> None:
    table = rows(hook.transforms_table())
    assert sorted(table) == list_transforms()
    for name, (_, backends, moves, _, _) in table.items():
        runs_on = [backend for backend in BACKENDS if name in list_transforms(backend=backend)]
        assert backends == ", ".join(runs_on), name
        assert moves == hook.moves(transform_targets(name, runs_on[0])), name
    # What a reader relies on, spelled out: geometry moves boxes and masks, colour does not.
    assert table["RandomResizedCrop"][2] == "image, boxes and masks"
    assert table["ScaleJitter"][2] == "image, boxes and masks"
    assert table["HueSaturationValue"][2] == "image only"
    assert table["CoarseDropout"][2] == "image only"
    assert hook.transforms_table().endswith(f"\n\n{len(list_transforms())} portable transforms.")


def test_table_gives_each_parameter_with_its_default_and_the_docstring_meaning(hook: Any) -> None:
    table = rows(hook.transforms_table())
    for name, row in table.items():
        definition = get_transform_definition(name)
        shown = row[3]
        for parameter in definition.signature.parameters.values():
            assert f"`{parameter.name}" in shown, (name, parameter.name)
        assert shown.endswith(f"`p={float(definition.default_p)!r}`"), name
        first_line = inspect.getdoc(definition.torchvision).splitlines()[0]
        assert row[4] == first_line.replace("``", "`").replace("|", "\\|"), name
    # Required parameters bare, defaults as written in a spec, floats shortened.
    crop = table["RandomResizedCrop"][3]
    assert crop.startswith("`size`, `scale=(0.08, 1.0)`, `ratio=(0.75, 1.3333)`, `interpolation='bilinear'`")
    assert crop.endswith("`p=1.0`")
    assert table["RandomBrightnessContrast"][3].startswith("`brightness_limit=(-0.2, 0.2)`")
    assert table["RandomBrightnessContrast"][3].endswith("`p=0.5`")  # albumentations' default p
    assert table["HorizontalFlip"][3] == "`p=0.5`"


def test_a_newly_registered_transform_gets_its_own_row(hook: Any) -> None:
    class Tint(BoxTransform):
        """Add ``strength`` to every value | a pipe in the meaning stays in its cell."""

        def __init__(self, strength: int = 2, channels: tuple[int, ...] = (0,)) -> None:
            self.strength = strength
            self.channels = channels

        def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
            return image + self.strength

    assert "DocsTint" not in rows(hook.transforms_table())
    register_transform("DocsTint", Tint)
    try:
        row = rows(hook.transforms_table())["DocsTint"]
    finally:
        unregister("DocsTint")
    # No numpy implementation and no albumentations builder: torchvision only; not geometric: image only.
    assert row == [
        "`DocsTint`",
        "torchvision",
        "image only",
        "`strength=2`, `channels=(0,)`, `p=1.0`",
        "Add `strength` to every value \\| a pipe in the meaning stays in its cell.",
    ]
    assert "DocsTint" not in rows(hook.transforms_table())


# -- each backend's own classes ------------------------------------------------------------------------


def own_lines(hook: Any, backend: str) -> list[str]:
    return [line for line in hook.own_transforms(backend).splitlines() if line.startswith("- ")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_own_listing_names_every_class_that_runs_with_what_it_moves(hook: Any, backend: str) -> None:
    pytest.importorskip("albumentations")
    lines = own_lines(hook, backend)
    runnable = own_names(backend)
    assert runnable
    for name in runnable:
        holding = [line for line in lines if f"`{name}`" in line]
        assert len(holding) == 1, name
        targets = transform_targets(name, backend)
        assert holding[0].startswith(f"- {hook.moves(targets)} ("), (name, holding[0])
    text = hook.own_transforms(backend)
    assert f"{len(runnable)} classes run in a pipeline" in text
    # The counts in each group add up to the classes that run.
    counts = re.findall(r"^- (image, boxes and masks|image only) \((\d+)\)", text, flags=re.MULTILINE)
    assert sum(int(count) for _, count in counts) == len(runnable)
    geometric, pixels = ("Affine", "CLAHE") if backend == "albumentations" else ("RandomRotation", "JPEG")
    assert re.search(
        rf"^- image, boxes and masks \(\d+\): .*`{backend}\.{geometric}`", text, flags=re.MULTILINE
    )
    assert re.search(rf"^- image only \(\d+\): .*`{backend}\.{pixels}`", text, flags=re.MULTILINE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_refused_class_is_listed_with_the_reason_the_pipeline_gives(hook: Any, backend: str) -> None:
    pytest.importorskip("albumentations")
    refused = hook.refused(backend)
    lines = own_lines(hook, backend)
    assert refused
    assert not set(refused) & set(own_names(backend))
    for name, reason in refused.items():
        holding = [line for line in lines if f"`{name}`" in line]
        assert len(holding) == 1, name
        assert holding[0].endswith(f": {reason}"), (name, holding[0])
        with pytest.raises(TransformSpecError) as raised:
            transform_targets(name, backend)
        assert reason in str(raised.value)
        # A pipeline refuses it with the same reason when built.
        with pytest.raises(TransformSpecError, match=re.escape(reason)):
            BoxPipeline([name], backend=backend)


def test_refusals_the_page_promises_are_in_the_generated_lists(hook: Any) -> None:
    pytest.importorskip("albumentations")
    torchvision = hook.own_transforms("torchvision")
    for name in ("RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix"):
        (line,) = [line for line in torchvision.splitlines() if f"`torchvision.{name}`" in line]
        assert "torchvision does not move bounding boxes for it" in line
    albumentations = hook.own_transforms("albumentations")
    (line,) = [line for line in albumentations.splitlines() if "`albumentations.RandomGridShuffle`" in line]
    assert "cannot stay one box per object" in line
    (line,) = [line for line in albumentations.splitlines() if "`albumentations.Lambda`" in line]
    assert "register a transform instead" in line


def test_own_listing_says_so_when_albumentations_is_missing(
    hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visiondata.exceptions import MissingDependencyError
    from visiondata.transforms import _own

    def missing(backend: str) -> list[str]:
        raise MissingDependencyError("albumentations is not installed")

    monkeypatch.setattr(_own, "own_names", missing)
    assert "not installed where this page was built" in hook.own_transforms("albumentations")


# -- the hook on the page ------------------------------------------------------------------------------


def test_hook_fills_both_placeholders_of_the_augmentation_page_and_leaves_other_pages(hook: Any) -> None:
    page = PAGE.read_text()
    assert hook.TABLE_PLACEHOLDER in page and hook.OWN_PLACEHOLDER in page
    built = hook.on_page_markdown(page, page=None)
    assert hook.TABLE_PLACEHOLDER not in built and hook.OWN_PLACEHOLDER not in built
    assert hook.transforms_table() in built
    assert hook.own_transforms_section() in built
    other = (REPO / "docs" / "detection.md").read_text()
    assert hook.on_page_markdown(other, page=None) == other
    hooks = yaml.safe_load((REPO / "mkdocs.yml").read_text())["hooks"]
    assert "scripts/docs_transforms.py" in hooks


# -- the page's pipeline files and the albumentations side by side -------------------------------------


def blocks(language: str) -> list[tuple[int, str]]:
    """(offset, text) of each fenced block of ``language`` on the page."""
    return [
        (match.start(), match.group(1))
        for match in re.finditer(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    ]


def run_snippet(text: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    script = folder / "snippet.py"
    script.write_text(text)
    monkeypatch.chdir(folder)
    return runpy.run_path(str(script), run_name="__main__")


def test_every_pipeline_file_on_the_page_is_the_pipeline_of_the_snippet_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("albumentations")
    python = blocks("python")
    files = [(offset, text) for offset, text in blocks("yaml") if text.startswith("# augment.yaml\n")]
    assert len(files) == 2  # the compositions and the albumentations users' pipeline
    for offset, text in files:
        snippet = [code for start, code in python if start < offset][-1]
        shown = run_snippet(snippet, tmp_path, monkeypatch)["pipeline"]
        assert BoxPipeline.from_dict(yaml.safe_load(text)).to_dict() == shown.to_dict()


def test_albumentations_pipeline_and_its_spec_side_by_side_are_the_same_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("albumentations")
    python = [code for _, code in blocks("python")]
    (albumentations_code,) = [code for code in python if "import albumentations as A" in code]
    ours = python[python.index(albumentations_code) + 1]
    compose = run_snippet(albumentations_code, tmp_path, monkeypatch)["augment"]
    spec = run_snippet(ours, tmp_path, monkeypatch)["pipeline"].to_dict()

    def theirs(transform: Any) -> dict[str, Any]:
        described = {"name": type(transform).__name__, "p": float(transform.p)}
        if hasattr(transform, "transforms"):
            described["transforms"] = [theirs(child) for child in transform.transforms]
        return described

    def mine(step: dict[str, Any]) -> dict[str, Any]:
        described = {"name": step["name"].removeprefix("albumentations."), "p": step["p"]}
        if "transforms" in step:
            described["transforms"] = [mine(child) for child in step["transforms"]]
        return described

    assert [mine(step) for step in spec["transforms"]] == [theirs(step) for step in compose.transforms]
    crop = compose.transforms[0]
    assert spec["transforms"][0]["size"] == list(crop.size)
    assert spec["transforms"][0]["scale"] == list(crop.scale)
    assert spec["transforms"][0]["ratio"] == pytest.approx(list(crop.ratio))
    bbox_params = compose.processors["bboxes"].params
    assert (bbox_params.format, spec["box_format"]) == ("pascal_voc", "xyxy")
    assert spec["min_visibility"] == bbox_params.min_visibility
    assert spec["seed"] == 0 and spec["backend"] == "albumentations"


def test_the_albumentations_pipeline_spec_keeps_boxes_on_their_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page's photo-like image has a bright object under each box: after the page's pipeline, each kept
    # box must still enclose bright pixels, and each dropped one be reported.
    pytest.importorskip("albumentations")
    import numpy as np

    python = [code for _, code in blocks("python")]
    (albumentations_code,) = [code for code in python if "import albumentations as A" in code]
    namespace = run_snippet(python[python.index(albumentations_code) + 1], tmp_path, monkeypatch)
    pipeline, image, boxes = namespace["pipeline"], namespace["image"], namespace["boxes"]
    plain = BoxPipeline.from_dict({**pipeline.to_dict(), "transforms": pipeline.to_dict()["transforms"][:2]})
    for _ in range(20):
        out = plain({"image": image, "boxes": boxes, "labels": [1, 2, 3]})
        assert len(out["boxes"]) + len(out["dropped"]) == 3
        for box in np.asarray(out["boxes"]):
            x_min, y_min, x_max, y_max = np.round(box).astype(int)
            inside = out["image"][y_min:y_max, x_min:x_max]
            # The object fills its box: away from the resampled edges it is white.
            core = inside[2:-2, 2:-2] if min(inside.shape[:2]) > 6 else inside
            assert core.size and core.min() >= 200


def test_visibility_across_steps_differs_from_albumentations_as_the_page_says() -> None:
    # The page: a box halved by two crops is 25% visible, dropped at min_visibility=0.3; albumentations compares
    # each step with the box that came into it (50%, then 50%) and keeps it.
    albumentations = pytest.importorskip("albumentations")
    import numpy as np

    page = " ".join(PAGE.read_text().split())
    assert "a box halved by two crops is 25% visible" in page
    assert "(50%, then 50%: kept at 0.3)" in page
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :100] = 255  # the object fills its box
    compose = albumentations.Compose(
        [
            albumentations.Crop(x_min=50, y_min=0, x_max=200, y_max=100),
            albumentations.Crop(x_min=25, y_min=0, x_max=150, y_max=100),
        ],
        bbox_params=albumentations.BboxParams(
            format="pascal_voc", label_fields=["labels"], min_visibility=0.3
        ),
    )
    assert len(compose(image=image, bboxes=[[0, 0, 100, 100]], labels=[1])["bboxes"]) == 1
    for backend in BACKENDS:
        pipeline = BoxPipeline(
            [
                {"name": "Crop", "top": 0, "left": 50, "height": 100, "width": 150},
                {"name": "Crop", "top": 0, "left": 25, "height": 100, "width": 125},
            ],
            min_visibility=0.3,
            backend=backend,
        )
        out = pipeline({"image": image, "boxes": np.array([[0.0, 0.0, 100.0, 100.0]]), "labels": [1]})
        assert out["dropped"] == [{"index": 0, "reason": "visibility"}] and len(out["boxes"]) == 0
        # The 25 columns of the object still in view are there, so the drop is by the rule, not by absence.
        assert out["image"][:, :25].min() == 255 and out["image"][:, 25:].max() == 0
        kept = BoxPipeline(pipeline.to_dict()["transforms"], min_visibility=0.2, backend=backend)
        assert kept({"image": image, "boxes": np.array([[0.0, 0.0, 100.0, 100.0]])})["boxes"].tolist() == [
            [0.0, 0.0, 25.0, 100.0]
        ]
