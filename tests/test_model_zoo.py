"""The model zoo: every registered model with a new head, safe weights, offline errors, input channels, names."""

from __future__ import annotations

import copy
import pathlib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.hub
import torchvision
from torch import nn

from visiondata.exceptions import (
    DuplicateNameError,
    MissingDependencyError,
    UnknownNameError,
    WeightsLoadError,
    WeightsUnavailableError,
)
from visiondata.models import (
    DataConfig,
    LoadReport,
    adapt_input_channels,
    create_model,
    get_head,
    get_model_entry,
    list_models,
    load_weights,
    model_data_config,
    model_transforms,
    read_state_dict,
    register_model,
    replace_detection_head,
    replace_head,
    replace_segmentation_head,
)
from visiondata.models._zoo import _MODELS

CLASSIFICATION = list_models(task="classification", source="torchvision")
DETECTION = list_models(task="detection")
SEGMENTATION = list_models(task="segmentation")

# Measured on the idle 2-core test machine (whole test, build + forward): 2.2 s to 6.4 s each, the
# rest of the classification models stay under 1.4 s.
SLOW = {"convnext_large", "regnet_y_128gf", "vit_h_14", "vit_l_16", "vit_l_32", "ssd300_vgg16"}
# The two largest ViTs are built for a smaller image (their image_size) so that the forward stays short.
BUILD_KWARGS: dict[str, dict[str, Any]] = {"vit_h_14": {"image_size": 56}, "vit_l_16": {"image_size": 64}}

RESNET18_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
RESNET50_URL = "https://download.pytorch.org/models/resnet50-0676ba61.pth"


# ---------------------------------------------------------------- helpers
@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test here may download anything: torch's hub lives in tmp_path and urlopen fails at once."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "urlopen", refuse)


def params(names: list[str]) -> list[Any]:
    return [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in names]


def seeded(builder: Callable[[], nn.Module], seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return builder()


def cloned_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def changed_keys(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> set[str]:
    """Keys added, removed, reshaped or with other values."""
    keys = set(before) | set(after)
    return {
        key
        for key in keys
        if key not in before
        or key not in after
        or before[key].shape != after[key].shape
        or not torch.equal(before[key], after[key])
    }


def outputs_of(layer: nn.Module) -> int:
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def classification_input_side(name: str, model: nn.Module) -> int:
    if isinstance(getattr(model, "image_size", None), int):  # ViT: exactly its image size
        return model.image_size
    if name.startswith("maxvit"):  # its partitions need 224; Swin pads its windows, so 64 suits it
        return 224
    if name == "inception_v3":
        return 80  # at least 75
    return 64


def close_relative(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-4) -> None:
    scale = float(expected.abs().max())
    assert scale > 0, "a comparison against an all-zero output proves nothing"
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale)


def save_resnet18(path: Path, seed: int = 0, transform: Callable[[dict], Any] = lambda s: s) -> dict:
    state = cloned_state(seeded(lambda: create_model("resnet18"), seed))
    torch.save(transform(state), path)
    return state


# ---------------------------------------------------------------- 1. classification heads
def test_every_torchvision_classification_model_is_listed() -> None:
    assert sorted(torchvision.models.list_models(module=torchvision.models)) == CLASSIFICATION
    assert len(CLASSIFICATION) >= 80
    assert {"resnet18", "vit_b_16", "inception_v3", "maxvit_t", "swin_v2_t"} <= set(CLASSIFICATION)


@pytest.mark.parametrize("name", params(CLASSIFICATION))
def test_new_head_on_every_classification_model(name: str) -> None:
    model = create_model(name, num_classes=7, **BUILD_KWARGS.get(name, {}))
    assert model.training, "create_model returns the model in training mode, as built"
    assert model.visiondata_name == f"torchvision:{name}"
    _, head = get_head(model)
    assert outputs_of(head) == 7
    side = classification_input_side(name, model)
    with torch.no_grad():
        logits = model.eval()(torch.rand(2, 3, side, side))
    assert logits.shape == (2, 7)
    assert torch.isfinite(logits).all()


HEAD_PATHS = {
    "resnet18": "fc",
    "vgg11": "classifier.6",
    "squeezenet1_0": "classifier.1",
    "vit_b_16": "heads.head",
    "convnext_tiny": "classifier.2",
    "mobilenet_v3_small": "classifier.3",
    "efficientnet_b0": "classifier.1",
    "densenet121": "classifier",
    "mnasnet0_5": "classifier.1",
    "shufflenet_v2_x0_5": "fc",
    "regnet_x_400mf": "fc",
    "swin_t": "head",
}


@pytest.mark.parametrize(("name", "head_path"), HEAD_PATHS.items())
def test_replace_head_keeps_every_other_tensor(name: str, head_path: str) -> None:
    model = seeded(lambda: create_model(name))
    path, old = get_head(model)
    assert path == head_path
    before = cloned_state(model)

    assert replace_head(model, 7) is model

    after = model.state_dict()
    new = model.get_submodule(head_path)
    assert type(new) is type(old)
    assert outputs_of(new) == 7
    assert new.weight.shape[1:] == old.weight.shape[1:], "same inputs as the old head"
    head_keys = {f"{head_path}.weight", f"{head_path}.bias"}
    assert changed_keys(before, after) == head_keys
    assert set(before) == set(after)


def test_inception_v3_auxiliary_head_is_replaced() -> None:
    model = create_model("inception_v3", num_classes=7)
    assert model.AuxLogits.fc.out_features == 7
    outputs = model.train()(torch.rand(2, 3, 299, 299))  # the auxiliary branch needs 299 x 299
    assert outputs.logits.shape == (2, 7)
    assert outputs.aux_logits.shape == (2, 7)


def test_googlenet_auxiliary_heads_are_replaced() -> None:
    model = create_model("googlenet", num_classes=7)
    assert (model.aux1.fc2.out_features, model.aux2.fc2.out_features) == (7, 7)
    outputs = model.train()(torch.rand(2, 3, 64, 64))
    assert outputs.logits.shape == (2, 7)
    assert outputs.aux_logits1.shape == (2, 7)
    assert outputs.aux_logits2.shape == (2, 7)


def test_replace_head_rejects_bad_counts_and_headless_models() -> None:
    model = torchvision.models.resnet18()
    for bad in (0, -3, True, 2.0):
        with pytest.raises(ValueError, match=r"num_classes: expected a positive integer"):
            replace_head(model, bad)  # type: ignore[arg-type]
    assert model.fc.out_features == 1000
    with pytest.raises(
        ValueError, match=r"Sequential: expected a classification head .* at one of fc, heads"
    ):
        replace_head(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), 3)
    with pytest.raises(ValueError, match=r"ResNet: expected a torchvision detection model"):
        replace_detection_head(model, 3)
    with pytest.raises(ValueError, match=r"ResNet: expected a torchvision segmentation model"):
        replace_segmentation_head(model, 3)


