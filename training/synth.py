"""Synthetic licence-plate renderer for training the plate-text recognizer.

Renders US-style (2:1) and EU-style (~4.7:1) plates with known text: varied fonts, colours,
state names, slogans, emblems, stickers, bolts, borders; then places them in context with
perspective, low resolution, blur, noise, glare and JPEG loss, and crops them the way the
detector will (a loose quad around the plate). Also renders negatives (text that is not a
plate: dealer frames, phone numbers, date stamps, textures) whose label is empty.

Everything is driven by a numpy Generator, so a seed reproduces a data set exactly.
"""
from __future__ import annotations

import glob
import os

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
OCR_H, OCR_W = 32, 128


def set_ocr_size(h: int, w: int = 128) -> None:
    """Sets the recognizer input size every crop below is cut to (32x128 for the shipped CTC
    reader; 64x128 for the plate-shaped one, see model.PlateOCR's `in_h`)."""
    global OCR_H, OCR_W
    OCR_H, OCR_W = h, w

FONT_DIRS = ["/usr/share/fonts/truetype"]
# Condensed and regular bold sans faces look most like plate dies; serif and mono add
# variety so the model learns shapes rather than one typeface.
PLATE_FONT_NAMES = [
    "DejaVuSansCondensed-Bold.ttf", "DejaVuSans-Bold.ttf", "LiberationSansNarrow-Bold.ttf",
    "LiberationSans-Bold.ttf", "Arimo-Bold.ttf", "FreeSansBold.ttf", "OpenSans-CondBold.ttf",
    "OpenSans-Bold.ttf", "OpenSans-ExtraBold.ttf", "LiberationMono-Bold.ttf", "Cousine-Bold.ttf",
    "DejaVuSansMono-Bold.ttf", "FreeMonoBold.ttf", "DejaVuSerifCondensed-Bold.ttf",
    "LiberationSans-Regular.ttf", "DejaVuSansCondensed.ttf",
]
SCRIPT_FONT_NAMES = [
    "DejaVuSerif-Bold.ttf", "LiberationSerif-Bold.ttf", "Tinos-Bold.ttf", "FreeSerifBold.ttf",
    "DejaVuSans-Bold.ttf", "LiberationSerif-Italic.ttf", "DejaVuSerif-Italic.ttf",
    "OpenSans-Semibold.ttf", "LiberationSans-Regular.ttf",
]

STATES = [
    "ALABAMA", "ALASKA", "ARIZONA", "ARKANSAS", "California", "COLORADO", "CONNECTICUT",
    "DELAWARE", "FLORIDA", "GEORGIA", "HAWAII", "IDAHO", "ILLINOIS", "INDIANA", "IOWA", "KANSAS",
    "KENTUCKY", "LOUISIANA", "MAINE", "MARYLAND", "MASSACHUSETTS", "MICHIGAN", "MINNESOTA",
    "MISSISSIPPI", "MISSOURI", "MONTANA", "NEBRASKA", "NEVADA", "NEW HAMPSHIRE", "NEW JERSEY",
    "NEW MEXICO", "NEW YORK", "NORTH CAROLINA", "NORTH DAKOTA", "OHIO", "OKLAHOMA", "OREGON",
    "PENNSYLVANIA", "RHODE ISLAND", "SOUTH CAROLINA", "SOUTH DAKOTA", "TENNESSEE", "Texas",
    "UTAH", "VERMONT", "VIRGINIA", "WASHINGTON", "WEST VIRGINIA", "WISCONSIN", "WYOMING",
    "Illinois", "Ohio", "Georgia", "Florida", "Arizona", "Virginia", "Maryland", "New York",
]
SLOGANS = [
    "dmv.ca.gov", "Sunshine State", "Land of Lincoln", "THE EMPIRE STATE", "Great Lakes",
    "Live Free or Die", "FAMOUS POTATOES", "Grand Canyon State", "THE LONE STAR STATE",
    "Heart of Dixie", "Garden State", "Peach State", "BIRTHPLACE OF AVIATION", "Centennial",
    "First in Flight", "Treasure State", "Wild Wonderful", "America's Dairyland", "Pure Michigan",
    "Land of Enchantment", "Show Me State", "visitPA.com", "EXCELSIOR", "Celebrating 150 years",
    "IN GOD WE TRUST", "Friendly", "Beautiful", "Explore Minnesota", "The Volunteer State",
    "COUNTY", "MONTGOMERY", "Jefferson", "DEALER", "Spirit of America",
]
EU_COUNTRIES = ["D", "F", "I", "NL", "B", "E", "P", "PL", "CZ", "SK", "A", "GB", "IRL", "H", "HR", "SLO", "L"]


