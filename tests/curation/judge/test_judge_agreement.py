import numpy as np
import pytest

from curation.judge.agreement import agreement


def test_perfect_agreement():
    scores = np.array([1, 2, 3, 4, 5, 3])

    result = agreement(scores, scores)

    assert result.spearman == pytest.approx(1) and result.kendall_tau == pytest.approx(1)
    assert result.quadratic_kappa == pytest.approx(1) and result.exact_match == 1
    assert np.trace(np.array(result.confusion)) == 6


def test_quadratic_kappa_matches_the_hand_computed_value():
    # weights (i-j)^2. Observed: pairs (1,1) (1,2) (2,2) (2,3) -> mean weight (0+1+0+1)/4 = 0.5.
    # Expected from the marginals, human {1: .5, 2: .5}, judge {1: .25, 2: .5, 3: .25}:
    # .5 * (.25*0 + .5*1 + .25*4) + .5 * (.25*1 + .5*0 + .25*1) = 0.75 + 0.25 = 1.0; kappa = 1 - 0.5/1.0
    result = agreement(np.array([1, 1, 2, 2]), np.array([1, 2, 2, 3]))

    assert result.quadratic_kappa == pytest.approx(0.5)
    assert result.confusion[0][:3] == [1, 1, 0] and result.confusion[1][:3] == [0, 1, 1]


def test_reversed_ratings_disagree():
    result = agreement(np.array([1, 2, 3, 4, 5]), np.array([5, 4, 3, 2, 1]))

    assert result.spearman == pytest.approx(-1) and result.quadratic_kappa == pytest.approx(-1)
