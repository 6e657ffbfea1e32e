"""Reading scanned worksheet pages: pure functions of an image (no database, no HTTP).

For each page image: find the QR code (zxing-cpp, any rotation: pages may be upside down or sideways),
predict the corner markers from where the code is, find each marker near its prediction (OpenCV),
straighten the page by the perspective the four markers give, and read every box the layout
(service.scanning.layout, the one the PDF was drawn from) puts there: a box's fill is the share of
dark pixels inside it, dark meaning well below the paper around it (so shadows and uneven light do
not count). A mark is certain only when one box is clearly filled and every other clearly empty;
anything else is uncertain and goes to a person — nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zxingcpp

from service.scanning import layout as L
from service.scanning.sheets import SheetCode, SheetCodeError, parse

PX_PER_MM = 6.0  # the straightened page: about 152 dpi, a mark box 36 px wide
RENDER_DPI = 150  # a PDF page is rendered at this resolution before reading
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}


@dataclass(frozen=True)
class Thresholds:
    """A box is marked at `marked` or more of its inside dark, empty at `empty` or less; between, or
    two boxes marked, or none: uncertain. Bubbles likewise with their own bounds."""

    marked: float = 0.07
    empty: float = 0.025
    bubble_filled: float = 0.30
    bubble_empty: float = 0.10
    dark: float = 0.62  # a pixel is dark below this share of the paper's brightness around it


@dataclass(frozen=True)
class BoxRead:
    item_id: str
    number: int
    mark: str | None  # one of layout.MARKS when certain, else None
    certain: bool
    fills: dict[str, float]
    crop: np.ndarray = field(repr=False, compare=False)  # the boxes as scanned, straightened (grey)


@dataclass(frozen=True)
class TimeRead:
    minutes: int | None
    certain: bool
    tens: tuple[float, ...]
    units: tuple[float, ...]
    crop: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class PageRead:
    source: str  # file name, with the page number inside a PDF
    code: SheetCode | None
    layout: L.PageLayout | None
    boxes: tuple[BoxRead, ...] = ()
    time: TimeRead | None = None
    problem_en: str = ""
    problem_zh: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem_en


class PageProblem(Exception):
    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en, self.zh = en, zh


# -- images in -------------------------------------------------------------------------------


def page_images(path: Path, *, dpi: int = RENDER_DPI) -> Iterator[tuple[str, np.ndarray | None]]:
    """(source, grey image) for each page of a PDF, or the one image of a photo or scan; None for a
    page or file that cannot be decoded (the caller lists it)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        import pypdfium2 as pdfium

        try:
            document = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError:
            yield f"{path.name}", None
            return
        try:
            for n in range(len(document)):
                page = document[n]
                grey = _scanned_jpeg(page, dpi)
                if grey is None:
                    image = page.render(scale=dpi / 72, grayscale=True).to_numpy()
                    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
                yield f"{path.name} p{n + 1}", np.ascontiguousarray(grey)
                page.close()
        finally:
            document.close()
    elif suffix in IMAGE_SUFFIXES:
        data = np.fromfile(str(path), dtype=np.uint8)
        yield path.name, cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    else:
        yield path.name, None


def _scanned_jpeg(page: Any, dpi: int) -> np.ndarray | None:
    """A scanner's page is one JPEG covering the whole page, upright: decoded straight from the PDF
    (libjpeg, grey, shrunk to `dpi` by area as rendering would), several times faster than
    rendering it. None for any other page (it is rendered)."""
    import pypdfium2.raw as pdfium_c

    if page.get_rotation() != 0:
        return None
    objects = list(page.get_objects(max_depth=1))
    if len(objects) != 1 or objects[0].type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
        return None
    image = objects[0]
    width, height = page.get_size()
    a, b, c, d, e, f = image.get_matrix().get()
    meta = image.get_metadata()
    if (
        image.get_filters() != ["DCTDecode"]
        or max(abs(b), abs(c), abs(e), abs(f), abs(a - width), abs(d - height)) > 1.0
        or meta.colorspace not in (pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_DEVICERGB)
        or meta.bits_per_pixel not in (8, 24)
    ):
        return None
    # EXIF orientation ignored, as pdfium draws the image (OpenCV would otherwise turn it)
    flags = cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION
    grey = cv2.imdecode(np.frombuffer(bytes(image.get_data()), np.uint8), flags)
    if grey is None or (grey.shape[1], grey.shape[0]) != (meta.width, meta.height):
        return None
    size = (round(width / 72 * dpi), round(height / 72 * dpi))  # as rendering gives it
    if grey.shape[1] > size[0] * 1.05:
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    elif grey.shape[1] < size[0] * 0.95:
        return None  # fewer pixels than wanted: rendering scales it up, as the reader expects
    return np.asarray(grey)


