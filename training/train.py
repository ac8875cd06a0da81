"""Trains the plate-text recognizer and exports models/plate_ocr.onnx.

Data: synthetic shards from gen_synth.py, plus real plates from the OpenALPR benchmark kept in
../shared/data (read in place, never copied): 80% of the US crops (split by file name hash),
and half of the EU photos (split the same way). Checkpoints are chosen on the other 20% of the
crops and the other half of the EU photos (`patrol-alpr bench --held-out-of 0.8 / 0.5` measures
the same sets through the whole pipeline). The US end-to-end photos (us-dev) are never trained
on and never looked at here: they are read once, at the end, as the report.

Usage (from the repository root):
  python training/gen_synth.py --seeds 0-12 --per-shard 5000
  python training/train.py --minutes 45 --out models/plate_ocr.onnx

The plate-shaped reader (issue 13: 64x128 input, an experiment until validation says more):
  python training/gen_synth.py --seeds 0-12 --per-shard 5000 --height 64
  python training/train.py --height 64 --width 1.5 --shards training/out/h64 \
      --checkpoint training/checkpoints/plate_ocr64.pt --out training/out/plate_ocr64.onnx --minutes 150

Growing and averaging a trained model (session 5's experiment; not what the shipped weights
came from, see docs/recognition.md for what it measured):
  python training/train.py --checkpoint CKPT --grow --swa-after 1000 --lr 5e-4 --warmup 100 \
      --max-steps 2000 --seed 11 --out OUT.onnx
CKPT is a copy of models/plate_ocr.pt. --grow adds two residual blocks that start as the
identity; --swa-after trains at a constant rate and, from that step on, averages the weights
every --swa-every steps (stochastic weight averaging), exporting the average at the end.
"""
from __future__ import annotations

import argparse
import copy
import csv
import glob
import hashlib
import os
import time

import cv2
import numpy as np
import torch
from torch import nn

import synth
from model import ALPHABET, IN_W, PlateOCR
from synth import capture, degrade, rectify

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "openalpr-benchmarks"))


def split_of(name: str, train_share: float) -> str:
    h = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < train_share else "val"


def clean(text: str) -> str:
    return "".join(c for c in text.upper() if c in ALPHABET)


def load_crops():
    rows = list(csv.reader(open(os.path.join(DATA, "seg_and_ocr", "groundtruth.csv"))))
    out = {"train": [], "val": []}
    for name, _state, plate in rows:
        img = cv2.imread(os.path.join(DATA, "seg_and_ocr", "usimages", name))
        if img is None:
            continue
        out[split_of(name, 0.8)].append((cv2.cvtColor(img, cv2.COLOR_BGR2RGB), clean(plate)))
    return out


def load_photos(folder, train_share):
    out = {"train": [], "val": []}
    for txt in sorted(glob.glob(os.path.join(DATA, "endtoend", folder, "*.txt"))):
        line = open(txt).read().strip().split("\t")
        if len(line) < 6:
            continue
        name, x, y, w, h, plate = line[0], *map(int, line[1:5]), line[5]
        img = cv2.imread(os.path.join(os.path.dirname(txt), name))
        if img is None:
            continue
        out[split_of(name, train_share)].append((cv2.cvtColor(img, cv2.COLOR_BGR2RGB), (x, y, w, h), clean(plate)))
    return out


def box_quad(box, mx, my):
    x, y, w, h = box
    return np.float32([[x - mx * w, y - my * h], [x + w + mx * w, y - my * h],
                       [x + w + mx * w, y + h + my * h], [x - mx * w, y + h + my * h]])


def photo_sample(rng, photo):
    img, box, text = photo
    quad = box_quad(box, rng.uniform(0.0, 0.15), rng.uniform(0.0, 0.25)) + rng.normal(0, 0.03 * box[3], (4, 2))
    return capture(rng, img, quad), text


def photo_negative(rng, photo):
    img, (x, y, w, h), _ = photo
    H, W = img.shape[:2]
    for _ in range(20):
        pw = rng.uniform(0.6, 3.0) * w
        ph = pw / rng.uniform(1.8, 5.0)
        if pw >= W or ph >= H:
            continue
        px, py = rng.uniform(0, W - pw), rng.uniform(0, H - ph)
        if px + pw < x or px > x + w or py + ph < y or py > y + h:
            quad = np.float32([[px, py], [px + pw, py], [px + pw, py + ph], [px, py + ph]])
            return capture(rng, img, quad), ""
    return None


