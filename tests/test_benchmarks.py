"""The benchmark workloads compute what they claim: chainrule's derivative of every workload
equals the NumPy hand-derived one (each workload checks this before it is timed)."""

import pytest

from benchmarks import _harness as H
from benchmarks.workloads import WORKLOADS


@pytest.mark.parametrize("name,build", [(w[0], w[3]) for w in WORKLOADS], ids=[w[0] for w in WORKLOADS])
def test_workload_agrees_with_hand_derived_reference(name, build):
    candidates, f = build({}, quick=True)                 # no peers: only chainrule's agreement checks
    assert candidates and all(callable(c) for c in candidates.values())
    f()


def test_agreement_check_rejects_a_wrong_value():
    with pytest.raises(AssertionError, match="disagrees"):
        H.agree("x", [1.0, 2.0], [1.0, 2.0 + 1e-6])


@pytest.mark.slow
@pytest.mark.parametrize("name,build", [(w[0], w[3]) for w in WORKLOADS], ids=[w[0] for w in WORKLOADS])
def test_workload_agrees_at_full_size(name, build):
    candidates, f = build({}, quick=False)                # the sizes the benchmark times
    assert candidates
