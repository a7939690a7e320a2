import numpy as np
import polars as pl
import pytest

from builders.length_sampling import (
    EmptyBinError,
    LengthBins,
    largest_proportional_counts,
    sample_with_replacement,
    sample_without_replacement,
    word_counts,
)
from builders.reference import load_reference
from builders.report import two_sample_report
from curation.writers import read_shards


def lognormal_lengths(size: int, mean: float, seed: int) -> np.ndarray:
    return np.maximum(1, np.random.default_rng(seed).lognormal(mean, 0.6, size).round()).astype(np.int64)


def test_word_counts_are_whitespace_separated_words():
    counts = word_counts(pl.Series(["two words", "  one ", "", None, "line one\nline two\ttab"]))

    assert counts.tolist() == [2, 1, 0, 0, 5]


def test_bins_are_reference_quantiles_and_out_of_range_lengths_get_no_bin():
    bins = LengthBins.from_reference(np.arange(1, 101), bins=4)

    assert bins.reference_counts.tolist() == [25, 25, 25, 25]
    assert bins.assign(np.array([0, 1, 100, 101])).tolist() == [-1, 0, 3, -1]


def test_aligned_5_draws_exactly_the_reference_count_per_bin_with_replacement():
    reference, poems = lognormal_lengths(1_000, 4.0, 1), lognormal_lengths(3_000, 4.5, 2)
    bins = LengthBins.from_reference(reference)

    sample = sample_with_replacement(poems, bins, seed=7)

    assert len(sample.rows) == 1_000
    assert np.bincount(bins.assign(poems[sample.rows]), minlength=bins.size).tolist() == \
        bins.reference_counts.tolist()
    assert len(np.unique(sample.rows)) < len(sample.rows)


def test_aligned_s_is_the_largest_sample_keeping_the_reference_proportions():
    reference, poems = lognormal_lengths(1_000, 4.0, 1), lognormal_lengths(3_000, 4.5, 2)
    bins = LengthBins.from_reference(reference)

    sample = sample_without_replacement(poems, bins, seed=7)

    size = len(sample.rows)
    shares = bins.reference_counts / bins.reference_total
    assert len(np.unique(sample.rows)) == size
    assert np.all(np.abs(sample.counts / size - shares) < 1 / size)
    assert np.all(sample.counts <= sample.available)
    exact_quotas_of_one_more = (size + 1) * bins.reference_counts / bins.reference_total
    assert np.any(exact_quotas_of_one_more > sample.available), "one more row would still have fitted"


def test_largest_remainder_hands_leftovers_to_the_largest_fractions():
    counts = largest_proportional_counts(np.array([1, 1, 1]), np.array([3, 3, 4]))

    assert counts.tolist() == [3, 3, 3]
    assert largest_proportional_counts(np.array([5, 3, 2]), np.array([7, 100, 100])).tolist() == [7, 4, 3]


def test_samplers_are_reproducible_with_a_seed_and_vary_without_it():
    reference, poems = lognormal_lengths(500, 4.0, 3), lognormal_lengths(2_000, 4.2, 4)
    bins = LengthBins.from_reference(reference)

    for sampler in (sample_with_replacement, sample_without_replacement):
        first, again, other = sampler(poems, bins, 11), sampler(poems, bins, 11), sampler(poems, bins, 12)
        assert np.array_equal(first.rows, again.rows)
        assert not np.array_equal(first.rows, other.rows)


def test_a_needed_bin_without_poems_is_a_clear_error_naming_it():
    bins = LengthBins.from_reference(np.arange(1, 101), bins=4)
    poems = np.array([5, 10, 60, 70, 80, 90])

    with pytest.raises(EmptyBinError, match=r"bin 1 \[25\.75, 50\.5\) words \(reference has 25\)"):
        sample_without_replacement(poems, bins, seed=0)
    with pytest.raises(EmptyBinError, match="bin 1"):
        sample_with_replacement(poems, bins, seed=0)


def test_on_the_shared_corpus_aligned_5_matches_the_reference_and_aligned_s_keeps_its_shares(
        cleaned, reference_csv):
    poems = word_counts(read_shards(cleaned / "kept")["text"])
    reference = load_reference(reference_csv, "text").lengths
    bins = LengthBins.from_reference(reference, bins=20)

    aligned_5 = sample_with_replacement(poems, bins, seed=0)
    aligned_s = sample_without_replacement(poems, bins, seed=0)

    report = two_sample_report(reference, poems[aligned_5.rows])
    print(f"aligned_5: {len(aligned_5.rows)} rows, KS {report.ks_statistic:.4f} (p={report.ks_pvalue:.3g})")
    assert len(aligned_5.rows) == len(reference) and report.ks_statistic <= 0.05
    size = len(aligned_s.rows)
    drawn_shares = np.bincount(bins.assign(poems[aligned_s.rows]), minlength=bins.size) / size
    share_errors = np.abs(drawn_shares - bins.reference_counts / len(reference))
    print(f"aligned_s: {size} rows, largest share error {share_errors.max():.5f} (1/size = {1 / size:.5f})")
    assert size > 300 and np.all(share_errors < 1 / size)
    assert np.array_equal(aligned_5.rows, sample_with_replacement(poems, bins, seed=0).rows)
    assert np.array_equal(aligned_s.rows, sample_without_replacement(poems, bins, seed=0).rows)
