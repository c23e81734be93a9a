"""The two-sided Mann-Whitney U test of the regression gate (gate.py).

mann_whitney_p computes what scipy.stats.mannwhitneyu(x, y,
alternative='two-sided') does in scipy 1.10 and 1.11 (Debian 12, Ubuntu
24.04: the two versions differ only in a docstring), which is what Google
Benchmark's compare.py calls. Its method='auto' picks the exact null
distribution unless both samples have more than 8 values or there are ties,
and the normal approximation with tie correction and a continuity correction
of 0.5 otherwise. Matching it keeps the gate's p-values equal to compare.py's
on the same input.

Standard library only, so that CI needs nothing beyond python3.
"""

import math


def average_ranks(values):
    """1-based ranks; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j + 2) / 2.0
        i = j + 1
    return ranks


def u_counts(m, n):
    """How many of the C(m+n, m) orderings give each U = 0..m*n.

    These are the coefficients of the Gaussian binomial [m+n choose m]_q, the
    product over i = 1..m of (1 - q^(n+i)) / (1 - q^i): integer arithmetic,
    m steps of O(m*n), where a table over (m, n, k) would be cubic.
    """
    size = m * n + 1
    c = [0] * size
    c[0] = 1
    for i in range(1, m + 1):
        step = n + i
        for k in range(size - 1, step - 1, -1):
            c[k] -= c[k - step]
        for k in range(i, size):
            c[k] += c[k - i]
    return c


def exact_two_sided_p(u, m, n):
    # scipy's sf(U) is the cdf at m*n - U by symmetry, summed in order from
    # k = 0, each term a count divided by C(m+n, m) as a float.
    total = float(math.comb(m + n, m))
    counts = u_counts(m, n)
    acc = 0.0
    for k in range(int(m * n - u) + 1):
        acc += counts[k] / total
    return acc


def asymptotic_two_sided_p(u, n1, n2, ranks):
    n = n1 + n2
    groups = {}
    for r in ranks:
        groups[r] = groups.get(r, 0) + 1
    tie_term = sum(t**3 - t for t in groups.values())
    s = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    numerator = u - n1 * n2 / 2 - 0.5
    if s == 0.0:
        # Every value equal: scipy divides -0.5 by 0, gets -inf, and the
        # survival function of -inf is 1.
        return 1.0
    z = numerator / s
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_p(x, y):
    """Two-sided p-value of the Mann-Whitney U test of x against y."""
    n1, n2 = len(x), len(y)
    ranks = average_ranks(list(x) + list(y))
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    ties = len(set(x) | set(y)) != n1 + n2
    if (n1 > 8 and n2 > 8) or ties:
        p = asymptotic_two_sided_p(u, n1, n2, ranks)
    else:
        p = exact_two_sided_p(u, n1, n2)
    return min(max(2.0 * p, 0.0), 1.0)


def smallest_p(n1, n2):
    """The smallest two-sided p-value any data with these sizes can give."""
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def repetitions_needed(alpha):
    n = 2  # compare.py's UTEST_MIN_REPETITIONS
    while smallest_p(n, n) > alpha:
        n += 1
    return n
