"""Where everything is on a scannable worksheet page, in millimetres from the top-left corner of an A4
page: the four corner markers, the QR code, each item's slot with its mark boxes (right / wrong /
half-right where the kind allows / not done) and the time bubbles (tens and units of minutes).

One source: the PDF (service/web/pdf.py) draws from `paginate`, and the reader (service/scanning/read.py)
reads the boxes `paginate` gives for the same items, so the two cannot drift apart. Pure Python: no
fonts are measured, a stem's height is estimated from its characters (conservatively; the PDF prints it
in that room)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PAGE_W, PAGE_H = 210.0, 297.0
MARKER = 7.0  # the corner markers: solid squares
MARKER_INSET = 8.0
QR_X, QR_Y, QR_SIZE = 174.0, 17.0, 20.0  # under the top-right marker
LEFT = 18.0
TOP = 44.0  # items start here on every page (the heading above)
BOTTOM = 246.0  # and end here (the time bubbles and the parent's line below)
BOX = 6.0  # a mark box's side
BOX_STEP = 8.0
MARK_X = 156.0  # the first mark box's left edge
MARK_LABEL_Y = 38.0
STEM_RIGHT = MARK_X - 4.0
HEAD_MM = 5.0
LINE_MM = 5.5
UNITS_PER_LINE = 31.0  # CJK characters per stem line at 11 pt in (STEM_RIGHT - LEFT) mm, with margin
GAP_MM = 3.0
MARKS = ("right", "wrong", "half", "not_done")
HALF_KINDS = frozenset({"written", "practical"})  # kinds a teacher may mark half-right
ROOM_MM = {"written": 26.0, "practical": 18.0}  # answer space; other kinds are done elsewhere
TIME_TENS = 13  # 0, 10, ..., 120 minutes
TIME_UNITS = 10
TIME_X = 62.0
TIME_STEP = 7.0
TIME_BUBBLE = 4.6
TIME_TENS_Y = 253.0
TIME_UNITS_Y = 262.0
SIGN_Y = 270.0


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass(frozen=True)
class SheetItem:
    item_id: str
    kind: str
    stem: str


@dataclass(frozen=True)
class Slot:
    item_id: str
    number: int  # on the sheet, from 1
    kind: str
    y: float
    height: float
    stem_lines: int
    room_mm: float
    marks: dict[str, Box]  # in MARKS order; "half" only where the kind allows it


@dataclass(frozen=True)
class TimeBubbles:
    tens: tuple[Box, ...]  # tens[k]: k * 10 minutes
    units: tuple[Box, ...]  # units[k]: k minutes


@dataclass(frozen=True)
class PageLayout:
    page: int  # from 1
    pages: int
    slots: tuple[Slot, ...]
    time: TimeBubbles | None  # on the last page only

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(s.item_id for s in self.slots)


def markers() -> tuple[Box, Box, Box, Box]:
    """Top-left, top-right, bottom-right, bottom-left."""
    near, far_x, far_y = MARKER_INSET, PAGE_W - MARKER_INSET - MARKER, PAGE_H - MARKER_INSET - MARKER
    return (Box(near, near, MARKER, MARKER), Box(far_x, near, MARKER, MARKER),
            Box(far_x, far_y, MARKER, MARKER), Box(near, far_y, MARKER, MARKER))  # fmt: skip


def qr_box() -> Box:
    return Box(QR_X, QR_Y, QR_SIZE, QR_SIZE)


def stem_lines(stem: str) -> int:
    units = sum(1.0 if ord(c) > 0x2E7F else 0.55 for c in stem)
    return max(1, math.ceil(units / UNITS_PER_LINE))


def mark_boxes(kind: str, y: float) -> dict[str, Box]:
    return {m: Box(MARK_X + k * BOX_STEP, y, BOX, BOX) for k, m in enumerate(MARKS)
            if m != "half" or kind in HALF_KINDS}  # fmt: skip


def time_bubbles() -> TimeBubbles:
    row = lambda n, y: tuple(Box(TIME_X + k * TIME_STEP, y, TIME_BUBBLE, TIME_BUBBLE) for k in range(n))  # noqa: E731
    return TimeBubbles(tens=row(TIME_TENS, TIME_TENS_Y), units=row(TIME_UNITS, TIME_UNITS_Y))


def paginate(items: Sequence[SheetItem]) -> list[PageLayout]:
    """The pages of one student's sheet: items in order, each in a slot tall enough for its text and
    the answer room its kind needs; a slot that does not fit starts a new page (writing gets its room
    on a second page rather than shrinking). At least one page, the time bubbles on the last."""
    pages: list[list[Slot]] = [[]]
    y = TOP
    for number, item in enumerate(items, start=1):
        lines = stem_lines(item.stem)
        room = ROOM_MM.get(item.kind, 0.0)
        height = max(BOX + 2.0, HEAD_MM + lines * LINE_MM) + room + GAP_MM
        if y + height > BOTTOM and pages[-1]:
            pages.append([])
            y = TOP
        pages[-1].append(
            Slot(item.item_id, number, item.kind, y, height, lines, room, mark_boxes(item.kind, y))
        )
        y += height
    total = len(pages)
    return [
        PageLayout(page=k, pages=total, slots=tuple(slots), time=time_bubbles() if k == total else None)
        for k, slots in enumerate(pages, start=1)
    ]