# ---------------------------------------------------------------- 2. detection and segmentation
def detection_kwargs(name: str) -> dict[str, Any]:
    """Small, fast settings; every detection is kept (score threshold 0) so the labels can be checked."""
    kwargs: dict[str, Any] = {"weights": None, "weights_backbone": None}
    if name.startswith("ssd"):
        return {**kwargs, "score_thresh": 0.0, "detections_per_img": 20}
    kwargs.update(min_size=128, max_size=128)
    if "rcnn" in name:
        return {
            **kwargs,
            "box_score_thresh": 0.0,
            "box_detections_per_img": 5,
            "rpn_pre_nms_top_n_test": 200,
            "rpn_post_nms_top_n_test": 50,
            "rpn_pre_nms_top_n_train": 200,
            "rpn_post_nms_top_n_train": 100,
            "box_batch_size_per_image": 16,
        }
    return {**kwargs, "score_thresh": 0.0, "detections_per_img": 20}


def predictor_prefixes(name: str) -> tuple[str, ...]:
    if "rcnn" in name:
        return ("roi_heads.box_predictor.", "roi_heads.mask_predictor.")
    if name.startswith("ssd"):
        return ("head.classification_head.module_list.",)
    return ("head.classification_head.cls_logits.",)


def detection_target(name: str, model: nn.Module, side: int) -> dict[str, torch.Tensor]:
    boxes = torch.tensor([[10.0, 20.0, 60.0, 90.0], [30.0, 30.0, 120.0, 100.0]])
    target = {"boxes": boxes, "labels": torch.tensor([1, 2])}
    if name.startswith("maskrcnn"):
        masks = torch.zeros(2, side, side, dtype=torch.uint8)
        for mask, (x0, y0, x1, y1) in zip(masks, boxes.int().tolist()):
            mask[y0:y1, x0:x1] = 1
        target["masks"] = masks
    if name.startswith("keypointrcnn"):
        count = model.roi_heads.keypoint_predictor.kps_score_lowres.out_channels
        keypoints = torch.zeros(2, count, 3)
        keypoints[..., 0] = torch.linspace(12, 58, count)
        keypoints[..., 1] = 50
        keypoints[..., 2] = 1
        target["keypoints"] = keypoints
    return target


