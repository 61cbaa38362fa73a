"""Residents' Markdown: normal text renders as expected, and nothing executable
survives (the XSS corpus), and the names shown on posts."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale
from markupsafe import Markup

from portal.auth.models import Role
from portal.community.markdown import ALLOWED_TAGS, render
from portal.community.models import Member
from portal.community.names import author_name
from portal.extensions import db

XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    '<a href="#" onclick="alert(1)">click</a>',
    '<div onmouseover="alert(1)">hover</div>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;&#x61;&#x76;&#x61;script:alert(1))",
    "[click](java&#x09;script:alert(1))",
    "[click]( javascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[click](vbscript:msgbox(1))",
    "[click](file:///etc/passwd)",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<!-- <script>alert(1)</script> -->",
    "<!--><script>alert(1)</script>-->",
    "<script",
    "<img src=x onerror=alert(1)",
    "[a](http://ok.example/ \"title\" onmouseover=alert(1))",
    "[[nested](javascript:alert(1))](http://ok.example/)",
    "[![img](javascript:alert(1))](javascript:alert(2))",
    "![alt\" onerror=\"alert(1)](http://x.example/i.png)",
    "![tracking pixel](http://evil.example/pixel.gif)",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "> <script>alert(1)</script>",
    "* <a href=javascript:alert(1)>x</a>",
    "<a href='javascript:alert(1)'>**bold**</a>",
    "<<script>script>alert(1)<</script>/script>",
    '"><script>alert(1)</script>',
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<a href=\"jav\tascript:alert(1)\">tab</a>",
    "[x](\u0001javascript:alert(1))",
]

DANGEROUS_SCHEMES = ("javascript", "vbscript", "data", "file")


class Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, name, value or "") for name, value in attrs]

    handle_startendtag = handle_starttag


def inspect(html: str) -> Inspector:
    parser = Inspector()
    parser.feed(html)
    parser.close()
    return parser


@pytest.mark.parametrize("payload", XSS)
def test_nothing_executable_survives(app, payload):
    html = render(payload)
    assert isinstance(html, Markup)
    found = inspect(str(html))
    assert set(found.tags) <= ALLOWED_TAGS, found.tags
    assert "img" not in found.tags and "script" not in found.tags
    for tag, name, value in found.attrs:
        assert not name.startswith("on"), (tag, name)
        assert (tag, name) in {("a", "href"), ("a", "rel"), ("ol", "start")}, (tag, name)
        if name == "href":
            cleaned = "".join(ch for ch in value if ch.isprintable() and not ch.isspace())
            scheme = urlsplit(cleaned).scheme.lower()
            assert scheme in ("", "http", "https", "mailto"), value
            assert not any(cleaned.lower().startswith(f"{s}:") for s in DANGEROUS_SCHEMES)
    lowered = str(html).lower()
    assert "<script" not in lowered and "<iframe" not in lowered and "<svg" not in lowered


def test_the_corpus_is_big_enough():
    assert len(XSS) >= 30


def test_typed_html_is_shown_as_text(app):
    assert render("<b>bold?</b>") == Markup("<p>&lt;b&gt;bold?&lt;/b&gt;</p>")


def test_paragraphs_and_line_breaks(app):
    html = render("first paragraph\n\nsecond  \nline")
    assert html == Markup("<p>first paragraph</p>\n<p>second<br>\nline</p>")


def test_lists(app):
    html = str(render("- one\n- two\n\n1. first\n2. second"))
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in html


def test_links_carry_rel(app):
    html = str(render("See [the city](https://city.example/forms) or <mailto:desk@city.example>"))
    assert '<a href="https://city.example/forms" rel="nofollow ugc noopener">the city</a>' in html
    assert 'href="mailto:desk@city.example" rel="nofollow ugc noopener"' in html


def test_emphasis_code_and_quotes(app):
    html = str(render("*soft* **strong** `code`\n\n> quoted"))
    assert "<em>soft</em> <strong>strong</strong> <code>code</code>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html


def test_japanese_text(app):
    html = render("転入届は**市民課**の窓口で出せます。\n\n- 本人確認書類\n- 印鑑")
    assert "転入届は<strong>市民課</strong>の窓口で出せます。" in html
    assert "<li>本人確認書類</li>" in html


def test_images_become_their_alt_text(app):
    assert render("![地図](https://city.example/map.png)") == Markup("<p>地図</p>")


def test_headings_become_bold_paragraphs(app):
    assert render("# 見出し") == Markup("<p><strong>見出し</strong></p>")


def test_empty_text(app):
    assert render("") == Markup("")


# -- names ------------------------------------------------------------------------------

def test_neutral_name_by_default(app, make_user):
    user = make_user(Role.RESIDENT)
    user.display_name = "山田 太郎"
    db.session.commit()
    with app.test_request_context(), force_locale("en"):
        assert author_name(user) == f"Resident {user.id}"
    with app.test_request_context(), force_locale("ja"):
        assert author_name(user) == f"住民{user.id}"


def test_public_name_and_own_name(app, make_user):
    user = make_user(Role.RESIDENT)
    user.display_name = "山田 太郎"
    db.session.commit()
    member = Member(user_id=user.id, public_name="ひまわり")
    db.session.add(member)
    db.session.flush()
    with app.test_request_context():
        assert author_name(user) == "ひまわり"
    member.show_own_name = True
    db.session.flush()
    with app.test_request_context():
        assert author_name(user) == "山田 太郎"


def test_deleted_account_and_staff(app, make_user, catalogue):
    staff = make_user(Role.STAFF, department=next(iter(catalogue.values())))
    with app.test_request_context(), force_locale("en"):
        assert author_name(None) == "Deleted account"
        assert author_name(staff) == "Municipal staff"
    with app.test_request_context(), force_locale("ja"):
        assert author_name(None) == "削除されたアカウント"
