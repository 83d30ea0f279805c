"""``YOLODataset`` on hostile files (issue 18, items 6, 7, 14 and 16): named problems, never a hang or a blow-up.

Inputs that once hung the process (a FIFO) or filled the memory (a class id of 10^9, a link to
``/dev/zero``) run in a child with a timeout and a memory limit (``tests/isolated.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from isolated import assert_clean_exit, run_isolated
from PIL import Image

from visiondata.datasets import YOLODataset
from visiondata.exceptions import DatasetFormatError, DatasetValidationError


def folder(root: Path, labels: dict[str, str | bytes]) -> Path:
    """``root/images/<stem>.png`` (20x10) and ``root/labels/<stem>.txt`` for each label text."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for stem, text in labels.items():
        Image.new("RGB", (20, 10)).save(root / "images" / f"{stem}.png")
        label = root / "labels" / f"{stem}.txt"
        label.write_bytes(text if isinstance(text, bytes) else text.encode())
    return root / "images"


def problem_about(problems: list[str], where: str) -> str:
    found = [problem for problem in problems if problem.startswith(where)]
    assert len(found) == 1, (where, problems)
    return found[0]


# ---------------------------------------------------------------- item 6: class ids without names


def test_a_huge_class_id_without_names_is_a_named_problem_not_a_billion_names(tmp_path: Path) -> None:
    images = folder(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n1000000000 0.5 0.5 0.2 0.2\n"})
    # The old reader built 10^9 names here (10^7 took 3 GB): run it under a memory limit.
    result = run_isolated(
        f"""
        from visiondata.datasets import YOLODataset
        dataset = YOLODataset({str(images)!r}, on_error="skip")
        assert dataset.classes == ["__background__", "0"], dataset.classes[:5]
        assert dataset[0][1]["labels"].tolist() == [1]
        (problem,) = dataset.problems
        print(problem)
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    problem = result.stdout.strip()
    label = tmp_path / "labels" / "a.txt"
    assert problem.startswith(f"{label}:2: class 1000000000"), problem
    for text in ("limit of 10,000 classes without names", "classes=", "names", "max_classes="):
        assert text in problem, problem


def test_class_ids_without_names_are_bounded_by_max_classes(tmp_path: Path) -> None:
    images = folder(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n9999 0.5 0.5 0.2 0.2\n10000 0.5 0.5 0.2 0.2\n"})
    with pytest.raises(DatasetValidationError) as error:
        YOLODataset(images)
    assert "10000 is beyond the limit of 10,000" in str(error.value)
    small = YOLODataset(images, on_error="skip", max_classes=50)
    assert len(small.problems) == 2 and len(small.classes) == 2
    large = YOLODataset(images, max_classes=10_001)
    assert len(large.classes) == 1 + 10_001 and large[0][1]["labels"].tolist() == [1, 10_000, 10_001]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_classes: expected a positive int"):
            YOLODataset(images, max_classes=bad)


def test_names_bound_the_ids_whatever_max_classes_says(tmp_path: Path) -> None:
    images = folder(tmp_path, {"a": "1 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2\n"})
    dataset = YOLODataset(images, classes=["cat", "dog"], on_error="skip", max_classes=1)
    assert dataset[0][1]["labels"].tolist() == [2]
    assert "class 2 is out of range: 2 names, ids 0..1" in problem_about(dataset.problems, f"{images.parent}")


# ---------------------------------------------------------------- item 14: malformed label lines


def test_malformed_label_lines_are_named_counted_problems(tmp_path: Path) -> None:
    images = folder(
        tmp_path,
        {
            "a": (
                "0 0.5 0.5 0.2 0.2\n"  # 1: fine
                "nan 0.5 0.5 0.2 0.2\n"  # 2
                "inf 0.5 0.5 0.2 0.2\n"  # 3
                "1e3 0.5 0.5 0.2 0.2\n"  # 4: an exponent is not a class id
                "-1 0.5 0.5 0.2 0.2\n"  # 5
                f"{'9' * 5000} 0.5 0.5 0.2 0.2\n"  # 6: beyond Python's int-from-string limit
                "0 nan 0.5 0.2 0.2\n"  # 7
                "0 0.5 0.5 inf 0.2\n"  # 8
                f"0 0.5 0.5 0.2 {'9' * 400}\n"  # 9: overflows a float
                "0 0.5 0.5 0.2 0.2 0.7\n"  # 10: six values
                "3.0 0.5 0.5 0.2 0.2\n"  # 11: fine, a zero fraction
            ),
            "b": b"0 0.5 0.5 0.2 0.2\n\xff\xfe 0.5\n",  # not UTF-8
        },
    )
    with pytest.raises(DatasetValidationError) as error:
        YOLODataset(images)
    problems = error.value.problems
    assert problems is not None and len(problems) == 10, problems
    label = tmp_path / "labels" / "a.txt"
    for line in (2, 3, 4, 5):
        assert "expected an integer id >= 0" in problem_about(problems, f"{label}:{line}:")
    huge = problem_about(problems, f"{label}:6:")
    assert "beyond the limit" in huge and len(huge) < 400, huge  # the id is shortened in the message
    for line in (7, 8, 9):
        assert "expected finite numbers" in problem_about(problems, f"{label}:{line}:")
    assert "expected 5 values" in problem_about(problems, f"{label}:10:")
    binary = problem_about(problems, str(tmp_path / "labels" / "b.txt"))
    assert "expected UTF-8 text, got byte 0xff at offset 18" in binary, binary
    dataset = YOLODataset(images, on_error="skip")
    assert len(dataset.problems) == 10
    assert dataset[0][1]["labels"].tolist() == [1, 4]
    assert dataset[1][1]["labels"].tolist() == []  # the file that is not text: its boxes are left out


# ---------------------------------------------------------------- item 7: special files as label files


def test_a_fifo_as_a_label_file_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    images = folder(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n", "b": ""})
    (tmp_path / "labels" / "b.txt").unlink()
    os.mkfifo(tmp_path / "labels" / "b.txt")
    result = run_isolated(
        f"""
        from visiondata.datasets import YOLODataset
        from visiondata.exceptions import DatasetValidationError
        dataset = YOLODataset({str(images)!r}, on_error="skip")
        assert len(dataset) == 2 and dataset[1][1]["labels"].tolist() == []
        print(dataset.problems[0])
        try:
            YOLODataset({str(images)!r})
        except DatasetValidationError as error:
            print("raised", len(error.problems))
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    skipped, raised = result.stdout.strip().splitlines()
    assert skipped.startswith(str(tmp_path / "labels" / "b.txt")) and "a FIFO (named pipe)" in skipped, (
        skipped
    )
    assert raised == "raised 1"


def test_a_link_to_dev_zero_as_a_label_file_is_a_problem_not_a_memory_blow_up(tmp_path: Path) -> None:
    images = folder(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n", "b": ""})
    (tmp_path / "labels" / "b.txt").unlink()
    (tmp_path / "labels" / "b.txt").symlink_to("/dev/zero")
    result = run_isolated(
        f"""
        from visiondata.datasets import YOLODataset
        dataset = YOLODataset({str(images)!r}, on_error="skip")
        print(dataset.problems)
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    assert "b.txt: YOLO label file: expected a regular file, got a character device" in result.stdout


def test_a_folder_or_a_broken_link_named_like_a_label_file_is_a_problem(tmp_path: Path) -> None:
    images = folder(tmp_path, {"a": "", "b": "", "c": ""})
    (tmp_path / "labels" / "a.txt").unlink()
    (tmp_path / "labels" / "a.txt").mkdir()
    (tmp_path / "labels" / "b.txt").unlink()
    (tmp_path / "labels" / "b.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "labels" / "c.txt").unlink()  # simply missing: an image without boxes
    dataset = YOLODataset(images, on_error="skip")
    assert len(dataset.problems) == 2, dataset.problems
    assert "expected a regular file, got a folder" in problem_about(
        dataset.problems, str(tmp_path / "labels" / "a.txt")
    )
    assert "broken symbolic link" in problem_about(dataset.problems, str(tmp_path / "labels" / "b.txt"))
    with pytest.raises(DatasetValidationError):
        YOLODataset(images)


# ---------------------------------------------------------------- items 14 and 16: data.yaml


def yaml_project(root: Path, yaml_text: str | bytes) -> Path:
    folder(root, {"a": "0 0.5 0.5 0.2 0.2\n"})
    path = root / "data.yaml"
    path.write_bytes(yaml_text if isinstance(yaml_text, bytes) else yaml_text.encode())
    return path


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ("catdog", "expected a list or a mapping of class names, got the string 'catdog'"),
        ("[[a, b]]", "names[0]: expected a class name (a string or a number), got a list ['a', 'b']"),
        ("{0: {x: y}}", "names[0]: expected a class name (a string or a number), got a mapping {'x': 'y'}"),
        ("{a: cat}", "names: key 'a': expected integer class ids 0..n-1 as keys"),
        ("{0: cat, 2: dog}", "expected class ids 0..1 without gaps"),
        ("{0: cat, '0': dog}", "class id 0 appears twice"),
        ("[cat, no]", "names[1]: expected a class name, got False"),
        ("[cat, null]", "names[1]: expected a class name (a string or a number), got nothing"),
        ("7", "expected a list or a mapping of class names, got the number 7"),
    ],
    ids=[
        "string",
        "nested-list",
        "nested-mapping",
        "word-keys",
        "gap",
        "duplicate-id",
        "boolean",
        "null",
        "number",
    ],
)
def test_data_yaml_names_that_are_not_a_list_or_mapping_of_names_are_refused(
    names: str, expected: str, tmp_path: Path
) -> None:
    path = yaml_project(tmp_path, f"path: .\ntrain: images\nnames: {names}\n")
    with pytest.raises(DatasetFormatError) as error:
        YOLODataset(data_yaml=path, on_error="skip")
    assert str(error.value).startswith(f"{path}: "), error.value
    assert expected in str(error.value), error.value


def test_data_yaml_nc_must_agree_with_names(tmp_path: Path) -> None:
    path = yaml_project(tmp_path, "path: .\ntrain: images\nnc: 3\nnames: [cat, dog]\n")
    with pytest.raises(DatasetFormatError, match="nc is 3 but names holds 2 names"):
        YOLODataset(data_yaml=path)
    path.write_text("path: .\ntrain: images\nnc: 2\nnames: [cat, dog]\n")
    assert YOLODataset(data_yaml=path).classes == ["__background__", "cat", "dog"]
    path.write_text("path: .\ntrain: images\nnc: 3\n")  # nc alone: classes named by their ids
    assert YOLODataset(data_yaml=path).classes == ["__background__", "0", "1", "2"]
    path.write_text("path: .\ntrain: images\nnc: many\nnames: [cat]\n")
    with pytest.raises(DatasetFormatError, match="nc: expected the number of classes"):
        YOLODataset(data_yaml=path)
    path.write_text("path: .\ntrain: images\nnames: {0: cat, '1': dog}\n")  # quoted digits are ids too
    assert YOLODataset(data_yaml=path).classes == ["__background__", "cat", "dog"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "expected a mapping with path, train/val/test and names, got an empty file"),
        ("- train\n- val\n", "expected a mapping with path, train/val/test and names, got a list"),
        ("train: [unclosed\n", "not valid YAML"),
        (b"train: images\nnames: [caf\xe9]\n", "expected UTF-8 text, got byte 0xe9 at offset 25"),
        ("[" * 100_000 + "]" * 100_000, "not valid YAML"),
        ("path: [a]\ntrain: images\n", "path: expected the dataset folder (a string), got a list"),
        ("path: .\ntrain: {a: b}\n", "train: expected a folder or a list file"),
        ("path: .\ntrain: [images, [x]]\n", "train: expected a folder or a list file"),
    ],
    ids=["empty", "list", "malformed", "not-utf8", "deep", "path-list", "train-mapping", "train-nested"],
)
def test_data_yaml_that_is_not_a_readable_mapping_is_a_named_format_error(
    text: str | bytes, expected: str, tmp_path: Path
) -> None:
    path = yaml_project(tmp_path, text)
    with pytest.raises(DatasetFormatError) as error:
        YOLODataset(data_yaml=path)
    assert str(error.value).startswith(f"{path}: "), error.value
    assert expected in str(error.value), error.value


def test_a_fifo_as_data_yaml_is_a_named_error_not_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "data.yaml")
    result = run_isolated(
        f"""
        from visiondata.datasets import YOLODataset
        from visiondata.exceptions import DatasetFormatError
        try:
            YOLODataset(data_yaml={str(tmp_path / "data.yaml")!r})
        except DatasetFormatError as error:
            print(error)
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    assert "data.yaml: Ultralytics data.yaml: expected a regular file, got a FIFO" in result.stdout


def test_a_train_folder_outside_the_yaml_folder_is_read_as_ultralytics_reads_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    folder(shared, {"a": "0 0.5 0.5 0.5 0.4\n"})
    project = tmp_path / "project"
    project.mkdir()
    (project / "data.yaml").write_text(f"train: ../shared/images\nval: {shared / 'images'}\nnames: [cat]\n")
    for split in ("train", "val"):  # relative to path: (here the YAML's folder), and absolute
        dataset = YOLODataset(data_yaml=project / "data.yaml", split=split)
        assert len(dataset) == 1 and dataset.problems == []
        image, target = dataset[0]
        assert tuple(image.shape) == (3, 10, 20)
        assert target["boxes"].tolist() == [[5.0, 3.0, 15.0, 7.0]] and target["labels"].tolist() == [1]
    # A link inside that folder leading elsewhere is still refused when read.
    elsewhere = tmp_path / "elsewhere.png"
    Image.new("RGB", (4, 4)).save(elsewhere)
    (shared / "images" / "b.png").symlink_to(elsewhere)
    dataset = YOLODataset(data_yaml=project / "data.yaml", split="train", on_error="skip")
    assert len(dataset) == 2
    dataset[1]
    assert any("outside the dataset root" in cause for cause in dataset.errors.values()), dataset.errors


def test_a_missing_train_entry_names_the_key_the_path_and_the_root(tmp_path: Path) -> None:
    path = yaml_project(tmp_path, "path: .\ntrain: ../nowhere/images\n")
    with pytest.raises(FileNotFoundError) as error:
        YOLODataset(data_yaml=path)
    message = str(error.value)
    assert "train entry '../nowhere/images'" in message and "relative to the dataset folder" in message, (
        message
    )
