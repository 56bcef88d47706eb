"""One self-contained HTML page: sections of text, tables and matplotlib figures embedded as inline SVG.

Every report (run, compile, quantize, prune, sweep) is built from this, so they look alike and none of
them loads anything from the network. Charts carry `data-chart="<name>"` so tests can check each one
rendered."""

from __future__ import annotations

import html
import io
import os
import re
from dataclasses import dataclass, field

from mcucompress import __version__
from mcucompress.fileio import write_text

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child,td.t,th.t{text-align:left}
.chart svg{max-width:100%;height:auto}.note{color:#555;font-size:.9em}
pre{font-size:.75em;overflow-x:auto;background:#f7f7f7;padding:.5em}
.ok{color:#176c2e;font-weight:600}.bad{color:#b00020;font-weight:600}
"""


def matplotlib_figure(width: float = 8.0, height: float = 3.5):
    """A new matplotlib Figure drawn without a display (the Agg-free SVG path; no pyplot global state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def figure_svg(fig) -> str:
    """The figure as an inline <svg> element (the XML prologue and DOCTYPE stripped)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


@dataclass
class Page:
    """Build with section/text/table/figure in reading order, then render() or write(path)."""

    title: str
    parts: list[str] = field(default_factory=list)

    def section(self, title: str) -> Page:
        self.parts.append(f"<h2>{html.escape(title)}</h2>")
        return self

    def text(self, text: str, css: str = "") -> Page:
        cls = f' class="{css}"' if css else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")
        return self

    def table(self, headers: list[str], rows: list[list], name: str = "") -> Page:
        """A table; numbers are formatted with thousands separators, None as a dash."""
        def cell(v) -> str:
            if v is None:
                return "-"
            if isinstance(v, bool):
                return "yes" if v else "no"
            if isinstance(v, int):
                return f"{v:,}"
            if isinstance(v, float):
                return f"{v:,.4g}"
            return html.escape(str(v))

        def numeric(v) -> bool:  # words read from the left, numbers (and "12.5%", "1 / 2") line up on the right
            return v is None or isinstance(v, (int, float)) or bool(re.fullmatch(r"[-+0-9.,%/ e]+", str(v)))

        def td(v) -> str:
            return f"<td>{cell(v)}</td>" if numeric(v) else f'<td class="t">{cell(v)}</td>'

        words = [any(not numeric(row[i]) for row in rows if i < len(row)) for i in range(len(headers))]
        head = "".join(f"<th{' class=t' if w else ''}>{html.escape(h)}</th>" for h, w in zip(headers, words))
        body = "".join("<tr>" + "".join(td(v) for v in row) + "</tr>" for row in rows)
        attr = f' data-table="{html.escape(name)}"' if name else ""
        self.parts.append(f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def pre(self, text: str) -> Page:
        """Preformatted text (the memory plan's ASCII picture)."""
        self.parts.append(f"<pre>{html.escape(text)}</pre>")
        return self

    def figure(self, fig, name: str, caption: str = "") -> Page:
        """Embed a matplotlib Figure as inline SVG; `name` identifies the chart (data-chart attribute)."""
        cap = f'<p class="note">{html.escape(caption)}</p>' if caption else ""
        self.parts.append(f'<div class="chart" data-chart="{html.escape(name)}">{figure_svg(fig)}{cap}</div>')
        return self

    def charts(self) -> list[str]:
        return [p.split('data-chart="', 1)[1].split('"', 1)[0] for p in self.parts if 'data-chart="' in p]

    def render(self) -> str:
        body = "\n".join(self.parts)
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<meta name=\"generator\" content=\"mcucompress {__version__}\">"
                f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head>\n"
                f"<body><h1>{html.escape(self.title)}</h1>\n{body}\n"
                f"<p class=\"note\">written by mcucompress {__version__}</p></body></html>\n")

    def write(self, path: str | os.PathLike, tmp=None) -> None:
        """Write atomically; `tmp` is a temporary sibling reserved (fileio.reserve) before the work began."""
        write_text(path, self.render(), tmp)