EXPECTED_LOSSES = {
    "fasterrcnn": {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"},
    "maskrcnn": {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg", "loss_mask"},
    "keypointrcnn": {
        "loss_classifier",
        "loss_box_reg",
        "loss_objectness",
        "loss_rpn_box_reg",
        "loss_keypoint",
    },
    "retinanet": {"classification", "bbox_regression"},
    "fcos": {"classification", "bbox_regression", "bbox_ctrness"},
    "ssd300": {"classification", "bbox_regression"},
    "ssdlite320": {"classification", "bbox_regression"},
}


def test_detection_and_segmentation_models_are_listed() -> None:
    assert sorted(torchvision.models.list_models(module=torchvision.models.detection)) == DETECTION
    assert SEGMENTATION == [
        "deeplabv3_mobilenet_v3_large",
        "deeplabv3_resnet101",
        "deeplabv3_resnet50",
        "fcn_resnet101",
        "fcn_resnet50",
        "lraspp_mobilenet_v3_large",
    ]
    assert {"fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn", "ssd300_vgg16", "fcos_resnet50_fpn"} <= set(
        DETECTION
    )


@pytest.mark.parametrize("name", params(DETECTION))
def test_detection_model_with_three_classes(name: str) -> None:
    kwargs = detection_kwargs(name)
    plain = cloned_state(seeded(lambda: create_model(name, **kwargs)))
    model = seeded(lambda: create_model(name, num_classes=3, **kwargs))
    after = model.state_dict()

    # Only the class predictors changed; the backbone (and FPN, regression heads, RPN) did not.
    assert set(after) == set(plain)
    backbone = [key for key in after if key.startswith("backbone.")]
    assert len(backbone) > 20
    assert all(torch.equal(after[key], plain[key]) for key in backbone)
    changed = changed_keys(plain, after)
    assert changed, "the predictor must have been replaced"
    assert all(key.startswith(predictor_prefixes(name)) for key in changed), sorted(changed)
    assert any(after[key].shape != plain[key].shape for key in changed)

    side = 128
    image = torch.rand(3, side, side)
    with torch.no_grad():
        detections = model.eval()([image])
    assert isinstance(detections, list) and len(detections) == 1
    found = detections[0]
    assert {"boxes", "labels", "scores"} <= set(found)
    count = len(found["labels"])
    assert count > 0, "with score threshold 0 a random model still detects something"
    assert found["boxes"].shape == (count, 4)
    assert found["scores"].shape == (count,)
    assert int(found["labels"].min()) >= 0
    assert int(found["labels"].max()) < 3, found["labels"].unique().tolist()
    assert (found["boxes"] >= 0).all() and (found["boxes"] <= side).all()

    batch = 2 if name.startswith("ssd") else 1  # SSDlite's extra layers hold BatchNorm over 1x1 maps
    target = detection_target(name, model, side)
    losses = model.train()([image] * batch, [target] * batch)
    assert set(losses) == EXPECTED_LOSSES[name.split("_")[0]]
    for loss_name, loss in losses.items():
        assert loss.ndim == 0 and bool(torch.isfinite(loss)), loss_name


def test_detection_counts_are_updated() -> None:
    faster = create_model(
        "fasterrcnn_mobilenet_v3_large_320_fpn", num_classes=3, weights=None, weights_backbone=None
    )
    assert faster.roi_heads.box_predictor.cls_score.out_features == 3
    assert faster.roi_heads.box_predictor.bbox_pred.out_features == 12
    retina = create_model("retinanet_resnet50_fpn", num_classes=3, weights=None, weights_backbone=None)
    head = retina.head.classification_head
    assert (head.num_classes, head.cls_logits.out_channels) == (3, 9 * 3)
    ssd = create_model("ssdlite320_mobilenet_v3_large", num_classes=3, weights=None, weights_backbone=None)
    assert ssd.head.classification_head.num_columns == 3
    assert [layer[-1].out_channels for layer in ssd.head.classification_head.module_list] == [18] * 6


def test_mask_rcnn_keeps_its_mask_upsampling_weights() -> None:
    kwargs = {"weights": None, "weights_backbone": None}
    plain = cloned_state(seeded(lambda: create_model("maskrcnn_resnet50_fpn", **kwargs)))
    after = seeded(lambda: create_model("maskrcnn_resnet50_fpn", num_classes=3, **kwargs)).state_dict()
    assert after["roi_heads.mask_predictor.mask_fcn_logits.weight"].shape[0] == 3
    for key in ("roi_heads.mask_predictor.conv5_mask.weight", "roi_heads.mask_predictor.conv5_mask.bias"):
        assert torch.equal(after[key], plain[key]), key


SEGMENTATION_HEAD_KEYS = {
    "lraspp": {
        "classifier.low_classifier.weight",
        "classifier.low_classifier.bias",
        "classifier.high_classifier.weight",
        "classifier.high_classifier.bias",
    },
    "with_aux": {
        "classifier.4.weight",
        "classifier.4.bias",
        "aux_classifier.4.weight",
        "aux_classifier.4.bias",
    },
}


@pytest.mark.parametrize("name", SEGMENTATION)
def test_segmentation_model_with_three_classes(name: str) -> None:
    has_aux = not name.startswith("lraspp")
    kwargs: dict[str, Any] = {"weights": None, "weights_backbone": None}
    if has_aux:
        kwargs["aux_loss"] = True
    plain = cloned_state(seeded(lambda: create_model(name, **kwargs)))
    model = seeded(lambda: create_model(name, num_classes=3, **kwargs))
    after = model.state_dict()

    assert changed_keys(plain, after) == SEGMENTATION_HEAD_KEYS["with_aux" if has_aux else "lraspp"]
    assert all(torch.equal(after[key], plain[key]) for key in after if key.startswith("backbone."))

    with torch.no_grad():
        outputs = model.eval()(torch.rand(1, 3, 96, 128))
    assert outputs["out"].shape == (1, 3, 96, 128)
    if has_aux:
        assert outputs["aux"].shape == (1, 3, 96, 128)
    else:
        assert "aux" not in outputs


# ---------------------------------------------------------------- 3. local weights
def test_local_weights_load_everything_but_the_new_head(tmp_path: Path) -> None:
    path = tmp_path / "r18.pth"
    saved = save_resnet18(path, seed=0)
    torch.manual_seed(1)  # another initialisation: every equality below comes from the file
    with pytest.warns(
        UserWarning, match=r"fc\.weight: \(1000, 512\) -> \(5, 512\), fc\.bias: \(1000,\) -> \(5,\)"
    ):
        model = create_model("resnet18", num_classes=5, weights=path)

    state = model.state_dict()
    assert model.fc.out_features == 5
    assert state["fc.weight"].shape == (5, 512)
    for key, tensor in saved.items():
        if not key.startswith("fc."):
            assert torch.equal(state[key], tensor), key
    report = model.visiondata_load_report
    assert isinstance(report, LoadReport)
    assert report.source == str(path)
    assert report.skipped == ["fc.weight: (1000, 512) -> (5, 512)", "fc.bias: (1000,) -> (5,)"]
    assert report.missing == [] and report.unexpected == []
    assert sorted(report.loaded) == sorted(key for key in saved if not key.startswith("fc."))


def test_local_weights_strict_refuses_a_changed_head(tmp_path: Path) -> None:
    path = tmp_path / "r18.pth"
    save_resnet18(path)
    with pytest.raises(WeightsLoadError, match=r"strict loading failed") as caught:
        create_model("resnet18", num_classes=5, weights=path, strict=True)
    assert str(path) in str(caught.value)
    assert "fc.weight: (1000, 512) -> (5, 512)" in str(caught.value)


def test_local_weights_strict_accepts_an_exact_fit(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    path = tmp_path / "r18.pt"
    saved = save_resnet18(path)
    model = seeded(lambda: create_model("resnet18", weights=str(path), strict=True), seed=2)
    assert torch.equal(model.conv1.weight, saved["conv1.weight"])
    assert len(model.visiondata_load_report.loaded) == len(saved)
    assert not [w for w in recwarn if "weights:" in str(w.message)]


@pytest.mark.parametrize(
    ("layout", "transform"),
    [
        ("checkpoint dict", lambda state: {"state_dict": state, "epoch": 3}),
        ("model_state_dict", lambda state: {"model_state_dict": state, "step": 10}),
        ("DataParallel prefix", lambda state: {f"module.{key}": value for key, value in state.items()}),
    ],
)
def test_local_weights_in_other_layouts(
    tmp_path: Path, layout: str, transform: Callable[[dict], Any]
) -> None:
    path = tmp_path / "checkpoint.pth"
    saved = save_resnet18(path, transform=transform)
    read = read_state_dict(path)
    assert set(read) == set(saved), layout
    model = seeded(lambda: create_model("resnet18", weights=path), seed=3)
    assert model.visiondata_load_report.missing == []
    assert model.visiondata_load_report.unexpected == []
    for key in ("conv1.weight", "layer4.1.conv2.weight", "fc.weight", "fc.bias"):
        assert torch.equal(model.state_dict()[key], saved[key]), key


def test_missing_and_unexpected_keys_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "partial.pth"

    def damage(state: dict) -> dict:
        state = dict(state)
        del state["layer4.1.bn2.weight"]
        state["extra.weight"] = torch.zeros(3)
        return state

    save_resnet18(path, transform=damage)
    with pytest.warns(UserWarning, match=r"1 missing: layer4\.1\.bn2\.weight; 1 unexpected: extra\.weight"):
        model = create_model("resnet18", weights=path)
    report = model.visiondata_load_report
    assert report.missing == ["layer4.1.bn2.weight"]
    assert report.unexpected == ["extra.weight"]
    assert report.skipped == []
    assert torch.equal(model.layer4[1].bn2.weight, torch.ones(512)), "a missing key keeps its initial value"
    with pytest.raises(WeightsLoadError, match=r"1 missing: layer4\.1\.bn2\.weight"):
        load_weights(torchvision.models.resnet18(), path, strict=True)


def test_safetensors_file(tmp_path: Path) -> None:
    path = tmp_path / "r18.safetensors"
    state = cloned_state(seeded(lambda: create_model("resnet18")))
    try:
        from safetensors.torch import save_file
    except ImportError:
        path.write_bytes(b"\x00" * 16)
        with pytest.raises(MissingDependencyError, match=r"pip install safetensors") as caught:
            create_model("resnet18", weights=path)
        assert str(path) in str(caught.value)
        assert isinstance(caught.value, ImportError)
        return
    save_file(state, str(path))
    with pytest.warns(UserWarning, match=r"2 skipped \(shape changed\): fc.weight"):
        model = seeded(lambda: create_model("resnet18", num_classes=5, weights=path), seed=4)
    assert torch.equal(model.conv1.weight, state["conv1.weight"])
    assert model.visiondata_load_report.skipped == [
        "fc.weight: (1000, 512) -> (5, 512)",
        "fc.bias: (1000,) -> (5,)",
    ]


def test_a_missing_weights_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.pth"
    with pytest.raises(WeightsLoadError, match=r"nowhere\.pth: expected a weights file, found nothing"):
        create_model("resnet18", weights=path)
    with pytest.raises(WeightsLoadError, match=r"expected a weights file, found a folder"):
        read_state_dict(tmp_path)


def test_a_file_holding_no_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(
        WeightsLoadError, match=r"list\.pt: expected a state_dict \(names mapped to tensors\), got list"
    ):
        create_model("resnet18", weights=path)


# ---------------------------------------------------------------- 4. unsafe checkpoints
class TouchOnUnpickle:
    """Unpickling this creates ``marker``: a stand-in for any code a malicious checkpoint would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (self.marker,))


def test_unsafe_checkpoint_is_refused_and_its_code_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    state = cloned_state(torchvision.models.resnet18())
    torch.save({"state_dict": state, "extra": TouchOnUnpickle(marker)}, path)

    with pytest.raises(WeightsLoadError) as caught:
        create_model("resnet18", weights=path)
    message = str(caught.value)
    assert message.startswith(f"{path}: refused:")
    assert "could run code" in message and "weights_only=True" in message
    assert not marker.exists(), "the checkpoint's code ran"
    with pytest.raises(WeightsLoadError, match=r"refused"):
        read_state_dict(path)
    assert not marker.exists()

    # The payload is live: an unsafe load does run it (so the checks above can fail).
    control = tmp_path / "control-marker"
    control_path = tmp_path / "control.pth"
    torch.save(TouchOnUnpickle(control), control_path)
    torch.load(control_path, weights_only=False)
    assert control.exists()


def test_empty_pt_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(WeightsLoadError, match=r"empty\.pt: not a PyTorch checkpoint"):
        create_model("resnet18", weights=path)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "hello world\nnot a checkpoint\n",
            id="plain-text",
        ),
        pytest.param(
            "abc",
            id="short-text",
        ),
        pytest.param(
            '{"weights": [1, 2, 3]}\n',
            id="json-text",
        ),
    ],
)
def test_text_file_named_pt_is_not_a_checkpoint(tmp_path: Path, text: str) -> None:
    path = tmp_path / "notes.pt"
    path.write_text(text)
    with pytest.raises(WeightsLoadError) as caught:
        create_model("resnet18", weights=path)
    assert str(caught.value).startswith(f"{path}: not a PyTorch checkpoint")


# ---------------------------------------------------------------- 5. released weights, offline
@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    assert torch.hub.get_dir() == str(home / "hub")
    return home


def test_released_weights_offline_then_cached(torch_home: Path) -> None:
    cached = torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(WeightsUnavailableError) as caught:
        create_model("resnet18", weights="DEFAULT")
    message = str(caught.value)
    assert f"Download {RESNET18_URL} on a machine with network access" in message
    assert f"place it at {cached} " in message
    assert "URLError" in message
    assert isinstance(caught.value, RuntimeError)
    assert not cached.exists(), "a failed download leaves nothing behind"

    cached.parent.mkdir(parents=True, exist_ok=True)
    state = save_resnet18(cached, seed=5)
    model = seeded(lambda: create_model("resnet18", weights="DEFAULT"), seed=6)
    assert torch.equal(model.conv1.weight, state["conv1.weight"])
    assert torch.equal(model.fc.weight, state["fc.weight"])

    full = seeded(lambda: create_model("resnet18", weights="ResNet18_Weights.IMAGENET1K_V1"), seed=7)
    assert torch.equal(full.layer3[0].conv1.weight, state["layer3.0.conv1.weight"])

    headed = seeded(lambda: create_model("resnet18", weights="IMAGENET1K_V1", num_classes=3), seed=8)
    assert headed.fc.out_features == 3
    assert torch.equal(headed.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert not torch.equal(headed.fc.weight, state["fc.weight"][:3])


@pytest.mark.parametrize("weights", ["IMAGENET1K_V2", "ResNet50_Weights.IMAGENET1K_V1", "imagenet"])
def test_unknown_released_weights_list_the_available_ones(weights: str) -> None:
    with pytest.raises(WeightsUnavailableError) as caught:
        create_model("resnet18", weights=weights)
    assert str(caught.value) == (
        f"resnet18: unknown weights {weights!r}; expected one of DEFAULT, IMAGENET1K_V1, a local file, or None"
    )


def test_visiondata_models_have_no_released_weights() -> None:
    with pytest.raises(ValueError, match=r"mnist_cnn: expected weights=None or a local file"):
        create_model("mnist_cnn", weights="DEFAULT")


def test_detection_backbone_weights_offline(torch_home: Path) -> None:
    assert torchvision.models.ResNet50_Weights.IMAGENET1K_V1.url == RESNET50_URL
    with pytest.raises(WeightsUnavailableError) as caught:
        create_model("fasterrcnn_resnet50_fpn", num_classes=3)
    message = str(caught.value)
    assert message.startswith("fasterrcnn_resnet50_fpn: the weights could not be downloaded")
    assert f"Download {RESNET50_URL}" in message
    assert str(torch_home / "hub" / "checkpoints" / "resnet50-0676ba61.pth") in message


# ---------------------------------------------------------------- 6. input channels
STEMS = {
    "resnet18": "conv1",
    "vit_b_16": "conv_proj",
    "efficientnet_b0": "features.0.0",
    "convnext_tiny": "features.0.0",
    "inception_v3": "Conv2d_1a_3x3.conv",
}
STEM_SIDES = {"resnet18": 64, "vit_b_16": 224, "efficientnet_b0": 64, "convnext_tiny": 64, "inception_v3": 80}


def forward_with_stem(model: nn.Module, stem: str, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's output and its stem convolution's output."""
    captured: list[torch.Tensor] = []
    hook = model.get_submodule(stem).register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        with torch.no_grad():
            output = model(images)
    finally:
        hook.remove()
    return output, captured[0]


@pytest.mark.parametrize(("name", "stem"), STEMS.items())
def test_one_channel_sums_the_rgb_kernels_and_sees_grey_as_rgb(name: str, stem: str) -> None:
    kwargs: dict[str, Any] = {"num_classes": 5}  # a fresh, non-zero head (ViT's own starts at zero)
    original = seeded(lambda: create_model(name, **kwargs)).eval()
    grey = seeded(lambda: create_model(name, in_chans=1, **kwargs)).eval()
    old, new = original.get_submodule(stem), grey.get_submodule(stem)
    assert (old.in_channels, new.in_channels) == (3, 1)
    assert new.out_channels == old.out_channels and new.kernel_size == old.kernel_size
    assert new.stride == old.stride and new.padding == old.padding
    torch.testing.assert_close(new.weight, old.weight.sum(dim=1, keepdim=True), rtol=0, atol=1e-7)
    if old.bias is not None:
        assert torch.equal(new.bias, old.bias)

    side = STEM_SIDES[name]
    g = torch.rand(2, 1, side, side)
    expected, expected_stem = forward_with_stem(original, stem, g.expand(2, 3, side, side))
    actual, actual_stem = forward_with_stem(grey, stem, g)
    assert actual.shape == (2, 5)
    close_relative(actual_stem, expected_stem, rtol=1e-5)
    close_relative(actual, expected)


@pytest.mark.parametrize(("name", "stem"), STEMS.items())
def test_five_channels_repeat_and_rescale_the_rgb_kernels(name: str, stem: str) -> None:
    original = seeded(lambda: create_model(name, num_classes=5)).eval()
    five = adapt_input_channels(copy.deepcopy(original), 5)
    old, new = original.get_submodule(stem), five.get_submodule(stem)
    assert new.weight.shape == (old.out_channels, 5, *old.kernel_size)
    for channel in range(5):
        torch.testing.assert_close(
            new.weight[:, channel], old.weight[:, channel % 3] * (3 / 5), rtol=0, atol=0
        )
    side = STEM_SIDES[name]
    with torch.no_grad():
        assert five(torch.rand(1, 5, side, side)).shape == (1, 5)

    # Six channels: the kernels sum to the RGB ones, so a constant image gives the same stem response.
    six = adapt_input_channels(copy.deepcopy(original), 6).get_submodule(stem)
    with torch.no_grad():
        torch.testing.assert_close(six(torch.ones(1, 6, side, side)), old(torch.ones(1, 3, side, side)))


def test_inception_v3_transform_input_is_switched_off() -> None:
    model = create_model("inception_v3", transform_input=True, in_chans=1)
    assert model.transform_input is False
    assert model.Conv2d_1a_3x3.conv.in_channels == 1
    with torch.no_grad():
        assert model.eval()(torch.rand(1, 1, 80, 80)).shape == (1, 1000)


def test_inception_v3_with_transform_input_sees_grey_as_rgb() -> None:
    original = seeded(lambda: create_model("inception_v3", num_classes=5, transform_input=True)).eval()
    grey = seeded(
        lambda: create_model("inception_v3", num_classes=5, transform_input=True, in_chans=1)
    ).eval()
    g = torch.rand(2, 1, 80, 80)
    with torch.no_grad():
        expected = original(g.expand(2, 3, 80, 80))
        actual = grey(g)
    close_relative(actual, expected, rtol=1e-3)


def test_mnist_cnn_from_one_to_three_channels() -> None:
    original = seeded(lambda: create_model("mnist_cnn")).eval()
    rgb = seeded(lambda: create_model("mnist_cnn", in_chans=3)).eval()
    assert (original.conv1.in_channels, rgb.conv1.in_channels) == (1, 3)
    for channel in range(3):
        torch.testing.assert_close(rgb.conv1.weight[:, channel], original.conv1.weight[:, 0] / 3)
    assert torch.equal(rgb.conv1.bias, original.conv1.bias)
    g = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        close_relative(rgb(g.expand(4, 3, 28, 28)), original(g), rtol=1e-5)


def test_in_chans_validation_and_no_op() -> None:
    model = torchvision.models.resnet18()
    stem = model.conv1
    assert adapt_input_channels(model, 3).conv1 is stem
    for bad in (0, -1, True, 1.0):
        with pytest.raises(ValueError, match=r"in_chans: expected a positive integer"):
            adapt_input_channels(model, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Linear: expected a Conv2d stem to adapt"):
        adapt_input_channels(nn.Linear(3, 3), 1)


# ---------------------------------------------------------------- 7. names
def test_list_models_is_sorted_and_filtered() -> None:
    everything = list_models()
    assert everything == sorted(everything)
    assert len(everything) == len(set(everything))
    assert "mnist_cnn" in everything
    assert set(CLASSIFICATION) | set(DETECTION) | set(SEGMENTATION) | {"mnist_cnn"} <= set(everything)
    assert list_models("resnet1*") == ["resnet101", "resnet152", "resnet18"]
    assert list_models("*mnist*") == ["mnist_cnn"]
    assert list_models("ssd*", task="detection") == ["ssd300_vgg16", "ssdlite320_mobilenet_v3_large"]
    assert list_models("ssd*", task="classification") == []
    assert list_models(source="visiondata") == ["mnist_cnn"]
    assert list_models(task="classification", source="visiondata") == ["mnist_cnn"]
    assert "mnist_cnn" not in list_models(source="torchvision")
    assert list_models(task="segmentation")[:2] == ["deeplabv3_mobilenet_v3_large", "deeplabv3_resnet101"]
    assert set(DETECTION).isdisjoint(CLASSIFICATION)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"source": "keras"}, r"source: expected one of torchvision, visiondata, timm, got 'keras'"),
        (
            {"task": "captioning"},
            r"task: expected one of classification, detection, segmentation, got 'captioning'",
        ),
    ],
)
def test_list_models_rejects_bad_filters(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list_models(**arguments)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("resnet18", ("resnet18", "torchvision", "classification")),
        ("torchvision:resnet18", ("resnet18", "torchvision", "classification")),
        ("visiondata:mnist_cnn", ("mnist_cnn", "visiondata", "classification")),
        ("mnist_cnn", ("mnist_cnn", "visiondata", "classification")),
        ("maskrcnn_resnet50_fpn", ("maskrcnn_resnet50_fpn", "torchvision", "detection")),
        ("torchvision:fcn_resnet50", ("fcn_resnet50", "torchvision", "segmentation")),
    ],
)
def test_names_resolve_with_and_without_prefix(name: str, expected: tuple[str, str, str]) -> None:
    entry = get_model_entry(name)
    assert (entry.name, entry.source, entry.task) == expected
    assert entry.qualified_name == f"{expected[1]}:{expected[0]}"


