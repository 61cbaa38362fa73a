"""Residents' Markdown, rendered and sanitised: the only way a post's text becomes HTML.

``render(text)`` parses CommonMark with markdown-it-py (raw HTML off: a ``<script>``
typed into a post is shown as text), renders headings as bold paragraphs and images as
their alt text (no ``<img>``: no tracking pixels, no remote content), then passes the
result through nh3 with a short allow-list: paragraphs, line breaks, lists, emphasis,
links (``http``, ``https`` and ``mailto`` only, ``rel="nofollow ugc noopener"``), code
and quotes. The sanitiser is the guarantee; the parser settings make the output tidy.
"""

from __future__ import annotations

from html import escape

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {"p", "br", "ul", "ol", "li", "em", "strong", "a", "code", "pre", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"


def _image_as_alt_text(renderer, tokens, idx, options, env):
    # the alt text is the image token's rendered children (plain text)
    token = tokens[idx]
    return escape("".join(child.content for child in (token.children or [])))


def _heading_open(renderer, tokens, idx, options, env):
    return "<p><strong>"


def _heading_close(renderer, tokens, idx, options, env):
    return "</strong></p>\n"


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.add_render_rule("image", _image_as_alt_text)
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    return md


_MD = _parser()


def clean(html: str) -> str:
    """Sanitise HTML to the posts' allow-list (also for HTML from elsewhere)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render(text: str) -> Markup:
    """A post's Markdown as safe HTML (``Markup``: templates print it as is)."""
    html = clean(_MD.render(text or "")).strip()
    return Markup(html)  # noqa: S704 - sanitised by nh3 to the allow-list just above
