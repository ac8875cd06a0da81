"""Builds `us-composite-pairs`: us-composite-val's frames with a second plate in each.

Why: the photo search first looks at a small copy of the frame and runs the full-size search
only when that read no plate (`coarse_accept`); every other validation set holds one plate a
photo, so none can show what that costs, which is a second, farther plate never searched for
when a near one was read. Here each frame of us-composite-val gets the plate of another
frame (with some of its surroundings, feathered in so the seam is no edge) pasted where it
overlaps neither the frame's own plate nor the frame's border. Pairs and places are drawn
from a fixed seed, so the set is the same on every machine:

    python training/make_photo_val.py --out training/out/us-composite-val
    python training/make_pair_val.py --src training/out/us-composite-val --out training/out/us-composite-pairs

It is for choosing when the photo pipeline searches again, not for reading: the text of both
plates is scored as in any benchmark folder (`patrol-alpr bench DIR`). Its output is derived
from AGPL evaluation photos and goes to `training/out/` (git-ignored), never into the
repository.
"""
from __future__ import annotations

import argparse
import glob
import os

import cv2
import numpy as np

# Surroundings pasted with the plate, in plate widths (sideways) and heights (up and down).
CONTEXT_W = 0.5
CONTEXT_H = 1.0


def read_truth(path):
    """(image file, (x, y, w, h), text) of a one-plate truth file."""
    fields = open(path).read().splitlines()[0].split("\t")
    return fields[0], tuple(int(float(v)) for v in fields[1:5]), fields[5]


def patch_of(img, box):
    """The plate in `box` with its surroundings, and the plate's box inside the patch."""
    x, y, w, h = box
    x0, y0 = max(0, int(x - CONTEXT_W * w)), max(0, int(y - CONTEXT_H * h))
    x1, y1 = min(img.shape[1], int(x + w + CONTEXT_W * w)), min(img.shape[0], int(y + h + CONTEXT_H * h))
    return img[y0:y1, x0:x1], (x - x0, y - y0, w, h)


def overlaps(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def feathered(h, w):
    """An alpha mask that fades out over the outer eighth of the patch."""
    ramp = lambda n: np.clip(np.minimum(np.arange(n) + 1, n - np.arange(n)) / max(1.0, n / 8), 0, 1)
    return np.outer(ramp(h), ramp(w))[..., None]


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=os.path.join(here, "out/us-composite-val"))
    ap.add_argument("--out", default=os.path.join(here, "out/us-composite-pairs"))
    ap.add_argument("--seed", type=int, default=20261204)
    args = ap.parse_args()

    truths = sorted(glob.glob(os.path.join(args.src, "*.txt")))
    if len(truths) < 2:
        raise SystemExit(f"no frames to pair in {args.src}: run training/make_photo_val.py first")
    os.makedirs(args.out, exist_ok=True)
    made = 0
    for i, truth in enumerate(truths):
        rng = np.random.default_rng([args.seed, i])
        name, box, text = read_truth(truth)
        other = truths[(i + 1 + int(rng.integers(len(truths) - 1))) % len(truths)]
        other_name, other_box, other_text = read_truth(other)
        img = cv2.imread(os.path.join(args.src, name), cv2.IMREAD_COLOR)
        donor = cv2.imread(os.path.join(args.src, other_name), cv2.IMREAD_COLOR)
        if img is None or donor is None:
            print(f"skipped {name}: a frame cannot be read")
            continue
        patch, (px, py, pw, ph) = patch_of(donor, other_box)
        h, w = patch.shape[:2]
        keep_clear = (box[0] - box[2] // 2, box[1] - box[3], box[2] * 2, box[3] * 3)
        spot = None
        for _ in range(200):
            x, y = int(rng.integers(0, img.shape[1] - w + 1)), int(rng.integers(0, img.shape[0] - h + 1))
            if not overlaps((x + px, y + py, pw, ph), keep_clear) and not overlaps((x, y, w, h), box):
                spot = (x, y)
                break
        if spot is None:
            print(f"skipped {name}: no room for a second plate")
            continue
        x, y = spot
        alpha = feathered(h, w)
        region = img[y:y + h, x:x + w].astype(np.float32)
        img[y:y + h, x:x + w] = (alpha * patch + (1 - alpha) * region).round().astype(np.uint8)
        stem = os.path.splitext(name)[0]
        out = f"{stem}-pair"
        cv2.imwrite(os.path.join(args.out, out + ".jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        with open(os.path.join(args.out, out + ".txt"), "w") as f:
            f.write(f"{out}.jpg\t{box[0]}\t{box[1]}\t{box[2]}\t{box[3]}\t{text}\n")
            f.write(f"{out}.jpg\t{x + px}\t{y + py}\t{pw}\t{ph}\t{other_text}\n")
        made += 1
    print(f"wrote {made} frames to {args.out}")


if __name__ == "__main__":
    main()
