"""Third-party datasets arrive through the ``visiondata.datasets`` entry-point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path


def install_distribution(
    site: Path, name: str, entry_points: dict[str, str], modules: dict[str, str]
) -> None:
    """Lay out an installed distribution (a .dist-info folder and its modules) under ``site``."""
    dist_info = site / f"{name}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = ["[visiondata.datasets]", *(f"{key} = {value}" for key, value in entry_points.items())]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


def run_with_site(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(site)},
    )


PLUGIN_MODULE = """
    import visiondata as vd

    @vd.register_dataset("leaves", task="classification", splits=("train", "val"), classes=("healthy", "rust"),
                         channels=3, license="CC BY 4.0", homepage="https://example.org/leaves")
    class Leaves:
        def __init__(self, root, split="train", transform=None):
            self.root, self.split = root, split
"""

REGISTER_FUNCTION_MODULE = """
    import visiondata as vd

    def register():
        vd.register_dataset("bark", lambda root, split="train": ("bark", root, split), task="other")
"""


def test_entry_point_module_registers_lazily(tmp_path: Path) -> None:
    install_distribution(
        tmp_path, "leaves_plugin", {"leaves": "leaves_plugin"}, {"leaves_plugin": PLUGIN_MODULE}
    )
    result = run_with_site(
        tmp_path,
        """
        import json, sys
        import visiondata as vd
        before = "leaves_plugin" in sys.modules
        dataset = vd.get_dataset("leaves", root="/data", split="validation")
        info = vd.dataset_info("leaves")
        print(json.dumps({"before": before, "split": dataset.split, "root": dataset.root,
                          "classes": info.classes, "listed": "leaves" in vd.list_datasets()}))
        """,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "before": False,  # discovered on the first lookup, not at import
        "split": "val",
        "root": "/data",
        "classes": ["healthy", "rust"],
        "listed": True,
    }


def test_entry_point_function_is_called(tmp_path: Path) -> None:
    install_distribution(
        tmp_path, "bark_plugin", {"bark": "bark_plugin:register"}, {"bark_plugin": REGISTER_FUNCTION_MODULE}
    )
    result = run_with_site(
        tmp_path, "import visiondata as vd; print(vd.get_dataset('bark', root='/r', split='test'))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('bark', '/r', 'test')"


def test_broken_plugin_warns_and_the_rest_keeps_working(tmp_path: Path) -> None:
    install_distribution(
        tmp_path,
        "broken_plugin",
        {"broken": "broken_plugin", "leaves": "leaves_plugin"},
        {"broken_plugin": "raise RuntimeError('database offline')\n", "leaves_plugin": PLUGIN_MODULE},
    )
    result = run_with_site(
        tmp_path,
        """
        import warnings
        import visiondata as vd
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            names = vd.list_datasets()
        print("leaves" in names, "mnist" in names)
        for warning in caught:
            print(warning.category.__name__, warning.message)
        """,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "True True"
    assert any(
        line.startswith(
            "PluginWarning dataset plugin 'broken' (broken_plugin) failed to load: RuntimeError: database offline"
        )
        and "broken_plugin" in line
        for line in lines[1:]
    ), lines


def test_plugin_cannot_silently_replace_a_builtin(tmp_path: Path) -> None:
    hijack = """
        import visiondata as vd
        vd.register_dataset("mnist", lambda root, split="train": None, task="other")
    """
    install_distribution(tmp_path, "hijack_plugin", {"hijack": "hijack_plugin"}, {"hijack_plugin": hijack})
    result = run_with_site(
        tmp_path,
        """
        import warnings
        import visiondata as vd
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            print(vd.dataset_info("mnist").source)
        print(caught[0].message)
        """,
    )
    assert result.returncode == 0, result.stderr
    source, message = result.stdout.splitlines()
    assert source == "visiondata.datasets.MNISTDataset"
    assert "'mnist' is already registered" in message