# -- one page --------------------------------------------------------------------------------


def read_page(
    grey: np.ndarray | None, *, source: str, layout_of: Callable[[SheetCode], L.PageLayout],
    thresholds: Thresholds = Thresholds(),
) -> PageRead:  # fmt: skip
    """Read one page. `layout_of` gives the layout of the page a code names, or raises
    SheetCodeError (the caller checks the code's key and the sheet's items there)."""
    if grey is None:
        return PageRead(source, None, None, problem_en="the file or page cannot be decoded as an image",
                        problem_zh="无法把这个文件或页面解码为图像")  # fmt: skip
    text, corners = find_code(grey)
    if text is None or corners is None:
        return PageRead(source, None, None, problem_en="no worksheet QR code found (blank, foreign or torn page)",
                        problem_zh="没有找到作业单二维码（空白页、其他纸张或页面破损）")  # fmt: skip
    try:
        code = parse(text)
        page_layout = layout_of(code)
    except SheetCodeError as exc:
        return PageRead(source, None, None, problem_en=exc.en, problem_zh=exc.zh)
    try:
        flat = straighten(grey, corners)
    except PageProblem as exc:
        return PageRead(source, code, page_layout, problem_en=exc.en, problem_zh=exc.zh)
    boxes = tuple(read_slot(flat, slot, thresholds) for slot in page_layout.slots)
    time = read_time(flat, page_layout.time, thresholds) if page_layout.time is not None else None
    return PageRead(source, code, page_layout, boxes, time)


def find_code(grey: np.ndarray) -> tuple[str | None, np.ndarray | None]:
    """The worksheet QR code's text and its four corners in the image (the code's own top-left,
    top-right, bottom-right, bottom-left, whatever way the page lies)."""
    found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode), try_rotate=True,
                                   try_downscale=True)  # fmt: skip
    for barcode in found:
        if barcode.valid and barcode.text.startswith("JF1."):
            p = barcode.position
            corners = np.array([[q.x, q.y] for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)],
                               dtype=np.float32)  # fmt: skip
            return barcode.text, corners
    if found:
        return found[0].text, None  # a code that is not a worksheet's: parse refuses it
    return None, None


def _page_points(boxes: list[L.Box]) -> np.ndarray:
    return np.array([b.centre for b in boxes], dtype=np.float32)


