"""Benchmarks of chainrule against plain NumPy and the peers (autograd, PyTorch, JAX).

Never run as tests.  Entry point: ``python -m benchmarks`` (``make bench``).
"""