def test_prefixed_names_build() -> None:
    model = create_model("torchvision:resnet18", num_classes=4)
    assert model.fc.out_features == 4 and model.visiondata_name == "torchvision:resnet18"
    mnist = create_model("visiondata:mnist_cnn", num_classes=4)
    assert mnist.fc.out_features == 4 and mnist.visiondata_name == "visiondata:mnist_cnn"


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(UnknownNameError) as caught:
        create_model("resnt18")
    error = caught.value
    assert isinstance(error, KeyError)
    assert error.name == "resnt18"
    assert error.suggestions[0] == "resnet18"
    assert str(error).startswith("unknown model 'resnt18'; did you mean 'resnet18'")
    assert str(error).endswith("See list_models() for every name.")
    with pytest.raises(KeyError):
        get_model_entry("definitely_not_a_model_xyz")


def test_unknown_source_prefix_and_wrong_source() -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown model source 'keras' in 'keras:resnet18'; expected one of"
    ):
        get_model_entry("keras:resnet18")
    with pytest.raises(UnknownNameError, match=r"unknown model 'torchvision:mnist_cnn'"):
        get_model_entry("torchvision:mnist_cnn")


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(images).mean(dim=(2, 3)))


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names registered by a test, removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        if f"visiondata:{name}" in _MODELS:
            _MODELS.unregister(f"visiondata:{name}")


