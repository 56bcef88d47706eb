"""Registry entries of the pooling and reduction ops: AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SUM, REDUCE_MAX,
REDUCE_MIN, and the float32-only L2_POOL_2D.

TFLM's pools and REDUCE_MAX/MIN do not rescale, so their input and output share one quantization; MEAN and
SUM rescale. The reductions' channel rule holds when they reduce spatial axes only, which the pruning code
checks on the axes.
"""

from mcucompress.codegen import lower_int16
from mcucompress.codegen.lower import Lowering
from mcucompress.ir import constraints as c
from mcucompress.ir import constraints_misc as cmisc
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_PASSTHROUGH, OpSpec
from mcucompress.reference import executor as ref
from mcucompress.reference import misc_ops, reduce

SPECS = (
    OpSpec("AVERAGE_POOL_2D", attrs.Pool2DAttrs, ref.pooling, CHANNELS_PASSTHROUGH, ("AVERAGE_POOL_2D",),
           check=c.check_pool, shares_quant=True, lowering=Lowering._lower_average_pool_2d,
           c_functions=("mcc_avgpool_s8",), int16_lowering=lower_int16.pool),
    OpSpec("MAX_POOL_2D", attrs.Pool2DAttrs, ref.pooling, CHANNELS_PASSTHROUGH, ("MAX_POOL_2D",),
           check=c.check_pool, shares_quant=True, lowering=Lowering._lower_max_pool_2d,
           c_functions=("mcc_maxpool_s8",), int16_lowering=lower_int16.pool),
    OpSpec("MEAN", attrs.MeanAttrs, reduce.mean, CHANNELS_PASSTHROUGH, ("MEAN",), lowering=Lowering._lower_mean,
           c_functions=("mcc_mean_s8",)),
    OpSpec("SUM", attrs.MeanAttrs, reduce.reduce_sum, CHANNELS_PASSTHROUGH, ("SUM",), lowering=Lowering._lower_mean,
           c_functions=("mcc_mean_s8",)),
    OpSpec("REDUCE_MAX", attrs.MeanAttrs, reduce.reduce_max_min, CHANNELS_PASSTHROUGH, ("REDUCE_MAX",),
           check=c.check_reduce_max_min, shares_quant=True, lowering=Lowering._lower_reduce_max_min,
           c_functions=("mcc_reduce_max_s8",)),
    OpSpec("REDUCE_MIN", attrs.MeanAttrs, reduce.reduce_max_min, CHANNELS_PASSTHROUGH, ("REDUCE_MIN",),
           check=c.check_reduce_max_min, shares_quant=True, lowering=Lowering._lower_reduce_max_min,
           c_functions=("mcc_reduce_min_s8",)),
    # float32 only: TFLM has no int8 kernel, so no C kernel either (the check rejects int8)
    OpSpec("L2_POOL_2D", attrs.Pool2DAttrs, misc_ops.l2_pool, CHANNELS_PASSTHROUGH, ("L2_POOL_2D",),
           check=cmisc.check_l2_pool),
)
