"""Sparse Jacobians and Hessians.

* :mod:`.level` -- the sparsity level: a tracer carrying index sets per element (beside the engines);
* :mod:`.colouring` -- column, row, star and star bicolouring: graph code, no derivatives;
* :mod:`.decompress` -- where each nonzero is read in the compressed sweeps;
* :mod:`.transforms` -- ``sparse_jacobian``, ``sparse_hessian``, ``jacobian_sparsity``,
  ``hessian_sparsity`` (a transform over the engines; the public API re-exports them);
* :mod:`.fanout` -- their colour groups swept over an executor (``executor=``).
"""
