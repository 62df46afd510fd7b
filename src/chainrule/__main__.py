"""``python -m chainrule`` and the ``chainrule`` console script."""

import sys

import numpy as np


def demo():
    import chainrule as cr

    def f(x, y):
        return x * y + np.sin(x)

    print("f(x, y) = x*y + sin(x) at (x, y) = (2, 3)")
    out, t = cr.jvp(f, (2.0, 3.0), (1.0, 0.0))
    print(f"  forward mode, seed (1, 0):  f = {out:.16g}   df/dx = {t:.16g}")
    out, t = cr.jvp(f, (2.0, 3.0), (0.0, 1.0))
    print(f"  forward mode, seed (0, 1):  f = {out:.16g}   df/dy = {t:.16g}")
    out, pullback = cr.vjp(f, 2.0, 3.0)
    gx, gy = pullback(1.0)
    print(f"  reverse mode, adjoint 1:    f = {out:.16g}   df/dx = {gx:.16g}   df/dy = {gy:.16g}")
    print(f"  exact:                      df/dx = 3 + cos 2 = {3 + np.cos(2.0):.16g}   df/dy = 2")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:
        return demo()
    print("usage: chainrule demo", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
