"""Properties the metric mathematics must keep for any input (hypothesis): IS lies in [1, classes],
the unbiased MMD² estimate of KID is centred on zero for identical distributions, and precision and
recall are fractions."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gan_eval_plugins.inception_score import inception_score
from gan_eval_plugins.kid import mmd2_unbiased, polynomial_kernel
from gan_eval_plugins.precision_recall import precision_recall

logits = st.integers(2, 12).flatmap(
    lambda k: hnp.arrays(
        np.float64,
        st.tuples(st.integers(10, 40), st.just(k)),
        elements=st.floats(-60, 60, allow_nan=False, width=64),
    )
)


@settings(max_examples=80, deadline=None)
@given(logits, st.integers(1, 5), st.booleans())
def test_inception_score_lies_between_one_and_the_number_of_classes(values, splits, shuffle):
    mean, std = inception_score(torch.from_numpy(values), splits=splits, shuffle=shuffle)
    classes = values.shape[1]
    assert 1.0 - 1e-9 <= mean <= classes + 1e-9
    assert std >= 0.0


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(4, 24))
def test_unbiased_mmd_is_centred_on_zero_for_identical_distributions(seed, dim):
    """Averaged over many independent draws of two samples from one distribution, the unbiased
    estimate is zero within its standard error (a biased estimator would sit clearly above it)."""
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(200):
        x = torch.from_numpy(rng.standard_normal((20, dim)))
        y = torch.from_numpy(rng.standard_normal((20, dim)))
        estimates.append(mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)))
    estimates = np.asarray(estimates)
    standard_error = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean()) < 5 * standard_error


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(5, 40), st.integers(5, 40), st.floats(0, 3))
def test_precision_and_recall_are_fractions(seed, n_gen, n_ref, shift):
    rng = np.random.default_rng(seed)
    generated = torch.from_numpy(rng.standard_normal((n_gen, 6)) + shift)
    reference = torch.from_numpy(rng.standard_normal((n_ref, 6)))
    precision, recall = precision_recall(generated, reference, k=3)
    assert 0.0 <= precision <= 1.0 and 0.0 <= recall <= 1.0
