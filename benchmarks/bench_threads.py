"""Threads and a busy machine: the MNIST job and two examples on 1 and 2 torch threads, idle and shared.

Each run is a fresh process, as a user starts it:

- ``visiondata train mnist-cnn`` (the full 15-epoch recipe; ``$VISIONDATA_HOME`` or
  ``../shared/data`` beside the checkout holds MNIST);
- ``examples/detection_finetune.py`` (80 steps on its 4-image demo folder);
- ``examples/finetune_imagefolder.py`` (resnet18 from scratch on its demo folder, 32 px).

Each runs with ``--threads 1`` and ``--threads 2``, first on the idle machine, then while other
CPU-bound processes spin (one by default: on a 2-core machine, a second user's job). It prints the
seconds and the result of every run, then for each thread count how much the competing process
slows the job, and whether the result stayed the same.

Usage: ``python benchmarks/bench_threads.py [--competitors N] [--only mnist,detection,finetune]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _machine import footer, header

REPO = Path(__file__).resolve().parents[1]


def _spin() -> None:
    while True:
        pass


def _mnist(threads: int, folder: Path) -> tuple[list[str], Callable[[str], str]]:
    out = folder / f"mnist-{threads}"
    command = [sys.executable, "-m", "visiondata", "train", "mnist-cnn", "--no-progress"]
    command += ["--threads", str(threads), "--out", str(out)]

    def result(_: str) -> str:
        return f"test accuracy {json.loads((out / 'metrics.json').read_text())['test_accuracy']:.4f}"

    return command, result


def _detection(threads: int, folder: Path) -> tuple[list[str], Callable[[str], str]]:
    out = folder / f"detection-{threads}"
    command = [sys.executable, str(REPO / "examples" / "detection_finetune.py"), "--steps", "80"]
    command += ["--data", str(folder / "coco"), "--threads", str(threads), "--out", str(out)]

    def result(_: str) -> str:
        metrics = json.loads((out / "metrics.json").read_text())
        return f"mAP {metrics['map_after']:.3f}, mAP@0.5 {metrics['map50_after']:.3f}"

    return command, result


def _finetune(threads: int, folder: Path) -> tuple[list[str], Callable[[str], str]]:
    command = [sys.executable, str(REPO / "examples" / "finetune_imagefolder.py"), "--weights", "none"]
    command += ["--data", str(folder / "folder"), "--image-size", "32", "--threads", str(threads)]

    def result(output: str) -> str:
        return "accuracy " + re.search(r"from scratch: accuracy (\S+)", output).group(1)

    return command, result


WORKLOADS = {"mnist": _mnist, "detection": _detection, "finetune": _finetune}


def _prepare(folder: Path) -> None:
    for script, target in (("detection_finetune.py", "coco"), ("finetune_imagefolder.py", "folder")):
        subprocess.run(
            [sys.executable, str(REPO / "examples" / script), "--make-demo-data", str(folder / target)],
            check=True,
            capture_output=True,
        )


def _run(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
    return seconds, finished.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--competitors", type=int, default=1, help="CPU-bound processes while busy")
    parser.add_argument(
        "--only", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS)
    )
    options = parser.parse_args()
    os.environ.setdefault("VISIONDATA_HOME", str(REPO.parent / "shared" / "data"))
    names = [name for name in options.only.split(",") if name]
    print(
        header(
            1,
            f"workloads: {', '.join(names)}; busy = {options.competitors} spinning process(es)",
            method="each run a fresh process; the torch threads above are this script's, each run sets its own",
        )
    )
    results: dict[tuple[str, int, str], tuple[float, str]] = {}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        _prepare(folder)
        for condition in ("idle", "busy"):
            spinners = []
            if condition == "busy":
                spinners = [
                    multiprocessing.Process(target=_spin, daemon=True) for _ in range(options.competitors)
                ]
                for spinner in spinners:
                    spinner.start()
            try:
                for name in names:
                    for threads in (1, 2):
                        command, result = WORKLOADS[name](threads, folder)
                        seconds, output = _run(command)
                        results[name, threads, condition] = seconds, result(output)
                        print(
                            f"{name:<10} {threads} thread(s) {condition:<5} {seconds:7.1f} s   {result(output)}"
                        )
            finally:
                for spinner in spinners:
                    spinner.kill()
    print("\nslowdown from the competing process(es), and whether the result stayed the same:")
    for name in names:
        for threads in (1, 2):
            idle, busy = results[name, threads, "idle"], results[name, threads, "busy"]
            same = "same result" if idle[1] == busy[1] else f"result {idle[1]} -> {busy[1]}"
            print(f"{name:<10} {threads} thread(s): {busy[0] / idle[0]:.2f}x the idle time; {same}")
        one, two = results[name, 1, "idle"][0], results[name, 2, "idle"][0]
        print(f"{name:<10} idle, 2 threads take {two / one:.2f}x the time of 1")
    print(footer())


if __name__ == "__main__":
    main()