def test_register_model_then_duplicate(registered: list[str]) -> None:
    registered.append("zoo_test_tiny")
    config = DataConfig((3, 32, 32), (0.5,) * 3, (0.25,) * 3, "bilinear", 1.0, "test")
    assert register_model("zoo_test_tiny", TinyNet, data_config=config) is TinyNet
    assert "zoo_test_tiny" in list_models(source="visiondata")
    entry = get_model_entry("zoo_test_tiny")
    assert (entry.source, entry.task, entry.builder) == ("visiondata", "classification", TinyNet)

    model = create_model("zoo_test_tiny", num_classes=3)  # TinyNet takes no num_classes: the head is swapped
    assert model(torch.rand(2, 3, 16, 16)).shape == (2, 3)
    assert model_data_config("zoo_test_tiny") == config
    assert model_data_config(model) == config

    with pytest.raises(DuplicateNameError, match=r"'visiondata:zoo_test_tiny' is already registered"):
        register_model("zoo_test_tiny", TinyNet)
    assert isinstance(DuplicateNameError("x"), ValueError)
    register_model("zoo_test_tiny", lambda num_classes=10: nn.Linear(4, num_classes), override=True)
    assert create_model("zoo_test_tiny", num_classes=6)(torch.zeros(1, 4)).shape == (1, 6)
    with pytest.raises(ValueError, match=r"task: expected one of classification, detection, segmentation"):
        register_model("zoo_test_bad_task", TinyNet, task="tracking")


