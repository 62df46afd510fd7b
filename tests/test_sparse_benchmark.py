"""The sparse benchmark's problems compute what they claim: chainrule's sparse derivatives equal the
hand-written ones the benchmark measures errors against (small sizes)."""

import numpy as np
import pytest

pytest.importorskip("scipy")

import chainrule as cr  # noqa: E402
from benchmarks import sparse as B  # noqa: E402


@pytest.mark.parametrize("make", [lambda: B.brusselator(6), lambda: B.reaction_diffusion(40),
                                  lambda: B.arrowhead(30)], ids=["brusselator", "reaction_diffusion", "arrowhead"])
def test_hand_written_jacobians_agree(make):
    f, jac, x = make()
    exact = jac(x).toarray()
    np.testing.assert_allclose(cr.sparse_jacobian(f)(x).toarray(), exact, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(cr.jacfwd(f)(x), exact, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("make", [lambda: B.rosenbrock(30), lambda: B.minimal_surface(6), lambda: B.arwhead(30)],
                         ids=["rosenbrock", "minimal_surface", "arwhead"])
def test_hand_written_hessians_and_gradients_agree(make):
    f, grad, hess, x = make()
    np.testing.assert_allclose(cr.grad(f)(x), grad(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cr.sparse_hessian(f)(x).toarray(), hess(x).toarray(), rtol=1e-11, atol=1e-11)
