"""course_lib.datasets: Chapter 1's toy data sets."""

import numpy as np
import pytest

from course_lib import datasets


@pytest.mark.parametrize("make", [datasets.make_xor, datasets.make_circles])
def test_datasets_are_deterministic_and_balanced(make):
    X1, y1 = make(n=300, seed=4)
    X2, y2 = make(n=300, seed=4)
    np.testing.assert_array_equal(X1, X2)
    assert X1.shape == (300, 2) and set(np.unique(y1)) == {0.0, 1.0}
    assert 0.35 < y1.mean() < 0.65
