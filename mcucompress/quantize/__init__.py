"""Post-training static quantization: calibrate activation ranges on data, emit an int8 fixed-point IR.

The package itself is callable, so the Python API reads ``mcucompress.quantize(graph, data, method="kl")``
(the same as ``mcucompress.quantize.api.quantize``) while its modules stay importable.
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, graph, data, method: str = "minmax", per_channel: bool = True, progress: bool = False,
                 bias_correction: bool = False):
        from mcucompress.quantize.api import quantize

        return quantize(graph, data, method=method, per_channel=per_channel, progress=progress,
                        bias_correction=bias_correction)


sys.modules[__name__].__class__ = _CallablePackage
