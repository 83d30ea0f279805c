"""Argument checks shared by every package: integers, sizes, probabilities, finite numbers, seeds, flags.

Each ``check_*`` function refuses a value that is not what the argument takes and returns the value
normalised (an ``int``, a ``float``, a ``(height, width)`` pair). The rules are the same everywhere:

- ``bool`` is refused where a number is expected (``True`` is an ``int`` to Python, never a count);
- NaN and infinity are refused where a finite number is expected (every comparison with NaN is false,
  so a bounds check alone lets it through);
- the message has the project's shape ``"<name>: expected <what>, got <repr>"``, followed by
  ``"; <fix>"`` where the caller knows one.

The exception class is the caller's: ``error=`` defaults to ``ValueError``; the transforms pass
``TransformSpecError`` (itself a ``ValueError``), and the command-line options turn the ``ValueError``
into ``argparse.ArgumentTypeError``. ``expected=`` replaces the generated description where a call site
words it its own way (its message is part of its interface: tests and users match it).

This module imports nothing beyond the standard library (``argparse`` only when parsing an option): packages that must stay cheap to
import (the command line, the transforms' spec checks) depend on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = [
    "MAX_SEED",
    "check_bool",
    "check_choice",
    "check_finite_number",
    "check_int",
    "check_positive_int",
    "check_probability",
    "check_seed",
    "check_size",
    "is_finite_number",
    "is_int",
    "parse_option",
    "refuse",
]

#: The largest seed ``torch.Generator.manual_seed`` takes (2**64 - 1).
MAX_SEED = 2**64 - 1


def refuse(
    name: str, expected: str, value: Any, *, fix: str = "", error: type[Exception] = ValueError
) -> NoReturn:
    """Raise ``error("<name>: expected <expected>, got <repr(value)>[; <fix>]")``.

    An empty ``name`` leaves out the ``"<name>: "`` prefix, for a caller that names the argument
    itself (argparse starts its message with ``"argument --lr: "``).

    Examples:
        >>> refuse("n", "an int from 1 to 3", 5, fix="use p=0 to switch the node off")
        Traceback (most recent call last):
        ...
        ValueError: n: expected an int from 1 to 3, got 5; use p=0 to switch the node off
    """
    prefix = f"{name}: " if name else ""
    raise error(f"{prefix}expected {expected}, got {value!r}" + (f"; {fix}" if fix else ""))


def parse_option(
    text: str, convert: Callable[[str], Any], check: Callable[[str, Any], Any], *, quote_text: bool = False
) -> Any:
    """``check("", convert(text))`` for an argparse ``type=`` function, refusals as `argparse.ArgumentTypeError`.

    argparse then exits with status 2, the usage line and ``"argument --epochs: expected ..., got ..."``
    instead of a traceback. Text that ``convert`` cannot read is handed to ``check`` as it is, so the
    message says what was expected and quotes the text.

    Args:
        text: The option's text from the command line.
        convert: ``int`` or ``float``: turns the text into the value.
        check: One of this module's checks (or a function of ``(name, value)`` calling one).
        quote_text: Show the text as typed in the message (``got '0'``) rather than the value read
            from it (``got 0``); ``visiondata train``'s options have always quoted it.

    Raises:
        argparse.ArgumentTypeError: The check refused the value.

    Examples:
        >>> parse_option("3", int, check_positive_int)
        3
        >>> parse_option("three", int, check_positive_int)
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected a positive integer, got 'three'
        >>> parse_option("0", int, check_positive_int)
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected a positive integer, got 0
        >>> parse_option("0", int, check_positive_int, quote_text=True)
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected a positive integer, got '0'
    """
    import argparse  # here, not at the top: most importers never parse a command line

    try:
        value = convert(text)
    except ValueError:
        value = text
    try:
        return check("", value)
    except ValueError as error:
        message = str(error)
        if quote_text and value is not text:
            # The check refuses the text itself (a str is no number), quoting it in the same words.
            try:
                check("", text)
            except ValueError as quoted:
                message = str(quoted)
        raise argparse.ArgumentTypeError(message) from None


def is_int(value: Any) -> bool:
    """Whether ``value`` is an ``int`` and not a ``bool``.

    Examples:
        >>> is_int(3), is_int(True), is_int(3.0)
        (True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is an ``int`` or ``float`` (not a ``bool``) other than NaN and +-infinity.

    Examples:
        >>> is_finite_number(0.5), is_finite_number(float("nan")), is_finite_number(False)
        (True, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bounds(minimum: float | None, maximum: float | None, low_in: bool, high_in: bool) -> str:
    if minimum is not None and maximum is not None:
        return f" in {'[' if low_in else '('}{minimum:g}, {maximum:g}{']' if high_in else ')'}"
    if minimum is not None:
        return f" {'>=' if low_in else '>'} {minimum:g}"
    if maximum is not None:
        return f" {'<=' if high_in else '<'} {maximum:g}"
    return ""


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    expected: str | None = None,
    fix: str = "",
    error: type[Exception] = ValueError,
) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) within ``minimum..maximum`` (both inclusive).

    Args:
        name: The argument's name, first in the message.
        value: What the caller passed.
        minimum: The smallest value accepted, or ``None`` for no lower bound.
        maximum: The largest value accepted, or ``None`` for no upper bound.
        expected: What the message says is expected; by default built from the bounds
            (``"an int >= 0"``, ``"an int in 1..512"``).
        fix: What to do instead, appended to the message after ``"; "``.
        error: The exception class raised.

    Raises:
        ValueError: (or ``error``) ``value`` is not such an int.

    Examples:
        >>> check_int("max_boxes", 0, minimum=0)
        0
        >>> check_int("n", True, minimum=0)
        Traceback (most recent call last):
        ...
        ValueError: n: expected an int >= 0, got True
        >>> check_int("channels", 600, minimum=1, maximum=512)
        Traceback (most recent call last):
        ...
        ValueError: channels: expected an int in 1..512, got 600
    """
    if is_int(value) and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return int(value)
    if expected is None:
        if minimum is not None and maximum is not None:
            expected = f"an int in {minimum}..{maximum}"
        else:
            expected = "an int" + _bounds(minimum, maximum, True, True)
    refuse(name, expected, value, fix=fix, error=error)


def check_positive_int(
    name: str,
    value: Any,
    *,
    maximum: int | None = None,
    expected: str | None = None,
    fix: str = "",
    error: type[Exception] = ValueError,
) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) of at least 1, and at most ``maximum`` when given.

    Raises:
        ValueError: (or ``error``) The message names ``name`` and the value; ``expected`` words it
            (default ``"a positive integer"``, plus ``" at most <maximum>"``).

    Examples:
        >>> check_positive_int("num_classes", 5)
        5
        >>> check_positive_int("num_classes", 0)
        Traceback (most recent call last):
        ...
        ValueError: num_classes: expected a positive integer, got 0
    """
    if expected is None:
        expected = "a positive integer" + ("" if maximum is None else f" at most {maximum}")
    return check_int(name, value, minimum=1, maximum=maximum, expected=expected, fix=fix, error=error)


