"""Output-size arithmetic for convolution and pooling layers."""

from __future__ import annotations

from typing import overload

from visiondata._arguments import is_int


def _pair(value: int | tuple[int, int], argument: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(is_int(v) for v in pair):
        raise TypeError(f"{argument}: expected an int or a pair of ints, got {value!r}")
    return pair[0], pair[1]


@overload
def conv_output_size(
    size: int,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = ...,
    padding: int | tuple[int, int] = ...,
    dilation: int | tuple[int, int] = ...,
) -> int: ...
@overload
def conv_output_size(
    size: tuple[int, int],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = ...,
    padding: int | tuple[int, int] = ...,
    dilation: int | tuple[int, int] = ...,
) -> tuple[int, int]: ...
def conv_output_size(
    size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> int | tuple[int, int]:
    """Spatial size after a convolution: ``floor((H + 2p - d(k - 1) - 1) / s + 1)``.

    The formula of ``torch.nn.Conv2d`` (and of max pooling). Each argument is
    an int or a ``(height, width)`` pair; the result is a pair when ``size`` is.

    Args:
        size: Input height (or ``(height, width)``).
        kernel_size: Kernel size ``k``.
        stride: Stride ``s``.
        padding: Zero padding ``p`` on each side.
        dilation: Spacing ``d`` between kernel elements.

    Raises:
        ValueError: A non-positive size, kernel, stride or dilation, negative
            padding, or a kernel larger than the padded input.

    Examples:
        >>> conv_output_size(28, kernel_size=5, stride=2)
        12
        >>> conv_output_size((28, 32), kernel_size=3, padding=1)
        (28, 32)
    """
    sizes = _pair(size, "size")
    kernels = _pair(kernel_size, "kernel_size")
    strides = _pair(stride, "stride")
    paddings = _pair(padding, "padding")
    dilations = _pair(dilation, "dilation")
    result = []
    for h, k, s, p, d in zip(sizes, kernels, strides, paddings, dilations, strict=True):
        if h < 1 or k < 1 or s < 1 or d < 1 or p < 0:
            raise ValueError(
                "conv_output_size: expected size, kernel_size, stride and dilation >= 1 and "
                f"padding >= 0, got size={size}, kernel_size={kernel_size}, stride={stride}, "
                f"padding={padding}, dilation={dilation}"
            )
        span = d * (k - 1) + 1
        if span > h + 2 * p:
            raise ValueError(
                f"conv_output_size: the kernel spans {span} pixels (dilation {d}, size {k}) but "
                f"the padded input is only {h + 2 * p}; expected a span <= size + 2 * padding"
            )
        result.append((h + 2 * p - span) // s + 1)
    return result[0] if isinstance(size, int) else tuple(result)
