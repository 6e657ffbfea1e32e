"""Realistic scans of real worksheets, with the truth beside them (issue 16's generator).

From the worksheet PDF the service prints (service.web.pdf, laid out by service.scanning.layout): each
page rendered with pypdfium2, then marked as a teacher and a family would — a tick, a cross, a filled
box or a scribble in one box per item, of varying pen width, pressure and colour (red, blue, black),
sometimes spilling over the box's edge; a bubble filled in each row of the time box — and degraded
as a school's scanner or a phone would: 150-300 dpi, up to ±5° rotation, a phone's perspective and
background, blur, noise, JPEG quality 40-90, shadows, pages shuffled and some upside down, a blank
page and a foreign page mixed in.

`make_scans(...)` writes the files (a multi-page PDF for a flatbed scanner, one JPEG per photo for a
phone) and returns the truth: per output page, which sheet and page it is (or "blank"/"foreign"), the
mark of each item and the minutes.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
import segno
from PIL import Image

from service.scanning import layout as L

CONDITIONS: dict[str, dict[str, Any]] = {
    "flatbed_300dpi": {"dpi": 300, "phone": False},
    "flatbed_150dpi": {"dpi": 150, "phone": False},
    "phone": {"dpi": 200, "phone": True},
}
MARK_SHARES = {"right": 0.6, "wrong": 0.2, "half": 0.08, "not_done": 0.12}
STYLES = ("tick", "cross", "fill", "scribble")
STYLE_SHARES = (0.4, 0.25, 0.2, 0.15)
PENS = ((30, 30, 200), (150, 40, 20), (25, 25, 25))  # BGR: red, blue, black


@dataclass(frozen=True)
class PrintedPage:
    """What the PDF's page n is: its sheet, page number and items in order."""

    sheet: str  # "p.<plan id>" or "e.<plan id>"
    layout: L.PageLayout


def _choose_mark(rng: random.Random, kind: str) -> str:
    marks = [m for m in MARK_SHARES if m != "half" or kind in L.HALF_KINDS]
    return rng.choices(marks, [MARK_SHARES[m] for m in marks])[0]


def _pen(rng: random.Random) -> tuple[tuple[int, int, int], float]:
    colour = rng.choice(PENS)
    pressure = rng.uniform(0.75, 1.0)  # lighter pressure: a paler line
    b, g, r = (int(255 - (255 - c) * pressure) for c in colour)
    shade = (b, g, r)
    return shade, rng.uniform(0.3, 0.9)  # (colour, pen width in mm)


def _draw_mark(img: np.ndarray, rng: random.Random, box: L.Box, style: str, s: float) -> None:
    colour, width = _pen(rng)
    thick = max(1, round(width * s))
    spill = rng.uniform(0.0, 1.2)  # mm beyond the box's edge

    def px(x: float, y: float) -> tuple[int, int]:
        return round(x * s), round(y * s)

    x0, y0, x1, y1 = box.x, box.y, box.x + box.w, box.y + box.h
    j = lambda v: v + rng.uniform(-0.4, 0.4)  # noqa: E731
    if style == "tick":
        pts = [px(j(x0 + 0.8), j(y0 + box.h * 0.55)), px(j(x0 + box.w * 0.42), j(y1 - 0.6)),
               px(j(x1 + spill), j(y0 - spill))]  # fmt: skip
        cv2.polylines(img, [np.array(pts, np.int32)], False, colour, thick, cv2.LINE_AA)
    elif style == "cross":
        cv2.line(
            img,
            px(j(x0 + 0.5), j(y0 + 0.5)),
            px(j(x1 - 0.5 + spill / 2), j(y1 - 0.5)),
            colour,
            thick,
            cv2.LINE_AA,
        )
        cv2.line(
            img,
            px(j(x1 - 0.5), j(y0 + 0.5)),
            px(j(x0 + 0.5), j(y1 - 0.5 + spill / 2)),
            colour,
            thick,
            cv2.LINE_AA,
        )
    elif style == "fill":
        cover = rng.uniform(0.6, 1.0)
        pts = [px(j(x0 + 0.7), j(y0 + 0.7)), px(j(x1 - 0.7), j(y0 + 0.7)),
               px(j(x1 - 0.7), j(y0 + 0.7 + (box.h - 1.4) * cover)), px(j(x0 + 0.7), j(y0 + 0.7 + (box.h - 1.4) * cover))]  # fmt: skip
        cv2.fillPoly(img, [np.array(pts, np.int32)], colour, cv2.LINE_AA)
    else:  # scribble: a zigzag across the box
        n = rng.randint(4, 8)
        pts = [px(x0 + 0.6 + (box.w - 1.2) * k / (n - 1) + rng.uniform(-0.3, 0.3),
                  (y0 + 0.8 if k % 2 == 0 else y1 - 0.8) + rng.uniform(-0.4, 0.4)) for k in range(n)]  # fmt: skip
        cv2.polylines(img, [np.array(pts, np.int32)], False, colour, thick, cv2.LINE_AA)