def _affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares affine map src -> dst as a 3x3 matrix (steadier than a perspective far
    from the points it was fitted on)."""
    a = np.hstack([src.astype(np.float64), np.ones((len(src), 1))])
    solution, *_ = np.linalg.lstsq(a, dst.astype(np.float64), rcond=None)
    return np.vstack([solution.T, [0.0, 0.0, 1.0]])


def straighten(grey: np.ndarray, qr_corners: np.ndarray) -> np.ndarray:
    """The page as if scanned flat at PX_PER_MM: the QR code's corners give a first guess of where
    the page lies; each corner marker is then looked for near its guessed place (the nearest first,
    the guess refined by each one found), and the markers' centres give the perspective. A page
    needs three of its four markers (a corner cut off by a skewed scan is allowed: the QR code's
    corners stand in for it; with two, the page is taken as flat, and every row of boxes must still
    find its printed borders where expected, else it is not read: read_slot)."""
    q = L.qr_box()
    qr_page = np.array(
        [[q.x, q.y], [q.x + q.w, q.y], [q.x + q.w, q.y + q.h], [q.x, q.y + q.h]], dtype=np.float32
    )
    qr_image = qr_corners.astype(np.float32)
    page_pts = _page_points(list(L.markers()))
    found: dict[int, np.ndarray] = {}
    order = sorted(range(4), key=lambda k: float(np.hypot(*(page_pts[k] - q.centre))))
    transform = _affine(qr_page, qr_image)
    for k in order:
        where = cv2.perspectiveTransform(page_pts[k].reshape(1, 1, 2), transform).reshape(2)
        # far from what is known (a phone's perspective), the guess is rougher: look wider
        reach = 16.0 if len(found) < 2 else 30.0
        centre = _find_marker(grey, where, _mm_in_image(transform, page_pts[k]), reach)
        if centre is None:
            continue
        found[k] = centre
        known = sorted(found)
        src = np.concatenate([qr_page, page_pts[known]])
        dst = np.concatenate([qr_image, np.array([found[j] for j in known], dtype=np.float32)])
        transform = _affine(src, dst) if len(found) < 3 else cv2.findHomography(src, dst, 0)[0]
    if len(found) < 2:
        missing = ", ".join(str(k + 1) for k in range(4) if k not in found)
        raise PageProblem(
            f"corner markers {missing} not found (page cut, folded, torn or out of the photo?)",
            f"没有找到角标 {missing}（页面被裁切、折叠、破损或不在照片里？）",
        )
    if (
        len(found) == 2
    ):  # two corners cut off a skewed scan: the code's corners and two markers, no perspective
        known = sorted(found)
        src = np.concatenate([qr_image, np.array([found[j] for j in known], dtype=np.float32)])
        dst = np.concatenate([qr_page, page_pts[known]]) * PX_PER_MM
        to_flat = _affine(src, dst)
    elif len(found) == 4:
        image_pts = np.array([found[k] for k in range(4)], dtype=np.float32)
        to_flat = cv2.getPerspectiveTransform(image_pts, page_pts * PX_PER_MM)
    else:
        known = sorted(found)
        src = np.concatenate([qr_image, np.array([found[j] for j in known], dtype=np.float32)])
        dst = np.concatenate([qr_page, page_pts[known]]) * PX_PER_MM
        to_flat = cv2.findHomography(src, dst, 0)[0]
    size = (int(L.PAGE_W * PX_PER_MM), int(L.PAGE_H * PX_PER_MM))
    return cv2.warpPerspective(grey, to_flat, size, flags=cv2.INTER_AREA, borderValue=255)


def _mm_in_image(transform: np.ndarray, at: np.ndarray) -> float:
    """How many image pixels one millimetre of the page is near `at`."""
    right, down = at + np.array([1.0, 0.0], np.float32), at + np.array([0.0, 1.0], np.float32)
    pts = np.array([[at], [right], [down]], dtype=np.float32)
    a, b, c = cv2.perspectiveTransform(pts, transform).reshape(3, 2)
    return float((np.hypot(*(b - a)) + np.hypot(*(c - a))) / 2)


def _find_marker(grey: np.ndarray, where: np.ndarray, mm: float, reach_mm: float) -> np.ndarray | None:
    """The centre of the solid square nearest `where`, within `reach_mm` of it."""
    reach = int(reach_mm * mm)
    x0, y0 = int(where[0]) - reach, int(where[1]) - reach
    h, w = grey.shape
    ax0, ay0, ax1, ay1 = max(0, x0), max(0, y0), min(w, x0 + 2 * reach), min(h, y0 + 2 * reach)
    if ax1 - ax0 < 4 * mm or ay1 - ay0 < 4 * mm:
        return None
    window = grey[ay0:ay1, ax0:ax1]
    # dark: well below the paper nearby (a shadow over the corner or a dark table beside it are not)
    paper = float(np.quantile(window, 0.9))
    dark = (window < 0.5 * paper).astype(np.uint8)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(dark, connectivity=8)
    expected = (L.MARKER * mm) ** 2
    best, best_distance = None, float("inf")
    for n in range(1, count):
        _x, _y, bw, bh, area = stats[n]
        if not 0.5 * expected <= area <= 1.7 * expected:
            continue
        if not 0.6 <= bw / max(bh, 1) <= 1.66 or area < 0.6 * bw * bh:
            continue  # not a solid square: a stroke, the QR code's patterns, text
        cx, cy = centroids[n][0] + ax0, centroids[n][1] + ay0
        distance = float(np.hypot(cx - where[0], cy - where[1]))
        if distance < best_distance:
            best, best_distance = np.array([cx, cy], dtype=np.float32), distance
    return best


def _crop(flat: np.ndarray, x: float, y: float, w: float, h: float) -> np.ndarray:
    s = PX_PER_MM
    return flat[int(y * s) : int((y + h) * s), int(x * s) : int((x + w) * s)]


def _fill(flat: np.ndarray, box: L.Box, t: Thresholds, inset: float, paper: float) -> float:
    inside = _crop(flat, box.x + inset, box.y + inset, box.w - 2 * inset, box.h - 2 * inset)
    return float(np.count_nonzero(inside < t.dark * paper)) / max(inside.size, 1)


def _paper(region: np.ndarray) -> float:
    return max(float(np.quantile(region, 0.9)), 40.0)


def _register_row(
    flat: np.ndarray, boxes: list[L.Box], paper: float, t: Thresholds
) -> tuple[float, float, float]:
    """(dx, dy) in mm that puts the printed borders of a row of boxes where they are on the
    straightened page: the straightening is good to a millimetre or so; the borders' dark columns
    and rows (each spans a whole side) find the rest, whatever the pen left inside. The third value:
    the share of the borders' sides found there (below 3/4, the row is not where it should be)."""
    s, reach = PX_PER_MM, 1.2
    x0, y0 = boxes[0].x - reach - 0.5, boxes[0].y - reach - 0.5
    x1, y1 = boxes[-1].x + boxes[-1].w + reach + 0.5, boxes[0].y + boxes[0].h + reach + 0.5
    region = _crop(flat, x0, y0, x1 - x0, y1 - y0)
    dark = (region < t.dark * paper).astype(np.float32)
    cols, rows = dark.sum(axis=0), dark.sum(axis=1)
    steps = np.arange(-reach, reach + 0.01, 1 / s)

    def best(profile: np.ndarray, edges: list[float], origin: float) -> float:
        scores = []
        for d in steps:
            at = [round(float((e + d - origin) * s)) for e in edges]
            scores.append(sum(profile[a - 1 : a + 2].sum() for a in at if 1 <= a < len(profile) - 1))
        return float(steps[int(np.argmax(scores))]) if max(scores) > 0 else 0.0

    x_edges = [e for b in boxes for e in (b.x, b.x + b.w)]
    dx = best(cols, x_edges, x0)
    dy = best(rows, [boxes[0].y, boxes[0].y + boxes[0].h], y0)
    # the borders are there: each side a dark line over most of the box's side
    side = boxes[0].h * s
    seen = [cols[max(0, a - 1) : a + 2].max(initial=0) >= 0.6 * side
            for a in (round(float((e + dx - x0) * s)) for e in x_edges)]  # fmt: skip
    return dx, dy, float(sum(seen)) / len(seen)


