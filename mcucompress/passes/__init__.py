"""Graph rewrites run after import: fold constants, drop no-op copies and reshape chains, fold BatchNorm, fuse activations.

Each module holds one rewrite `rewrite(graph, op) -> bool`; the engine applies the ordered list
DEFAULT_PASSES to a fixed point. Importers call `run_default_passes(graph)`.
"""

from mcucompress.passes.engine import DEFAULT_PASSES, apply, run_default_passes

__all__ = ["DEFAULT_PASSES", "apply", "run_default_passes"]
