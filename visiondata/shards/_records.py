"""One sample <-> one group of tar members (the WebDataset layout), for every task's schema.

A sample with key ``000000042`` becomes, in the shard:

- ``000000042.jpg`` (or ``.png``, ``.webp``... : the image, as its file was
  when ``encode="keep"``, else encoded as asked);
- ``000000042.cls``: a class id as decimal text (classification);
- ``000000042.json``: any other target, as ``{"target": ...}`` where tensors
  are ``{"__tensor__": dtype, "values": nested lists}`` (exact for every
  dtype), boxes ``{"__boxes__": "XYXY", ...}`` and large tensors refer to an
  ``.npy`` member (instance masks);
- ``000000042.mask.png``: a segmentation mask.

Standard tar tools, the ``webdataset`` package and Hugging Face ``datasets``
read these members as they are.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors

from visiondata._arguments import is_int
from visiondata.exceptions import ImageReadError

#: Tensors with more elements than this go into their own ``.npy`` member instead of the JSON.
LARGEST_JSON_TENSOR = 4096
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "ppm", "pgm", "tif", "tiff", "gif")
_EXTENSION_OF_FORMAT = {"jpeg": "jpg", "png": "png"}


# ---------------------------------------------------------------- writing
def image_kind(image: Any) -> tuple[str, str]:
    """What a dataset yields as image, as the manifest records it: its type and its ``read_image`` mode.

    Examples:
        >>> image_kind(torch.zeros(1, 2, 2, dtype=torch.uint8))
        ('tensor', 'L')
    """
    if isinstance(image, Image.Image):
        channels = len(image.getbands())
    elif isinstance(image, torch.Tensor):
        channels = image.shape[-3] if image.ndim == 3 else 1
    else:
        channels = image.shape[2] if np.ndim(image) == 3 else 1
    return _image_type(image), {1: "L", 3: "RGB"}.get(channels, "unchanged")


def _image_type(image: Any) -> str:
    if isinstance(image, tv_tensors.Image):
        return "tv_image"
    if isinstance(image, torch.Tensor):
        return "tensor"
    if isinstance(image, Image.Image):
        return "pil"
    if isinstance(image, np.ndarray):
        return "numpy"
    raise TypeError(
        f"expected an image (tensor, tv_tensors.Image, PIL image or numpy array), got {type(image).__name__}"
    )


def encode_image(image: Any, encode: str, quality: int, where: str) -> tuple[str, bytes]:
    """``(extension, bytes)`` of a decoded image, as PNG (lossless) or JPEG."""
    array = _as_hwc_uint8(image, where)
    picture = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    buffer = io.BytesIO()
    if encode == "jpeg":
        if picture.mode not in ("L", "RGB"):
            picture = picture.convert("RGB")  # JPEG has no alpha
        picture.save(buffer, "JPEG", quality=quality)
        return "jpg", buffer.getvalue()
    picture.save(buffer, "PNG")
    return "png", buffer.getvalue()


def file_extension(data: bytes, path: str) -> str:
    """The member extension for an image file's bytes: by content for JPEG and PNG, else the file's own."""
    from visiondata.io import read_header

    known = _EXTENSION_OF_FORMAT.get(read_header(data).format)
    if known:
        return known
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    return suffix if suffix in IMAGE_EXTENSIONS else "img"


def _as_hwc_uint8(image: Any, where: str) -> np.ndarray:
    if isinstance(image, Image.Image):
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        array = np.asarray(image)
    elif isinstance(image, torch.Tensor):
        if image.dtype != torch.uint8:
            raise TypeError(
                f"{where}: expected uint8 images to store, got a {image.dtype} tensor; export the dataset "
                "without the transform that converts or normalises it (apply it when reading the shards)"
            )
        array = image.detach().cpu().permute(1, 2, 0).numpy() if image.ndim == 3 else image.cpu().numpy()
    elif isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise TypeError(f"{where}: expected uint8 images to store, got a {image.dtype} array")
        array = image
    else:
        raise TypeError(f"{where}: expected an image, got {type(image).__name__}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"{where}: expected 1, 3 or 4 channels, got an image of shape {tuple(array.shape)}")
    return np.ascontiguousarray(array)


def encode_target(target: Any, members: dict[str, bytes], where: str) -> None:
    """Add the members holding ``target`` to ``members``."""
    if isinstance(target, (bool, np.bool_)):
        raise TypeError(f"{where}: expected a class id, a tensor or a dict as target, got a bool")
    if isinstance(target, (int, np.integer)) or (
        isinstance(target, torch.Tensor) and target.ndim == 0 and not target.is_floating_point()
    ):
        members["cls"] = str(int(target)).encode()
        return
    members["json"] = json.dumps({"target": _to_json(target, members, where, "target")}).encode()


def _to_json(value: Any, members: dict[str, bytes], where: str, name: str) -> Any:
    if isinstance(value, tv_tensors.Mask) and name == "target":
        members["mask.png"] = _mask_png(value, where)
        return {"__mask__": str(value.dtype).removeprefix("torch."), "ndim": value.ndim}
    if isinstance(value, tv_tensors.BoundingBoxes):
        from torchvision.transforms.v2 import functional

        xyxy = functional.convert_bounding_box_format(value, new_format=tv_tensors.BoundingBoxFormat.XYXY)
        return {"__boxes__": "XYXY", **_tensor_json(xyxy.as_subclass(torch.Tensor), members, name)}
    if isinstance(value, torch.Tensor):
        return _tensor_json(value, members, name)
    if isinstance(value, np.ndarray):
        return _tensor_json(torch.from_numpy(value), members, name)
    if isinstance(value, dict):
        return {str(key): _to_json(item, members, where, f"{name}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item, members, where, name) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(
        f"{where}: {name}: expected tensors, numbers, strings, lists or dicts, got {type(value).__name__}"
    )


def _tensor_json(tensor: torch.Tensor, members: dict[str, bytes], name: str) -> dict[str, Any]:
    tensor = tensor.detach().cpu()
    dtype = str(tensor.dtype).removeprefix("torch.")
    if tensor.numel() > LARGEST_JSON_TENSOR:
        member = f"{name.removeprefix('target.').replace('.', '_') or 'target'}.npy"
        buffer = io.BytesIO()
        np.save(buffer, tensor.numpy(), allow_pickle=False)
        members[member] = buffer.getvalue()
        return {"__tensor__": dtype, "member": member}
    return {"__tensor__": dtype, "shape": list(tensor.shape), "values": tensor.tolist()}


def _mask_png(mask: torch.Tensor, where: str) -> bytes:
    array = mask.detach().cpu().numpy()
    array = array[0] if array.ndim == 3 and array.shape[0] == 1 else array
    if array.ndim != 2 or array.min(initial=0) < 0 or array.max(initial=0) > 65535:
        raise ValueError(f"{where}: expected a (H, W) mask of values 0..65535, got shape {mask.shape}")
    picture = Image.fromarray(array.astype(np.uint8 if array.max(initial=0) < 256 else np.uint16))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------- reading
def image_member(sample: dict[str, bytes]) -> str | None:
    """The image member's extension in a sample (the first known image extension)."""
    return next(
        (extension for extension in IMAGE_EXTENSIONS if extension in sample), sample.get("img") and "img"
    )


