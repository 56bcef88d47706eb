"""One definition per distinct parameter struct: layers whose static records are equal share one.

Lowering writes a CStatic per layer and per role (conv params, dims, contexts, ...); many are equal field for
field (the same strides and offsets on every layer of a MobileNet, a layer's out_dims equal to the next one's
in_dims), and each costs flash (issue 15's code size: vww's 29 layers carried 3.1 KB of them). Here a struct equal
to an earlier one of the same C type is not emitted again: it records that one's name (CStatic.shared_with),
which the calls' StructArgs print. Its own name stays (codegen/variants.py tells a layer's records by name).

A struct whose name other generated text spells out (another struct's field, a call's `pre` statements, a note)
keeps its own definition: renaming it would leave that text pointing at nothing.
"""

from __future__ import annotations

import re

from mcucompress.codegen.records import CStatic, KernelCall

_IDENT = re.compile(r"[A-Za-z_]\w*")


def _named_elsewhere(calls: list[KernelCall]) -> set[str]:
    """Identifiers the generated text spells out besides the call arguments."""
    text = [value for c in calls for s in c.statics for _, value in s.fields]
    text += [line for c in calls for line in c.pre] + [c.note for c in calls]
    return {word for t in text for word in _IDENT.findall(t)}


def share_statics(calls: list[KernelCall]) -> list[CStatic]:
    """The statics to define, each distinct one once; a duplicate records the first as `shared_with`."""
    pinned = _named_elsewhere(calls)
    first: dict[tuple, CStatic] = {}
    out: list[CStatic] = []
    seen: set[int] = set()
    for call in calls:
        for s in call.statics:
            key = (s.ctype, tuple(s.fields))
            shared = first.get(key)
            if shared is not None and shared is not s and s.name not in pinned:
                s.shared_with = shared.name
                continue
            first.setdefault(key, s)
            if id(s) not in seen:
                seen.add(id(s))
                out.append(s)
    return out
