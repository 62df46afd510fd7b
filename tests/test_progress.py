"""The progress counter: silent for short work and when stderr is not a terminal, shown when asked."""

import io

import numpy as np

import chainrule as cr
from chainrule.transforms import progress as P


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_silent_when_not_a_terminal_or_quick(monkeypatch):
    out = io.StringIO()
    with P.Progress("work", 10, stream=out) as bar:                 # not a terminal, not asked
        bar.start -= 10
        for i in range(10):
            bar.update(i + 1)
    assert out.getvalue() == ""
    tty = Tty()
    with P.Progress("work", 10, stream=tty) as bar:                 # a terminal, but quick
        for i in range(10):
            bar.update(i + 1)
    assert tty.getvalue() == ""


def test_shown_after_the_delay_when_asked(monkeypatch):
    monkeypatch.setattr(P, "_tqdm_bar", lambda *a: None)           # the plain counter, whether tqdm is there or not
    out = io.StringIO()
    with P.Progress("jacobian (forward)", 4, enabled=True, stream=out) as bar:
        bar.start -= P.DELAY + 1                                    # as if the work began long ago
        for i in range(4):
            bar.update(i + 1)
    text = out.getvalue()
    assert text.startswith("jacobian (forward): 1/4") and "jacobian (forward): 4/4" in text
    tty = Tty()
    with P.Progress("advise", 3, stream=tty) as bar:
        bar.start -= P.DELAY + 1
        bar.update(3)
    assert tty.getvalue().startswith("\radvise: 3/3") and tty.getvalue().endswith("\n")
    never = Tty()
    with P.Progress("advise", 3, enabled=False, stream=never) as bar:
        bar.start -= P.DELAY + 1
        bar.update(3)
    assert never.getvalue() == ""


def test_jacobian_reports_its_sweeps(monkeypatch, capsys):
    monkeypatch.setattr(P, "DELAY", 0.0)
    monkeypatch.setattr(P, "_tqdm_bar", lambda *a: None)
    cr.clear_caches()
    w = np.random.default_rng(0).standard_normal((3, 40))
    f = lambda x: np.tanh(w @ x)                                    # noqa: E731
    jac = cr.jacobian(f, progress=True)
    jac(np.ones(40))                                                # the first call: its probe is the Jacobian
    capsys.readouterr()
    got = jac(np.ones(40))                                          # decided: the reverse sweeps, counted
    assert np.allclose(got, cr.jacfwd(f)(np.ones(40)), rtol=1e-12, atol=1e-14)
    err = capsys.readouterr().err
    assert "jacobian (reverse): 3/3" in err or "jacobian (forward): 40/40" in err       # whichever mode won


def test_loop_counts_its_steps(monkeypatch, capsys):
    monkeypatch.setattr(P, "DELAY", 0.0)
    monkeypatch.setattr(P, "_tqdm_bar", lambda *a: None)
    out = cr.loop(lambda s: s + 0.1 * np.sin(s), np.array([0.5, 2.0]), 30, progress=True)
    want = np.array([0.5, 2.0])
    for _ in range(30):
        want = want + 0.1 * np.sin(want)
    assert np.allclose(out, want, rtol=1e-15)
    assert "loop: steps: 30/30" in capsys.readouterr().err
    cr.loop(lambda s: s + 0.1 * np.sin(s), np.array([0.5, 2.0]), 30)       # not a terminal: silent
    assert capsys.readouterr().err == ""


def test_short_work_does_not_ask_for_a_terminal(monkeypatch):
    monkeypatch.setattr(P, "_tqdm_bar", lambda *a: None)           # the plain counter, whether tqdm is there or not

    class Counting(Tty):
        asked = 0

        def isatty(self):
            Counting.asked += 1
            return True
    quick = Counting()
    with P.Progress("work", 3, stream=quick) as bar:                # a terminal, but quick: never asked
        bar.update(3)
    assert Counting.asked == 0 and quick.getvalue() == ""
    slow = Counting()
    with P.Progress("work", 3, stream=slow) as bar:                 # after the delay it asks, and shows
        bar.start -= P.DELAY + 1
        bar.update(3)
    assert Counting.asked >= 1 and "work: 3/3" in slow.getvalue()