def _font_paths(names):
    found = {}
    for d in FONT_DIRS:
        for path in glob.glob(os.path.join(d, "**", "*.ttf"), recursive=True):
            found[os.path.basename(path)] = path
    return [found[n] for n in names if n in found]


class Fonts:
    """Caches PIL fonts by (path, size)."""

    def __init__(self):
        self.plate = _font_paths(PLATE_FONT_NAMES)
        self.script = _font_paths(SCRIPT_FONT_NAMES) or self.plate
        if not self.plate:
            raise SystemExit("no fonts found: apt-get install fonts-dejavu-core fonts-liberation "
                             "fonts-freefont-ttf fonts-croscore fonts-open-sans")
        self._cache = {}

    def get(self, path, size):
        key = (path, size)
        if key not in self._cache:
            self._cache[key] = ImageFont.truetype(path, size)
        return self._cache[key]


# ---------------------------------------------------------------- plate text formats

def random_plate_text(rng: np.random.Generator, eu: bool = False) -> str:
    """A plate string in one of many real-world shapes (US issue formats, vanity, EU)."""
    L = "ABCDEFGHJKLMNPRSTUVWXYZ"  # issuing formats mostly avoid I, O, Q
    LA = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    D = "0123456789"
    pick = lambda s, n: "".join(rng.choice(list(s), n))
    if eu:
        fmts = [
            lambda: pick(LA, 2) + pick(D, 2) + pick(LA, 3),  # GB
            lambda: pick(LA, 2) + pick(D, 3) + pick(LA, 2),  # FR / IT
            lambda: pick(LA, rng.integers(1, 4)) + pick(LA, rng.integers(1, 3)) + pick(D, rng.integers(1, 5)),  # DE
            lambda: pick(D, 4) + pick(LA, 3),  # ES
            lambda: pick(LA, 2) + pick(D, rng.integers(3, 6)),  # PL, HR
            lambda: pick(D, 1) + pick(LA, 3) + pick(D, 3),  # CZ, SE
            lambda: pick(LA, 2) + pick(D, 2) + pick(D, 2),
        ]
        return fmts[rng.integers(len(fmts))]()
    fmts = [
        (0.22, lambda: pick("123456789", 1) + pick(L, 3) + pick(D, 3)),  # CA 7ABC123
        (0.16, lambda: pick(L, 3) + pick(D, 4)),  # ABC1234
        (0.12, lambda: pick(L, 3) + pick(D, 3)),  # ABC123
        (0.06, lambda: pick(D, 3) + pick(L, 3)),  # 123ABC
        (0.05, lambda: pick(D, 3) + pick(L, 4)),
        (0.05, lambda: pick(L, 2) + pick(D, 5)),
        (0.04, lambda: pick(D, 1) + pick(L, 2) + pick(D, 4)),
        (0.04, lambda: pick(L, 1) + pick(D, 2) + pick(L, 3)),
        (0.04, lambda: pick(D, 2) + pick(L, 1) + pick(D, 3)),
        (0.04, lambda: pick(D, rng.integers(4, 8))),  # numeric
        (0.04, lambda: pick(L, 3) + pick(D, 2) + pick(L, 1)),
        (0.14, lambda: pick(LA + D, rng.integers(2, 9))),  # vanity, any 2-8 characters
    ]
    p = np.array([w for w, _ in fmts])
    return fmts[rng.choice(len(fmts), p=p / p.sum())][1]()


# ---------------------------------------------------------------- colours and backgrounds

def _rand_light(rng):
    base = rng.choice([
        (245, 245, 245), (250, 250, 235), (235, 240, 250), (250, 235, 150), (255, 220, 80),
        (225, 235, 225), (240, 230, 220), (210, 225, 240), (250, 250, 250), (200, 200, 200),
    ])
    return tuple(int(np.clip(c + rng.integers(-25, 10), 0, 255)) for c in base)


def _rand_dark(rng):
    base = rng.choice([
        (20, 20, 20), (20, 30, 90), (10, 60, 30), (90, 20, 30), (40, 40, 60), (10, 40, 110),
        (120, 20, 20), (30, 30, 30),
    ])
    return tuple(int(np.clip(c + rng.integers(-15, 25), 0, 255)) for c in base)


