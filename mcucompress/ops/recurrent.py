"""Registry entries of the recurrent ops: UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF.

Both read and rewrite variable state tensors that persist across invocations (the generated C keeps them in
static buffers outside the arena, reset before the first invoke and by <prefix>_reset_state()). Channels may
not be pruned across them. Our PTQ quantizes a float batch-major LSTM (mcucompress/quantize/recurrent.py),
not SVDF: import those already int8.
"""

from mcucompress.codegen import lower_recurrent as low
from mcucompress.ir import constraints_recurrent as c
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_BLOCK, OpSpec
from mcucompress.reference import recurrent as ref

SPECS = (
    OpSpec("UNIDIRECTIONAL_SEQUENCE_LSTM", attrs.LstmAttrs, ref.lstm, CHANNELS_BLOCK,
           ("UNIDIRECTIONAL_SEQUENCE_LSTM",), check=c.check_lstm, lowering=low.lower_lstm,
           c_functions=("mcc_lstm_s8",), scratch=low.lstm_scratch),
    OpSpec("SVDF", attrs.SvdfAttrs, ref.svdf, CHANNELS_BLOCK, ("SVDF",), check=c.check_svdf, lowering=low.lower_svdf,
           c_functions=("mcc_svdf_s8",)),
)
