"""The benchmark workloads compute what they claim: chainrule's derivative of every workload
equals the NumPy hand-derived one (each workload checks this before it is timed)."""

import numpy as np
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


def test_complex_benchmark_checks_its_derivatives_and_prints_its_table():
    import io

    from benchmarks import complex as C
    cands, f, n = C.w_spectral({}, quick=True)             # chainrule's gradient agrees with the hand-derived one
    assert "chainrule" in cands and n == 2 ** 12
    cands, f, n = C.w_eig({}, quick=True)
    assert ("chainrule" in cands) == (C.chainrule_eig_jacobian(C.eig_data(3)) is not None)
    out = io.StringIO()
    rows = C.main(["--quick"], peers={}, out=out)
    assert len(rows) == 2 and "Median milliseconds" in out.getvalue()
    assert rows[1][3] == C.NOT_YET or float(rows[1][3]) > 0


def test_complex_benchmark_hand_derived_references_are_right():
    # the references the peers are checked against, against central differences
    from benchmarks import complex as C
    x, w = C.spectral_data(16)
    _, g = C.spectral_by_hand(x, w)
    h = 1e-6
    fd = [(C.spectral_by_hand(x + h * e, w)[0] - C.spectral_by_hand(x - h * e, w)[0]) / (2 * h) for e in np.eye(16)]
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)
    a = C.eig_data(4)
    G = C.eig_by_hand(a)
    f = lambda a: C.eig_moduli(np, np.linalg.eigvals, a)      # noqa: E731
    for j, k in ((0, 1), (2, 3)):
        for d in (1.0, 1j):                                    # Re(G d) is the derivative in direction d
            e = np.zeros((4, 4), dtype=complex)
            e[j, k] = d
            np.testing.assert_allclose(np.real(G[:, j, k] * d), (f(a + h * e) - f(a - h * e)) / (2 * h), atol=1e-6)
