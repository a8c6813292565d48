"""The shared significance tests against scipy and hand-worked cases."""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

from geoxai.core.statistics import binomial_p_value, false_discovery_rate


def test_binomial_p_value_is_scipys_one_sided_test():
    for successes, trials, chance in [(60, 100, 0.5), (12, 20, 0.3), (0, 10, 0.5), (10, 10, 0.9)]:
        expected = binomtest(successes, trials, chance, alternative="greater").pvalue
        assert np.isclose(binomial_p_value(successes, trials, chance), expected)


def test_false_discovery_rate_keeps_every_p_below_the_largest_passing_rank():
    # m = 5, q = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05. Rank 3 (0.029) passes, so ranks
    # 1-3 are significant although rank 2 (0.021) alone misses its threshold of 0.02.
    p = np.array([0.029, 0.001, 0.021, 0.6, np.nan, 0.3])
    assert false_discovery_rate(p, 0.05).tolist() == [True, True, True, False, False, False]
    assert not false_discovery_rate(np.array([0.2, 0.5]), 0.05).any()
    assert false_discovery_rate(np.array([]), 0.05).shape == (0,)