class Sampler:
    """Mixes synthetic shards with augmented real plates into training batches."""

    def __init__(self, rng, crops, eu_photos, shard_dir):
        self.rng, self.crops, self.eu, self.shard_dir = rng, crops, eu_photos, shard_dir
        self.images = np.zeros((0, synth.OCR_H, IN_W), np.uint8)
        self.labels = []
        self.loaded = set()
        self.refresh()

    def refresh(self):
        for path in sorted(glob.glob(os.path.join(self.shard_dir, "synth_*.npz"))):
            if path in self.loaded or path.endswith(".tmp.npz"):
                continue
            d = np.load(path)
            self.images = np.concatenate([self.images, d["images"]])
            self.labels += [str(t) for t in d["labels"]]
            self.loaded.add(path)
        return len(self.labels)

    def batch(self, n):
        r = self.rng
        imgs, labels = [], []
        n_real = int(n * 0.3)
        n_eu = int(n * 0.07)
        n_neg = int(n * 0.03)
        for _ in range(n_real):
            plate, text = self.crops[r.integers(len(self.crops))]
            imgs.append(degrade(r, plate, margin=(0.0, 0.12)))
            labels.append(text)
        for _ in range(n_eu):
            img, text = photo_sample(r, self.eu[r.integers(len(self.eu))])
            imgs.append(img)
            labels.append(text)
        for _ in range(n_neg):
            s = photo_negative(r, self.eu[r.integers(len(self.eu))])
            if s is not None:
                imgs.append(s[0])
                labels.append("")
        k = n - len(imgs)
        if not self.labels:  # no synthetic shard written yet: real plates only
            return imgs, labels
        idx = r.integers(0, len(self.labels), k)
        for i in idx:
            img = self.images[i]
            if r.random() < 0.1:
                img = 255 - img  # light-on-dark variants of every style
            imgs.append(img)
            labels.append(self.labels[i])
        return imgs, labels


def to_tensor(imgs):
    return torch.from_numpy(np.stack(imgs).astype(np.float32) / 255.0).unsqueeze(1)


def encode(labels):
    targets = [ALPHABET.index(c) + 1 for t in labels for c in t]
    lengths = [len(t) for t in labels]
    return torch.tensor(targets, dtype=torch.long), torch.tensor(lengths, dtype=torch.long)


def greedy(probs):
    """probs [B, T, C] -> texts."""
    out = []
    for seq in probs.argmax(-1).tolist():
        s, prev = [], 0
        for k in seq:
            if k != prev and k != 0:
                s.append(ALPHABET[k - 1])
            prev = k
        out.append("".join(s))
    return out


def evaluate(model, sets):
    model.eval()
    res = {}
    with torch.no_grad():
        for name, (imgs, labels) in sets.items():
            texts = []
            for i in range(0, len(imgs), 128):
                texts += greedy(model(to_tensor(imgs[i:i + 128])))
            res[name] = sum(t == l for t, l in zip(texts, labels)) / max(1, len(labels))
    model.train()
    return res


def val_sets(crops_val, eu_val):
    # Validation crops are cut the way the runtime cuts them: the plate box with a small
    # margin, rectified to the input size; no augmentation.
    crop_imgs = [rectify(c, np.float32([[0, 0], [c.shape[1], 0], [c.shape[1], c.shape[0]], [0, c.shape[0]]]))
                 for c, _ in crops_val]
    eu = [rectify(img, box_quad(box, 0.06, 0.12)) for img, box, _ in eu_val]
    return {
        "crops_val": (crop_imgs, [t for _, t in crops_val]),
        "eu_val": (eu, [t for _, _, t in eu_val]),
    }


def selection_score(res):
    # What checkpoints are chosen on: validation only, never us-dev.
    return res["crops_val"] + res["eu_val"]


