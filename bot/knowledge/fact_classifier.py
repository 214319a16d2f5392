"""Which fact answers a question, or none: a multinomial logistic regression over the question's embedding.

Retrieval compares a question with the ways people ask for a fact (its keys) and with what the fact says; it
ranks well but cannot tell a near miss ("the council's switchboard number") from a question the fact answers
("Petri's number"), because both sit close to the same key. The classifier learns that line from labelled
questions: the facts' keys, the training questions of knowledge/fact_questions.yml (written for it, apart from
every evaluation set) and the fit part of the labelled sets, with `none` as a class of its own. Its
probabilities are signals of the calibrated decision (bot/knowledge/calibration.py), never a decision alone.

Fitted by bench/decision_calibrate.py --fit together with the decision model, stored as plain numbers in
knowledge/fact_classifier.json; at run time only numpy is needed. The file records the hash of the knowledge
and of the embedding model it was fitted against: fitted on other facts or vectors it is not used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
NONE = "none"
# Regularisation of the fit: e5 vectors are unit length with small differences between questions, so the
# weights must be large to separate them (chosen by cross-validation on the fit part: 100–1000 were close).
C = 300.0


@dataclass
class FactClassifier:
    classes: list[str]
    coef: np.ndarray  # classes × dimensions
    intercept: np.ndarray  # classes
    # What it was fitted against: the knowledge's content hash and the embedding model's record.
    fitted_on: dict[str, str]

    def __post_init__(self) -> None:
        if not (self.coef.ndim == 2 and self.coef.shape[0] == self.intercept.shape[0] == len(self.classes)):
            raise ValueError("fact classifier: classes and weights differ in length")
        if NONE not in self.classes:
            raise ValueError("fact classifier: no `none` class")

    def probabilities(self, vector: np.ndarray) -> dict[str, float]:
        z = self.coef @ vector + self.intercept
        z = np.exp(z - z.max())
        p = z / z.sum()
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "classes": list(self.classes),
            "intercept": [round(float(v), 6) for v in self.intercept],
            "coef": [[round(float(v), 6) for v in row] for row in self.coef],
            "fitted_on": dict(self.fitted_on),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FactClassifier:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"fact classifier: unsupported format {data.get('format')!r}")
        return cls(
            classes=[str(c) for c in data["classes"]],
            coef=np.asarray(data["coef"], dtype=np.float32),
            intercept=np.asarray(data["intercept"], dtype=np.float32),
            fitted_on={str(k): str(v) for k, v in (data.get("fitted_on") or {}).items()},
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> FactClassifier:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def fit(vectors: np.ndarray, labels: Sequence[str], fitted_on: dict[str, str], c: float = C) -> FactClassifier:
    """Fitted with scikit-learn (imported here: the servers only read the result)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000).fit(vectors, list(labels))
    return FactClassifier(
        classes=[str(x) for x in model.classes_],
        coef=model.coef_.astype(np.float32),
        intercept=model.intercept_.astype(np.float32),
        fitted_on=fitted_on,
    )