def _fill_bubble(img: np.ndarray, rng: random.Random, box: L.Box, s: float) -> None:
    colour, _ = _pen(rng)
    cx, cy = box.centre
    r = box.w / 2 * rng.uniform(0.75, 1.05)
    cv2.ellipse(img, (round((cx + rng.uniform(-0.3, 0.3)) * s), round((cy + rng.uniform(-0.3, 0.3)) * s)),
                (round(r * s), round(r * rng.uniform(0.85, 1.0) * s)), rng.uniform(0, 180), 0, 360, colour, -1,
                cv2.LINE_AA)  # fmt: skip


def render(pdf: bytes, dpi: int) -> list[np.ndarray]:
    """Each page as a BGR image at `dpi`."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [np.ascontiguousarray(document[n].render(scale=dpi / 72).to_numpy()[:, :, :3])
                for n in range(len(document))]  # fmt: skip
    finally:
        document.close()


def printed_pages(sheets: Sequence[dict[str, Any]]) -> tuple[list[PrintedPage], dict[str, str]]:
    """What each page of the worksheet PDF of `sheets` (service.plans.worksheet_pages, printed in that
    order by service.web.pdf) is, and the kind of each item on them."""
    from service.web.pdf import sheet_items

    printed = [PrintedPage(f"{s['sheet'][0]}.{s['sheet'][1]}", page) for s in sheets
               for page in L.paginate(sheet_items(s))]  # fmt: skip
    return printed, {i["item_id"]: i["kind"] for s in sheets for i in s["items"]}


def mark_page(
    img: np.ndarray, rng: random.Random, page: L.PageLayout, kinds: dict[str, str], dpi: int,
    unclear: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    """Mark every item (and the time on the last page); `unclear`: the share of items the teacher
    marks twice (the meant mark and a slip in another box), which no reader may take as certain. The
    truth: each item's meant mark, the items marked twice, the minutes."""
    s = dpi / 25.4
    truth: dict[str, Any] = {"marks": {}, "minutes": None, "unclear": []}
    for slot in page.slots:
        mark = _choose_mark(rng, kinds[slot.item_id])
        _draw_mark(img, rng, slot.marks[mark], rng.choices(STYLES, STYLE_SHARES)[0], s)
        truth["marks"][slot.item_id] = mark
        if unclear and rng.random() < unclear:  # (no draw at 0: the benchmark's marks stay as they were)
            slip = rng.choice([m for m in slot.marks if m != mark])
            _draw_mark(img, rng, slot.marks[slip], rng.choice(("tick", "cross")), s)
            truth["unclear"].append(slot.item_id)
    if page.time is not None:
        minutes = rng.randint(5, 95)
        _fill_bubble(img, rng, page.time.tens[minutes // 10], s)
        _fill_bubble(img, rng, page.time.units[minutes % 10], s)
        truth["minutes"] = minutes
    return truth


def _blank(dpi: int, rng: random.Random) -> np.ndarray:
    s = dpi / 25.4
    return np.full((round(L.PAGE_H * s), round(L.PAGE_W * s), 3), rng.randint(235, 252), np.uint8)


def _foreign(dpi: int, rng: random.Random) -> np.ndarray:
    """Another school paper: lines of 'text', boxes, and a QR code that is not a worksheet's."""
    img = _blank(dpi, rng)
    s = dpi / 25.4
    for k in range(40):
        y = round((25 + k * 6) * s)
        cv2.line(
            img,
            (round(20 * s), y),
            (round(rng.uniform(80, 190) * s), y),
            (60, 60, 60),
            max(1, round(0.8 * s)),
        )
    qr = segno.make_qr("https://example.org/notice/2026-11", error="m")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=6, border=2)
    code = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    assert code is not None
    side = round(25 * s)
    code = cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST)
    img[round(15 * s) : round(15 * s) + side, round(170 * s) - side : round(170 * s)] = code
    return img


