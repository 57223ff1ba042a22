"""Name helpers of ApplicationSet parameters: upstream's SanitizeName (``normalize``) and SlugifyName (``slugify``)."""

from __future__ import annotations

import re

__all__ = ["sanitize_name", "slugify_name"]

_INVALID_DNS_CHARS = re.compile(r"[^-a-z0-9.]")
_MAX_DNS_NAME = 253
_NON_SLUG = re.compile(r"[^a-zA-Z0-9\-_]")
_DASHES = re.compile(r"-+")


def sanitize_name(name: str) -> str:
    """A DNS-1123 subdomain from ``name``: lower case, other characters as ``-``, at most 253, trimmed of ``-.``."""
    name = _INVALID_DNS_CHARS.sub("-", name.lower())
    return name[:_MAX_DNS_NAME].strip("-.")


def slugify_name(name: str, *, max_size: int = 50, smart_truncate: bool = True) -> str:
    """gosimple/slug over the sanitized name: ``.`` and runs of ``-`` become one ``-``, cut to ``max_size``.

    Smart truncation cuts at the last ``-`` that keeps the slug within ``max_size``.
    """
    slug = sanitize_name(name).strip()
    if not smart_truncate and max_size > 0 and len(slug) >= max_size:
        slug = slug[:max_size]
    slug = _DASHES.sub("-", _NON_SLUG.sub("-", slug)).strip("-_")
    if max_size > 0 and smart_truncate and len(slug) > max_size:
        cut = slug.rfind("-", 0, max_size + 1)
        slug = slug[:cut] if cut >= 0 else slug[:max_size]
    return slug
