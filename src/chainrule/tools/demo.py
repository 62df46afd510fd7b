"""``chainrule demo``: the textbook example traced in both modes, then where each mode wins, measured.

:func:`measure_grid` times full forward and reverse Jacobians of
``f(x) = tanh(W2 @ tanh(W1 @ x))`` (hidden width 64) for every (n, m) of a
grid, with the peak memory of each under ``tracemalloc`` and the mode
``jacobian(mode="auto")`` chooses; it returns rows of data.
:func:`render_grid` prints them as a table, :func:`plot_grid` draws them
(matplotlib, the optional ``plot`` extra, imported only there).
"""

import statistics
import sys
import time

import numpy as np

from ..transforms import choose_mode, jacfwd, jacrev
from .advise import peak_bytes

__all__ = ["tanh_layers", "measure_grid", "render_grid", "plot_grid", "run_demo", "GRID", "QUICK_GRID"]

GRID = (1, 4, 16, 64, 256, 1024, 3000)
QUICK_GRID = (1, 16, 256)
HIDDEN = 64


def tanh_layers(n, m, hidden=HIDDEN, seed=0):
    """``x -> tanh(W2 @ tanh(W1 @ x))``, R^n -> R^m, with fixed random weights."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((hidden, n)) / np.sqrt(n)
    w2 = rng.standard_normal((m, hidden)) / np.sqrt(hidden)

    def f(x):
        return np.tanh(w2 @ np.tanh(w1 @ x))
    return f


def _median_time(fn, budget_s):
    fn()                                                   # warm-up
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    reps = int(max(3, min(15, budget_s / max(once, 1e-9))))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def measure_grid(ns=GRID, ms=GRID, hidden=HIDDEN, budget_s=0.05, progress=None):
    """Time forward and reverse Jacobians over the grid; one dict per (n, m).

    Each dict has ``n, m, forward_s, reverse_s, forward_peak, reverse_peak,
    auto`` (the mode auto chose), ``faster`` and ``ratio`` (slower / faster).
    ``progress(done, total, n, m)`` is called before each cell.

    >>> rows = measure_grid((1, 3), (2,), budget_s=0.001)
    >>> [(r["n"], r["m"], r["auto"] in ("forward", "reverse")) for r in rows]
    [(1, 2, True), (3, 2, True)]
    """
    rows = []
    cells = [(n, m) for n in ns for m in ms]
    rng = np.random.default_rng(1)
    for i, (n, m) in enumerate(cells):
        if progress:
            progress(i, len(cells), n, m)
        f = tanh_layers(n, m, hidden)
        x = rng.standard_normal(n)
        fwd, rev = jacfwd(f), jacrev(f)
        jf, jr = fwd(x), rev(x)
        if not np.allclose(jf, jr, rtol=1e-9, atol=1e-12):
            raise AssertionError(f"forward and reverse Jacobians disagree at n={n}, m={m}")
        t_f = _median_time(lambda: fwd(x), budget_s)
        t_r = _median_time(lambda: rev(x), budget_s)
        auto = choose_mode(f, x).mode
        faster = "forward" if t_f <= t_r else "reverse"
        rows.append({"n": n, "m": m, "forward_s": t_f, "reverse_s": t_r,
                     "forward_peak": peak_bytes(lambda: fwd(x)), "reverse_peak": peak_bytes(lambda: rev(x)),
                     "auto": auto, "faster": faster, "ratio": max(t_f, t_r) / min(t_f, t_r)})
    if progress:
        progress(len(cells), len(cells), None, None)
    return rows


def render_grid(rows):
    """A compact table: for each (n, m) the faster mode and by how much; ``*`` where auto chose the other."""
    ns = sorted({r["n"] for r in rows})
    ms = sorted({r["m"] for r in rows})
    cell = {(r["n"], r["m"]): r for r in rows}
    head = ["n \\ m"] + [str(m) for m in ms]
    body = []
    for n in ns:
        line = [str(n)]
        for m in ms:
            r = cell[(n, m)]
            mark = "" if r["auto"] == r["faster"] or r["ratio"] < 1.1 else "*"
            line.append(f"{r['faster'][0].upper()} {r['ratio']:.1f}x{mark}")
        body.append(line)
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
    fmt = lambda row: "  ".join(c.rjust(w) for c, w in zip(row, widths))  # noqa: E731
    lines = [fmt(head)] + [fmt(row) for row in body]
    lines.append("F/R: forward/reverse is faster, by the factor shown (slower time / faster time); "
                 "* where auto mode chose the other mode and the gap is more than 10%.")
    mismatches = [r for r in rows if r["auto"] != r["faster"] and r["ratio"] >= 1.1]
    lines.append(f"auto mode chose the faster mode (or one within 10%) in {len(rows) - len(mismatches)} "
                 f"of {len(rows)} shapes.")
    return "\n".join(lines)


def plot_grid(rows, path):
    """Draw where each mode wins (colour: log2 of reverse time / forward time) and auto's choice.

    Laid out as :func:`render_grid`'s table: one row per n (inputs, top to bottom), one column
    per m (outputs, left to right), so the picture and the table read the same way.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ns = sorted({r["n"] for r in rows})
    ms = sorted({r["m"] for r in rows})
    cell = {(r["n"], r["m"]): r for r in rows}
    z = np.array([[np.log2(cell[(n, m)]["reverse_s"] / cell[(n, m)]["forward_s"]) for m in ms] for n in ns])
    lim = max(1.0, float(np.max(np.abs(z))))
    fig, ax = plt.subplots(figsize=(7.2, 5.6), dpi=110)
    im = ax.imshow(z, origin="upper", cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto")
    for i, n in enumerate(ns):
        for j, m in enumerate(ms):
            r = cell[(n, m)]
            letter = "F" if r["auto"] == "forward" else "R"
            wrong = r["auto"] != r["faster"] and r["ratio"] >= 1.1
            ax.text(j, i, f"{r['ratio']:.1f}x\nauto {letter}" + ("!" if wrong else ""), ha="center", va="center",
                    fontsize=7, color="black", fontweight="bold" if wrong else "normal")
    ax.set_xticks(range(len(ms)), [str(m) for m in ms])
    ax.set_yticks(range(len(ns)), [str(n) for n in ns])
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_xlabel("m (outputs)")
    ax.set_ylabel("n (inputs)")
    ax.set_title("Which mode computes the full Jacobian faster?\n"
                 f"f(x) = tanh(W2 @ tanh(W1 @ x)), hidden width {HIDDEN}", fontsize=11)
    fig.text(0.01, 0.01, "red: forward faster, blue: reverse faster; in each cell: slower time / faster time "
             "and auto's choice (! = over 10% slower)", fontsize=7)
    bar = fig.colorbar(im, ax=ax)
    bar.set_label("log2(reverse time / forward time)")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def run_demo(out="chainrule-modes.png", quick=False, stream=None, grid=None):
    """The whole demo, printed to ``stream``; returns the exit code."""
    from .explain import explain
    stream = stream or sys.stdout

    def f(x, y):
        return x * y + np.sin(x)

    print("The textbook example: f(x, y) = x*y + sin(x) at (x, y) = (2, 3)\n", file=stream)
    print(explain(f, 2.0, 3.0), file=stream)
    grid = grid or (QUICK_GRID if quick else GRID)
    print(f"Where each mode wins: full Jacobians of tanh(W2 @ tanh(W1 @ x)), hidden width {HIDDEN}, "
          f"n and m in {list(grid)}", file=stream)
    tty = hasattr(stream, "isatty") and stream.isatty()
    t_start = time.perf_counter()

    def progress(done, total, n, m):
        text = (f"  measuring n={n}, m={m} ({done + 1}/{total}, {time.perf_counter() - t_start:.0f} s)"
                if n is not None else f"  measured {total} shapes in {time.perf_counter() - t_start:.0f} s")
        if tty:
            print("\r" + text.ljust(60), end="" if n is not None else "\n", file=stream, flush=True)
        elif n is None or done % len(grid) == 0:
            print(text, file=stream, flush=True)

    rows = measure_grid(grid, grid, progress=progress)
    print("\n" + render_grid(rows) + "\n", file=stream)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed, so there is no picture; pip install 'chainrule[plot]' "
              "(or make demo) to get one.", file=stream)
        return 0
    plot_grid(rows, out)
    print(f"wrote {out}", file=stream)
    return 0