def _background(rng, w, h, light):
    """Plate background: flat, gradient, or a soft 'scenic' picture of blobs."""
    col = np.array(_rand_light(rng) if light else _rand_dark(rng), np.float32)
    img = np.ones((h, w, 3), np.float32) * col
    kind = rng.random()
    if kind < 0.35:
        col2 = np.array(_rand_light(rng) if light else _rand_dark(rng), np.float32)
        t = np.linspace(0, 1, h if rng.random() < 0.6 else w, dtype=np.float32)
        t = t[:, None, None] if t.shape[0] == h else t[None, :, None]
        img = img * (1 - t) + col2 * t
    elif kind < 0.6:
        for _ in range(rng.integers(2, 7)):
            c = np.array(_rand_light(rng) if light else _rand_dark(rng), np.float32)
            cx, cy = rng.integers(0, w), rng.integers(0, h)
            r = rng.integers(h // 4, h * 2)
            yy, xx = np.mgrid[0:h, 0:w]
            m = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2.0 * r * r)))[..., None].astype(np.float32)
            img = img * (1 - 0.7 * m) + c * 0.7 * m
    return np.clip(img, 0, 255).astype(np.uint8)


def _text_colour(rng, light_bg):
    if light_bg:
        return tuple(int(c) for c in rng.choice([
            (10, 20, 80), (20, 20, 20), (120, 10, 10), (10, 60, 20), (30, 30, 110), (60, 30, 10), (0, 0, 0),
        ])) if rng.random() < 0.97 else (200, 30, 30)
    return tuple(int(c) for c in rng.choice([(245, 245, 245), (250, 240, 120), (230, 230, 230), (255, 210, 60)]))


# ---------------------------------------------------------------- plate rendering

