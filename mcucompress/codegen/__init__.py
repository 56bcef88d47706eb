"""C code generation: lower the fixed-point IR to kernel calls, render templates, write a C project."""
