"""Render the C project's text files from templates/ with Jinja (StrictUndefined: a missing value fails)."""

from __future__ import annotations

import jinja2

from mcucompress.assets import asset_dir


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(asset_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_all(context: dict, prefix: str) -> dict[str, str]:
    """File name -> text for the generated files (kernels are copied separately)."""
    env = environment()
    names = {
        f"{prefix}_model.h": "model.h.j2",
        f"{prefix}_model.c": "model.c.j2",
        f"{prefix}_weights.c": "weights.c.j2",
        "Makefile": "Makefile.j2",
        "CMakeLists.txt": "CMakeLists.txt.j2",
    }
    return {out: env.get_template(tpl).render(**context) for out, tpl in names.items()}