def recalibrate_bn(model, sampler, batches=40, size=64):
    """Recomputes BatchNorm statistics for averaged weights: the averages of the running
    statistics belong to none of the averaged models."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(to_tensor(sampler.batch(size)[0]))
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = 0.1


class WeightAverage:
    """Stochastic weight averaging: the running mean of the trained weights."""

    def __init__(self, model):
        self.model = copy.deepcopy(model)
        self.count = 0

    def add(self, model):
        self.count += 1
        with torch.no_grad():
            for avg, cur in zip(self.model.parameters(), model.parameters()):
                avg.mul_(1 - 1 / self.count).add_(cur, alpha=1 / self.count)

    def averaged(self, sampler):
        model = copy.deepcopy(self.model)
        recalibrate_bn(model, sampler)
        model.eval()
        return model


def export(model, path):
    model.eval()
    dummy = torch.rand(1, 1, synth.OCR_H, IN_W)
    tmp = path + ".tmp"
    torch.onnx.export(model, dummy, tmp, input_names=["image"], output_names=["probs"], opset_version=13,
                      dynamo=False)
    os.replace(tmp, path)
    model.train()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: the time budget decides)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200, help="steps of linear LR warm-up")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--shards", default=os.path.join(HERE, "out"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "plate_ocr.onnx"))
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "out", "plate_ocr.pt"))
    ap.add_argument("--grow", action="store_true", help="add the residual blocks (model.GROW_AT)")
    ap.add_argument("--height", type=int, default=32, help="input height: 32 (shipped) or 64 (plate-shaped)")
    ap.add_argument("--width", type=float, default=1.0, help="channel multiplier")
    ap.add_argument("--swa-after", type=int, default=0, help="constant rate; average weights from this step")
    ap.add_argument("--swa-every", type=int, default=50)
    ap.add_argument("--swa-eval", type=int, default=1000, help="score and export the average every N steps")
    a = ap.parse_args()
    synth.set_ocr_size(a.height)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)

    crops = load_crops()
    eu = load_photos("eu", 0.5)
    print(f"crops train {len(crops['train'])} val {len(crops['val'])}; eu train {len(eu['train'])} "
          f"val {len(eu['val'])}", flush=True)
    sampler = Sampler(rng, crops["train"], eu["train"], a.shards)
    vsets = val_sets(crops["val"], eu["val"])

    model = PlateOCR(width=a.width, grown=a.grow, in_h=a.height)
    print("parameters", sum(p.numel() for p in model.parameters()), flush=True)
    if os.path.exists(a.checkpoint):
        missing, unexpected = model.load_state_dict(torch.load(a.checkpoint), strict=False)
        if unexpected or any(not k.startswith("grown.") for k in missing):
            raise SystemExit(f"{a.checkpoint} does not fit the model: {missing} {unexpected}")
        print("resumed from", a.checkpoint, "grown" if missing else "", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    start = time.time()
    budget = a.minutes * 60
    step, best = 0, -1.0
    if os.path.exists(a.checkpoint):
        # A resumed run only replaces the exported model when it beats where it started.
        res = evaluate(model, vsets)
        best = selection_score(res)
        print("resumed at", res, flush=True)
    losses = []
    swa = None
    while time.time() - start < budget and (not a.max_steps or step < a.max_steps):
        frac = (time.time() - start) / budget
        lr = a.lr * min(1.0, (step + 1) / a.warmup)
        if not a.swa_after:
            lr *= 0.5 * (1 + np.cos(np.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        imgs, labels = sampler.batch(a.batch)
        x = to_tensor(imgs)
        logp = torch.log_softmax(model.logits(x), dim=1).permute(2, 0, 1)  # T, B, C
        targets, lengths = encode(labels)
        loss = ctc(logp, targets, torch.full((len(labels),), logp.shape[0], dtype=torch.long), lengths)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        step += 1
        if a.swa_after and step >= a.swa_after and step % a.swa_every == 0:
            swa = swa or WeightAverage(model)
            swa.add(model)
        if swa is not None and step % a.swa_eval == 0:
            averaged = swa.averaged(sampler)
            res = evaluate(averaged, vsets)
            print(f"swa step {step} of {swa.count} " + " ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)
            torch.save(averaged.state_dict(), a.checkpoint + ".swa")
            export(averaged, a.out)
        if step % 100 == 0:
            n = sampler.refresh()
            res = evaluate(model, vsets)
            score = selection_score(res)
            print(f"step {step} t {time.time() - start:.0f}s lr {lr:.5f} loss {np.mean(losses):.3f} synth {n} "
                  + " ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)
            losses = []
            torch.save(model.state_dict(), a.checkpoint)
            if score >= best and swa is None:
                best = score
                torch.save(model.state_dict(), a.checkpoint + ".best")
                export(model, a.out)
    if swa is not None:
        # Averaging runs export the average, whatever a single step scored: the average is
        # the point of the run, and one step's score on 100-odd plates is mostly noise.
        model = swa.averaged(sampler)
        torch.save(model.state_dict(), a.checkpoint + ".swa")
        best = -1.0
    res = evaluate(model, vsets)
    print("final", res, flush=True)
    torch.save(model.state_dict(), a.checkpoint)
    if selection_score(res) >= best:
        export(model, a.out)
    print("exported", a.out, flush=True)


if __name__ == "__main__":
    main()