def _moved(box: L.Box, dx: float, dy: float) -> L.Box:
    return L.Box(box.x + dx, box.y + dy, box.w, box.h)


def read_slot(flat: np.ndarray, slot: L.Slot, t: Thresholds) -> BoxRead:
    first = next(iter(slot.marks.values()))
    left, right = L.MARK_X - 3, L.MARK_X + len(L.MARKS) * L.BOX_STEP + 1
    row = _crop(flat, left, first.y - 3, right - left, L.BOX + 6)
    paper = _paper(row)
    dx, dy, borders = _register_row(flat, list(slot.marks.values()), paper, t)
    fills = {m: round(_fill(flat, _moved(b, dx, dy), t, 0.9, paper), 4) for m, b in slot.marks.items()}
    by_fill = sorted(fills.values(), reverse=True)
    top, second = by_fill[0], (by_fill[1] if len(by_fill) > 1 else 0.0)
    certain = bool(top >= t.marked and second <= t.empty and borders >= 0.75)
    mark = max(fills, key=lambda m: fills[m]) if certain else None
    return BoxRead(slot.item_id, slot.number, mark, certain, fills, row.copy())


def read_time(flat: np.ndarray, time: L.TimeBubbles, t: Thresholds) -> TimeRead:
    first, last = time.tens[0], time.tens[-1]
    region = _crop(
        flat,
        L.LEFT,
        first.y - 4,
        last.x + last.w + 4 - L.LEFT,
        time.units[0].y + L.TIME_BUBBLE + 2 - first.y + 4,
    )
    paper = _paper(region)
    # the square inside each bubble, well clear of its printed ring
    tens = tuple(round(_fill(flat, b, t, 1.25, paper), 4) for b in time.tens)
    units = tuple(round(_fill(flat, b, t, 1.25, paper), 4) for b in time.units)

    def digit(fills: tuple[float, ...]) -> int | None:
        by_fill = sorted(range(len(fills)), key=lambda k: fills[k], reverse=True)
        if fills[by_fill[0]] >= t.bubble_filled and fills[by_fill[1]] <= t.bubble_empty:
            return by_fill[0]
        return None

    d_tens, d_units = digit(tens), digit(units)
    certain = d_tens is not None and d_units is not None
    minutes = d_tens * 10 + d_units if d_tens is not None and d_units is not None else None
    return TimeRead(minutes, certain, tens, units, region.copy())


def png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("cannot encode the crop")
    return data.tobytes()
