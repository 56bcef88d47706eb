"""Post-training static quantization: calibrate activation ranges on data, emit an int8 fixed-point IR.

The package itself is callable, so the Python API reads ``mcucompress.quantize(graph, data, method="kl")``
(the same as ``mcucompress.quantize.api.quantize``) while its modules stay importable.
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from mcucompress.quantize.api import quantize

        return quantize(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