def check_finite_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    inclusive: bool | tuple[bool, bool] = True,
    expected: str | None = None,
    fix: str = "",
    error: type[Exception] = ValueError,
) -> float:
    """``value`` as a ``float`` if it is a finite ``int`` or ``float`` (not a ``bool``) within the bounds.

    Args:
        name: The argument's name, first in the message.
        value: What the caller passed.
        minimum: The lower bound, or ``None`` for none.
        maximum: The upper bound, or ``None`` for none.
        inclusive: Whether the bounds are accepted themselves: one flag for both, or
            ``(minimum's, maximum's)``.
        expected: What the message says is expected; by default built from the bounds
            (``"a finite number > 0"``, ``"a finite number in [0, 1]"``).
        fix: What to do instead, appended to the message after ``"; "``.
        error: The exception class raised.

    Raises:
        ValueError: (or ``error``) ``value`` is not such a number; NaN and +-infinity never are.

    Examples:
        >>> check_finite_number("lr", 1)
        1.0
        >>> check_finite_number("lr", 0.0, minimum=0, inclusive=False)
        Traceback (most recent call last):
        ...
        ValueError: lr: expected a finite number > 0, got 0.0
        >>> check_finite_number("weight_decay", float("nan"), minimum=0)
        Traceback (most recent call last):
        ...
        ValueError: weight_decay: expected a finite number >= 0, got nan
    """
    low_in, high_in = (inclusive, inclusive) if isinstance(inclusive, bool) else inclusive
    if (
        is_finite_number(value)
        and (minimum is None or (value >= minimum if low_in else value > minimum))
        and (maximum is None or (value <= maximum if high_in else value < maximum))
    ):
        return float(value)
    if expected is None:
        expected = "a finite number" + _bounds(minimum, maximum, low_in, high_in)
    refuse(name, expected, value, fix=fix, error=error)


