"""Self-contained HTML reports: one file with inline SVG charts (matplotlib), readable without network access."""
