"""Post-training pruning: unstructured, N:M and channel pruning with recovery, on float or int8 models.

Modules: masks (magnitude ranking), nm (N:M groups), channels (channel groups and their removal through
the graph), sensitivity (per-layer ratios for a global target), recovery (bias correction, layer-wise
reconstruction), floatview (int8 models), api (`prune`), report (per-layer table).
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    """``mcucompress.prune(graph, data, method=..., sparsity=...)`` is ``mcucompress.prune.api.prune``."""

    def __call__(self, *args, **kwargs):
        from mcucompress.prune.api import prune

        return prune(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
