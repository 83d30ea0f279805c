"""Finding and replacing the output layers ("heads") of classification, detection and segmentation models.

torchvision puts the classifier in a different place in every family
(``fc``, ``classifier[-1]``, ``heads.head``, ``classifier[1]`` as a 1x1
convolution...). Detection and segmentation models keep their class count
in dedicated predictor layers; only those are replaced, so every other
pretrained weight stays usable.
"""

from __future__ import annotations

import math

from torch import nn

from visiondata._arguments import check_positive_int

# Attribute paths holding a classifier, most specific first; a Sequential is searched from its end.
_CLASSIFIER_ATTRIBUTES = ("fc", "heads", "head", "classifier")
# Auxiliary classifiers that also predict the classes (Inception v3, GoogLeNet).
_AUXILIARY_HEADS = ("AuxLogits.fc", "aux1.fc2", "aux2.fc2")


def _resolve(model: nn.Module, path: str) -> nn.Module:
    module = model
    for part in path.split("."):
        module = module[int(part)] if part.lstrip("-").isdigit() else getattr(module, part)  # type: ignore[index]
    return module


def _assign(model: nn.Module, path: str, layer: nn.Module) -> None:
    parent_path, _, last = path.rpartition(".")
    parent = _resolve(model, parent_path) if parent_path else model
    if last.lstrip("-").isdigit():
        parent[int(last)] = layer  # type: ignore[index]
    else:
        setattr(parent, last, layer)


def _is_output_layer(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1))


def get_head(model: nn.Module) -> tuple[str, nn.Module]:
    """The classification head of ``model``: its attribute path and the layer.

    Works for every torchvision classification family, timm models (through
    ``get_classifier``), [`MNISTCNN`][visiondata.models.MNISTCNN], and models
    that follow the same conventions.

    Raises:
        ValueError: No classification head was found; the message lists where it looked.

    Examples:
        >>> import torchvision
        >>> get_head(torchvision.models.squeezenet1_0())[0]
        'classifier.1'
        >>> get_head(torchvision.models.vit_b_16())[0]
        'heads.head'
    """
    if hasattr(model, "get_classifier") and callable(model.get_classifier):  # timm's API
        classifier = model.get_classifier()
        for name, module in model.named_modules():
            if module is classifier and name:
                return name, module
    for attribute in _CLASSIFIER_ATTRIBUTES:
        module = getattr(model, attribute, None)
        if module is None or not isinstance(module, nn.Module):
            continue
        if _is_output_layer(module):
            return attribute, module
        if isinstance(module, nn.Sequential):
            for name, child in reversed(list(module.named_children())):
                if _is_output_layer(child):
                    return f"{attribute}.{name}", child
                if isinstance(child, nn.Sequential | nn.ModuleList) or any(True for _ in child.parameters()):
                    break  # the last layer with weights is not a classifier: stop looking here
    raise ValueError(
        f"{type(model).__name__}: expected a classification head (a Linear or 1x1 Conv2d layer) at one of "
        f"{', '.join(_CLASSIFIER_ATTRIBUTES)} (or the last layer of a Sequential there), found none; "
        "replace the head by hand"
    )


