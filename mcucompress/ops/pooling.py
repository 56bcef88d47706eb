"""Registry entries of the pooling and reduction ops: AVERAGE_POOL_2D, MAX_POOL_2D, MEAN.

TFLM's pools do not rescale, so their input and output share one quantization; MEAN rescales (its
channel rule holds when it reduces spatial axes only, which the pruning code checks on the axes).
"""

from mcucompress.codegen.lower import Lowering
from mcucompress.ir import constraints as c
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_PASSTHROUGH, OpSpec
from mcucompress.reference import executor as ref
from mcucompress.reference import reduce

SPECS = (
    OpSpec("AVERAGE_POOL_2D", attrs.Pool2DAttrs, ref.pooling, CHANNELS_PASSTHROUGH, ("AVERAGE_POOL_2D",),
           check=c.check_pool, shares_quant=True, lowering=Lowering._lower_average_pool_2d,
           c_functions=("mcc_avgpool_s8",)),
    OpSpec("MAX_POOL_2D", attrs.Pool2DAttrs, ref.pooling, CHANNELS_PASSTHROUGH, ("MAX_POOL_2D",),
           check=c.check_pool, shares_quant=True, lowering=Lowering._lower_max_pool_2d,
           c_functions=("mcc_maxpool_s8",)),
    OpSpec("MEAN", attrs.MeanAttrs, reduce.mean, CHANNELS_PASSTHROUGH, ("MEAN",), lowering=Lowering._lower_mean,
           c_functions=("mcc_mean_s8",)),
)
