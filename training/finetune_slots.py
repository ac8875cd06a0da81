"""Fine-tunes the slot reader (fast-plate-ocr's CCT-XS, MIT) on the project's plates and exports
it as models/plate_slots.onnx, with the same input and output as the original.

The original network (`models/third_party/cct_xs_v1_global.onnx`) is converted to
PyTorch by onnx2torch (outputs match onnxruntime to 1e-6), its weights made trainable, and
trained on:
- synthetic plates from synth.py (US state styles and serial formats, vanity, EU), warped,
  scaled down to 16-60 px of plate height, blurred, noised and JPEG-compressed, in colour;
- the 80% training share of the US crops (`seg_and_ocr`) and half of the EU photos, read in
  place from ../shared/data (never copied), split by file-name hash as train.py splits them.
Checkpoints are chosen on the other 20% of the crops and the other half of the EU photos
(crops-val + eu-val, the sets `patrol-alpr bench --held-out-of` measures); us-dev is never
looked at here.

The run saves a resumable checkpoint (weights, optimizer, step, best score) every few minutes
and, whenever the validation score beats the best so far (the original's score is the first
bar to beat), the best weights (CHECKPOINT.best) and the ONNX file (export_slots.write_back:
the upstream graph with its weights replaced). Run it again with the same --checkpoint to go on.

Usage (from the repository root; CPU is enough):
  python3 -m venv /opt/trainenv && /opt/trainenv/bin/pip install torch onnx onnx2torch onnxruntime \
      numpy pillow opencv-python-headless
  apt-get install -y fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-croscore fonts-open-sans
  /opt/trainenv/bin/python training/finetune_slots.py --minutes 60 --threads 1
"""
from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np
import torch
from torch import nn

from export_slots import BASE, OUT, load_base, write_back
from synth import Fonts, photometric, random_plate_text, render_eu_plate, render_us_plate
from train import box_quad, load_crops, load_photos

HERE = os.path.dirname(os.path.abspath(__file__))
SLOT_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
SLOTS, H, W = 9, 64, 128


