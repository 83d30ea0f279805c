"""visiondata._arguments: the one module of argument checks, and the call sites that now share it."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visiondata._arguments import (
    MAX_SEED,
    check_bool,
    check_choice,
    check_finite_number,
    check_int,
    check_positive_int,
    check_probability,
    check_seed,
    check_size,
    is_finite_number,
    is_int,
    parse_option,
    refuse,
)
from visiondata.exceptions import TransformSpecError

NAN, INF = float("nan"), float("inf")


def exactly(message: str) -> str:
    """A ``match=`` pattern for exactly ``message``."""
    return f"^{re.escape(message)}$"


# ---------------------------------------------------------------- the message shape and the error class
def test_refuse_names_the_argument_says_what_is_expected_and_appends_the_fix() -> None:
    with pytest.raises(ValueError, match=r"^n: expected an int from 1 to 3, got 5; use p=0$"):
        refuse("n", "an int from 1 to 3", 5, fix="use p=0")


def test_refuse_without_a_name_leaves_out_the_prefix() -> None:
    with pytest.raises(ValueError, match=r"^expected a positive integer, got 0$"):
        refuse("", "a positive integer", 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda error: check_int("x", "1", error=error),
        lambda error: check_positive_int("x", 0, error=error),
        lambda error: check_finite_number("x", NAN, error=error),
        lambda error: check_probability("x", 2, error=error),
        lambda error: check_seed("x", -1, error=error),
        lambda error: check_size("x", 0, maximum=8, error=error),
        lambda error: check_bool("x", 1, error=error),
        lambda error: check_choice("x", "c", ("a", "b"), error=error),
    ],
)
@pytest.mark.parametrize("error", [ValueError, TransformSpecError, TypeError])
def test_every_check_raises_the_class_the_caller_chose(call, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^x: expected .+, got ") as caught:
        call(error)
    assert type(caught.value) is error


# ---------------------------------------------------------------- predicates
@pytest.mark.parametrize(
    ("value", "integer", "finite"),
    [
        (3, True, True),
        (-3, True, True),
        (3.0, False, True),
        (True, False, False),
        (False, False, False),
        (NAN, False, False),
        (INF, False, False),
        (-INF, False, False),
        ("3", False, False),
        (None, False, False),
    ],
)
def test_is_int_and_is_finite_number(value: object, integer: bool, finite: bool) -> None:
    assert is_int(value) is integer
    assert is_finite_number(value) is finite


# ---------------------------------------------------------------- check_int / check_positive_int
@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (True, {"minimum": 0}, "n: expected an int >= 0, got True"),
        (False, {"minimum": 0}, "n: expected an int >= 0, got False"),
        (1.0, {"minimum": 0}, "n: expected an int >= 0, got 1.0"),
        (-1, {"minimum": 0}, "n: expected an int >= 0, got -1"),
        (6, {"maximum": 5}, "n: expected an int <= 5, got 6"),
        (0, {"minimum": 1, "maximum": 5}, "n: expected an int in 1..5, got 0"),
        (6, {"minimum": 1, "maximum": 5}, "n: expected an int in 1..5, got 6"),
        ("2", {}, "n: expected an int, got '2'"),
        (0, {"minimum": 1, "expected": "a count"}, "n: expected a count, got 0"),
        (0, {"minimum": 1, "fix": "use 1"}, "n: expected an int >= 1, got 0; use 1"),
    ],
)
def test_check_int_refuses(value: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=exactly(message)):
        check_int("n", value, **kwargs)


@pytest.mark.parametrize(("value", "low", "high"), [(0, 0, 5), (5, 0, 5), (1, 1, 1), (-7, None, None)])
def test_check_int_accepts_both_bounds_themselves(value: int, low: int | None, high: int | None) -> None:
    assert check_int("n", value, minimum=low, maximum=high) == value


@given(st.integers(min_value=-(2**70), max_value=2**70), st.integers(-1000, 1000), st.integers(0, 2000))
def test_any_int_within_the_bounds_comes_back_unchanged_and_any_outside_is_refused(
    value: int, low: int, span: int
) -> None:
    high = low + span
    if low <= value <= high:
        assert check_int("n", value, minimum=low, maximum=high) == value
    else:
        with pytest.raises(ValueError, match=rf"^n: expected an int in {low}\.\.{high}, got {value}$"):
            check_int("n", value, minimum=low, maximum=high)


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (0, {}, "num_classes: expected a positive integer, got 0"),
        (-1, {}, "num_classes: expected a positive integer, got -1"),
        (True, {}, "num_classes: expected a positive integer, got True"),
        (2.0, {}, "num_classes: expected a positive integer, got 2.0"),
        (None, {}, "num_classes: expected a positive integer, got None"),
        (513, {"maximum": 512}, "num_classes: expected a positive integer at most 512, got 513"),
        (0, {"expected": "a positive int"}, "num_classes: expected a positive int, got 0"),
    ],
)
def test_check_positive_int_refuses(value: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=exactly(message)):
        check_positive_int("num_classes", value, **kwargs)


def test_check_positive_int_accepts_one_and_the_maximum() -> None:
    assert check_positive_int("n", 1) == 1
    assert check_positive_int("n", 512, maximum=512) == 512
    assert type(check_positive_int("n", 3)) is int


# ---------------------------------------------------------------- check_finite_number / check_probability
@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (NAN, {}, "x: expected a finite number, got nan"),
        (INF, {}, "x: expected a finite number, got inf"),
        (-INF, {"maximum": 0}, "x: expected a finite number <= 0, got -inf"),
        (True, {}, "x: expected a finite number, got True"),
        ("1", {}, "x: expected a finite number, got '1'"),
        (0, {"minimum": 0, "inclusive": False}, "x: expected a finite number > 0, got 0"),
        (-0.5, {"minimum": 0}, "x: expected a finite number >= 0, got -0.5"),
        (1, {"maximum": 1, "inclusive": False}, "x: expected a finite number < 1, got 1"),
        (
            1,
            {"minimum": 0, "maximum": 1, "inclusive": (True, False)},
            "x: expected a finite number in [0, 1), got 1",
        ),
        (
            0,
            {"minimum": 0, "maximum": 1, "inclusive": (False, True)},
            "x: expected a finite number in (0, 1], got 0",
        ),
        (
            NAN,
            {"minimum": 0, "expected": "a number >= 0 (pixels)"},
            "x: expected a number >= 0 (pixels), got nan",
        ),
    ],
)
def test_check_finite_number_refuses(value: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=exactly(message)):
        check_finite_number("x", value, **kwargs)


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        (0, {"minimum": 0}),
        (1, {"maximum": 1}),
        (0.5, {"minimum": 0, "maximum": 1, "inclusive": False}),
        (1e-300, {"minimum": 0, "inclusive": False}),
        (-1e300, {}),
    ],
)
def test_check_finite_number_accepts_and_returns_a_float(value: float, kwargs: dict) -> None:
    result = check_finite_number("x", value, **kwargs)
    assert type(result) is float and result == value


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_check_probability_returns_exactly_the_numbers_in_0_1_as_floats(value: float) -> None:
    if 0 <= value <= 1:
        assert check_probability("p", value) == value
    else:
        with pytest.raises(ValueError, match=r"^p: expected a probability in \[0, 1\], got "):
            check_probability("p", value)


@pytest.mark.parametrize("value", [True, False, NAN, -0.01, 1.01, INF, "0.5", None])
def test_check_probability_refuses(value: object) -> None:
    with pytest.raises(ValueError, match=exactly(f"p: expected a probability in [0, 1], got {value!r}")):
        check_probability("p", value)


def test_check_probability_words_its_message_as_the_caller_asks_and_returns_floats() -> None:
    with pytest.raises(TransformSpecError, match=r"^min_visibility: expected a fraction in \[0, 1\], got 2$"):
        check_probability("min_visibility", 2, expected="a fraction in [0, 1]", error=TransformSpecError)
    assert check_probability("p", 0) == 0.0 and type(check_probability("p", 1)) is float


# ---------------------------------------------------------------- check_seed / check_size / check_bool / check_choice
@pytest.mark.parametrize("value", [None, 0, 7, MAX_SEED, 2**80])
def test_check_seed_accepts_none_and_ints_from_zero(value: int | None) -> None:
    assert check_seed("seed", value) == value


@pytest.mark.parametrize("value", [-1, True, False, 1.0, "1"])
def test_check_seed_refuses(value: object) -> None:
    with pytest.raises(ValueError, match=exactly(f"seed: expected an int >= 0 or None, got {value!r}")):
        check_seed("seed", value)


@pytest.mark.parametrize(
    ("value", "pair"),
    [(8, (8, 8)), (1, (1, 1)), ((2, 8), (2, 8)), ([8, 3], (8, 3))],
)
def test_check_size_gives_a_pair_in_the_callers_order(value: object, pair: tuple[int, int]) -> None:
    assert check_size("size", value, maximum=8) == pair


@pytest.mark.parametrize(
    "value", [0, 9, -1, True, (True, 2), (2, 9), (2,), (2, 3, 4), "ab", 2.0, (2.0, 3), None]
)
def test_check_size_refuses(value: object) -> None:
    expected = f"size: expected a positive int or (height, width), each at most 8, got {value!r}"
    with pytest.raises(ValueError, match=exactly(expected)):
        check_size("size", value, maximum=8)


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_check_bool_refuses_anything_but_a_bool(value: object) -> None:
    with pytest.raises(ValueError, match=exactly(f"antialias: expected true or false, got {value!r}")):
        check_bool("antialias", value)
    assert check_bool("antialias", True) is True and check_bool("antialias", False) is False


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_check_choice_compares_types_too(value: object) -> None:
    with pytest.raises(ValueError, match=exactly(f"k: expected one of 1, 2, got {value!r}; see the docs")):
        check_choice("k", value, (1, 2), fix="see the docs")
    assert check_choice("k", 2, (1, 2)) == 2


def test_check_choice_matches_a_str_subclass_and_returns_the_plain_choice() -> None:
    import enum

    class Task(str, enum.Enum):
        DETECTION = "detection"

    chosen = check_choice("task", Task.DETECTION, ("classification", "detection"))
    assert chosen == "detection" and type(chosen) is str


def test_check_choice_refuses_an_array_without_comparing_it_elementwise() -> None:
    numpy = pytest.importorskip("numpy")
    with pytest.raises(ValueError, match=exactly("fill: expected one of 0, 'random', got array([1, 2])")):
        check_choice("fill", numpy.array([1, 2]), (0, "random"))


def test_check_choice_takes_the_callers_wording() -> None:
    with pytest.raises(ValueError, match=r"^task: expected one of a, b, got 'c'$"):
        check_choice("task", "c", ("a", "b"), expected="one of a, b")


# ---------------------------------------------------------------- parse_option (argparse type= functions)
@pytest.mark.parametrize(
    ("text", "quote", "message"),
    [
        ("0", False, "expected a positive integer, got 0"),
        ("0", True, "expected a positive integer, got '0'"),
        ("x", False, "expected a positive integer, got 'x'"),
        ("2.5", True, "expected a positive integer, got '2.5'"),
    ],
)
def test_parse_option_turns_a_refusal_into_an_argparse_error(text: str, quote: bool, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=exactly(message)):
        parse_option(text, int, check_positive_int, quote_text=quote)
    assert parse_option("12", int, check_positive_int) == 12


def test_an_option_refused_by_the_shared_check_exits_2_with_the_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument(
        "--lr",
        type=lambda text: parse_option(
            text, float, lambda name, value: check_finite_number(name, value, minimum=0, inclusive=False)
        ),
    )
    assert parser.parse_args(["--lr", "0.5"]).lr == 0.5
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["--lr", "nan"])
    assert caught.value.code == 2
    assert "tool: error: argument --lr: expected a finite number > 0, got nan" in capsys.readouterr().err


# ---------------------------------------------------------------- a foundation: cheap to import
def test_the_module_imports_neither_torch_nor_numpy() -> None:
    code = (
        "import sys, visiondata._arguments as a; a.check_int('n', 1, minimum=0); "
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------- call sites that refused too little before
def test_fit_refuses_a_bool_epochs() -> None:
    torch = pytest.importorskip("torch")
    from visiondata.training import fit

    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"^epochs: expected a positive integer, got True$"):
        fit(model, [], torch.optim.SGD(model.parameters(), lr=0.1), epochs=True, progress=False, log=None)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"limit": True}, "limit: expected a positive number of training images, got True"),
        ({"limit": 2.5}, "limit: expected a positive number of training images, got 2.5"),
        ({"limit": "10"}, "limit: expected a positive number of training images, got '10'"),
        ({"lr": True}, "lr: expected a positive finite number, got True"),
    ],
)
def test_train_mnist_cnn_refuses_a_limit_that_is_not_a_count(tmp_path, overrides: dict, message: str) -> None:
    from visiondata.training import train_mnist_cnn

    with pytest.raises(ValueError, match=exactly(message)):
        train_mnist_cnn(root=str(tmp_path), out=str(tmp_path / "out"), download=False, **overrides)
    assert not (tmp_path / "out").exists()


def test_unfreeze_last_refuses_a_bool_count() -> None:
    torchvision = pytest.importorskip("torchvision")
    from visiondata.models import freeze_backbone, unfreeze_last

    model = freeze_backbone(torchvision.models.resnet18())
    with pytest.raises(ValueError, match=r"^n: expected a non-negative integer, got True$"):
        unfreeze_last(model, True)


def test_save_grid_refuses_a_bool_ncols(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    from visiondata.viz import save_grid

    sample = (torch.zeros(3, 10, 10, dtype=torch.uint8), {"boxes": torch.tensor([[1.0, 1.0, 8.0, 8.0]])})
    with pytest.raises(ValueError, match=r"^ncols: expected a positive int, got True$"):
        save_grid([sample], tmp_path / "grid.png", ncols=True)
    assert not (tmp_path / "grid.png").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_workers": -1}, "num_workers: expected an int >= 0, got -1; use 0 to load in the main process"),
        (
            {"num_workers": True},
            "num_workers: expected an int >= 0, got True; use 0 to load in the main process",
        ),
        (
            {"num_workers": 1.0},
            "num_workers: expected an int >= 0, got 1.0; use 0 to load in the main process",
        ),
        ({"seed": -1}, "seed: expected an int in 0..18446744073709551615, got -1"),
        ({"seed": True}, "seed: expected an int in 0..18446744073709551615, got True"),
        ({"seed": 2**64}, "seed: expected an int in 0..18446744073709551615, got 18446744073709551616"),
        ({"batch_size": True}, "batch_size: expected a positive int, got True"),
    ],
)
def test_build_loader_checks_its_numbers_before_torch_does(kwargs: dict, message: str) -> None:
    torch = pytest.importorskip("torch")
    from visiondata.loaders import build_loader

    dataset = torch.utils.data.TensorDataset(torch.arange(4))
    with pytest.raises(ValueError, match=exactly(message)):
        build_loader(dataset, **{"batch_size": 2, **kwargs})


def test_build_loader_accepts_the_largest_seed() -> None:
    torch = pytest.importorskip("torch")
    from visiondata.loaders import build_loader

    dataset = torch.utils.data.TensorDataset(torch.arange(4))
    assert sorted(
        int(v) for (batch,) in build_loader(dataset, batch_size=2, seed=MAX_SEED) for v in batch
    ) == [
        0,
        1,
        2,
        3,
    ]


def test_mnist_batches_refuse_a_bool_batch_size() -> None:
    # The check runs before the dataset is touched, so no MNIST files are needed.
    from visiondata.datasets._mnist import MNISTBatches

    with pytest.raises(ValueError, match=r"^batch_size: expected a positive integer, got True$"):
        MNISTBatches(None, True, False, False, None, None)


def test_the_old_copies_are_gone() -> None:
    import visiondata.training._mnist_training as mnist_training
    import visiondata.transforms._photometric as photometric
    import visiondata.transforms._pipeline as pipeline
    import visiondata.transforms._spec as spec

    for module, name in (
        (mnist_training, "_is_finite"),
        (photometric, "_is_number"),
        (photometric, "_is_int"),
        (spec, "_is_number"),
        (pipeline, "_fraction"),
        (pipeline, "_non_negative"),
    ):
        assert not hasattr(module, name), (
            f"{module.__name__}.{name} is a copy of a visiondata._arguments check"
        )


def test_the_module_depends_on_no_other_visiondata_module() -> None:
    import ast
    from pathlib import Path

    import visiondata._arguments as arguments

    tree = ast.parse(Path(arguments.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.startswith("visiondata")}