def test_a_registered_name_that_shadows_torchvision_is_listed_once(registered: list[str]) -> None:
    registered.append("resnet18")
    register_model("resnet18", TinyNet)
    assert get_model_entry("resnet18").source == "torchvision", "torchvision resolves first"
    assert isinstance(create_model("visiondata:resnet18"), TinyNet)
    assert list_models("resnet18") == ["resnet18"]
    assert [name for name in list_models("*resnet18") if not name.startswith("timm:")] == [
        "resnet18",
        "visiondata:resnet18",
    ]
    assert list_models("resnet18", source="visiondata") == ["visiondata:resnet18"]


# ---------------------------------------------------------------- 8. data config
@pytest.mark.parametrize(
    ("name", "input_size", "interpolation", "crop_fraction", "source"),
    [
        ("resnet18", (3, 224, 224), "bilinear", 224 / 256, "ResNet18_Weights.IMAGENET1K_V1"),
        ("efficientnet_b3", (3, 300, 300), "bicubic", 300 / 320, "EfficientNet_B3_Weights.IMAGENET1K_V1"),
        ("inception_v3", (3, 299, 299), "bilinear", 299 / 342, "Inception_V3_Weights.IMAGENET1K_V1"),
    ],
)
def test_data_config_of_torchvision_weights(
    name: str, input_size: tuple[int, int, int], interpolation: str, crop_fraction: float, source: str
) -> None:
    config = model_data_config(name)
    assert config.input_size == input_size
    assert config.interpolation == interpolation
    assert config.crop_fraction == pytest.approx(crop_fraction)
    assert config.mean == pytest.approx((0.485, 0.456, 0.406))
    assert config.std == pytest.approx((0.229, 0.224, 0.225))
    assert config.source == source
    assert config.resize_size == round(input_size[-1] / crop_fraction)


