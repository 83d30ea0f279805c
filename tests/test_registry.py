"""The generic registry behind datasets, models and jobs."""

from __future__ import annotations

import pytest

from visiondata._registry import Registry, close_matches
from visiondata.exceptions import DuplicateNameError, UnknownNameError, VisionDataError


@pytest.fixture
def registry() -> Registry[int]:
    registry: Registry[int] = Registry("widget")
    for index, name in enumerate(["resnet18", "resnet50", "vit_b_16", "mnist_cnn"]):
        registry.register(name, index)
    return registry


def test_get_returns_what_was_registered(registry: Registry[int]) -> None:
    assert registry.get("resnet50") == 1
    assert "vit_b_16" in registry
    assert len(registry) == 4
    assert list(registry) == ["mnist_cnn", "resnet18", "resnet50", "vit_b_16"]


def test_names_filters_with_shell_patterns(registry: Registry[int]) -> None:
    assert registry.names() == ["mnist_cnn", "resnet18", "resnet50", "vit_b_16"]
    assert registry.names("resnet*") == ["resnet18", "resnet50"]
    assert registry.names("*_b_??") == ["vit_b_16"]
    assert registry.names(["mnist*", "vit*"]) == ["mnist_cnn", "vit_b_16"]
    assert registry.names("RESNET*") == []  # patterns are case-sensitive, like names


def test_unknown_name_suggests_close_matches(registry: Registry[int]) -> None:
    with pytest.raises(UnknownNameError) as caught:
        registry.get("resnet51")
    error = caught.value
    assert isinstance(error, KeyError) and isinstance(error, VisionDataError)
    assert error.name == "resnet51"
    assert error.suggestions[:2] == ("resnet50", "resnet18")
    assert "unknown widget 'resnet51'; did you mean 'resnet50'" in str(error)
    assert "list_widgets()" in str(error)


def test_unknown_name_without_any_match_says_how_many_exist(registry: Registry[int]) -> None:
    with pytest.raises(UnknownNameError, match="4 widgets are registered") as caught:
        registry.get("zzzzzz")
    assert caught.value.suggestions == ()


def test_duplicate_registration_raises_unless_overridden(registry: Registry[int]) -> None:
    with pytest.raises(DuplicateNameError, match=r"'resnet18' is already registered.*override=True"):
        registry.register("resnet18", 99)
    assert registry.get("resnet18") == 0
    registry.register("resnet18", 99, override=True)
    assert registry.get("resnet18") == 99


@pytest.mark.parametrize("bad_name", ["", "   ", None, 3])
def test_names_must_be_non_empty_strings(registry: Registry[int], bad_name: object) -> None:
    with pytest.raises(TypeError, match="expected a non-empty string"):
        registry.register(bad_name, 1)  # type: ignore[arg-type]


def test_unregister_removes_and_returns(registry: Registry[int]) -> None:
    assert registry.unregister("vit_b_16") == 2
    assert "vit_b_16" not in registry
    with pytest.raises(UnknownNameError):
        registry.unregister("vit_b_16")


def test_discovery_hook_runs_once_before_first_lookup() -> None:
    calls = []

    def discover() -> None:
        calls.append(1)
        registry.register("from_plugin", 7)

    registry: Registry[int] = Registry("widget", on_first_lookup=discover)
    assert calls == []
    assert registry.get("from_plugin") == 7
    assert registry.names() == ["from_plugin"]
    assert calls == [1]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Fashion-MNIST", ("fashion_mnist",)),
        ("cifar", ("cifar10", "cifar100")),
        ("mnsit", ("mnist",)),
    ],
)
def test_close_matches_ignores_case_and_separators(name: str, expected: tuple[str, ...]) -> None:
    candidates = ["mnist", "fashion_mnist", "cifar10", "cifar100", "voc_detection"]
    assert close_matches(name, candidates)[: len(expected)] == expected
