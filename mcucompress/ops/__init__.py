"""The op registry's entries, one module per op family; the OpSpec type and lookups are in
mcucompress.ir.registry (re-exported here)."""

from mcucompress.ir.registry import (
    CHANNEL_RULES,
    CHANNELS_BLOCK,
    CHANNELS_CONCAT,
    CHANNELS_DEPTHWISE,
    CHANNELS_PASSTHROUGH,
    CHANNELS_PRODUCER,
    CHANNELS_RESHAPE,
    CHANNELS_TIED,
    OpSpec,
    all_specs,
    spec,
)

__all__ = [
    "CHANNELS_BLOCK",
    "CHANNELS_CONCAT",
    "CHANNELS_DEPTHWISE",
    "CHANNELS_PASSTHROUGH",
    "CHANNELS_PRODUCER",
    "CHANNELS_RESHAPE",
    "CHANNELS_TIED",
    "CHANNEL_RULES",
    "OpSpec",
    "all_specs",
    "spec",
]
