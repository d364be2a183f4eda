"""The text of a group post: user text made inert, fitted into the provider's byte limit.

A post is a title, detail lines, an optional longer body, a link and the mobile numbers to
@-mention. User text (titles, places, names, problem descriptions) has every character that
markdown, HTML or a mention could use swapped for its full-width twin, line breaks folded into
spaces, so it can neither add a link nor @all. The body is shortened to fit the limit (4,096
bytes of UTF-8 for markdown, 2,048 for WeCom text), never cutting a character in two.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from app.robots.models import Provider

MARKDOWN_LIMIT = 4096  # bytes of UTF-8, WeCom markdown.content (and kept for DingTalk's text)
TEXT_LIMIT = 2048  # bytes of UTF-8, WeCom text.content
ELLIPSIS = "…"
# Markdown, HTML and mention syntax → full-width look-alikes (read naturally in Chinese text).
INERT = str.maketrans({
    "[": "［", "]": "］", "(": "（", ")": "）", "<": "＜", ">": "＞", "*": "＊", "_": "＿",
    "#": "＃", "`": "｀", "@": "＠", "~": "～", "|": "｜", "\\": "＼", "&": "＆",
})
SPACES = re.compile(r"[\s\x00-\x1f\x7f\u2028\u2029]+")
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def inert(text: str | None, limit: int = 300) -> str:
    """User text as it may stand in a post: one line, no markup, at most `limit` characters."""
    flat = SPACES.sub(" ", text or "").strip().translate(INERT)
    return flat if len(flat) <= limit else flat[: limit - 1] + ELLIPSIS


def truncate_utf8(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` bytes of UTF-8 (never half a character)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: max(limit, 0)].decode("utf-8", errors="ignore")


def mobile_number(phone: str | None) -> str | None:
    """A mainland mobile number (11 digits, 1[3-9]…) from what was typed, or None."""
    digits = re.sub(r"[\s-]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits if MOBILE.match(digits) else None


@dataclass
class Post:
    """One group post before it is written for a provider (title and labels already translated)."""

    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (label, inert value)
    body: str = ""  # inert, may be shortened
    link: tuple[str, str] | None = None  # (label, URL)
    mobiles: list[str] = field(default_factory=list)


def _fit(head: str, body: str, tail: str, limit: int) -> str:
    """head + body + tail within `limit` bytes, shortening the body (then, if ever needed, the whole)."""
    parts = [head, body, tail]
    whole = "\n".join(p for p in parts if p)
    if len(whole.encode()) <= limit:
        return whole
    fixed = "\n".join(p for p in (head, tail) if p)
    room = limit - len(fixed.encode()) - len(("\n" + ELLIPSIS + "\n").encode())
    if body and room > 0:
        return "\n".join(p for p in (head, truncate_utf8(body, room) + ELLIPSIS, tail) if p)
    return truncate_utf8(fixed, limit)


def markdown(post: Post, *, mention_in_text: bool) -> str:
    """The post as markdown (WeCom markdown, DingTalk markdown)."""
    head = "\n".join([f"**{post.title}**", *(f"> {label}：{value}" for label, value in post.lines)])
    tail_parts = []
    if post.link:
        tail_parts.append(f"[{post.link[0]}]({post.link[1]})")
    if mention_in_text and post.mobiles:
        # DingTalk shows an @-mention only where the number also stands in the text.
        tail_parts.append(" ".join(f"@{mobile}" for mobile in post.mobiles))
    body = f"> {post.body}" if post.body else ""
    return _fit(head, body, "\n".join(tail_parts), MARKDOWN_LIMIT)


def plain_text(post: Post) -> str:
    """The post as plain text (WeCom's text message, the only one that @-mentions by mobile)."""
    head = "\n".join([post.title, *(f"{label}：{value}" for label, value in post.lines)])
    tail = f"{post.link[0]}：{post.link[1]}" if post.link else ""
    return _fit(head, post.body, tail, TEXT_LIMIT)


def request_body(provider: Provider, post: Post) -> bytes:
    """The JSON the provider receives for this post."""
    if provider == Provider.wecom:
        if post.mobiles:
            # WeCom markdown cannot @-mention by mobile number; the text message can.
            payload = {"msgtype": "text", "text": {"content": plain_text(post), "mentioned_mobile_list": post.mobiles}}
        else:
            payload = {"msgtype": "markdown", "markdown": {"content": markdown(post, mention_in_text=False)}}
    else:
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": post.title[:64], "text": markdown(post, mention_in_text=True)},
            "at": {"atMobiles": post.mobiles, "isAtAll": False},
        }
    return json.dumps(payload, ensure_ascii=False).encode()
