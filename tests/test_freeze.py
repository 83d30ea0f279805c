"""Freezing, BatchNorm policies, backbone stages, optimiser groups and gradual unfreezing.

Every test checks behaviour (gradients, running statistics, optimiser updates)
rather than only ``requires_grad`` flags.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from visiondata.models import (
    MNISTCNN,
    GradualUnfreezing,
    backbone_blocks,
    count_parameters,
    create_model,
    freeze,
    freeze_backbone,
    freeze_batchnorm,
    param_groups,
    set_batchnorm_policy,
    trainable_summary,
    unfreeze,
    unfreeze_last,
)

# Most tests freeze random-weight models on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:freeze_backbone. expected a pretrained backbone:UserWarning")
NUM_CLASSES = 3
RESNET18_STAGES = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")

BNState = dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# ---------------------------------------------------------------- helpers
def resnet18() -> nn.Module:
    return create_model("resnet18", num_classes=NUM_CLASSES)


def fasterrcnn() -> nn.Module:
    return create_model(
        "fasterrcnn_mobilenet_v3_large_320_fpn", num_classes=NUM_CLASSES, weights=None, weights_backbone=None
    )


def classification_step(model: nn.Module, shape: tuple[int, int, int], batch: int = 2) -> None:
    """One forward + backward pass in training mode: cross-entropy on random labels (aux logits too)."""
    model.train()
    output = model(torch.randn(batch, *shape))
    labels = torch.randint(0, NUM_CLASSES, (batch,))
    logits = [output.logits, output.aux_logits] if hasattr(output, "aux_logits") else [output]
    loss = sum(nn.functional.cross_entropy(item, labels) for item in logits)
    loss.backward()


def detection_step(model: nn.Module) -> None:
    model.train()
    images = [torch.rand(3, 64, 64), torch.rand(3, 64, 64)]
    box = torch.tensor([[8.0, 8.0, 40.0, 44.0]])
    targets = [{"boxes": box, "labels": torch.tensor([1])}, {"boxes": box + 4, "labels": torch.tensor([2])}]
    losses = model(images, targets)
    sum(losses.values()).backward()


def bn_layers(model: nn.Module, prefix: str = "") -> dict[str, _BatchNorm]:
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, _BatchNorm) and name.startswith(prefix)
    }


def bn_state(model: nn.Module, prefix: str = "") -> BNState:
    return {
        name: (layer.running_mean.clone(), layer.running_var.clone(), layer.num_batches_tracked.clone())
        for name, layer in bn_layers(model, prefix).items()
    }


def assert_bn_unchanged(before: BNState, after: BNState) -> None:
    assert before.keys() == after.keys() and before
    for name, (mean, var, count) in before.items():
        assert torch.equal(mean, after[name][0]), f"{name}.running_mean changed"
        assert torch.equal(var, after[name][1]), f"{name}.running_var changed"
        assert torch.equal(count, after[name][2]), f"{name}.num_batches_tracked changed"


def assert_bn_updated(before: BNState, after: BNState, batches: int) -> None:
    assert before.keys() == after.keys() and before
    for name, (mean, var, count) in before.items():
        assert not torch.equal(mean, after[name][0]), f"{name}.running_mean did not change"
        assert not torch.equal(var, after[name][1]), f"{name}.running_var did not change"
        assert int(after[name][2]) == int(count) + batches, f"{name}.num_batches_tracked"


def trainable_names(model: nn.Module) -> set[str]:
    return {name for name, parameter in model.named_parameters() if parameter.requires_grad}


def names_under(model: nn.Module, prefixes: Iterable[str]) -> set[str]:
    prefixes = tuple(prefixes)
    return {name for name, _ in model.named_parameters() if name.startswith(prefixes)}


def ids(parameters: Iterable[torch.Tensor]) -> list[int]:
    return [id(parameter) for parameter in parameters]


def assert_only_these_have_gradients(model: nn.Module, head_prefixes: tuple[str, ...]) -> None:
    with_gradient, without = [], []
    for name, parameter in model.named_parameters():
        if name.startswith(head_prefixes):
            assert parameter.grad is not None, f"head parameter {name} got no gradient"
            assert parameter.grad.abs().sum() > 0, f"head parameter {name} got an all-zero gradient"
            with_gradient.append(name)
        else:
            assert parameter.grad is None, f"backbone parameter {name} got a gradient"
            without.append(name)
    assert with_gradient and without


# ---------------------------------------------------------------- 1. freeze_backbone
@dataclass(frozen=True)
class Case:
    build: Callable[[], nn.Module]
    shape: tuple[int, int, int]
    head_prefixes: tuple[str, ...]
    head_parameters: int


CLASSIFIERS = {
    "resnet18": Case(resnet18, (3, 64, 64), ("fc.",), 512 * 3 + 3),
    "mobilenet_v3_small": Case(
        lambda: create_model("mobilenet_v3_small", num_classes=NUM_CLASSES), (3, 64, 64), ("classifier.3.",),
        1024 * 3 + 3,
    ),
    # image_size=64 keeps every weight shape but the position embedding, and runs 10x faster than 224.
    "vit_b_16": Case(
        lambda: create_model("vit_b_16", num_classes=NUM_CLASSES, image_size=64), (3, 64, 64), ("heads.head.",),
        768 * 3 + 3,
    ),
    "convnext_tiny": Case(
        lambda: create_model("convnext_tiny", num_classes=NUM_CLASSES), (3, 64, 64), ("classifier.2.",),
        768 * 3 + 3,
    ),
    "densenet121": Case(
        lambda: create_model("densenet121", num_classes=NUM_CLASSES), (3, 64, 64), ("classifier.",),
        1024 * 3 + 3,
    ),
    "inception_v3": Case(
        lambda: create_model("inception_v3", num_classes=NUM_CLASSES, init_weights=False), (3, 299, 299),
        ("fc.", "AuxLogits.fc."), (2048 * 3 + 3) + (768 * 3 + 3),
    ),
    "MNISTCNN": Case(lambda: MNISTCNN(num_classes=NUM_CLASSES), (1, 28, 28), ("fc.",), 32 * 3 + 3),
}  # fmt: skip


@pytest.mark.parametrize("case", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
def test_freeze_backbone_only_the_classification_head_gets_gradients(case: Case) -> None:
    model = case.build()
    total = sum(parameter.numel() for parameter in model.parameters())
    assert freeze_backbone(model) is model
    classification_step(model, case.shape)
    assert_only_these_have_gradients(model, case.head_prefixes)
    assert trainable_names(model) == names_under(model, case.head_prefixes)
    assert count_parameters(model, trainable_only=True) == case.head_parameters
    assert count_parameters(model) == total


def test_freeze_backbone_detection_trains_everything_outside_the_backbone() -> None:
    model = fasterrcnn()
    head = sum(p.numel() for part in (model.rpn, model.roi_heads) for p in part.parameters())
    # FastRCNNPredictor for 3 classes on 1024 features: 1024*3+3 scores and 1024*12+12 boxes.
    assert sum(p.numel() for p in model.roi_heads.box_predictor.parameters()) == 3075 + 12300
    freeze_backbone(model)
    detection_step(model)
    assert_only_these_have_gradients(model, ("rpn.", "roi_heads."))
    assert names_under(model, ("backbone.",)) == {n for n, _ in model.named_parameters()} - trainable_names(
        model
    )
    assert count_parameters(model, trainable_only=True) == head


def test_freeze_backbone_keeps_inception_auxiliary_classifier_trainable_but_not_its_convolutions() -> None:
    model = CLASSIFIERS["inception_v3"].build()
    freeze_backbone(model)
    assert model.AuxLogits.fc.weight.requires_grad and model.AuxLogits.fc.bias.requires_grad
    assert not any(p.requires_grad for p in model.AuxLogits.conv0.parameters())
    assert not any(p.requires_grad for p in model.AuxLogits.conv1.parameters())


# ---------------------------------------------------------------- 2. BatchNorm policies
def run_batches(model: nn.Module, batches: int = 2) -> None:
    """Forward + backward passes in training mode on random batches (resnet18-sized input)."""
    for _ in range(batches):
        classification_step(model, (3, 64, 64), batch=4)


@pytest.mark.parametrize("policy", ["eval", "frozen"])
def test_freeze_backbone_pinned_policies_keep_statistics_after_train(policy: str) -> None:
    model = freeze_backbone(resnet18(), bn=policy)
    model.train()
    assert model.training
    before = bn_state(model)
    run_batches(model)
    assert_bn_unchanged(before, bn_state(model))
    for name, layer in bn_layers(model).items():
        for parameter in layer.parameters():
            if policy == "eval":
                assert parameter.requires_grad, name
                assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
            else:
                assert not parameter.requires_grad, name
                assert parameter.grad is None, name
    # Convolutions stay frozen under both policies.
    assert model.conv1.weight.grad is None and model.layer4[1].conv2.weight.grad is None


@pytest.mark.parametrize("policy", ["eval", "frozen"])
def test_pinned_policies_make_training_mode_output_equal_eval_mode_output(policy: str) -> None:
    model = freeze_backbone(resnet18(), bn=policy)
    images = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        in_eval = model.eval()(images)
        in_train = model.train()(images)
    torch.testing.assert_close(in_train, in_eval)


def test_freeze_backbone_train_policy_updates_statistics_and_trains_batchnorm() -> None:
    model = freeze_backbone(resnet18(), bn="train")
    model.train()
    before = bn_state(model)
    run_batches(model, batches=2)
    assert_bn_updated(before, bn_state(model), batches=2)
    for name, layer in bn_layers(model).items():
        for parameter in layer.parameters():
            assert parameter.requires_grad, name
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert model.conv1.weight.grad is None
    expected = names_under(model, ("fc.",)) | {
        f"{layer}.{kind}" for layer in bn_layers(model) for kind in ("weight", "bias")
    }
    assert trainable_names(model) == expected


@pytest.mark.parametrize(
    ("policy", "bn_trainable"), [("train", True), ("eval", True), ("frozen", False)]
)  # fmt: skip
def test_set_batchnorm_policy_touches_only_batchnorm_parameters(policy: str, bn_trainable: bool) -> None:
    model = resnet18()
    assert set_batchnorm_policy(model, policy) is model
    bn_names = {f"{layer}.{kind}" for layer in bn_layers(model) for kind in ("weight", "bias")}
    all_names = {name for name, _ in model.named_parameters()}
    assert trainable_names(model) == (all_names if bn_trainable else all_names - bn_names)
    model.train()
    before = bn_state(model)
    run_batches(model, batches=1)
    if policy == "train":
        assert_bn_updated(before, bn_state(model), batches=1)
    else:
        assert_bn_unchanged(before, bn_state(model))
    assert model.conv1.weight.grad is not None  # the rest of the model still trains


def test_freeze_batchnorm_survives_train_and_leaves_other_layers_trainable() -> None:
    model = freeze_batchnorm(MNISTCNN(num_classes=NUM_CLASSES)).train()
    before = bn_state(model)
    for _ in range(2):
        classification_step(model, (1, 28, 28), batch=4)
    assert_bn_unchanged(before, bn_state(model))
    assert trainable_names(model) == {
        f"{layer}.{kind}" for layer in ("conv1", "conv2", "conv3", "fc") for kind in ("weight", "bias")
    }
    assert model.bn1.weight.grad is None and model.bn2.bias.grad is None
    assert model.conv1.weight.grad is not None and model.conv1.weight.grad.abs().sum() > 0


def test_unfreeze_releases_the_batchnorm_policy() -> None:
    model = freeze_batchnorm(resnet18()).train()
    before = bn_state(model)
    run_batches(model, batches=1)
    assert_bn_unchanged(before, bn_state(model))
    assert unfreeze(model) is model
    model.train()
    run_batches(model, batches=1)
    assert_bn_updated(before, bn_state(model), batches=1)
    assert trainable_names(model) == {name for name, _ in model.named_parameters()}


def test_unfreeze_with_names_releases_only_the_named_batchnorm_layers() -> None:
    model = freeze_batchnorm(resnet18())
    unfreeze(model, "layer4")
    model.train()
    released, pinned = (
        bn_state(model, "layer4."),
        {name: state for name, state in bn_state(model).items() if not name.startswith("layer4.")},
    )
    run_batches(model, batches=1)
    after = bn_state(model)
    assert_bn_updated(released, {name: after[name] for name in released}, batches=1)
    assert_bn_unchanged(pinned, {name: after[name] for name in pinned})
    assert model.layer4[0].bn1.weight.requires_grad and not model.layer3[0].bn1.weight.requires_grad


def _release_by_policy(model: nn.Module) -> None:
    set_batchnorm_policy(model, "train")


def _release_by_unfreeze(model: nn.Module) -> None:
    unfreeze(model)


def _release_by_unfreeze_last(model: nn.Module) -> None:
    unfreeze_last(model, len(backbone_blocks(model)))


@pytest.mark.parametrize(
    "release", [_release_by_policy, _release_by_unfreeze, _release_by_unfreeze_last],
    ids=["set_batchnorm_policy-train", "unfreeze", "unfreeze_last"],
)  # fmt: skip
def test_released_batchnorm_follows_the_model_training_mode(release: Callable[[nn.Module], None]) -> None:
    model = resnet18().train()
    freeze_backbone(model, bn="eval")
    run_batches(model, batches=1)  # the pre-hooks ran in training mode
    release(model)
    assert model.training
    before = bn_state(model)
    model(torch.randn(4, 3, 64, 64))  # no model.train() in between: the model never left training mode
    assert_bn_updated(before, bn_state(model), batches=1)


@pytest.mark.parametrize("policy", ["eval", "frozen"])
def test_policies_survive_deepcopy(policy: str) -> None:
    original = freeze_backbone(resnet18(), bn=policy)
    duplicate = copy.deepcopy(original).train()
    before = bn_state(duplicate)
    run_batches(duplicate)
    assert_bn_unchanged(before, bn_state(duplicate))
    bn_has_gradient = [
        p.grad is not None for layer in bn_layers(duplicate).values() for p in layer.parameters()
    ]
    assert all(bn_has_gradient) if policy == "eval" else not any(bn_has_gradient)
    assert duplicate.conv1.weight.grad is None and duplicate.fc.weight.grad is not None
    # Releasing the copy releases the copy only.
    unfreeze(duplicate)
    duplicate.train()
    original.train()
    copy_before, original_before = bn_state(duplicate), bn_state(original)
    run_batches(duplicate, batches=1)
    run_batches(original, batches=1)
    assert_bn_updated(copy_before, bn_state(duplicate), batches=1)
    assert_bn_unchanged(original_before, bn_state(original))


@pytest.mark.parametrize(
    "apply", [lambda m: set_batchnorm_policy(m, "fixed"), lambda m: freeze_backbone(m, bn="fixed")],
    ids=["set_batchnorm_policy", "freeze_backbone"],
)  # fmt: skip
def test_unknown_batchnorm_policy_raises_naming_the_accepted_ones(apply: Callable[[nn.Module], None]) -> None:
    model = resnet18()
    with pytest.raises(ValueError, match="bn:") as error:
        apply(model)
    for accepted in ("'train'", "'eval'", "'frozen'", "'fixed'"):
        assert accepted in str(error.value)
    assert trainable_names(model) == {name for name, _ in model.named_parameters()}
    assert all(not layer._forward_pre_hooks for layer in bn_layers(model).values())


# ---------------------------------------------------------------- 3. freeze / unfreeze by name
def test_freeze_by_submodule_name() -> None:
    model = resnet18()
    assert freeze(model, "layer1") is model
    everything = {name for name, _ in model.named_parameters()}
    assert trainable_names(model) == everything - names_under(model, ("layer1.",))


def test_freeze_by_names_and_patterns() -> None:
    model = resnet18()
    freeze(model, ["conv1", "layer[12].*"])
    frozen = {name for name, _ in model.named_parameters()} - trainable_names(model)
    assert frozen == {"conv1.weight"} | names_under(model, ("layer1.", "layer2."))
    assert model.layer3[0].conv1.weight.requires_grad and model.bn1.weight.requires_grad
    classification_step(model, (3, 64, 64))
    assert model.conv1.weight.grad is None and model.layer2[1].conv2.weight.grad is None
    assert model.layer3[0].conv1.weight.grad is not None


def test_freeze_everything_then_unfreeze_by_names() -> None:
    model = freeze(resnet18())
    assert trainable_names(model) == set()
    unfreeze(model, "fc")
    assert trainable_names(model) == {"fc.weight", "fc.bias"}
    unfreeze(model, ["conv1", "layer[12].*"])
    assert trainable_names(model) == {"fc.weight", "fc.bias", "conv1.weight"} | names_under(
        model, ("layer1.", "layer2.")
    )
    assert unfreeze(model) is model
    assert trainable_names(model) == {name for name, _ in model.named_parameters()}


@pytest.mark.parametrize("function", [freeze, unfreeze])
@pytest.mark.parametrize("names", ["nope", ["nope", "layer9.*"]])
def test_unmatched_names_raise(function: Callable[..., nn.Module], names: str | list[str]) -> None:
    model = resnet18()
    freeze(model, "fc")
    with pytest.raises(ValueError, match="nope"):
        function(model, names)
    assert trainable_names(model) == {n for n, _ in model.named_parameters()} - {"fc.weight", "fc.bias"}


@pytest.mark.parametrize("function", [freeze, unfreeze])
def test_each_unmatched_name_raises_even_beside_a_matching_one(function: Callable[..., nn.Module]) -> None:
    with pytest.raises(ValueError, match="typo"):
        function(resnet18(), ["conv1", "typo"])


# ---------------------------------------------------------------- 4. backbone_blocks
BLOCK_NAMES = {
    "resnet18": ["stem", "layer1", "layer2", "layer3", "layer4"],
    "regnet_y_400mf": ["stem", *(f"trunk_output.block{i}" for i in range(1, 5))],
    "vgg11": [f"features.{i}" for i in (0, 3, 6, 8, 11, 13, 16, 18)],
    "vit_b_16": ["conv_proj", *(f"encoder.layers.encoder_layer_{i}" for i in range(12)), "encoder.ln"],
    "maxvit_t": ["stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3"],
}


def head_parameter_ids(model: nn.Module) -> set[int]:
    return {
        id(p) for name, p in model.named_parameters() if name.startswith(("fc.", "classifier.", "heads."))
    }


def assert_head_is_no_block(model: nn.Module, blocks: list[tuple[str, nn.Module]]) -> None:
    head = head_parameter_ids(model)
    assert head
    for name, block in blocks:
        assert head.isdisjoint(ids(block.parameters())), f"{name} holds head parameters"


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_backbone_blocks_per_family(name: str) -> None:
    model = create_model(name, num_classes=NUM_CLASSES)
    blocks = backbone_blocks(model)
    assert [block_name for block_name, _ in blocks] == BLOCK_NAMES[name]
    for block_name, block in blocks:
        if not (name == "resnet18" and block_name == "stem"):
            assert model.get_submodule(block_name) is block
    assert_head_is_no_block(model, blocks)


def test_resnet_stem_block_is_conv1_and_bn1() -> None:
    model = resnet18()
    stem = dict(backbone_blocks(model))["stem"]
    assert list(stem) == [model.conv1, model.bn1]


def test_backbone_blocks_detection_are_the_backbone_body_stages() -> None:
    model = fasterrcnn()
    blocks = backbone_blocks(model)
    body = [child for child in model.backbone.body.children() if any(True for _ in child.parameters())]
    assert len(blocks) == 18  # the 17 body stages, then the FPN that follows them
    assert [block for _, block in blocks] == [*body, model.backbone.fpn]
    assert blocks[-1][0] == "backbone.fpn"
    assert all(name.startswith("backbone.") for name, _ in blocks)
    head = {id(p) for part in (model.rpn, model.roi_heads) for p in part.parameters()}
    assert all(head.isdisjoint(ids(block.parameters())) for _, block in blocks)


def test_backbone_blocks_detection_names_are_attribute_paths() -> None:
    model = fasterrcnn()
    for name, block in backbone_blocks(model):
        assert model.get_submodule(name) is block


class Generic(nn.Module):
    """A model of no known family: blocks are its children with parameters, head excluded."""

    def __init__(self) -> None:
        super().__init__()
        self.entry = nn.Conv2d(3, 4, 3)
        self.act = nn.ReLU()
        self.head = nn.Linear(4, NUM_CLASSES)  # registered mid-way on purpose
        self.body = nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4))
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.body(self.act(self.entry(x)))), 1))


def test_backbone_blocks_generic_modules() -> None:
    model = Generic()
    assert backbone_blocks(model) == [("entry", model.entry), ("body", model.body)]
    mnist = MNISTCNN()
    assert [name for name, _ in backbone_blocks(mnist)] == ["conv1", "bn1", "conv2", "bn2", "conv3"]


def test_generic_module_freeze_backbone_and_unfreeze_last() -> None:
    model = freeze_backbone(Generic())
    assert trainable_names(model) == {"head.weight", "head.bias"}
    assert unfreeze_last(model, 1) == [model.body[0].weight, model.body[0].bias, model.body[1].weight,
                                       model.body[1].bias]  # fmt: skip
    assert not model.entry.weight.requires_grad


# ---------------------------------------------------------------- 5. unfreeze_last
def test_unfreeze_last_two_resnet_stages() -> None:
    model = freeze_backbone(resnet18())
    released = unfreeze_last(model, 2)
    expected = [p for name, p in model.named_parameters() if name.startswith(("layer3.", "layer4."))]
    assert ids(released) == ids(expected)
    assert trainable_names(model) == names_under(model, ("layer3.", "layer4.", "fc."))
    # The released stages train and update their statistics; the others stay pinned.
    model.train()
    kept, moving = bn_state(model, "layer2."), bn_state(model, "layer4.")
    stem = bn_state(model, "bn1")
    run_batches(model, batches=1)
    assert_bn_unchanged(kept, bn_state(model, "layer2."))
    assert_bn_unchanged(stem, bn_state(model, "bn1"))
    assert_bn_updated(moving, bn_state(model, "layer4."), batches=1)
    assert model.layer3[0].conv1.weight.grad is not None and model.layer2[0].conv1.weight.grad is None
    assert model.conv1.weight.grad is None
    # Nothing left to release for the same n.
    assert unfreeze_last(model, 2) == []


def test_unfreeze_last_zero_leaves_the_backbone_frozen() -> None:
    model = freeze_backbone(resnet18())
    assert unfreeze_last(model, 0) == []
    assert trainable_names(model) == {"fc.weight", "fc.bias"}


def test_unfreeze_last_all_stages_makes_everything_trainable() -> None:
    model = freeze_backbone(resnet18())
    released = unfreeze_last(model, 5)
    assert ids(released) == ids(p for name, p in model.named_parameters() if not name.startswith("fc."))
    assert trainable_names(model) == {name for name, _ in model.named_parameters()}


@pytest.mark.parametrize("n", [6, 100, -1])
def test_unfreeze_last_rejects_bad_n(n: int) -> None:
    model = freeze_backbone(resnet18())
    with pytest.raises(ValueError, match="n:"):
        unfreeze_last(model, n)
    assert trainable_names(model) == {"fc.weight", "fc.bias"}


# ---------------------------------------------------------------- 6. param_groups
def test_param_groups_split_head_backbone_and_no_decay() -> None:
    model = resnet18()
    groups = param_groups(model, lr=1e-2, backbone_lr=1e-4, weight_decay=5e-4)
    assert [(g["name"], g["lr"], g["weight_decay"]) for g in groups] == [
        ("head", 1e-2, 5e-4), ("head_no_decay", 1e-2, 0.0),
        ("backbone", 1e-4, 5e-4), ("backbone_no_decay", 1e-4, 0.0),
    ]  # fmt: skip
    by_name = {g["name"]: g["params"] for g in groups}
    named = dict(model.named_parameters())
    assert ids(by_name["head"]) == [id(model.fc.weight)]
    assert ids(by_name["head_no_decay"]) == [id(model.fc.bias)]
    assert ids(by_name["backbone"]) == ids(
        p for n, p in named.items() if not n.startswith("fc.") and p.ndim > 1
    )
    assert ids(by_name["backbone_no_decay"]) == ids(
        p for n, p in named.items() if not n.startswith("fc.") and p.ndim <= 1
    )
    # Every norm weight and bias, and nothing else, is in a no-decay group.
    bn_parameters = {f"{layer}.{kind}" for layer in bn_layers(model) for kind in ("weight", "bias")}
    no_decay = {n for n, p in named.items() if id(p) in set(ids(by_name["backbone_no_decay"]))}
    assert no_decay == bn_parameters
    assert_each_trainable_parameter_once(model, groups)


def assert_each_trainable_parameter_once(model: nn.Module, groups: list[dict]) -> None:
    counts = Counter(id(p) for group in groups for p in group["params"])
    assert set(counts.values()) == {1}
    assert set(counts) == {id(p) for p in model.parameters() if p.requires_grad}
    assert all(group["params"] for group in groups)


def test_param_groups_without_backbone_lr_use_lr_everywhere() -> None:
    groups = param_groups(resnet18(), lr=0.3)
    assert [g["lr"] for g in groups] == [0.3] * 4
    assert [g["weight_decay"] for g in groups] == [0.0] * 4


@pytest.mark.parametrize(
    ("bn", "expected"),
    [("frozen", ["head", "head_no_decay"]), ("eval", ["head", "head_no_decay", "backbone_no_decay"])],
)
def test_param_groups_keep_only_trainable_parameters(bn: str, expected: list[str]) -> None:
    model = freeze_backbone(resnet18(), bn=bn)
    groups = param_groups(model, lr=1e-2, backbone_lr=1e-3, weight_decay=1e-4)
    assert [g["name"] for g in groups] == expected
    assert_each_trainable_parameter_once(model, groups)


def test_param_groups_with_decay_everywhere() -> None:
    model = resnet18()
    groups = param_groups(model, lr=1e-2, backbone_lr=1e-3, weight_decay=1e-4, no_decay_norm_and_bias=False)
    assert [(g["name"], g["lr"], g["weight_decay"]) for g in groups] == [
        ("head", 1e-2, 1e-4), ("backbone", 1e-3, 1e-4),
    ]  # fmt: skip
    assert ids(groups[0]["params"]) == [id(model.fc.weight), id(model.fc.bias)]
    assert_each_trainable_parameter_once(model, groups)


def test_param_groups_drive_adamw() -> None:
    model = freeze_backbone(resnet18(), bn="eval")
    groups = param_groups(model, lr=1e-2, backbone_lr=1e-3, weight_decay=1e-2)
    optimizer = torch.optim.AdamW(groups)
    assert [g["name"] for g in optimizer.param_groups] == ["head", "head_no_decay", "backbone_no_decay"]
    assert [g["lr"] for g in optimizer.param_groups] == [1e-2, 1e-2, 1e-3]
    snapshot = {name: p.detach().clone() for name, p in model.named_parameters()}
    classification_step(model, (3, 64, 64), batch=4)
    optimizer.step()
    trainable = trainable_names(model)
    for name, parameter in model.named_parameters():
        changed = not torch.equal(snapshot[name], parameter.detach())
        assert changed == (name in trainable), name


# ---------------------------------------------------------------- 7. GradualUnfreezing
def stage_parameters(model: nn.Module, stage: str) -> list[nn.Parameter]:
    return [p for name, p in model.named_parameters() if name.startswith(f"{stage}.")]


def snapshot(parameters: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    return [p.detach().clone() for p in parameters]


def optimiser_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    optimizer.zero_grad()
    classification_step(model, (3, 64, 64), batch=4)
    optimizer.step()


def test_gradual_unfreezing_adds_new_stages_to_the_optimiser() -> None:
    model = freeze_backbone(resnet18())
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    unfreezing = GradualUnfreezing(model, optimizer, {1: 1, 3: 2}, lr=0.05)
    layer3, layer4 = stage_parameters(model, "layer3"), stage_parameters(model, "layer4")

    assert unfreezing.step(0) == []
    assert len(optimizer.param_groups) == 1

    added = unfreezing.step(1)
    assert ids(added) == ids(layer4)
    assert len(optimizer.param_groups) == 2
    assert optimizer.param_groups[1]["lr"] == 0.05
    assert ids(optimizer.param_groups[1]["params"]) == ids(layer4)

    before3, before4 = snapshot(layer3), snapshot(layer4)
    optimiser_step(model, optimizer)
    for old, parameter in zip(before4, layer4):
        assert not torch.equal(old, parameter.detach())
    for old, parameter in zip(before3, layer3):
        assert torch.equal(old, parameter.detach())

    assert unfreezing.step(2) == []
    assert len(optimizer.param_groups) == 2
    assert ids(unfreezing.step(3)) == ids(layer3)
    assert len(optimizer.param_groups) == 3
    assert ids(optimizer.param_groups[2]["params"]) == ids(layer3)

    before3 = snapshot(layer3)
    optimiser_step(model, optimizer)
    for old, parameter in zip(before3, layer3):
        assert not torch.equal(old, parameter.detach())

    # Repeating scheduled epochs adds nothing.
    assert unfreezing.step(3) == [] and unfreezing.step(1) == []
    assert len(optimizer.param_groups) == 3
    counts = Counter(id(p) for group in optimizer.param_groups for p in group["params"])
    assert set(counts.values()) == {1}
    assert set(counts) == {id(p) for p in model.parameters() if p.requires_grad}
    assert not any(p.requires_grad for p in stage_parameters(model, "layer2"))


def test_gradual_unfreezing_defaults_to_the_first_group_lr() -> None:
    model = freeze_backbone(resnet18())
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.2)
    GradualUnfreezing(model, optimizer, {0: 1}).step(0)
    assert [g["lr"] for g in optimizer.param_groups] == [0.2, 0.2]


@pytest.mark.parametrize("schedule", [{1: 6}, {1: 1, 2: 9}, {1: -1}])
def test_gradual_unfreezing_rejects_impossible_schedules(schedule: dict[int, int]) -> None:
    model = freeze_backbone(resnet18())
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    with pytest.raises(ValueError, match="schedule"):
        GradualUnfreezing(model, optimizer, schedule)


# ---------------------------------------------------------------- 8. counting and summary
def test_trainable_summary_rows_and_totals() -> None:
    model = freeze_backbone(MNISTCNN())
    summary = trainable_summary(model)
    assert summary.rows == (
        ("conv1", 0, 208), ("bn1", 0, 16), ("conv2", 0, 1608), ("bn2", 0, 16), ("conv3", 0, 584),
        ("fc", 330, 0),
    )  # fmt: skip
    assert (summary.trainable, summary.frozen) == (330, 2432)
    lines = str(summary).splitlines()
    assert len(lines) == len(summary.rows) + 2
    assert lines[0].split() == ["module", "trainable", "frozen"]
    assert lines[2].split() == ["bn1", "0", "16"]
    assert lines[-1].split() == ["total", "330", "2,432"]


def test_trainable_summary_resnet18_skips_parameterless_modules() -> None:
    model = freeze_backbone(resnet18())
    summary = trainable_summary(model)
    assert [row[0] for row in summary.rows] == ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"]
    assert summary.rows[0] == ("conv1", 0, 9408)
    assert summary.rows[-1] == ("fc", 1539, 0)
    assert summary.trainable == 1539
    assert summary.trainable + summary.frozen == 11_178_051  # resnet18 with a 3-class head
    assert str(summary).splitlines()[-1].split() == ["total", "1,539", "11,176,512"]


def test_trainable_summary_reports_own_parameters() -> None:
    model = nn.Module()
    model.scale = nn.Parameter(torch.ones(5))
    model.linear = nn.Linear(2, 2)
    freeze(model, "linear")
    assert trainable_summary(model).rows == (("linear", 0, 6), ("(own parameters)", 5, 0))


class ReusesLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.relu(self.linear(x)))


def test_count_parameters_counts_shared_parameters_once() -> None:
    model = ReusesLinear()
    assert count_parameters(model) == 20
    assert count_parameters(model, trainable_only=True) == 20
    assert count_parameters(nn.Linear(3, 2)) == 8
    tied = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    tied[1].weight = tied[0].weight
    assert count_parameters(tied) == 16 + 4 + 4
    freeze(tied, "0")
    assert count_parameters(tied, trainable_only=True) == 4  # only the second bias
    assert count_parameters(freeze(ReusesLinear()), trainable_only=True) == 0
