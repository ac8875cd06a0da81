"""Trains the plate-state classifier and exports models/plate_state.onnx.

Which US state (or DC) issued a plate, from a 64x128 colour crop framed like the slot
reader's (the detector's quad with 5%/10% margins): the state name and slogan printed on the
plate, its colours and layout. 51 classes (USPS codes, alphabetical) plus `unknown` (a plate
whose state words are not there: covered, cut off, or never printed). The runtime also says
"unknown" below a confidence threshold (`recognize::state`).

Data, read in place from ../shared/data (never copied):
- the US crops of `seg_and_ocr`, whose labels carry the state. They are split by the SHA-256
  of the file name exactly as `train.py` splits them: the 80% training share trains; the other
  20% (crops-val) is halved again by a second hash into a choosing half (checkpoints, the
  threshold) and a reporting half (`patrol-alpr bench --crops ... --state-split report`),
  which nothing here reads;
- synthetic plates (`synth.render_us_plate`) printing a chosen state's name and slogan in
  random styles, so the model learns to read the words rather than one year's design, and
  plates with no state words as `unknown`.
Real crops are augmented the way a patrol camera sees plates: a loose, perspective-jittered
quad, 16-80 px plate height, blur, noise, colour casts, night IR, JPEG, plate frames covering
the bottom band. Real crops with both bands covered are `unknown`.

Usage (from the repository root; CPU is enough; what made the shipped model is in
models/README.md):
  cargo run --release --example render_plates -- /tmp/rendered 200 1
  cargo run --release --example render_plates -- /tmp/rendered-val 40 2
  python training/train_state.py --minutes 45 --rendered /tmp/rendered --rendered-val /tmp/rendered-val \
      --out models/plate_state.onnx
  python training/train_state.py --checkpoint training/checkpoints/plate_state.pt --minutes 20 ...
  python training/train_state.py --export-only --checkpoint CKPT --out models/plate_state.onnx
"""
from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import os
import time

import cv2
import numpy as np
import torch
from torch import nn

from synth import Fonts, photometric, random_plate_text, render_us_plate

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "openalpr-benchmarks"))
IN_H, IN_W = 64, 128

# USPS codes, alphabetical; `recognize::state::STATE_CODES` must list the same, in this order.
CODES = ["AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN",
         "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ",
         "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA",
         "WI", "WV", "WY"]
UNKNOWN = len(CODES)
NUM_CLASSES = len(CODES) + 1