def check_probability(
    name: str,
    value: Any,
    *,
    expected: str = "a probability in [0, 1]",
    error: type[Exception] = ValueError,
) -> float:
    """``value`` as a ``float`` if it is an ``int`` or ``float`` (not a ``bool``, not NaN) in [0, 1].

    Raises:
        ValueError: (or ``error``) ``value`` is not such a number.

    Examples:
        >>> check_probability("p", 1)
        1.0
        >>> check_probability("min_visibility", 1.5, expected="a fraction in [0, 1]")
        Traceback (most recent call last):
        ...
        ValueError: min_visibility: expected a fraction in [0, 1], got 1.5
    """
    return check_finite_number(name, value, minimum=0, maximum=1, expected=expected, error=error)


def check_seed(name: str, value: Any, *, error: type[Exception] = ValueError) -> int | None:
    """``value`` if it is ``None`` (draw from the global generators) or an ``int`` (not a ``bool``) >= 0.

    Raises:
        ValueError: (or ``error``) ``value`` is neither.

    Examples:
        >>> check_seed("seed", None) is None, check_seed("seed", 7)
        (True, 7)
        >>> check_seed("seed", -1)
        Traceback (most recent call last):
        ...
        ValueError: seed: expected an int >= 0 or None, got -1
    """
    if value is None:
        return None
    return check_int(name, value, minimum=0, expected="an int >= 0 or None", error=error)


def check_size(
    name: str,
    value: Any,
    *,
    maximum: int,
    expected: str | None = None,
    error: type[Exception] = ValueError,
) -> tuple[int, int]:
    """A pair of ints in ``1..maximum`` from one int (a square) or a two-item sequence (not a string).

    The pair keeps the caller's order (``(height, width)`` for most, ``(width, height)`` where a
    torchvision transform takes that).

    Raises:
        ValueError: (or ``error``) ``value`` is neither; by default the message says
            ``"a positive int or (height, width), each at most <maximum>"``.

    Examples:
        >>> check_size("size", 224, maximum=4096)
        (224, 224)
        >>> check_size("size", [200, 300], maximum=4096)
        (200, 300)
        >>> check_size("size", (0, 300), maximum=4096)
        Traceback (most recent call last):
        ...
        ValueError: size: expected a positive int or (height, width), each at most 4096, got (0, 300)
    """
    pair = (value, value) if is_int(value) else value
    if (
        isinstance(pair, Sequence)
        and not isinstance(pair, str)
        and len(pair) == 2
        and all(is_int(side) and 0 < side <= maximum for side in pair)
    ):
        return int(pair[0]), int(pair[1])
    if expected is None:
        expected = f"a positive int or (height, width), each at most {maximum}"
    refuse(name, expected, value, error=error)


