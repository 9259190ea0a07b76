"""The report's evaluation: Holm's correction, family bests chosen on validation, one group per setting,
the test majority as constant predictor, the MedMNIST v2 benchmarks, intervals and reliability diagrams."""
import itertools
import math
import random

import pytest

from keras_lnn import stats


# ---------------------------------------------------------------- Holm
def _holm_by_the_procedure(p_values):
    """Adjusted p as the smallest alpha at which Holm's sequential procedure rejects each test (brute force)."""
    m = len(p_values)

    def rejected(alpha):
        out = set()
        for k, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
            if p_values[i] > alpha / (m - k):
                break
            out.add(i)
        return out

    candidates = sorted({min(1.0, (m - k) * p) for k in range(m) for p in p_values})
    # Never rejected at alpha = 1: the adjusted p is capped there.
    return [next((alpha for alpha in candidates if i in rejected(alpha + 1e-12)), 1.0) for i in range(m)]


def test_holm_on_a_worked_example():
    # Sorted 0.01, 0.03, 0.04 of m = 3: 3 * 0.01 = 0.03; 2 * 0.03 = 0.06; 1 * 0.04 = 0.04, raised to 0.06.
    assert stats.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # Capped at 1, order kept, a test not made passes through and does not count in m.
    adjusted = stats.holm_adjust([0.6, None, 0.2, math.nan, 0.7])
    assert adjusted[1] is None and math.isnan(adjusted[3])
    assert adjusted[0] == pytest.approx(1.0) and adjusted[2] == pytest.approx(0.6) and adjusted[4] == pytest.approx(1.0)
    assert stats.holm_adjust([]) == [] and stats.holm_adjust([0.04]) == [0.04]


def test_holm_matches_the_sequential_procedure():
    rng = random.Random(0)
    for m in (2, 3, 6, 9):
        for _ in range(20):
            p = [rng.choice([rng.random(), rng.random() / 50, 0.02]) for _ in range(m)]
            assert stats.holm_adjust(p) == pytest.approx(_holm_by_the_procedure(p), abs=1e-9)
            adjusted = stats.holm_adjust(p)
            assert all(a >= raw for a, raw in zip(adjusted, p)) and max(adjusted) <= 1.0
            for i, j in itertools.permutations(range(m), 2):  # monotone in the raw p-values
                if p[i] <= p[j]:
                    assert adjusted[i] <= adjusted[j]
