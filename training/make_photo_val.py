"""Builds `us-composite-val`: a fixed, seeded validation set of US plates in real road photos.

Why: the choices left in the photo pipeline (the detector's sizes, when the full-size search
runs, how its reads are merged) are about finding and framing US plates in whole photos, and
the project's two validation sets cannot tell them apart: crops-val has no photos, and eu-val's
photos are small with long EU plates. us-dev may not choose anything. So this script paints a
rendered US plate (`synth.render_us_plate`: state styles, serial formats, vanity) over the EU
plate of each EU benchmark photo, in perspective and in the photo's light, then places the
photo in a 1280x720 frame at a random scale (plates 60-260 px wide, as a dash camera sees
them at 3-15 m) and runs a camera's light, noise and JPEG over the whole frame. The result is
written as a benchmark folder (`NAME.jpg` + `NAME.txt`: file, box x y w h, text), which
`patrol-alpr bench DIR` reads like any other.

The photos are read in place from `../shared/data` (AGPL evaluation data) and the output goes
to `training/out/` (git-ignored): never into the repository. Everything is driven by the seed,
so the set is the same on every machine:

    python training/make_photo_val.py --out training/out/us-composite-val

Its limits: the readers were trained on plates from the same renderer (their text reads will
be easier than real plates'; the set is for finding and framing, not for comparing readers),
and the frame around a small photo is the photo's edge pixels stretched out.
"""
from __future__ import annotations

import argparse
import glob
import os

import cv2
import numpy as np

import synth


def plate_quad(rng, box, plate_aspect):
    """A quad (tl, tr, br, bl) that covers the EU plate in `box` (x, y, w, h) with a US plate
    of `plate_aspect` (h / w), a little rotated and turned."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    qw = w * rng.uniform(1.08, 1.2)
    qh = qw * plate_aspect
    half = np.float32([[-qw / 2, -qh / 2], [qw / 2, -qh / 2], [qw / 2, qh / 2], [-qw / 2, qh / 2]])
    # A turned plate: one side shorter than the other (keystone), then a small roll.
    k = rng.uniform(-0.08, 0.08)
    half[1, 1] *= 1 - k
    half[2, 1] *= 1 - k
    half[0, 1] *= 1 + k
    half[3, 1] *= 1 + k
    a = np.deg2rad(rng.uniform(-4, 4))
    rot = np.float32([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return half @ rot.T + np.float32([cx, cy])


def paint_plate(rng, img, plate, quad):
    """Warps `plate` onto `quad` in `img` (both RGB uint8), in the light of the region it
    covers; returns the new image."""
    ph, pw = plate.shape[:2]
    qw = float(np.linalg.norm(quad[1] - quad[0]))
    # Shrink first with area averaging, so a small plate is not aliased by the warp.
    if qw < pw:
        f = qw / pw
        plate = cv2.resize(plate, (max(8, round(pw * f)), max(4, round(ph * f))), interpolation=cv2.INTER_AREA)
        ph, pw = plate.shape[:2]
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    M = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    H, W = img.shape[:2]
    warped = cv2.warpPerspective(plate, M, (W, H), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), M, (W, H), flags=cv2.INTER_LINEAR)
    mask = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32)[..., None] / 255.0
    # The light on the plate: the covered region's brightness against a lit plate's.
    region = mask[..., 0] > 0.5
    if region.any():
        local = float(img[region].mean())
        gain = float(np.clip(local / 150.0, 0.45, 1.15)) * rng.uniform(0.9, 1.1)
        warped = np.clip(warped.astype(np.float32) * gain, 0, 255)
    out = img.astype(np.float32) * (1 - mask) + warped.astype(np.float32) * mask
    return np.clip(out, 0, 255).astype(np.uint8)


def frame(rng, img, quad, width, height):
    """Places `img` in a `width` x `height` frame so the plate is 60-260 px wide at a random
    place in the lower two thirds; returns the frame and the quad in its coordinates."""
    qw = float(np.linalg.norm(quad[1] - quad[0]))
    target = float(np.exp(rng.uniform(np.log(60), np.log(260))))
    s = target / qw
    c = quad.mean(axis=0) * s
    px, py = rng.uniform(0.15, 0.85) * width, rng.uniform(0.35, 0.85) * height
    A = np.float32([[s, 0, px - c[0]], [0, s, py - c[1]]])
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    out = cv2.warpAffine(img, A, (width, height), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return out, quad * s + np.float32([px - c[0], py - c[1]])


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=os.path.join(here, "../../shared/data/openalpr-benchmarks/endtoend/eu"))
    ap.add_argument("--out", default=os.path.join(here, "out/us-composite-val"))
    ap.add_argument("--variants", type=int, default=2, help="frames made from each photo")
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    fonts = synth.Fonts()
    truths = sorted(glob.glob(os.path.join(args.src, "*.txt")))
    if not truths:
        raise SystemExit(f"no truth files in {args.src}")
    made = 0
    for i, truth in enumerate(truths):
        fields = open(truth).read().splitlines()[0].split("\t")
        box = tuple(float(v) for v in fields[1:5])
        photo = cv2.imread(os.path.join(args.src, fields[0]), cv2.IMREAD_COLOR)
        if photo is None:
            print(f"skipped {fields[0]}: cannot be read")
            continue
        photo = cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)
        stem = os.path.splitext(fields[0])[0]
        for v in range(args.variants):
            rng = np.random.default_rng([args.seed, i, v])
            text = synth.random_plate_text(rng)
            plate = synth.render_us_plate(rng, fonts, text)
            quad = plate_quad(rng, box, plate.shape[0] / plate.shape[1])
            painted = paint_plate(rng, photo, plate, quad)
            img, q = frame(rng, painted, quad, args.width, args.height)
            img = synth.photometric(rng, img, ir=0.08, gain=(0.7, 1.15), offset=(-30, 20), cast=0.08,
                                    blur=(0.3, 0.9), motion_max=3, noise_max=6, jpeg_share=1.0, jpeg_min=45)
            x0, y0 = np.floor(q.min(axis=0)).astype(int)
            x1, y1 = np.ceil(q.max(axis=0)).astype(int)
            name = f"{stem}-us{v}"
            cv2.imwrite(os.path.join(args.out, name + ".jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 92])
            with open(os.path.join(args.out, name + ".txt"), "w") as f:
                f.write(f"{name}.jpg\t{x0}\t{y0}\t{x1 - x0}\t{y1 - y0}\t{text}\n")
            made += 1
    print(f"wrote {made} frames to {args.out}")


if __name__ == "__main__":
    main()