def check_bool(
    name: str, value: Any, *, expected: str = "true or false", error: type[Exception] = ValueError
) -> bool:
    """``value`` if it is ``True`` or ``False`` (``1``, ``"yes"`` and ``None`` are refused).

    Raises:
        ValueError: (or ``error``) ``value`` is not a ``bool``.

    Examples:
        >>> check_bool("antialias", False)
        False
        >>> check_bool("antialias", "yes")
        Traceback (most recent call last):
        ...
        ValueError: antialias: expected true or false, got 'yes'
    """
    if isinstance(value, bool):
        return value
    refuse(name, expected, value, error=error)


def check_choice(
    name: str,
    value: Any,
    choices: Sequence[Any],
    *,
    expected: str | None = None,
    fix: str = "",
    error: type[Exception] = ValueError,
) -> Any:
    """The one of ``choices`` that ``value`` equals *with its type* (``True`` is not ``1``, ``1.0`` not ``1``).

    Strings match across ``str`` subclasses (an ``enum.StrEnum`` member, numpy's ``str_``), and the
    plain choice comes back, so that a spec holding it survives YAML and JSON.

    Raises:
        ValueError: (or ``error``) ``value`` is none of them; by default the message lists their
            ``repr``: ``"one of 'train', 'eval'"``.

    Examples:
        >>> check_choice("bn", "eval", ("train", "eval", "frozen"))
        'eval'
        >>> check_choice("bn", "freeze", ("train", "eval", "frozen"))
        Traceback (most recent call last):
        ...
        ValueError: bn: expected one of 'train', 'eval', 'frozen', got 'freeze'
    """
    for option in choices:
        # The types first: comparing an array (a fill, say) with a choice gives no single truth value.
        same_kind = type(value) is type(option) or (isinstance(value, str) and isinstance(option, str))
        if same_kind and value == option:
            return option
    if expected is None:
        expected = "one of " + ", ".join(map(repr, choices))
    refuse(name, expected, value, fix=fix, error=error)


def switch_from_environment(variable: str) -> bool:
    """A process-wide switch read from environment variable ``variable``: on unless it says ``0``, ``false``,
    ``no`` or ``off`` (any case); on when it is not set.

    Examples:
        >>> switch_from_environment("VISIONDATA_NO_SUCH_SWITCH")
        True
    """
    import os

    return os.environ.get(variable, "1").strip().lower() not in ("0", "false", "no", "off")


# argparse ``type=`` functions for command-line options: a bad value then exits with status 2 and the
# usage line, naming the option, instead of failing with a traceback once the command has begun.
def positive_int_option(text: str) -> int:
    """An integer of at least 1 (``--epochs``, ``--max-count``).

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such an integer.

    Examples:
        >>> positive_int_option("3")
        3
        >>> positive_int_option("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected a positive integer, got '0'
    """
    return parse_option(text, int, check_positive_int, quote_text=True)


def non_negative_int_option(text: str) -> int:
    """An integer of at least 0 (``--num-workers``).

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such an integer.

    Examples:
        >>> non_negative_int_option("-1")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: expected an integer >= 0, got '-1'
    """
    return parse_option(
        text,
        int,
        lambda name, value: check_int(name, value, minimum=0, expected="an integer >= 0"),
        quote_text=True,
    )


def positive_float_option(text: str) -> float:
    """A finite number above 0, for ``--lr``-like options (``nan`` and ``inf`` are refused).

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such a number.

    Examples:
        >>> positive_float_option("3e-4")
        0.0003
    """
    return parse_option(
        text,
        float,
        lambda name, value: check_finite_number(
            name, value, minimum=0, inclusive=False, expected="a positive finite number"
        ),
        quote_text=True,
    )


def non_negative_float_option(text: str) -> float:
    """A finite number of at least 0, for ``--weight-decay``-like options.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not such a number.

    Examples:
        >>> non_negative_float_option("0")
        0.0
    """
    return parse_option(
        text, float, lambda name, value: check_finite_number(name, value, minimum=0), quote_text=True
    )
