"""The learning-rate schedules against values computed by hand."""

from __future__ import annotations

import math

import pytest

from lartpc_seg.train.schedule import learning_rate


def test_constant_rate_after_warmup():
    rates = [
        learning_rate(i, lr=0.1, schedule="constant", iterations=10, warmup=4) for i in range(6)
    ]
    assert rates == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])


def test_cosine_goes_from_peak_to_zero():
    def rate(i):
        return learning_rate(i, lr=2.0, schedule="cosine", iterations=9, warmup=1)

    assert rate(0) == pytest.approx(2.0)  # the warm-up's only step is at the peak
    assert rate(1) == pytest.approx(2.0)
    assert rate(5) == pytest.approx(1.0)  # half way through the 8 decaying steps
    assert rate(3) == pytest.approx(1.0 + math.cos(math.pi / 4))
    assert rate(9) == pytest.approx(0.0)
    assert rate(20) == pytest.approx(0.0), "past the end the rate stays at zero"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        learning_rate(0, lr=1.0, schedule="step", iterations=5)
    with pytest.raises(ValueError, match="warmup >= 0"):
        learning_rate(0, lr=1.0, schedule="cosine", iterations=5, warmup=-1)