def _new_layer(old: nn.Module, outputs: int) -> nn.Module:
    if isinstance(old, nn.Linear):
        return nn.Linear(old.in_features, outputs, bias=old.bias is not None)
    assert isinstance(old, nn.Conv2d)
    return nn.Conv2d(
        old.in_channels, outputs, old.kernel_size, old.stride, old.padding, bias=old.bias is not None
    )


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Give ``model`` a new, randomly initialised classifier with ``num_classes`` outputs (in place).

    Auxiliary classifiers (Inception v3's ``AuxLogits``, GoogLeNet's
    ``aux1``/``aux2``) are replaced too. Every other layer keeps its weights.

    Returns:
        The same model, for chaining.

    Examples:
        >>> import torch, torchvision
        >>> model = replace_head(torchvision.models.resnet18(), num_classes=3)
        >>> model(torch.zeros(1, 3, 64, 64)).shape
        torch.Size([1, 3])
    """
    check_positive_int("num_classes", num_classes)
    if hasattr(model, "reset_classifier") and callable(model.reset_classifier):  # timm's API
        model.reset_classifier(num_classes)
        return model
    path, old = get_head(model)
    _assign(model, path, _new_layer(old, num_classes))
    for auxiliary in _AUXILIARY_HEADS:
        try:
            layer = _resolve(model, auxiliary)
        except (AttributeError, IndexError, TypeError):
            continue
        if isinstance(layer, nn.Linear):
            _assign(model, auxiliary, _new_layer(layer, num_classes))
    if hasattr(model, "num_classes") and isinstance(model.num_classes, int):
        model.num_classes = num_classes
    return model


# ---------------------------------------------------------------- detection
def replace_detection_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace only the class-predicting layers of a torchvision detection model (in place).

    ``num_classes`` counts the background, as torchvision's detection models
    do (``num_classes=2`` for one object class). Faster/Mask/Keypoint R-CNN:
    the box predictor (and Mask R-CNN's per-class mask logits); RetinaNet and FCOS:
    the classification logits; SSD and SSDlite: the classification
    convolutions. Backbones, FPNs, regression heads and anchors keep their weights.

    Examples:
        >>> import torchvision
        >>> model = torchvision.models.detection.fcos_resnet50_fpn(weights=None, weights_backbone=None)
        >>> replace_detection_head(model, 5).head.classification_head.num_classes
        5
    """
    from torchvision.models import detection

    check_positive_int("num_classes", num_classes)
    roi_heads = getattr(model, "roi_heads", None)
    if roi_heads is not None:
        box_features = roi_heads.box_predictor.cls_score.in_features
        roi_heads.box_predictor = detection.faster_rcnn.FastRCNNPredictor(box_features, num_classes)
        predictor = getattr(roi_heads, "mask_predictor", None)
        if predictor is not None:
            # Only the per-class mask logits; the upsampling convolution before them keeps its weights.
            old = predictor.mask_fcn_logits
            new = nn.Conv2d(old.in_channels, num_classes, kernel_size=1, stride=1, padding=0)
            nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(new.bias)
            predictor.mask_fcn_logits = new
        return model
    head = getattr(model, "head", None)
    classification = getattr(head, "classification_head", None)
    if classification is None:
        raise ValueError(
            f"{type(model).__name__}: expected a torchvision detection model (roi_heads, or "
            "head.classification_head), found neither"
        )
    if hasattr(classification, "cls_logits"):  # RetinaNet, FCOS
        old = classification.cls_logits
        anchors = old.out_channels // classification.num_classes
        new = nn.Conv2d(old.in_channels, anchors * num_classes, kernel_size=3, stride=1, padding=1)
        _init_logits(new)
        classification.cls_logits = new
        classification.num_classes = num_classes
        return model
    # SSD / SSDlite: one convolution (or a Sequential ending in one) per feature map.
    for index, layer in enumerate(classification.module_list):
        old = layer[-1] if isinstance(layer, nn.Sequential) else layer
        anchors = old.out_channels // classification.num_columns
        new = nn.Conv2d(old.in_channels, anchors * num_classes, old.kernel_size, old.stride, old.padding)
        nn.init.xavier_uniform_(new.weight)
        nn.init.zeros_(new.bias)
        if isinstance(layer, nn.Sequential):
            layer[-1] = new
        else:
            classification.module_list[index] = new
    classification.num_columns = num_classes
    return model


def _init_logits(layer: nn.Conv2d, prior: float = 0.01) -> None:
    # RetinaNet's initialisation: every anchor starts out predicting "object" with probability `prior`.
    nn.init.normal_(layer.weight, std=0.01)
    nn.init.constant_(layer.bias, -math.log((1 - prior) / prior))


# ---------------------------------------------------------------- segmentation
def replace_segmentation_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace only the per-pixel class layers of a torchvision segmentation model (in place).

    FCN and DeepLabV3: the last 1x1 convolution of ``classifier`` and of
    ``aux_classifier``; LR-ASPP: ``low_classifier`` and ``high_classifier``.

    Examples:
        >>> import torch, torchvision
        >>> model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)
        >>> replace_segmentation_head(model, 4).eval()(torch.zeros(1, 3, 64, 64))["out"].shape
        torch.Size([1, 4, 64, 64])
    """
    check_positive_int("num_classes", num_classes)
    classifier = getattr(model, "classifier", None)
    if classifier is None:
        raise ValueError(
            f"{type(model).__name__}: expected a torchvision segmentation model with a classifier"
        )
    if hasattr(classifier, "low_classifier"):  # LR-ASPP
        classifier.low_classifier = _new_layer(classifier.low_classifier, num_classes)
        classifier.high_classifier = _new_layer(classifier.high_classifier, num_classes)
        return model
    for name in ("classifier", "aux_classifier"):
        head = getattr(model, name, None)
        if isinstance(head, nn.Sequential) and isinstance(head[-1], nn.Conv2d):
            head[-1] = _new_layer(head[-1], num_classes)
    return model
