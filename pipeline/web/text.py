"""Search snippets with the words a query found marked (escaped first, then marked)."""

from __future__ import annotations

from markupsafe import Markup, escape

from pipeline.store.search import TOKEN, word_hits


def highlight(snippet: str, tokens: list[str]) -> Markup:
    """``snippet`` as safe HTML with every word a query token finds in ``<mark>``."""
    out: list[Markup] = []
    pos = 0
    for m in TOKEN.finditer(snippet):
        if tokens and word_hits(m.group(0), tokens):
            out.append(escape(snippet[pos : m.start()]))
            out.append(Markup("<mark>%s</mark>") % m.group(0))
            pos = m.end()
    out.append(escape(snippet[pos:]))
    return Markup("").join(out)
