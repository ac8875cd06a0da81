"""The plate-text recognizer: a small all-convolutional CRNN trained with CTC.

Input: gray plate crop [B, 1, 32, 128] (or [B, 1, 64, 128] with in_h=64), values 0-1 (the runtime rectifies the detector's quad
to this size). Output: per-column class probabilities [B, 32, 37]; class 0 is the CTC blank,
1-36 are 0-9 then A-Z. Convolutions only (no RNN), so tract runs it fast and exactly, and it
normalizes its own input contrast so lighting differences need no preprocessing.
"""
import torch
from torch import nn

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NUM_CLASSES = len(ALPHABET) + 1
IN_H, IN_W = 32, 128


def _cbr(i, o, k=3, p=1):
    return [nn.Conv2d(i, o, k, padding=p, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class Residual(nn.Module):
    """A 3x3 conv block added to its input. Its last BatchNorm starts at zero, so a model grown
    with these blocks computes exactly what it computed before and training adds to it."""

    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(*_cbr(c, c), nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        nn.init.zeros_(self.body[-1].weight)

    def forward(self, x):
        return torch.relu(x + self.body(x))


# Where the grown blocks go: after the first (2, 1) pooling (4 x 32) and after the second
# (2 x 32), the stages that tell look-alike glyphs apart (8/B, 0/D, 1/I, U/V).
GROW_AT = (15, 22)


class PlateOCR(nn.Module):
    def __init__(self, width=1.0, grown=False, in_h=IN_H):
        super().__init__()
        c = [int(round(x * width)) for x in (16, 32, 48, 80, 128)]
        # The plate-shaped input (in_h 64: a 2:1 US plate keeps its proportions) gets one more
        # stage at full resolution, where the strokes that tell 8 from B and 0 from D are
        # still several pixels wide; from 32 x 64 on the two models are the same.
        stem = [*_cbr(1, c[0] // 2), nn.MaxPool2d(2), *_cbr(c[0] // 2, c[0]), nn.MaxPool2d((2, 1))] \
            if in_h == 64 else [*_cbr(1, c[0]), nn.MaxPool2d(2)]
        if in_h not in (32, 64) or (grown and in_h != 32):
            raise ValueError(f"in_h must be 32 or 64 (grown: 32), not {in_h}")
        self.in_h = in_h
        self.features = nn.Sequential(
            *stem,  # 16 x 64
            *_cbr(c[0], c[1]), nn.MaxPool2d(2),  # 8 x 32
            *_cbr(c[1], c[2]), *_cbr(c[2], c[2]), nn.MaxPool2d((2, 1)),  # 4 x 32
            *_cbr(c[2], c[3]), *_cbr(c[3], c[3]), nn.MaxPool2d((2, 1)),  # 2 x 32
            nn.Conv2d(c[3], c[4], (2, 1), bias=False), nn.BatchNorm2d(c[4]), nn.ReLU(inplace=True),  # 1 x 32
        )
        self.context = nn.Sequential(
            nn.Conv1d(c[4], c[4], 3, padding=1), nn.BatchNorm1d(c[4]), nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Conv1d(c[4], c[4], 3, padding=2, dilation=2), nn.BatchNorm1d(c[4]), nn.ReLU(inplace=True),
        )
        self.head = nn.Conv1d(c[4], NUM_CLASSES, 1)
        self.grown = nn.ModuleList([Residual(c[2]), Residual(c[3])]) if grown else None

    def logits(self, x):
        # Per-image contrast normalization: plates are dark-on-light and light-on-dark, lit by
        # sun, headlights or IR; the network sees zero-mean, unit-variance pixels either way.
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).add(1e-4).sqrt()
        x = (x - mean) / std
        if self.grown is None:
            f = self.features(x)
        else:
            a, b = GROW_AT
            f = self.grown[0](self.features[:a](x))
            f = self.features[b:](self.grown[1](self.features[a:b](f)))
        f = f.squeeze(2)  # B, C, T
        f = f + self.context(f)
        return self.head(f)  # B, classes, T

    def forward(self, x):
        """Probabilities [B, T, classes] (what the ONNX export returns)."""
        return torch.softmax(self.logits(x), dim=1).transpose(1, 2)
