"""GeoReport v2 responses in XML (the required format) and JSON (the optional one).

JSON is the programmatic mapping of the XML (the spec's "Spark convention"): a
list in JSON is a plural element in XML holding one singular element per item
(``attributes`` → ``<attributes><attribute>…``). XML is built with
``xml.etree`` — every text escaped by the library, characters XML 1.0 cannot
carry dropped — and starts with the declaration the spec asks for. Both are UTF-8.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # writing only; reading uses defusedxml
from datetime import datetime
from typing import Any

from flask import Response

from portal.timeutil import local_zone

FORMATS = ("xml", "json")
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"

#: a JSON list under this key is this XML element per item
SINGULAR = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}

# characters XML 1.0 cannot contain, even escaped
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def w3_datetime(value: datetime | None) -> str | None:
    """ISO 8601 as the w3 note, with the municipality's UTC offset:
    ``2026-12-04T10:15:30+09:00``."""
    if value is None:
        return None
    return value.astimezone(local_zone()).replace(microsecond=0).isoformat()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any, name: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item, key)
    elif isinstance(value, list):
        child = SINGULAR[name]
        for item in value:
            _fill(ET.SubElement(element, child), item, child)
    else:
        element.text = _text(value) or None


def to_xml(root: str, value: Any) -> str:
    """``value`` (a list or a dict) as the XML document ``<root>…</root>``."""
    element = ET.Element(root)
    _fill(element, value, root)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode")


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def respond(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    """The response in ``fmt`` (``xml`` unless ``json``); ``root`` names the XML
    root element (``services``, ``service_definition``, ``service_requests``…)."""
    if fmt == "json":
        body, mimetype = to_json(value), JSON_TYPE
    else:
        body, mimetype = to_xml(root, value), XML_TYPE
    response = Response(body.encode("utf-8"), status=status, content_type=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


def errors(fmt: str, status: int, descriptions: list[str]) -> Response:
    """The spec's error document: ``[{"code": 400, "description": "…"}]`` or
    ``<errors><error><code>400</code><description>…</description></error></errors>``,
    with the same HTTP status."""
    items = [{"code": status, "description": str(text)} for text in descriptions]
    return respond(fmt, "errors", items, status)
