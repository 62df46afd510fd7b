"""The cost model behind the choice of mode and of directions per sweep.

For now it sizes the chunks of ``jacfwd`` and ``jacrev``: how many tangent or
adjoint directions one vectorised sweep carries.  Every live intermediate
holds that many copies, so the chunk is capped to keep a sweep's extra memory
within a budget.
"""

__all__ = ["directions_per_sweep", "DEFAULT_MAX_DIRECTIONS"]

DEFAULT_MAX_DIRECTIONS = 2048


def directions_per_sweep(total, chunk_size=None):
    """How many directions each sweep carries for ``total`` directions in all."""
    if chunk_size is not None:
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        return min(total, int(chunk_size))
    return max(1, min(total, DEFAULT_MAX_DIRECTIONS))
