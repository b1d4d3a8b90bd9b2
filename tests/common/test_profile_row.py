"""profile_row: the one map from simulation time to SimBench profile rows."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.common.netdata import PROFILE_ROWS, profile_row


def test_rows_by_hand():
    """Hand calculation: 15-min rows from 2016-01-01 00:00, zero-order hold."""
    assert profile_row("2016-01-01T00:00:00") == 0
    assert profile_row("2016-01-01T00:15:00") == 1
    assert profile_row("2016-01-02T00:00:00", 899) == 96
    assert profile_row("2016-01-02T00:00:00", 900) == 97
    assert profile_row("2016-12-31T23:45:00") == PROFILE_ROWS - 1
    np.testing.assert_array_equal(profile_row("2016-06-06T00:00:00", np.arange(4) * 450),
                                  15_072 + np.array([0, 0, 1, 1]))  # 2016-06-06: 157 days in, 157*96


@pytest.mark.parametrize("start", ["2015-12-31T23:45:00", "2017-01-01T00:00:00", "2016-03-01T00:05:00"])
def test_bad_start_rejected(start):
    with pytest.raises(ValueError):
        profile_row(start)
