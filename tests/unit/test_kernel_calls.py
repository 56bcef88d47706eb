"""Kernel calls are typed argument records, rendered one argument per line and named by the kernel's
prototype (codegen/calls.py); a lowering that passes the wrong number of arguments fails at generation."""

from __future__ import annotations

import pytest

from mcucompress.codegen.calls import call_lines, prototypes
from mcucompress.codegen.records import ArrayArg, CArray, IntArg, KernelCall, TensorArg
from mcucompress.ir.registry import all_specs


def test_every_registered_kernel_has_a_prototype():
    known = prototypes()
    missing = sorted({f for s in all_specs() for f in s.c_functions if f not in known})
    assert not missing, missing
    assert known["mcc_copy_s8"] == ("in", "out", "size")


def test_call_renders_one_named_argument_per_line():
    import numpy as np

    table = CArray("m_op3_table", "int8_t", np.zeros(256, np.int64))
    call = KernelCall(3, "elu", "ELU", "mcc_lookup_s8",
                      [ArrayArg(table), IntArg(40), TensorArg("x", "(m_arena + 0)"), TensorArg("y", "(m_arena + 64)")])
    assert call_lines(call) == ["status = mcc_lookup_s8(", "    m_op3_table,  /* table */", "    40,  /* size */",
                                "    (m_arena + 0),  /* in */", "    (m_arena + 64));  /* out */"]
    assert call.int_arg(1) == 40
    with pytest.raises(TypeError, match="not an IntArg"):
        call.int_arg(0)


def test_wrong_arity_or_unknown_kernel_is_refused_naming_it():
    call = KernelCall(5, "c", "RESHAPE", "mcc_copy_s8", [TensorArg("x", "input"), IntArg(4)])
    with pytest.raises(ValueError, match=r"layer 5 \(RESHAPE\): mcc_copy_s8 takes 3 arguments \(in, out, size\)"):
        call_lines(call)
    with pytest.raises(ValueError, match="mcc_nope_s8 has no prototype"):
        call_lines(KernelCall(1, "n", "X", "mcc_nope_s8", []))