def degrade(img: np.ndarray, rng: random.Random, *, phone: bool, flip: bool) -> np.ndarray:
    h, w = img.shape[:2]
    if flip:
        img = cv2.rotate(img, cv2.ROTATE_180)
    angle = rng.uniform(-5, 5)
    if phone:
        pad = int(0.08 * max(h, w))
        table = np.full((h + 2 * pad, w + 2 * pad, 3), rng.randint(40, 110), np.uint8)
        table[pad : pad + h, pad : pad + w] = img
        img, (H, W) = table, table.shape[:2]
        src = np.array([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]], np.float32)
        jitter = lambda: rng.uniform(-0.05, 0.05) * w  # noqa: E731
        dst = np.array([[x + jitter(), y + jitter()] for x, y in src], np.float32)
        centre = dst.mean(axis=0)
        rot = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
        dst = np.asarray(cv2.transform(dst.reshape(1, 4, 2), rot), np.float32).reshape(4, 2)
        img = cv2.warpPerspective(
            img, cv2.getPerspectiveTransform(src, dst), (W, H), borderValue=(70, 70, 70)
        )
        # uneven light: a shadow across part of the page and a brighter side
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        ramp = (a * xx / W + b * yy / H + 2) / 4
        light = 0.65 + 0.35 * ramp
        if rng.random() < 0.7:
            edge = rng.uniform(0.2, 0.8) * W
            light = light * np.where(xx + 0.3 * yy < edge, rng.uniform(0.55, 0.8), 1.0).astype(np.float32)
        light = cv2.GaussianBlur(light, (0, 0), 25)
        img = np.clip(img.astype(np.float32) * light[:, :, None], 0, 255).astype(np.uint8)
        sigma, noise, quality = rng.uniform(0.5, 1.3), rng.uniform(3, 8), rng.randint(40, 90)
    else:
        rot = cv2.getRotationMatrix2D((w / 2 + rng.uniform(-20, 20), h / 2), angle, 1.0)
        rot[:, 2] += (rng.uniform(-0.01, 0.01) * w, rng.uniform(-0.01, 0.01) * h)
        img = cv2.warpAffine(img, rot, (w, h), borderValue=(255, 255, 255))
        sigma, noise, quality = rng.uniform(0.0, 0.8), rng.uniform(1, 4), rng.randint(60, 90)
    if sigma > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = np.clip(
        img.astype(np.int16)
        + np.random.default_rng(rng.randint(0, 2**31)).normal(0, noise, img.shape).astype(np.int16),
        0,
        255,
    ).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert decoded is not None
    return np.asarray(decoded)


def make_scans(
    pdf: bytes, printed: Sequence[PrintedPage], kinds: dict[str, str], out: Path, *, condition: str, seed: int,
    extra_pages: bool = True, use: Sequence[int] | None = None, unclear: float = 0.0,
) -> tuple[list[Path], list[dict[str, Any]]]:  # fmt: skip
    """Mark and degrade every page of `pdf` (its pages are `printed`, in order) as `condition` says;
    write them under `out`; return the files and the truth, one entry per output page in file order.
    `use`: only these pages of the PDF; `unclear`: the share of items marked twice (mark_page)."""
    rng = random.Random(seed)
    spec = CONDITIONS[condition]
    dpi, phone = spec["dpi"], spec["phone"]
    images = render(pdf, dpi)
    if len(images) != len(printed):  # (the whole PDF, before any pages are chosen)
        raise ValueError(f"the PDF has {len(images)} pages, the layout {len(printed)}")
    if use is not None:  # only these pages of the PDF
        images, printed = [images[n] for n in use], [printed[n] for n in use]
    pages: list[tuple[np.ndarray, dict[str, Any]]] = []
    for img, p in zip(images, printed, strict=True):
        truth = mark_page(img, rng, p.layout, kinds, dpi, unclear)
        pages.append((img, {"sheet": p.sheet, "page": p.layout.page, **truth}))
    if extra_pages:
        pages.append((_blank(dpi, rng), {"sheet": "blank"}))
        pages.append((_foreign(dpi, rng), {"sheet": "foreign"}))
    rng.shuffle(pages)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    truths: list[dict[str, Any]] = []
    degraded = []
    for img, truth in pages:
        flip = rng.random() < 0.3
        degraded.append(degrade(img, rng, phone=phone, flip=flip))
        truths.append({**truth, "flipped": flip})
    if phone:
        for n, (img, truth) in enumerate(zip(degraded, truths, strict=True), start=1):
            path = out / f"photo-{n:03d}.jpg"
            ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
            assert ok
            path.write_bytes(data.tobytes())
            files.append(path)
            truth["source"] = path.name
    else:
        path = out / "scanner.pdf"
        pil = [Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)) for img in degraded]
        pil[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=pil[1:], quality=85)
        files.append(path)
        for n, truth in enumerate(truths, start=1):
            truth["source"] = f"{path.name} p{n}"
    return files, truths
