"""NLU cross-validation: `rasa test nlu --cross-validation --folds 3` on data/nlu with config.yml,
run with .venv-rasa into a temporary folder; prints the intent macro and weighted F1.

    .venv-actions/bin/python bench/nlu_crossval.py [--folds 3] [--keep DIR]

Rasa writes intent_report.json over the test predictions of all folds together; it also logs the
per-fold average of the weighted F1 ("test F1-score: mean (std)"), printed here when found."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RASA = Path(os.environ.get("RIS3_RASA_VENV", ROOT / ".venv-rasa")) / "bin" / "rasa"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--keep", help="keep the results in this folder (default: a temporary one, removed)")
    args = parser.parse_args()
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ris3-nlu-cv-"))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    command = [str(RASA), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
               "--cross-validation", "--folds", str(args.folds), "--out", str(out)]
    started = time.perf_counter()
    try:
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"rasa test nlu failed ({run.returncode}):\n{run.stderr[-3000:]}", file=sys.stderr)
            return 1
        report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
        log = run.stdout + run.stderr
        fold_f1 = re.search(r"test F1-score:\s*([\d.]+)\s*\(([\d.]+)\)", log, re.IGNORECASE)
        macro, weighted = report["macro avg"], report["weighted avg"]
        print(f"NLU intent cross-validation, {args.folds} folds ({time.perf_counter() - started:.0f} s):")
        print(f"  macro F1     {macro['f1-score']:.3f}  (precision {macro['precision']:.3f}, "
              f"recall {macro['recall']:.3f})")
        print(f"  weighted F1  {weighted['f1-score']:.3f}  (accuracy {report.get('accuracy', float('nan')):.3f})")
        if fold_f1:
            print(f"  weighted F1 per fold, average: {float(fold_f1.group(1)):.3f} (sd {float(fold_f1.group(2)):.3f})")
        worst = sorted(
            ((name, v["f1-score"], v["support"]) for name, v in report.items()
             if isinstance(v, dict) and "support" in v and name not in {"macro avg", "weighted avg", "micro avg"}),
            key=lambda item: item[1],
        )[:5]
        print("  weakest intents: " + ", ".join(f"{n} {f:.2f} (n={s})" for n, f, s in worst))
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
