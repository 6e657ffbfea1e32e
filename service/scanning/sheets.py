"""The QR code of a worksheet page: which sheet (one plan, or one student's whole evening named by its
first plan), which page of how many, and a keyed check (HMAC-SHA256 with the deployment's sheet key,
Settings.sheet_key) over all of it and the items printed on the page. A page whose code was made
without the key (forged, or re-made for another student's plan) or whose items are no longer the
plan's is refused; nothing of it is stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "JF1"
KINDS = {
    "p": "plan",
    "e": "evening",
}  # "p": one plan; "e": every handed-out set of the plan's student that night
MAC_CHARS = 13  # 65 bits of base32


class SheetCodeError(ValueError):
    """A QR code that is not a worksheet's, or whose check fails: `en` and `zh` say which."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en, self.zh = en, zh


@dataclass(frozen=True)
class SheetCode:
    kind: str  # "p" or "e"
    ref: str  # a plan id
    page: int
    pages: int
    mac: str

    @property
    def sheet(self) -> str:
        return f"{self.kind}.{self.ref}"


def _mac(key: str, kind: str, ref: str, page: int, pages: int, item_ids: Sequence[str]) -> str:
    message = "|".join([PREFIX, kind, ref, str(page), str(pages), ",".join(item_ids)]).encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:MAC_CHARS]


def encode(*, key: str, kind: str, ref: str, page: int, pages: int, item_ids: Sequence[str]) -> str:
    if kind not in KINDS or "." in ref or not 1 <= page <= pages:
        raise ValueError(f"not a sheet: {kind}.{ref} page {page}/{pages}")
    return f"{PREFIX}.{kind}.{ref}.{page}.{pages}.{_mac(key, kind, ref, page, pages, item_ids)}"


def parse(text: str) -> SheetCode:
    """The code's fields, unchecked (the items it covers come from the database: `verify`)."""
    parts = text.split(".")
    if len(parts) != 6 or parts[0] != PREFIX or parts[1] not in KINDS:
        raise SheetCodeError("the QR code is not a jianfu worksheet's", "二维码不是减负作业单的")
    _, kind, ref, page, pages, mac = parts
    if not (page.isdigit() and pages.isdigit() and 1 <= int(page) <= int(pages) <= 20 and ref):
        raise SheetCodeError("the QR code's page number is malformed", "二维码的页码格式不对")
    return SheetCode(kind, ref, int(page), int(pages), mac)


def verify(code: SheetCode, *, key: str, item_ids: Sequence[str]) -> None:
    """Raises SheetCodeError unless the code was made with `key` for these items on this page."""
    expected = _mac(key, code.kind, code.ref, code.page, code.pages, item_ids)
    if not hmac.compare_digest(expected, code.mac):
        raise SheetCodeError(
            "the QR code's check fails: the page was not printed by this service for this student's "
            "sheet (forged, copied for another student, or the set changed after printing)",
            "二维码校验失败：这一页不是本系统为这名学生打印的作业单（伪造、为他人复印，或打印后作业已改动）",
        )