# What each state prints: its name (as plates spell it) and the slogans or web addresses of its
# common general-issue plates. Public knowledge of the plates, not taken from any data set.
NAMES = {
    "AK": ["ALASKA", "Alaska"], "AL": ["ALABAMA", "Alabama"], "AR": ["ARKANSAS", "Arkansas"],
    "AZ": ["ARIZONA", "Arizona"], "CA": ["California", "CALIFORNIA"], "CO": ["COLORADO", "Colorado"],
    "CT": ["CONNECTICUT", "Connecticut"], "DC": ["DISTRICT OF COLUMBIA", "Washington, D.C.", "DC"],
    "DE": ["DELAWARE", "Delaware"], "FL": ["FLORIDA", "MYFLORIDA.COM", "Florida"], "GA": ["GEORGIA", "Georgia"],
    "HI": ["HAWAII", "Hawaii"], "IA": ["IOWA", "Iowa"], "ID": ["IDAHO", "Scenic IDAHO"],
    "IL": ["ILLINOIS", "Illinois"], "IN": ["INDIANA", "Indiana"], "KS": ["KANSAS", "Kansas"],
    "KY": ["KENTUCKY", "Kentucky"], "LA": ["LOUISIANA", "Louisiana"], "MA": ["MASSACHUSETTS", "Massachusetts"],
    "MD": ["MARYLAND", "Maryland"], "ME": ["MAINE", "Maine"], "MI": ["MICHIGAN", "Michigan", "Pure Michigan"],
    "MN": ["MINNESOTA", "Minnesota"], "MO": ["MISSOURI", "Missouri"], "MS": ["MISSISSIPPI", "Mississippi"],
    "MT": ["MONTANA", "Montana"], "NC": ["NORTH CAROLINA", "North Carolina"],
    "ND": ["NORTH DAKOTA", "North Dakota"], "NE": ["NEBRASKA", "Nebraska"],
    "NH": ["NEW HAMPSHIRE", "New Hampshire"], "NJ": ["NEW JERSEY", "New Jersey"],
    "NM": ["NEW MEXICO", "New Mexico"], "NV": ["NEVADA", "Nevada"], "NY": ["NEW YORK", "New York"],
    "OH": ["OHIO", "Ohio"], "OK": ["OKLAHOMA", "Oklahoma"], "OR": ["OREGON", "Oregon"],
    "PA": ["PENNSYLVANIA", "Pennsylvania"], "RI": ["RHODE ISLAND", "Rhode Island"],
    "SC": ["SOUTH CAROLINA", "South Carolina"], "SD": ["SOUTH DAKOTA", "South Dakota"],
    "TN": ["TENNESSEE", "Tennessee"], "TX": ["TEXAS", "Texas"], "UT": ["UTAH", "Utah"],
    "VA": ["VIRGINIA", "Virginia"], "VT": ["VERMONT", "Vermont"], "WA": ["WASHINGTON", "Washington"],
    "WI": ["WISCONSIN", "Wisconsin"], "WV": ["WEST VIRGINIA", "West Virginia"], "WY": ["WYOMING", "Wyoming"],
}
SLOGANS = {
    "AK": ["THE LAST FRONTIER", "North to the Future"], "AL": ["Sweet Home Alabama", "HEART OF DIXIE"],
    "AR": ["The Natural State"], "AZ": ["Grand Canyon State"], "CA": ["dmv.ca.gov", "DMV.CA.GOV"],
    "CO": ["COLORFUL COLORADO"], "CT": ["Constitution State"], "DC": ["Taxation Without Representation",
    "Celebrate & Discover"], "DE": ["THE FIRST STATE"], "FL": ["Sunshine State", "SUNSHINE STATE"],
    "GA": ["Peach State", "In God We Trust"], "HI": ["Aloha State"], "IA": ["COUNTY"],
    "ID": ["FAMOUS POTATOES"], "IL": ["Land of Lincoln"], "IN": ["Crossroads of America", "In God We Trust"],
    "KS": ["COUNTY"], "KY": ["Unbridled Spirit"], "LA": ["Sportsman's Paradise"], "ME": ["VACATIONLAND"],
    "MD": ["Spirit of Maryland"], "MA": ["The Spirit of America"], "MI": ["Great Lakes", "Pure Michigan"],
    "MN": ["10,000 lakes", "Explore Minnesota"], "MS": ["COUNTY"], "MO": ["SHOW-ME STATE"],
    "MT": ["Treasure State", "Big Sky"], "NE": ["The Good Life"], "NV": ["The Silver State"],
    "NH": ["Live Free or Die"], "NJ": ["Garden State"], "NM": ["LAND OF ENCHANTMENT"],
    "NY": ["THE EMPIRE STATE", "EXCELSIOR"], "NC": ["FIRST IN FLIGHT", "First in Freedom"],
    "ND": ["PEACE GARDEN STATE", "Discover the Spirit"], "OH": ["BIRTHPLACE OF AVIATION"],
    "OK": ["NATIVE AMERICA", "Explore Oklahoma"], "OR": ["Pacific Wonderland"], "PA": ["visitPA.com"],
    "RI": ["Ocean State"], "SC": ["While I Breathe I Hope"], "SD": ["Great Faces. Great Places."],
    "TN": ["The Volunteer State"], "TX": ["THE LONE STAR STATE"], "UT": ["Life Elevated"],
    "VT": ["Green Mountain State"], "VA": ["Virginia is for Lovers"], "WA": ["Evergreen State"],
    "WV": ["Wild, Wonderful"], "WI": ["America's Dairyland"], "WY": ["Like No Place On Earth"],
}


