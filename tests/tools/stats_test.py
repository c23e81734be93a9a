#!/usr/bin/env python3
"""bench/tools/stats.py: the gate's Mann-Whitney U test on small samples."""

import math
import unittest

import toolstest  # noqa: F401  (puts bench/tools on sys.path)

import stats


class MannWhitney(unittest.TestCase):
    """Values that do not need scipy; compare_py_test.py checks scipy itself."""

    def test_exact_fully_separated(self):
        self.assertEqual(stats.mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]), 2 / 252)
        self.assertEqual(stats.mann_whitney_p([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]), 2 / 252)

    def test_exact_up_to_eight_a_side(self):
        # While a side has 8 values or fewer scipy stays exact: for 8 vs 8
        # the normal approximation would give 0.00094.
        self.assertEqual(stats.mann_whitney_p(range(8), range(8, 16)), 2 / 12870)
        self.assertEqual(stats.mann_whitney_p(range(8), range(8, 17)), 2 / 24310)

    def test_asymptotic_from_nine_a_side(self):
        # scipy.stats.mannwhitneyu(x, y, alternative='two-sided').pvalue
        # (scipy 1.10); the exact distribution would give 0.0770.
        x = [1, 2, 3, 5, 8, 9, 11, 12, 14]
        y = [4, 6, 7, 10, 13, 15, 16, 17, 18]
        self.assertAlmostEqual(stats.mann_whitney_p(x, y), 0.07738861114200664, places=15)

    def test_exact_identical_distributions_give_one(self):
        self.assertEqual(stats.mann_whitney_p([1, 4, 5, 8], [2, 3, 6, 7]), 1.0)

    def test_counts_are_the_gaussian_binomial(self):
        for m, n in ((1, 1), (3, 4), (5, 5), (8, 30)):
            c = stats.u_counts(m, n)
            self.assertEqual(sum(c), math.comb(m + n, m))
            self.assertEqual(c, c[::-1])
        self.assertEqual(stats.u_counts(2, 2), [1, 1, 2, 1, 1])

    def test_asymptotic_with_ties(self):
        # Normal approximation, tie-corrected, continuity 0.5, by hand:
        # U = 9, mu = 4.5, two pairs of ties (12), sigma^2 = 9/12 * (7 - 12/30).
        z = (9 - 4.5 - 0.5) / math.sqrt(4.95)
        expected = math.erfc(z / math.sqrt(2))
        self.assertAlmostEqual(stats.mann_whitney_p([3, 4, 4], [1, 2, 2]), expected, places=15)

    def test_all_equal_gives_one(self):
        self.assertEqual(stats.mann_whitney_p([5] * 9, [5] * 9), 1.0)

    def test_repetitions_needed(self):
        self.assertEqual(stats.repetitions_needed(0.05), 4)
        self.assertEqual(stats.repetitions_needed(0.01), 5)
        self.assertEqual(stats.repetitions_needed(0.5), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
