"""Nothing silently wrong: every misuse raises an error that names the problem and the remedy."""

import numpy as np
import pytest

import chainrule as cr


def test_function_without_rule_is_named():
    window = np.lib.stride_tricks.sliding_window_view          # (np.poly, the earlier example, has a rule now)
    with pytest.raises(cr.NotDifferentiableError, match=r"numpy\.sliding_window_view\b.*custom_jvp"):
        cr.grad(lambda x: np.sum(window(x, 2)))(np.array([1.0, 2.0]))
    with pytest.raises(cr.NotDifferentiableError, match=r"numpy\.bitwise_and"):
        cr.jvp(lambda x: np.bitwise_and(x, x), (np.ones(2),), (np.ones(2),))
    assert issubclass(cr.NotDifferentiableError, TypeError)


def test_ufunc_methods_without_rule():
    with pytest.raises(cr.NotDifferentiableError, match=r"numpy\.maximum\.reduceat"):
        cr.grad(lambda x: np.sum(np.maximum.reduceat(x, [0, 2])))(np.ones(3))


@pytest.mark.parametrize("convert", [float, int, complex, lambda x: np.asarray(x, dtype=float)])
def test_conversion_of_a_traced_value(convert):
    with pytest.raises(cr.TracerConversionError, match="drop its derivative"):
        cr.grad(lambda x: convert(x) * 1.0)(np.float64(2.0))


def test_in_place_writes_into_plain_arrays():
    with pytest.raises(cr.InPlaceError, match="np.zeros_like"):
        cr.grad(lambda x: np.sin(x, out=np.zeros(3)).sum())(np.ones(3))

    def write_into_array(x):
        buf = np.zeros(3)
        buf += x
        return buf.sum()
    with pytest.raises(cr.InPlaceError, match="plain NumPy array"):
        cr.grad(write_into_array)(np.ones(3))

    def store_slice(x):
        buf = np.zeros(3)
        buf[:2] = x[:2]
        return buf.sum()
    with pytest.raises(cr.TracerConversionError, match=r"np\.zeros_like\(x\)"):
        cr.grad(store_slice)(np.ones(3))

    def store_element(x):
        buf = np.zeros(3)
        buf[0] = x[0]
        return buf.sum()
    # NumPy calls float() and, the tracer being a sequence, raises its own ValueError *from* ours:
    # the traceback shows our message (the pattern and the fix) as the direct cause.
    with pytest.raises((cr.TracerConversionError, ValueError)) as info:
        cr.grad(store_element)(np.ones(3))
    err = info.value if isinstance(info.value, cr.TracerConversionError) else info.value.__cause__
    assert isinstance(err, cr.TracerConversionError) and "np.zeros_like(x)" in str(err)


@pytest.mark.parametrize("bad", [2, True, np.arange(3), np.array([True, False])])
def test_integer_and_boolean_inputs(bad):
    with pytest.raises(cr.InputDtypeError, match="floating-point"):
        cr.grad(lambda x: np.sum(x * 1.0))(bad)


def test_complex_input_to_grad_of_a_complex_output_asks_for_holomorphic():
    with pytest.raises(cr.OutputDtypeError, match="holomorphic=True"):
        cr.grad(lambda x: np.sum(x * 1.0))(np.ones(2) + 1j)


def test_grad_of_non_scalar_output():
    with pytest.raises(cr.NonScalarOutputError, match=r"shape \(3,\).*jacobian"):
        cr.grad(np.sin)(np.ones(3))
    with pytest.raises(cr.NonScalarOutputError, match="2 outputs"):
        cr.grad(lambda x: (x, x))(1.0)


def test_tangent_and_adjoint_shape_mismatch():
    with pytest.raises(cr.ShapeMismatchError, match=r"shape \(2,\).*\(3,\)"):
        cr.jvp(np.sin, (np.ones(3),), (np.ones(2),))
    _, pullback = cr.vjp(np.sin, np.ones(3))
    with pytest.raises(cr.ShapeMismatchError, match="cotangent"):
        pullback(np.ones(4))
    with pytest.raises(cr.ShapeMismatchError, match="structure"):
        cr.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))


def test_argnums_out_of_range():
    with pytest.raises(cr.ArgnumsError, match=r"argnums=2.*2 positional"):
        cr.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
    with pytest.raises(cr.ArgnumsError):
        cr.jacfwd(lambda x: x, argnums=(0, 1))(np.ones(2))


def test_errors_share_a_base_and_builtins():
    for err, builtin in [(cr.InPlaceError, TypeError), (cr.ShapeMismatchError, ValueError),
                         (cr.LeakedTracerError, RuntimeError), (cr.ArgnumsError, ValueError)]:
        assert issubclass(err, cr.ChainruleError) and issubclass(err, builtin)


def test_has_aux_must_return_a_pair():
    with pytest.raises(TypeError, match="has_aux"):
        cr.grad(lambda x: x * 2.0, has_aux=True)(1.0)


def test_control_flow_on_traced_values_follows_the_primal():
    def relu_ish(x):
        if x > 0:
            return x * x
        return -x
    assert cr.grad(relu_ish)(3.0) == 6.0
    assert cr.grad(relu_ish)(-3.0) == -1.0


def test_complex_outputs_of_real_inputs_are_complex_not_cast():
    # J u of a real u is complex and jacfwd/jvp/vjp return it; jacrev cannot seed a complex output
    with pytest.raises(cr.OutputDtypeError, match="holomorphic=True"):
        cr.jacrev(lambda v: v * 1j)(np.ones(2))
    np.testing.assert_array_equal(cr.jacfwd(lambda v: v * (2 + 1j))(np.ones(2)), np.eye(2) * (2 + 1j))
    np.testing.assert_array_equal(cr.jvp(lambda v: v * (2 + 1j), (np.ones(2),), (np.ones(2),))[1], [2 + 1j, 2 + 1j])
    # the adjoint of a real input is real: Re(g * (2 + i)) under the bilinear pairing
    (g,) = cr.vjp(lambda v: v * (2 + 1j), np.ones(2))[1](np.array([1j, 1.0]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, [-1.0, 2.0])