def sha_share(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def crop_split(name: str) -> str:
    """`train` (train.py's 80% share), else `choose` or `report` (halves of crops-val)."""
    if sha_share(name) < 0.8:
        return "train"
    return "choose" if sha_share("state:" + name) < 0.5 else "report"


def load_crops():
    out = {"train": [], "choose": [], "report": []}
    for name, state, _plate in csv.reader(open(os.path.join(DATA, "seg_and_ocr", "groundtruth.csv"))):
        img = cv2.imread(os.path.join(DATA, "seg_and_ocr", "usimages", name))
        code = state.strip().upper()
        if img is None or code not in CODES:
            continue
        out[crop_split(name)].append((cv2.cvtColor(img, cv2.COLOR_BGR2RGB), CODES.index(code)))
    return out


# ---------------------------------------------------------------- the model

def _cbr(i, o, stride=1):
    return [nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class PlateState(nn.Module):
    """A small CNN: [B, 3, 64, 128] RGB 0-1 -> [B, 52] logits. About 25 M multiply-adds, so
    it costs a millisecond or two a plate on one core; the head keeps where things are (the
    state name is at the top, the slogan at the bottom) instead of pooling it away."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            *_cbr(3, 16, 2),                      # 32 x 64
            *_cbr(16, 32), nn.MaxPool2d(2),       # 16 x 32
            *_cbr(32, 64), nn.MaxPool2d(2),       # 8 x 16
            *_cbr(64, 96), nn.MaxPool2d(2),       # 4 x 8
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(96 * 4 * 8, NUM_CLASSES))

    def forward(self, x):
        return self.head(self.body(x))


# ---------------------------------------------------------------- what the camera does

def cover_bands(rng, plate, top: bool, bottom: bool):
    """Paints over the state band and/or the slogan band, as a plate frame or dirt would."""
    h = plate.shape[0]
    out = plate.copy()
    col = np.median(plate.reshape(-1, 3), axis=0) if rng.random() < 0.5 else rng.integers(0, 256, 3)
    if top:
        out[: int(h * rng.uniform(0.24, 0.3))] = col
    if bottom:
        out[int(h * rng.uniform(0.76, 0.82)):] = col
    return out


def camera(rng, plate: np.ndarray) -> np.ndarray:
    """A plate image (RGB, the plate filling it) as a patrol camera's frame shows it, framed
    by the detector's quad plus the slot margins, rectified to IN_H x IN_W RGB uint8."""
    ph, pw = plate.shape[:2]
    pad = int(0.5 * ph)
    canvas = np.empty((ph + 2 * pad, pw + 2 * pad, 3), np.uint8)
    canvas[:] = rng.integers(0, 256, 3)
    if rng.random() < 0.4:  # a plate holder around the plate
        t = int(rng.uniform(0.03, 0.12) * ph)
        cv2.rectangle(canvas, (pad - t, pad - t), (pad + pw + t, pad + ph + t), tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    canvas[pad:pad + ph, pad:pad + pw] = plate
    src = np.float32([[pad, pad], [pad + pw, pad], [pad + pw, pad + ph], [pad, pad + ph]])
    c = src.mean(axis=0)
    dst = src - c
    dst[:, 0] += rng.uniform(-0.08, 0.08) * ph * np.sign(dst[:, 1])
    dst[:, 1] *= 1 + rng.uniform(-0.08, 0.08) * np.sign(dst[:, 0])
    rot = rng.normal(0, 3.0) * np.pi / 180
    R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]], np.float32)
    dst = (dst @ R.T + c).astype(np.float32)
    M = cv2.getPerspectiveTransform(src, dst)
    img = cv2.warpPerspective(canvas, M, (canvas.shape[1], canvas.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    # The detector's quad: the plate, sometimes a little tight, then the slot margins (5%, 10%).
    quad = dst.copy()
    mx = rng.uniform(-0.03, 0.06) * pw + 0.05 * pw
    my = rng.uniform(-0.06, 0.08) * ph + 0.10 * ph
    quad[[0, 3], 0] -= mx
    quad[[1, 2], 0] += mx
    quad[[0, 1], 1] -= my
    quad[[2, 3], 1] += my
    quad += rng.normal(0, 0.02 * ph, quad.shape).astype(np.float32)
    # Distance: 16-80 px of plate height, most 25-50.
    target = float(np.clip(rng.lognormal(np.log(36), 0.45), 16, 80))
    scale = min(1.0, target / ph)
    if scale < 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        quad = quad * scale
    # Light, shadow, focus, noise and compression (night IR in one in ten).
    img = photometric(rng, img, ir=0.1, gain=(0.6, 1.25), offset=(-40, 35), cast=0.12, shadow=0.2,
                      blur=(0.3, 1.0), motion_max=3, noise_max=8, jpeg_share=0.5, jpeg_min=30)
    return rectify_rgb(img, quad)


def rectify_rgb(img, quad):
    """Bilinear perspective warp of `quad` (tl, tr, br, bl) to IN_H x IN_W, as the Rust runtime
    does (`recognize::geometry::rectify_rgb`)."""
    dst = np.float32([[0, 0], [IN_W, 0], [IN_W, IN_H], [0, IN_H]])
    M = cv2.getPerspectiveTransform(np.asarray(quad, np.float32), dst)
    return cv2.warpPerspective(img, M, (IN_W, IN_H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def as_seen_at_truth(crop):
    """A real crop as the runtime frames it when the crop is the whole plate (bench --crops):
    the image corners pushed out by the slot margins, the border replicated."""
    h, w = crop.shape[:2]
    mx, my = 0.05 * w, 0.10 * h
    quad = np.float32([[-mx, -my], [w + mx, -my], [w + mx, h + my], [-mx, h + my]])
    return rectify_rgb(crop, quad)


def load_rendered(folder):
    """Plates drawn by the simulator's renderer (`cargo run --release --example render_plates
    -- DIR N`), named CODE_N.png: the styles the simulator shows, so the simulator's vehicles
    are read with their state too."""
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.png"))):
        code = os.path.basename(path).split("_")[0]
        img = cv2.imread(path)
        if img is not None and code in CODES:
            out.append((cv2.cvtColor(img, cv2.COLOR_BGR2RGB), CODES.index(code)))
    return out


class Sampler:
    def __init__(self, rng, crops, fonts, synth_pool=3000, rendered=()):
        self.rng, self.crops, self.fonts, self.rendered = rng, crops, fonts, list(rendered)
        self.pool = []
        t = time.time()
        for i in range(synth_pool):
            self.pool.append(self.synth_plate())
        print(f"rendered {synth_pool} synthetic plates in {time.time() - t:.0f} s", flush=True)

    def synth_plate(self):
        rng = self.rng
        text = random_plate_text(rng)
        if rng.random() < 0.12:
            return render_us_plate(rng, self.fonts, text, state="", slogan=""), UNKNOWN
        k = int(rng.integers(len(CODES)))
        code = CODES[k]
        name = str(rng.choice(NAMES[code]))
        slogan = str(rng.choice(SLOGANS.get(code, [""]))) if rng.random() < 0.7 else ""
        return render_us_plate(rng, self.fonts, text, state=name, slogan=slogan), k

    def sample(self):
        rng = self.rng
        r = rng.random()
        if r < 0.1 and self.rendered:
            plate, label = self.rendered[int(rng.integers(len(self.rendered)))]
        elif r < 0.55 and self.crops:
            plate, label = self.crops[int(rng.integers(len(self.crops)))]
        else:
            if rng.random() < 0.1:  # keep the synthetic pool fresh
                self.pool[int(rng.integers(len(self.pool)))] = self.synth_plate()
            plate, label = self.pool[int(rng.integers(len(self.pool)))]
        if label != UNKNOWN:
            c = rng.random()
            if c < 0.08:  # both bands covered: no state words left
                plate, label = cover_bands(rng, plate, True, True), UNKNOWN
            elif c < 0.2:  # a frame over the slogan: the name still says it
                plate = cover_bands(rng, plate, False, True)
        return camera(rng, plate), label

    def batch(self, n):
        xs, ys = zip(*(self.sample() for _ in range(n)))
        return to_tensor(xs), torch.tensor(ys, dtype=torch.long)


def to_tensor(imgs):
    a = np.stack(imgs).astype(np.float32) / 255.0
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def evaluate(model, crops, threshold=0.5, framed=False):
    """top-1, top-3, wrong-and-sure rate over real crops read at their truth framing (or over
    inputs already framed)."""
    if not crops:
        return {}
    model.eval()
    x = to_tensor([c if framed else as_seen_at_truth(c) for c, _ in crops])
    p = torch.softmax(model(x), dim=1)[:, :UNKNOWN]
    y = torch.tensor([lbl for _, lbl in crops])
    top3 = p.topk(3, dim=1).indices
    conf, top1 = p.max(dim=1)
    sure = conf >= threshold
    return {
        "n": len(crops),
        "top1": float((top1 == y).float().mean()),
        "top3": float((top3 == y[:, None]).any(dim=1).float().mean()),
        "sure_right": float(((top1 == y) & sure).float().mean()),
        "sure_wrong": float(((top1 != y) & sure).float().mean()),
    }


class Probabilities(nn.Module):
    """What the runtime loads: class probabilities shaped [1, 1, 52] (one step of 52
    classes, the shape the text readers' outputs also have)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return torch.softmax(self.model(x), dim=1).unsqueeze(1)


def export(model, path):
    model.eval()
    torch.onnx.export(Probabilities(model), torch.zeros(1, 3, IN_H, IN_W), path, input_names=["image"],
                      output_names=["probabilities"], opset_version=13, dynamo=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoint", default=None, help="resume from this checkpoint (weights)")
    ap.add_argument("--save", default=os.path.join(HERE, "checkpoints", "plate_state.pt"))
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "plate_state.onnx"))
    ap.add_argument("--rendered", default=None, help="folder of the simulator's plates (render_plates)")
    ap.add_argument("--rendered-val", default=None,
                    help="another folder of them (another seed), seen through camera() with a fixed seed: "
                         "a second, synthetic choosing set")
    ap.add_argument("--export-only", action="store_true", help="export --checkpoint to --out and stop")
    a = ap.parse_args()
    if a.export_only:
        model = PlateState()
        model.load_state_dict(torch.load(a.checkpoint)["model"])
        export(model, a.out)
        print("wrote", a.out)
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    crops = load_crops()
    print({k: len(v) for k, v in crops.items()}, flush=True)
    model = PlateState()
    print(f"parameters: {sum(p.numel() for p in model.parameters())}", flush=True)
    if a.checkpoint:
        model.load_state_dict(torch.load(a.checkpoint)["model"])
    rendered = load_rendered(a.rendered) if a.rendered else []
    print(f"simulator plates: {len(rendered)}", flush=True)
    sampler = Sampler(rng, crops["train"], Fonts(), rendered=rendered)
    # The synthetic choosing set: fixed camera views of other simulator plates.
    val_rng = np.random.default_rng(12345)
    rendered_val = [(camera(val_rng, img), lbl) for img, lbl in (load_rendered(a.rendered_val) if a.rendered_val else [])]
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    total = a.max_steps or 10 ** 9
    deadline = time.time() + a.minutes * 60
    est_steps = None
    best = (-1.0, None)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    step, t0 = 0, time.time()
    while step < total and time.time() < deadline:
        model.train()
        # Cosine decay over the time budget (the step count is estimated from the first 50).
        if step == 50:
            est_steps = int(50 * a.minutes * 60 / max(time.time() - t0, 1))
        frac = min(1.0, step / est_steps) if est_steps else 0.0
        for g in opt.param_groups:
            g["lr"] = a.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * frac))) * min(1.0, (step + 1) / 50)
        x, y = sampler.batch(a.batch)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % a.eval_every == 0:
            res = evaluate(model, crops["choose"])
            sim = evaluate(model, rendered_val, framed=True)
            score = res["top1"] + 0.5 * res["top3"] + 0.5 * sim.get("top1", 0.0)
            print(f"step {step} {time.time() - t0:.0f}s loss {loss.item():.3f} choose {res} sim {sim}", flush=True)
            torch.save({"model": model.state_dict(), "step": step}, a.save + ".last")
            if score > best[0]:
                best = (score, {k: v.clone() for k, v in model.state_dict().items()})
                torch.save({"model": best[1], "step": step, "choose": res}, a.save)
    if best[1] is not None:
        model.load_state_dict(best[1])
    print("best on the choosing half:", evaluate(model, crops["choose"]), flush=True)
    export(model, a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