def test_data_config_of_mnist_cnn() -> None:
    config = model_data_config("mnist_cnn")
    assert config == DataConfig((1, 28, 28), (0.1307,), (0.3081,), "bilinear", 1.0, "visiondata:mnist_cnn")
    assert config.resize_size == 28
    assert model_data_config(create_model("mnist_cnn")) == config


def test_data_config_follows_adapted_channels() -> None:
    grey = model_data_config(create_model("resnet18", in_chans=1))
    assert grey.input_size == (1, 224, 224)
    assert grey.mean == pytest.approx(((0.485 + 0.456 + 0.406) / 3,))
    assert grey.std == pytest.approx(((0.229 + 0.224 + 0.225) / 3,))
    assert grey.source == "ResNet18_Weights.IMAGENET1K_V1"
    rgb_mnist = model_data_config(create_model("mnist_cnn", in_chans=3))
    assert rgb_mnist.input_size == (3, 28, 28)
    assert rgb_mnist.mean == pytest.approx((0.1307,) * 3)
    # A model built outside the zoo gets the ImageNet defaults.
    assert model_data_config(torchvision.models.resnet18()).source == "defaults"


@pytest.mark.parametrize(
    ("name", "side"),
    [("resnet18", 224), ("efficientnet_b3", 300), ("inception_v3", 299), ("vit_b_16", 224)],
)
@pytest.mark.parametrize("train", [False, True])
def test_model_transforms_output(name: str, side: int, train: bool) -> None:
    transform = model_transforms(name, train=train)
    white = torch.full((3, 360, 480), 255, dtype=torch.uint8)
    out = transform(white)
    assert out.shape == (3, side, side)
    assert out.dtype == torch.float32
    mean = torch.tensor([0.485, 0.456, 0.406])
    std = torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(out[:, side // 2, side // 2], (1 - mean) / std)


@pytest.mark.parametrize("train", [False, True])
def test_model_transforms_of_one_channel_models(train: bool) -> None:
    digits = torch.full((1, 40, 40), 255, dtype=torch.uint8)
    out = model_transforms("mnist_cnn", train=train)(digits)
    assert out.shape == (1, 28, 28)
    torch.testing.assert_close(out[0, 14, 14], torch.tensor((1 - 0.1307) / 0.3081))
    grey_model = create_model("resnet18", in_chans=1)
    assert model_transforms(grey_model, train=train)(digits).shape == (1, 224, 224)


def test_model_transforms_give_the_channels_the_model_reads() -> None:
    rgb = torch.full((3, 40, 40), 128, dtype=torch.uint8)
    assert model_transforms("mnist_cnn")(rgb).shape == (1, 28, 28)
