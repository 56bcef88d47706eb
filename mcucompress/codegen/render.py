"""Render the C project's text files from templates/ with Jinja (StrictUndefined: a missing value fails)."""

from __future__ import annotations

import jinja2

from mcucompress.assets import asset_dir
from mcucompress.codegen.calls import call_lines


def c_comment(text) -> str:
    """`text` (a tensor, op or model name from a model file) safe inside a C block comment: printable ASCII
    on one line, no `*/` that would end the comment, no `/*` (-Wcomment) and no `??` trigraph."""
    s = "".join(ch if " " <= ch <= "~" else "?" for ch in str(text))
    s = s.replace("*/", "*_/").replace("/*", "/_*")
    while "??" in s:
        s = s.replace("??", "?_?")
    return s


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(asset_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["c_comment"] = c_comment
    env.filters["call_lines"] = call_lines
    return env


def render_all(context: dict, prefix: str) -> dict[str, str]:
    """File name -> text for the generated files (kernels are copied separately)."""
    env = environment()
    names = {
        f"{prefix}_model.h": "model.h.j2",
        f"{prefix}_model.c": "model.c.j2",
        f"{prefix}_weights.c": "weights.c.j2",
        "Makefile": "Makefile.j2",
        "CMakeLists.txt": "CMakeLists.txt.j2",
        "README.md": "README.md.j2",
        "example/main.c": "example/main.c.j2",
        "zephyr/module.yml": "zephyr/module.yml.j2",
        "zephyr/CMakeLists.txt": "zephyr/CMakeLists.txt.j2",
        "zephyr/Kconfig": "zephyr/Kconfig.j2",
    }
    return {out: env.get_template(tpl).render(**context) for out, tpl in names.items()}
