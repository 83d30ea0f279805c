"""Every library error crosses process boundaries: pickle, and torch's DataLoader workers."""

from __future__ import annotations

import pickle
import sys
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from visiondata import exceptions

ERROR_TYPES = [
    getattr(exceptions, name)
    for name in exceptions.__all__
    if isinstance(getattr(exceptions, name), type) and issubclass(getattr(exceptions, name), Exception)
]

# Errors built from more than a message, with representative arguments; the
# others take a single message.
STRUCTURED: dict[type[Exception], tuple[tuple[Any, ...], dict[str, Any]]] = {
    exceptions.ImageReadError: (
        ("/data/cat.jpg", "truncated", "image file is truncated (4 bytes not processed)"),
        {},
    ),
    exceptions.DatasetValidationError: (("labels.csv", [f"line {n}: empty label" for n in range(25)]), {}),
    exceptions.UnknownNameError: (
        ("unknown dataset 'mnsit'; did you mean 'mnist'?",),
        {"name": "mnsit", "suggestions": ("mnist", "kmnist")},
    ),
}


def build(error_type: type[Exception]) -> Exception:
    args, kwargs = STRUCTURED.get(error_type, ((f"{error_type.__name__}: expected x, got y; fix it",), {}))
    return error_type(*args, **kwargs)


def test_every_error_type_is_covered() -> None:
    # A new error with required arguments beyond a message needs an entry in STRUCTURED.
    for error_type in ERROR_TYPES:
        build(error_type)


@pytest.mark.parametrize("error_type", ERROR_TYPES, ids=lambda t: t.__name__)
def test_pickle_round_trip_keeps_type_message_and_attributes(error_type: type[Exception]) -> None:
    error = build(error_type)
    error.add_note("while reading batch 3")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is error_type
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)


def test_pickle_round_trip_keeps_the_structured_attributes() -> None:
    image = pickle.loads(pickle.dumps(build(exceptions.ImageReadError)))
    assert (image.path, image.reason) == ("/data/cat.jpg", "truncated")
    assert image.detail == "image file is truncated (4 bytes not processed)"
    validation = pickle.loads(pickle.dumps(build(exceptions.DatasetValidationError)))
    assert validation.problems == [f"line {n}: empty label" for n in range(25)]
    assert "... and 5 more" in str(validation)
    unknown = pickle.loads(pickle.dumps(build(exceptions.UnknownNameError)))
    assert (unknown.name, unknown.suggestions) == ("mnsit", ("mnist", "kmnist"))
    assert str(unknown) == "unknown dataset 'mnsit'; did you mean 'mnist'?"


@pytest.mark.parametrize("error_type", list(STRUCTURED), ids=lambda t: t.__name__)
def test_structured_errors_can_be_built_from_a_message_alone(error_type: type[Exception]) -> None:
    error = error_type("the whole text, as a re-raiser passes it")
    assert str(error) == "the whole text, as a re-raiser passes it"
    assert isinstance(error, exceptions.VisionDataError)
    fields = {"path", "reason", "problems", "name"} & set(vars(error))
    assert fields and all(getattr(error, field) is None for field in fields)


@pytest.mark.parametrize("error_type", ERROR_TYPES, ids=lambda t: t.__name__)
def test_torch_exception_wrapper_reraises_the_same_type(error_type: type[Exception]) -> None:
    # ExceptionWrapper is what DataLoader workers send back to the main process.
    from torch._utils import ExceptionWrapper

    error = build(error_type)
    try:
        raise error
    except Exception:
        wrapper = ExceptionWrapper(sys.exc_info(), where="in DataLoader worker process 0")
    with pytest.raises(error_type) as caught:
        wrapper.reraise()
    assert type(caught.value) is error_type
    assert str(error).splitlines()[0] in str(caught.value)


class RaisingDataset(Dataset):
    """Sample ``i`` raises an instance of ``ERROR_TYPES[i]``; module-level so that workers can load it."""

    def __len__(self) -> int:
        return len(ERROR_TYPES)

    def __getitem__(self, index: int) -> torch.Tensor:
        raise build(ERROR_TYPES[index])


def test_errors_raised_in_dataloader_workers_are_caught_by_type() -> None:
    # One loader for every type: the iterator carries on after a re-raised error,
    # so the workers start once.
    loader = DataLoader(RaisingDataset(), batch_size=None, num_workers=2, timeout=30)
    iterator = iter(loader)
    wrong = []
    for error_type in ERROR_TYPES:
        try:
            next(iterator)
        except error_type as error:
            if type(error) is not error_type or str(build(error_type)).splitlines()[0] not in str(error):
                wrong.append(f"{error_type.__name__}: got {type(error).__name__}: {error}")
        except Exception as error:
            wrong.append(f"{error_type.__name__}: got {type(error).__name__}: {error}")
        else:
            wrong.append(f"{error_type.__name__}: nothing raised")
    del iterator
    assert not wrong, "\n".join(wrong)
