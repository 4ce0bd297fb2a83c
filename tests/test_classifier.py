"""course_lib.classifier: the chapter 1 demo networks learn what they should."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import classifier, datasets


@pytest.mark.parametrize("make", [datasets.make_xor, datasets.make_circles])
def test_mlp_separates_what_a_linear_model_cannot(make):
    X, y = make(n=200, seed=0)
    X_test, y_test = make(n=400, seed=1)
    linear = classifier.fit_classifier(X, y, hidden_sizes=(), steps=300)
    mlp = classifier.fit_classifier(X, y, hidden_sizes=(16,), steps=300)
    assert classifier.accuracy(linear, X_test, y_test) < 0.75
    assert classifier.accuracy(mlp, X_test, y_test) > 0.9


def test_predictions_are_probabilities_one_per_row():
    X, y = datasets.make_circles(n=40)
    model = classifier.fit_classifier(X, y, hidden_sizes=(4,), steps=10)
    p = classifier.predict_proba(model, X)
    assert p.shape == (40,) and np.all((p >= 0) & (p <= 1))