def decode_target(sample: dict[str, bytes], where: str, canvas: tuple[int, int]) -> Any:
    """The target of a sample's members, as the source dataset yielded it.

    Whatever the members hold (invalid JSON, JSON nested 100,000 deep, an unknown dtype, values that
    do not fill the stated shape, boxes that are not ``N x 4``, an ``.npy`` whose header declares
    more data than it holds), the result is the target or an
    [`ImageReadError`][visiondata.exceptions.ImageReadError] naming the member; nothing is allocated
    from a size a member states before the bytes are there.
    """
    if "cls" in sample:
        try:
            return int(sample["cls"])
        except (ValueError, TypeError):
            raise ImageReadError(
                where + ".cls", "corrupt member", f"expected a class id, got {bytes(sample['cls'][:40])!r}"
            ) from None
    if "json" not in sample:
        return None
    try:
        content = json.loads(sample["json"])
        if not isinstance(content, dict) or "target" not in content:
            raise ValueError(f'expected an object {{"target": ...}}, got {type(content).__name__}')
        return _from_json(content["target"], sample, canvas)
    except ImageReadError:
        raise
    except RecursionError:
        raise ImageReadError(
            where + ".json", "corrupt member", "the target cannot be rebuilt: nested too deeply"
        ) from None
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RuntimeError,
        OverflowError,
    ) as error:
        # ValueError covers json's errors and UnicodeDecodeError; RuntimeError is torch's (reshape, overflow).
        raise ImageReadError(
            where + ".json",
            "corrupt member",
            f"the target cannot be rebuilt: {type(error).__name__}: {error}",
        ) from None