def _draw_text_fit(draw, fonts, path, text, box, fill, rng, spacing_frac=0.0, stroke=0):
    """Draws text scaled to fit `box` (x0, y0, x1, y1); returns the drawn bbox."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    size = int(np.clip(bh * 1.25, 6, 400))
    for _ in range(12):
        font = fonts.get(path, size)
        widths = [draw.textlength(ch, font=font) for ch in text]
        gap = spacing_frac * size
        tw = sum(widths) + gap * (len(text) - 1)
        asc, desc = font.getmetrics()
        th = font.getbbox("A0")[3] - font.getbbox("A0")[1]
        if tw <= bw and th <= bh:
            break
        size = int(np.clip(size * min(bw / max(tw, 1), bh / max(th, 1)) * 0.98, 6, 400))
    font = fonts.get(path, size)
    widths = [draw.textlength(ch, font=font) for ch in text]
    gap = spacing_frac * size
    tw = sum(widths) + gap * (len(text) - 1)
    top_off = font.getbbox("A0")[1]
    th = font.getbbox("A0")[3] - top_off
    x = x0 + (bw - tw) / 2
    y = y0 + (bh - th) / 2 - top_off
    for ch, cw in zip(text, widths):
        draw.text((x, y), ch, font=font, fill=fill, stroke_width=stroke, stroke_fill=fill)
        x += cw + gap
    return (x0 + (bw - tw) / 2, y0 + (bh - th) / 2, x0 + (bw + tw) / 2, y0 + (bh + th) / 2)


def _emblem(draw, rng, cx, cy, r, fill):
    kind = rng.integers(4)
    if kind == 0:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif kind == 1:
        pts = []
        for i in range(10):
            a = np.pi / 2 + i * np.pi / 5
            rr = r if i % 2 == 0 else r * 0.45
            pts.append((cx + rr * np.cos(a), cy - rr * np.sin(a)))
        draw.polygon(pts, fill=fill)
    elif kind == 2:
        draw.polygon([(cx, cy + r), (cx - r, cy - r * 0.2), (cx - r * 0.5, cy - r), (cx, cy - r * 0.5),
                      (cx + r * 0.5, cy - r), (cx + r, cy - r * 0.2)], fill=fill)
    else:
        draw.rectangle((cx - r * 0.9, cy - r * 0.3, cx + r * 0.9, cy + r * 0.3), fill=fill)


def render_us_plate(rng, fonts, text, state=None, slogan=None):
    """A US plate image (RGB uint8, 160x320 plus random aspect variation).

    `state` and `slogan` force the printed state name and slogan ('' prints none); left
    `None`, both are random (the random stream is then the same as before they existed, so
    the text recognizer's synthetic shards are reproduced exactly)."""
    h, w = 160, int(320 * rng.uniform(0.95, 1.08))
    light = rng.random() < 0.85
    bg = _background(rng, w, h, light)
    img = Image.fromarray(bg)
    draw = ImageDraw.Draw(img)
    fg = _text_colour(rng, light)
    # Border and bolts.
    if rng.random() < 0.7:
        bc = fg if rng.random() < 0.6 else _text_colour(rng, light)
        t = int(rng.integers(2, 7))
        draw.rounded_rectangle((t, t, w - t, h - t), radius=int(rng.integers(4, 16)), outline=bc, width=t)
    # State name at the top, slogan at the bottom.
    top_h = rng.uniform(0.14, 0.24) * h
    if (rng.random() < 0.9 or state) and state != "":
        drawn = str(rng.choice(STATES))
        state = drawn if state is None else state
        sc = _text_colour(rng, light) if rng.random() < 0.5 else (170, 20, 20) if light else (250, 250, 250)
        tw = rng.uniform(0.4, 0.85) * w
        _draw_text_fit(draw, fonts, str(rng.choice(fonts.script)), state,
                       ((w - tw) / 2, 0.06 * h, (w + tw) / 2, 0.06 * h + top_h), sc, rng,
                       spacing_frac=rng.uniform(0, 0.15))
    if (rng.random() < 0.75 or slogan) and slogan != "":
        drawn = str(rng.choice(SLOGANS))
        slogan = drawn if slogan is None else slogan
        sc = _text_colour(rng, light)
        tw = rng.uniform(0.35, 0.8) * w
        sh = rng.uniform(0.08, 0.14) * h
        _draw_text_fit(draw, fonts, str(rng.choice(fonts.script)), slogan,
                       ((w - tw) / 2, 0.93 * h - sh, (w + tw) / 2, 0.93 * h), sc, rng)
    # Stickers in the corners (month / year tabs) with small digits.
    for corner in range(rng.integers(0, 3)):
        sw, sh = rng.integers(28, 55), rng.integers(20, 34)
        sx = 10 if corner == 0 else w - 10 - sw
        sy = 10 if rng.random() < 0.7 else h - 10 - sh
        scol = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle((sx, sy, sx + sw, sy + sh), fill=scol)
        if rng.random() < 0.6:
            _draw_text_fit(draw, fonts, fonts.plate[0], str(rng.integers(10, 30)),
                           (sx + 3, sy + 3, sx + sw - 3, sy + sh - 3), (0, 0, 0), rng)
    # Left-side emblem panel on some plates (AK/NM style graphics).
    left = 0.06 * w
    if rng.random() < 0.15:
        pw = rng.uniform(0.12, 0.2) * w
        draw.rectangle((8, 0.25 * h, 8 + pw, 0.85 * h), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        left = 10 + pw
    # The characters.
    char_h = rng.uniform(0.42, 0.6) * h
    cy = rng.uniform(0.5, 0.58) * h
    path = str(rng.choice(fonts.plate))
    box = (left, cy - char_h / 2, w - 0.06 * w, cy + char_h / 2)
    display = text
    n = len(text)
    # A separator (space, dash, emblem) in the middle of many plates.
    sep = rng.random()
    if n >= 5 and sep < 0.45:
        k = n // 2 + int(rng.integers(-1, 2)) if n > 5 else n // 2
        k = int(np.clip(k, 1, n - 1))
        if sep < 0.2:
            display = text[:k] + " " + text[k:]
        elif sep < 0.3:
            display = text[:k] + "-" + text[k:]
        else:
            display = text[:k] + "  " + text[k:]
            # The emblem goes in the gap after the text is drawn.
    spacing = rng.uniform(-0.02, 0.12)
    max_w = box[2] - box[0]
    if n <= 4:  # Short vanity plates are drawn large but not stretched across the plate.
        max_w *= rng.uniform(0.5, 0.8)
        box = ((w - max_w) / 2, box[1], (w + max_w) / 2, box[3])
    bx = _draw_text_fit(draw, fonts, path, display, box, fg, rng, spacing_frac=spacing,
                        stroke=int(rng.random() < 0.3))
    if "  " in display:
        frac = (display.index("  ") + 1) / len(display)
        ex = bx[0] + frac * (bx[2] - bx[0])
        _emblem(draw, rng, ex, cy, char_h * 0.22, _text_colour(rng, light))
    # Bolt holes.
    if rng.random() < 0.5:
        for bx_ in (0.25 * w, 0.75 * w):
            for by_ in ([0.12 * h] if rng.random() < 0.6 else [0.12 * h, 0.88 * h]):
                r = rng.uniform(3, 6)
                draw.ellipse((bx_ - r, by_ - r, bx_ + r, by_ + r), fill=(90, 90, 90))
    return np.asarray(img)


def render_eu_plate(rng, fonts, text):
    """An EU plate (RGB uint8, ~110x520) with the blue country band on most."""
    h, w = 110, int(520 * rng.uniform(0.85, 1.05))
    yellow = rng.random() < 0.25
    bgc = (250, 205, 30) if yellow else (245, 245, 245)
    bgc = tuple(int(np.clip(c + rng.integers(-20, 8), 0, 255)) for c in bgc)
    img = Image.new("RGB", (w, h), bgc)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((2, 2, w - 3, h - 3), radius=8, outline=(20, 20, 20), width=int(rng.integers(2, 6)))
    left = 0.05 * w
    if rng.random() < 0.8:
        bw = 0.085 * w
        draw.rectangle((4, 4, 4 + bw, h - 5), fill=(20, 50, 160))
        _draw_text_fit(draw, fonts, fonts.plate[0], str(rng.choice(EU_COUNTRIES)),
                       (6, 0.6 * h, 2 + bw, 0.92 * h), (240, 240, 240), rng)
        for i in range(12):
            a = i * np.pi / 6
            cx, cy, r = 4 + bw / 2 + 0.22 * bw * np.cos(a), 0.3 * h + 0.22 * bw * np.sin(a), 1.5
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(250, 220, 0))
        left = bw + 0.03 * w
    display = text
    if len(text) >= 5 and rng.random() < 0.6:
        k = int(np.clip(len(text) // 2 + rng.integers(-1, 2), 1, len(text) - 1))
        display = text[:k] + rng.choice([" ", "-", " "]) + text[k:]
    path = str(rng.choice(fonts.plate))
    _draw_text_fit(draw, fonts, path, display, (left, 0.14 * h, w - 0.04 * w, 0.86 * h), (15, 15, 15), rng,
                   spacing_frac=rng.uniform(0, 0.08))
    return np.asarray(img)


# ---------------------------------------------------------------- negatives

def render_negative(rng, fonts, photos=None):
    """A crop that is not a plate: text on a car body, a date stamp, a texture, a photo patch."""
    kind = rng.random()
    if photos and kind < 0.45:
        return None  # the caller takes a random photo patch instead
    h, w = int(rng.integers(60, 170)), int(rng.integers(160, 420))
    light = rng.random() < 0.6
    img = Image.fromarray(_background(rng, w, h, light))
    draw = ImageDraw.Draw(img)
    if kind < 0.75:
        words = [
            lambda: str(rng.choice(["METRO", "DEALER", "FORD", "TOYOTA", "HONDA", "Chevrolet", "AUTO SALES",
                                    "PLUMBING", "EXPRESS", "SERVICE", "TAXI", "POLICE", "RENTAL", "CARS"])),
            lambda: f"{rng.integers(200, 999)}-{rng.integers(1000, 9999)}",
            lambda: f"({rng.integers(200, 999)}) {rng.integers(100, 999)}-{rng.integers(1000, 9999)}",
            lambda: f"20{rng.integers(10, 27)}/{rng.integers(1, 13):02d}/{rng.integers(1, 29):02d} {rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}",
            lambda: str(rng.choice(["www.autos.com", "SALES & SERVICE", "4x4", "HYBRID", "V6"])),
        ]
        t = words[rng.integers(len(words))]()
        _draw_text_fit(draw, fonts, str(rng.choice(fonts.plate + fonts.script)), t,
                       (0.05 * w, 0.2 * h, 0.95 * w, 0.8 * h), _text_colour(rng, light), rng)
    else:
        for _ in range(rng.integers(3, 12)):
            x0, y0 = rng.integers(0, w), rng.integers(0, h)
            draw.line((x0, y0, x0 + rng.integers(-w, w), y0 + rng.integers(-10, 10)),
                      fill=tuple(int(c) for c in rng.integers(0, 256, 3)), width=int(rng.integers(1, 8)))
    return np.asarray(img)


# ---------------------------------------------------------------- capture simulation

def to_ocr_input(rgb_quad_crop: np.ndarray) -> np.ndarray:
    """RGB crop -> the recognizer's input: gray, OCR_H x OCR_W, uint8."""
    gray = cv2.cvtColor(rgb_quad_crop, cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, (OCR_W, OCR_H), interpolation=cv2.INTER_AREA)


def degrade(rng, plate: np.ndarray, out_h=None, out_w=None, margin=(0.02, 0.18)) -> np.ndarray:
    """Places a plate image on a surround, warps it in perspective, crops a loose quad around
    it (as the detector would), and simulates distance, focus, motion, noise and compression.
    Returns a gray OCR_H x OCR_W uint8 image."""
    out_h, out_w = out_h or OCR_H, out_w or OCR_W
    ph, pw = plate.shape[:2]
    pad = int(0.6 * ph)
    surround_col = tuple(int(c) for c in rng.integers(0, 256, 3))
    canvas = np.empty((ph + 2 * pad, pw + 2 * pad, 3), np.uint8)
    canvas[:] = surround_col
    if rng.random() < 0.5:  # a plate holder/frame around the plate
        fc = tuple(int(c) for c in rng.integers(0, 256, 3))
        t = int(rng.uniform(0.04, 0.15) * ph)
        cv2.rectangle(canvas, (pad - t, pad - t), (pad + pw + t, pad + ph + t), fc, -1)
    canvas[pad:pad + ph, pad:pad + pw] = plate
    # Perspective: jitter the plate corners.
    src = np.float32([[pad, pad], [pad + pw, pad], [pad + pw, pad + ph], [pad, pad + ph]])
    sk = rng.uniform(-0.08, 0.08) * ph
    rot = rng.normal(0, 3.5) * np.pi / 180
    persp = rng.uniform(-0.08, 0.08)
    c = src.mean(axis=0)
    dst = src - c
    dst[:, 0] += sk * np.sign(dst[:, 1])
    dst[:, 1] *= 1 + persp * np.sign(dst[:, 0])
    R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]], np.float32)
    dst = dst @ R.T + c
    M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(canvas, M, (canvas.shape[1], canvas.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    # The detector's quad: the plate's corners, expanded and jittered.
    mx = rng.uniform(*margin) * pw
    my = rng.uniform(*margin) * ph * 1.3
    quad = dst.copy()
    quad[[0, 3], 0] -= mx * rng.uniform(0.5, 1.5)
    quad[[1, 2], 0] += mx * rng.uniform(0.5, 1.5)
    quad[[0, 1], 1] -= my * rng.uniform(0.5, 1.5)
    quad[[2, 3], 1] += my * rng.uniform(0.5, 1.5)
    quad += rng.normal(0, 0.025 * ph, quad.shape)
    return capture(rng, warped, quad, out_h, out_w)


def capture(rng, image: np.ndarray, quad: np.ndarray, out_h=None, out_w=None) -> np.ndarray:
    """Simulates the camera (resolution, blur, noise, light) on `image`, then rectifies `quad`
    to the recognizer's input size the way the runtime does."""
    out_h, out_w = out_h or OCR_H, out_w or OCR_W
    quad = np.asarray(quad, np.float32)
    # Distance: the plate's height in the camera image, 14-90 px (most real reads are 25-60).
    plate_h = np.linalg.norm(quad[3] - quad[0])
    target = float(np.clip(rng.lognormal(np.log(40), 0.4), 16, 110))
    scale = min(1.0, target / max(plate_h, 1))
    img = image
    if scale < 1.0:
        img = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        quad = quad * scale
    img = img.astype(np.float32)
    # Lighting: contrast, brightness, colour cast, glare gradient, night/IR.
    if rng.random() < 0.15:  # IR: near-monochrome, bright retroreflective plate
        g = img.mean(axis=2, keepdims=True)
        img = np.repeat(g, 3, axis=2) * rng.uniform(0.8, 1.3)
    img = img * rng.uniform(0.5, 1.3) + rng.uniform(-50, 40)
    img = img * rng.uniform(0.85, 1.15, 3)
    if rng.random() < 0.25:
        hh, ww = img.shape[:2]
        gx = np.linspace(rng.uniform(-60, 0), rng.uniform(0, 90), ww, dtype=np.float32)
        img = img + (gx[None, :, None] if rng.random() < 0.5 else np.linspace(0, rng.uniform(-60, 80), hh, dtype=np.float32)[:, None, None])
    if rng.random() < 0.2:  # shadow across part of the plate
        hh, ww = img.shape[:2]
        x = int(rng.integers(0, ww))
        img[:, x:] *= rng.uniform(0.4, 0.8)
    img = np.clip(img, 0, 255).astype(np.uint8)
    # Focus and motion.
    r = rng.random()
    if r < 0.3:
        k = rng.uniform(0.3, 1.0)
        img = cv2.GaussianBlur(img, (0, 0), k)
    elif r < 0.45:
        k = int(rng.integers(2, 4))
        kern = np.zeros((k, k), np.float32)
        if rng.random() < 0.5:
            kern[k // 2, :] = 1.0 / k
        else:
            kern[:, k // 2] = 1.0 / k
        img = cv2.filter2D(img, -1, kern)
    # Sensor noise and compression.
    if rng.random() < 0.6:
        img = np.clip(img.astype(np.float32) + rng.normal(0, rng.uniform(1, 10), img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        if ok:
            img = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    return rectify(img, quad, out_h, out_w)


def photometric(rng, img, ir=0.12, gain=(0.55, 1.3), offset=(-45, 35), cast=0.15, shadow=0.0,
                blur=(0.3, 1.2), motion_max=4, noise_max=9, jpeg_share=0.6, jpeg_min=20):
    """Light, focus, noise and compression, as a dash camera sees plates (RGB uint8 in and
    out). The defaults are `finetune_slots.py`'s; `train_state.py` passes its own. `shadow`:
    the share of images with a shadow across part of them (0 draws nothing, so callers
    without shadows keep their random stream)."""
    x = img.astype(np.float32)
    if rng.random() < ir:  # IR: near-monochrome
        x = np.repeat(x.mean(axis=2, keepdims=True), 3, axis=2)
    x = x * rng.uniform(*gain) + rng.uniform(*offset)
    x = x * rng.uniform(1 - cast, 1 + cast, 3)
    if shadow and rng.random() < shadow:
        col = int(rng.integers(0, x.shape[1]))
        x[:, col:] *= rng.uniform(0.5, 0.85)
    x = np.clip(x, 0, 255).astype(np.uint8)
    r = rng.random()
    if r < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(*blur))
    elif r < 0.45:
        k = int(rng.integers(2, motion_max + 1))
        kern = np.zeros((k, k), np.float32)
        kern[k // 2, :] = 1.0 / k
        x = cv2.filter2D(x, -1, kern)
    if rng.random() < 0.5:
        x = np.clip(x.astype(np.float32) + rng.normal(0, rng.uniform(1, noise_max), x.shape), 0, 255).astype(np.uint8)
    if rng.random() < jpeg_share:
        ok, enc = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(jpeg_min, 90))])
        if ok:
            x = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    return x


def rectify(img: np.ndarray, quad: np.ndarray, out_h=None, out_w=None) -> np.ndarray:
    """Bilinear perspective warp of `quad` (tl, tr, br, bl) to out_h x out_w gray, matching the
    Rust runtime (`recognize::geometry`)."""
    out_h, out_w = out_h or OCR_H, out_w or OCR_W
    dst = np.float32([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]])
    M = cv2.getPerspectiveTransform(np.asarray(quad, np.float32), dst)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return cv2.warpPerspective(img, M, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def synth_sample(rng, fonts):
    """One synthetic (image, label) pair; label '' for a negative."""
    r = rng.random()
    if r < 0.08:
        neg = render_negative(rng, fonts)
        h, w = neg.shape[:2]
        quad = np.float32([[0, 0], [w, 0], [w, h], [0, h]]) + rng.normal(0, 3, (4, 2))
        return capture(rng, neg, quad), ""
    eu = r < 0.25
    text = random_plate_text(rng, eu=eu)
    plate = render_eu_plate(rng, fonts, text) if eu else render_us_plate(rng, fonts, text)
    return degrade(rng, plate), text


if __name__ == "__main__":
    import sys
    rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    fonts = Fonts()
    tiles = []
    for i in range(40):
        img, t = synth_sample(rng, fonts)
        tiles.append(img)
        print(i, t)
    grid = np.vstack([np.hstack(tiles[i:i + 5]) for i in range(0, 40, 5)])
    cv2.imwrite("/tmp/synth_grid.png", grid)
