"""Small graph queries shared by the rewrites."""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op


def sole_consumer(graph: Graph, name: str) -> Op | None:
    """The only op reading `name`, or None if several ops (or the graph's outputs) read it."""
    if name in graph.outputs:
        return None
    users = graph.consumers(name)
    return users[0] if len(users) == 1 and users[0].inputs.count(name) == 1 else None


def remove_op(graph: Graph, op: Op) -> None:
    graph.ops = [o for o in graph.ops if o is not op]


def replace_uses(graph: Graph, old: str, new: str) -> None:
    for op in graph.ops:
        op.inputs = [new if n == old else n for n in op.inputs]


def unique_name(graph: Graph, base: str) -> str:
    name, i = base, 1
    while name in graph.tensors:
        name, i = f"{base}_{i}", i + 1
    return name


def channel_vector(graph: Graph, name: str, out_rank: int, channels: int) -> np.ndarray | None:
    """A float constant broadcasting only along the last axis, as a [channels] vector (else None)."""
    t = graph.t(name)
    if not t.is_const or t.dtype != "float32" or t.data.ndim > out_rank:
        return None
    if t.data.size == 1:
        return np.full(channels, t.data.reshape(-1)[0], np.float32)
    if t.data.shape[-1] != channels or t.data.size != channels:
        return None
    return t.data.reshape(channels).astype(np.float32)