def _dtype(name: Any) -> torch.dtype:
    dtype = getattr(torch, name, None) if isinstance(name, str) else None
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"expected a torch dtype name such as 'float32', got {name!r}")
    return dtype


def _from_json(value: Any, sample: dict[str, bytes], canvas: tuple[int, int]) -> Any:
    if isinstance(value, dict) and "__mask__" in value:
        from visiondata.io import read_image

        dtype = _dtype(value["__mask__"])
        mask = read_image(sample["mask.png"], mode="unchanged")[0].to(dtype)
        return tv_tensors.Mask(mask if value.get("ndim", 2) == 2 else mask[None])
    if isinstance(value, dict) and "__tensor__" in value:
        dtype = _dtype(value["__tensor__"])
        if "member" in value:
            tensor = _load_npy(sample[value["member"]], value["member"])
        else:
            shape = value["shape"]
            if not isinstance(shape, list) or not all(is_int(size) and size >= 0 for size in shape):
                raise ValueError(f"expected a shape of sizes >= 0, got {shape!r}")
            tensor = torch.tensor(value["values"], dtype=dtype).reshape(shape)
        if "__boxes__" in value:
            if tensor.ndim != 2 or tensor.shape[1] != 4:
                raise ValueError(f"expected boxes of shape (N, 4), got {tuple(tensor.shape)}")
            if value["__boxes__"] not in tv_tensors.BoundingBoxFormat.__members__:
                raise ValueError(f"expected a box format such as 'XYXY', got {value['__boxes__']!r}")
            return tv_tensors.BoundingBoxes(tensor, format=value["__boxes__"], canvas_size=canvas)
        return tensor.to(dtype)
    if isinstance(value, dict):
        return {key: _from_json(item, sample, canvas) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_json(item, sample, canvas) for item in value]
    return value


def _load_npy(data: bytes, member: str) -> torch.Tensor:
    """An ``.npy`` member as a tensor; its header's shape must match the bytes that follow it.

    ``np.load`` on a stream allocates what the header declares before reading: a 100-byte member
    declaring ``100000 x 100000`` would take 10 GB. Here nothing is allocated beyond the member's bytes.
    """
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
    if dtype.hasobject:
        raise ValueError(f"{member}: expected numbers, got an array of Python objects (never unpickled)")
    count = 1
    for size in shape:
        count *= size
    available = len(data) - stream.tell()
    if count * dtype.itemsize != available:
        raise ValueError(
            f"{member}: its header declares shape {shape} ({count * dtype.itemsize:,} bytes of {dtype}), "
            f"but it holds {available:,} bytes"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    array = array.reshape(shape, order="F" if fortran_order else "C")
    return torch.from_numpy(np.array(array, copy=True))  # frombuffer's arrays are read-only
