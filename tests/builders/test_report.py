import numpy as np
from scipy import stats

from builders.report import length_histogram, two_sample_report


def test_ks_statistic_is_scipys_two_sample_statistic():
    rng = np.random.default_rng(0)
    reference, sample = rng.poisson(70, 1_000), rng.poisson(75, 600)

    report = two_sample_report(reference, sample)

    assert report.ks_statistic == stats.ks_2samp(reference, sample).statistic
    assert two_sample_report(reference, reference).ks_statistic == 0.0
    assert two_sample_report(np.arange(10), np.arange(100, 110)).ks_statistic == 1.0
    assert report.as_dict()["sample_n"] == 600


def test_histogram_is_written_as_a_png(tmp_path):
    rng = np.random.default_rng(1)

    path = length_histogram(rng.poisson(70, 500), rng.poisson(72, 400), tmp_path / "h" / "hist.png",
                            title="words", edges=np.array([40, 70, 100]))

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
