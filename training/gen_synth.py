"""Writes shards of synthetic training samples: training/out/synth_SEED.npz (images, labels).

Usage: python training/gen_synth.py --seeds 0-9 --per-shard 10000 [--height 64]
"""
import argparse
import os

import numpy as np

import synth
from synth import Fonts, synth_sample


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--per-shard", type=int, default=10000)
    ap.add_argument("--out", default=None, help="default: training/out (training/out/h64 for --height 64)")
    ap.add_argument("--height", type=int, default=32, help="crop height: 32 (shipped reader) or 64")
    a = ap.parse_args()
    synth.set_ocr_size(a.height)
    if a.out is None:
        a.out = os.path.join(os.path.dirname(__file__), "out", *([] if a.height == 32 else [f"h{a.height}"]))
    lo, hi = (int(x) for x in a.seeds.split("-"))
    os.makedirs(a.out, exist_ok=True)
    fonts = Fonts()
    for seed in range(lo, hi + 1):
        path = os.path.join(a.out, f"synth_{seed}.npz")
        if os.path.exists(path):
            continue
        rng = np.random.default_rng(1000 + seed)
        imgs, labels = [], []
        while len(imgs) < a.per_shard:
            try:
                img, text = synth_sample(rng, fonts)
            except (ValueError, OSError) as err:  # a rare unrenderable layout: draw another
                print("skipped a sample:", err, flush=True)
                continue
            imgs.append(img)
            labels.append(text)
        np.savez(path + ".tmp.npz", images=np.stack(imgs), labels=np.array(labels))
        os.replace(path + ".tmp.npz", path)
        print("wrote", path, flush=True)


if __name__ == "__main__":
    main()