def warp(img, quad):
    dst = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    m = cv2.getPerspectiveTransform(np.asarray(quad, np.float32), dst)
    return cv2.warpPerspective(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def quad_of(w, h, mx, my):
    return np.float32([[-mx * w, -my * h], [w + mx * w, -my * h], [w + mx * w, h + my * h], [-mx * w, h + my * h]])


def jitter(rng, quad, scale):
    return quad + rng.normal(0, 0.02 * scale, quad.shape).astype(np.float32)


def synthetic(rng, fonts):
    eu = rng.random() < 0.15
    text = random_plate_text(rng, eu=eu)
    plate = render_eu_plate(rng, fonts, text) if eu else render_us_plate(rng, fonts, text)
    h, w = plate.shape[:2]
    # Distance: the plate 16-60 px tall in the camera image, then warped up to the input.
    target = float(np.clip(rng.lognormal(np.log(34), 0.35), 16, 60))
    small = cv2.resize(plate, (max(8, int(w * target / h)), int(target)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    pad = int(sh)
    canvas = np.empty((sh + 2 * pad, sw + 2 * pad, 3), np.uint8)
    canvas[:] = rng.integers(0, 256, 3)
    canvas[pad:pad + sh, pad:pad + sw] = small
    quad = quad_of(sw, sh, rng.uniform(0.0, 0.12), rng.uniform(0.0, 0.2)) + pad
    angle = rng.normal(0, 3) * np.pi / 180
    c = quad.mean(axis=0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    quad = (quad - c) @ rot.T + c
    return photometric(rng, warp(canvas, jitter(rng, quad, sh))), text


def real_crop(rng, crops):
    img, text = crops[rng.integers(len(crops))]
    h, w = img.shape[:2]
    quad = jitter(rng, quad_of(w, h, rng.uniform(-0.03, 0.08), rng.uniform(-0.05, 0.15)), h)
    return photometric(rng, warp(img, quad)), text


def eu_photo(rng, photos):
    img, box, text = photos[rng.integers(len(photos))]
    quad = jitter(rng, box_quad(box, rng.uniform(0.0, 0.12), rng.uniform(0.0, 0.2)), box[3])
    return photometric(rng, warp(img, quad)), text


def encode(text):
    padded = (text + "_" * SLOTS)[:SLOTS]
    return [SLOT_ALPHABET.index(c) for c in padded]


def batch(rng, fonts, crops, eu, n):
    imgs, labels = [], []
    while len(imgs) < n:
        r = rng.random()
        try:
            img, text = real_crop(rng, crops) if r < 0.35 else eu_photo(rng, eu) if r < 0.45 else synthetic(rng, fonts)
        except (ValueError, OSError):  # a rare unrenderable synthetic layout: draw another
            continue
        if 0 < len(text) <= SLOTS:
            imgs.append(img)
            labels.append(encode(text))
    return torch.from_numpy(np.stack(imgs)), torch.tensor(labels, dtype=torch.long)


def read(model, imgs):
    with torch.no_grad():
        probs = model(torch.from_numpy(np.stack(imgs)))
    return ["".join(SLOT_ALPHABET[k] for k in row).replace("_", "") for row in probs.argmax(-1).tolist()]


def val_sets(crops_val, eu_val):
    crops = [warp(img, quad_of(img.shape[1], img.shape[0], 0.0, 0.0)) for img, _ in crops_val]
    eu = [warp(img, box_quad(box, 0.05, 0.10)) for img, box, _ in eu_val]
    return {"crops_val": (crops, [t for _, t in crops_val]), "eu_val": (eu, [t for _, _, t in eu_val])}


def evaluate(model, sets):
    model.eval()
    res = {}
    for name, (imgs, labels) in sets.items():
        texts = []
        for i in range(0, len(imgs), 64):
            texts += read(model, imgs[i:i + 64])
        res[name] = sum(t == l for t, l in zip(texts, labels)) / max(1, len(labels))
    model.train()
    return res


def score(res):
    return res["crops_val"] + res["eu_val"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--eval-every", type=int, default=150)
    ap.add_argument("--save-minutes", type=float, default=5)
    ap.add_argument("--base", default=BASE)
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "checkpoints", "plate_slots.pt"))
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--cosine", action="store_true",
                    help="decay the rate to 0 over the run (cosine, 50 steps of warm-up) instead of keeping it")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)

    crops = load_crops()
    eu = load_photos("eu", 0.5)
    sets = val_sets(crops["val"], eu["val"])
    fonts = Fonts()
    model = load_base(a.base)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=a.lr, weight_decay=1e-4)
    step, best = 0, score(evaluate(model, sets))
    print("base", evaluate(model, sets), flush=True)
    if os.path.exists(a.checkpoint):
        ck = torch.load(a.checkpoint)
        model.load_state_dict(ck["model"])
        if "opt" in ck:  # the committed checkpoint keeps the weights only (smaller)
            opt.load_state_dict(ck["opt"])
        step, best = ck["step"], ck["best"]
        rng = np.random.default_rng(a.seed + step)
        print(f"resumed at step {step}, best {best:.3f}", evaluate(model, sets), flush=True)
    os.makedirs(os.path.dirname(a.checkpoint), exist_ok=True)
    nll = nn.NLLLoss()
    start = last_save = time.time()
    losses = []
    model.train()
    first_step = step
    while time.time() - start < a.minutes * 60:
        if a.cosine:
            frac = (time.time() - start) / (a.minutes * 60)
            warm = min(1.0, (step - first_step + 1) / 50)
            for g in opt.param_groups:
                g["lr"] = a.lr * warm * 0.5 * (1 + np.cos(np.pi * frac))
        x, y = batch(rng, fonts, crops["train"], eu["train"], a.batch)
        probs = model(x)
        loss = nll(torch.log(probs.clamp_min(1e-8)).reshape(-1, len(SLOT_ALPHABET)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        opt.step()
        losses.append(loss.item())
        step += 1
        if step % a.eval_every == 0:
            res = evaluate(model, sets)
            print(f"step {step} t {time.time() - start:.0f}s loss {np.mean(losses):.4f} "
                  + " ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)
            losses = []
            if score(res) > best:
                best = score(res)
                torch.save(model.state_dict(), a.checkpoint + ".best")
                write_back(model.state_dict(), a.base, a.out)
                print(f"exported {a.out} (score {best:.3f})", flush=True)
        if time.time() - last_save > a.save_minutes * 60:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}, a.checkpoint)
            last_save = time.time()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}, a.checkpoint)
    print("stopped at step", step, "best", best, flush=True)


if __name__ == "__main__":
    main()
