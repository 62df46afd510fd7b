"""A one-line progress counter on stderr for long work (Jacobians in many sweeps, loops, measurements).

Nothing is printed for work that ends within ``DELAY`` seconds, nor when
stderr is not a terminal, unless asked (``enabled=True``); ``enabled=False``
silences it.  The line is rewritten in place on a terminal (``\\r``) and
printed at most a few times a second; elsewhere (asked with ``enabled=True``)
one line per update, at most once a second.  When ``tqdm`` is installed and
stderr is a terminal, its bar is used instead.

    with Progress("jacobian (forward)", total=250) as bar:
        for i in range(250):
            ...
            bar.update(i + 1)
"""

import sys
import time

__all__ = ["Progress", "DELAY", "report_done"]

DELAY = 2.0          # seconds of work before anything is shown


class Progress:
    """A counter ``label: done/total`` on stderr, shown only for work that runs longer than ``DELAY`` seconds."""

    __slots__ = ("label", "total", "enabled", "stream", "start", "last", "shown", "bar", "done")

    def __init__(self, label, total, enabled=None, stream=None):
        self.label, self.total = label, total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = None if enabled is None else bool(enabled)     # None: a terminal? asked after DELAY
        self.start = self.last = time.monotonic()
        self.shown = False
        self.bar = None
        self.done = 0

    def __enter__(self):
        return self

    def update(self, done):
        """``done`` of ``total`` units are finished."""
        self.done = done
        if self.enabled is False:
            return
        now = time.monotonic()
        if now - self.start < DELAY:
            return
        if self.enabled is None:                  # asked only now: short work (most of it) makes no system call
            self.enabled = _tty(self.stream)
            if not self.enabled:
                return
        if self.bar is None and not self.shown and _tty(self.stream):
            self.bar = _tqdm_bar(self.label, self.total, self.stream)
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.shown = True
            return
        tty = _tty(self.stream)
        if self.shown and now - self.last < (0.2 if tty else 1.0) and done != self.total:
            return
        self.last = now
        self.shown = True
        text = f"{self.label}: {done}/{self.total} ({now - self.start:.0f} s)"
        self.stream.write(("\r" + text) if tty else text + "\n")
        self.stream.flush()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        elif self.shown and _tty(self.stream):
            self.stream.write("\n")
            self.stream.flush()
        return False


def report_done(label, total, enabled, start):
    """What ``with Progress(label, total, enabled) as bar: ...; bar.update(total)`` shows, for one step begun at ``start``.

    ``start`` is the ``time.monotonic()`` of the step's beginning.  Work with a
    single update at its end (one sweep) pays no :class:`Progress` unless it
    ran longer than ``DELAY``.

    >>> report_done("jacobian (forward)", 10, None, time.monotonic())     # short work: nothing shown
    """
    if enabled is False or time.monotonic() - start < DELAY:
        return
    bar = Progress(label, total, enabled)
    bar.start = bar.last = start
    with bar:
        bar.update(total)


def _tty(stream):
    return bool(getattr(stream, "isatty", lambda: False)())


def _tqdm_bar(label, total, stream):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, file=stream, leave=False)
