"""``visiondata train yolo-shapes`` at its defaults: test mAP@0.5 and seconds per seed.

Runs the job once per seed in this process, with the default recipe (``YOLOShapesConfig``), and
prints map50, map (0.5:0.95) and the seconds of the whole run (data, training, evaluation) per
seed, then their min and median. Goal: mAP@0.5 >= 0.9 within 300 s on 2 CPU cores for every seed.
``--repeat`` runs the first seed a second time and says whether the metrics are identical.

Usage: ``python benchmarks/bench_yolo_shapes.py [--seeds 0 1 2 3] [--threads 2] [--repeat] [--quick] [--out DIR]``
(``--quick``: a smoke run of a few seconds, tiny images and model, no goal).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch
from _machine import footer, header, verdict

from visiondata.training._yolo_job import YOLOShapesConfig, train_yolo_shapes

GOAL_MAP50 = ">= 0.9"
GOAL_SECONDS = "<= 300"
QUICK = {"epochs": 2, "train_count": 32, "test_count": 16, "image_size": 64, "width": 4, "batch_size": 8}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--repeat", action="store_true", help="run the first seed twice and compare")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny images and model")
    parser.add_argument(
        "--out", default=None, help="keep each run's metrics.json, predictions.png and model.pt in OUT/seed-S"
    )
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    settings = {**(QUICK if options.quick else {}), "threads": options.threads, "progress": False}
    config = YOLOShapesConfig(**settings)
    # header()'s line on rounds and contenders is for the A-versus-B benchmarks: one run a seed here.
    lines = header(1).splitlines()
    print("\n".join(line for line in lines if "contenders" not in line))
    print(
        f"recipe: {config.epochs} epochs, {config.train_count} training images of {config.image_size} px, "
        f"batch {config.batch_size}, AdamW lr {config.lr}, width {config.width}"
    )
    runs = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(options.out or scratch)
        seeds = [*options.seeds, *options.seeds[:1]] if options.repeat else options.seeds
        for position, seed in enumerate(seeds):
            out = folder / (f"seed-{seed}" if position < len(options.seeds) else f"seed-{seed}-repeat")
            metrics = train_yolo_shapes(config, seed=seed, out=str(out))
            line = f"seed {seed}: map50 {metrics['map50']:.4f}, map {metrics['map']:.4f}, {metrics['seconds']:.1f}s"
            print(line, flush=True)
            if position < len(options.seeds):
                runs[seed] = metrics
            else:
                first = runs[seed]
                same = all(metrics[key] == first[key] for key in ("map50", "map", "per_class", "last_loss"))
                print(f"repeat of seed {seed}: {'identical metrics' if same else 'DIFFERENT metrics'}")
    map50 = [metrics["map50"] for metrics in runs.values()]
    seconds = [metrics["seconds"] for metrics in runs.values()]
    print(f"\nmap50: min {min(map50):.4f}, median {statistics.median(map50):.4f}")
    print(f"map:   min {min(m['map'] for m in runs.values()):.4f}, "
          f"median {statistics.median(m['map'] for m in runs.values()):.4f}")  # fmt: skip
    print(f"seconds: median {statistics.median(seconds):.1f}, max {max(seconds):.1f}")
    if not options.quick:
        print(
            f"goal: every seed's map50 {GOAL_MAP50}: {verdict(min(map50), GOAL_MAP50)}; "
            f"seconds {GOAL_SECONDS}: {verdict(max(seconds), GOAL_SECONDS)}"
        )
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()
