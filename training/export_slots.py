"""Writes fine-tuned slot-reader weights (finetune_slots.py's checkpoint) back into the original
fast-plate-ocr ONNX graph and saves it as models/plate_slots.onnx.

The graph stays the upstream one, node for node, with only the weight tensors replaced: the
runtime loads it exactly as it loads the original (`recognize::slots`). Each
trainable tensor of the converted module is matched to the original initializer it was made
from by its untrained values (as given, or transposed for a Gemm turned into nn.Linear); a
tensor that matches no initializer, or several different ones, stops the export. The result
is checked against the PyTorch module with onnxruntime before it is written.

Usage (from the repository root):
  /opt/trainenv/bin/python training/export_slots.py --weights training/checkpoints/plate_slots.pt.best
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import onnx
import onnx2torch
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
# The upstream file, as committed (the same bytes as ../shared/models/fast-plate-ocr/).
BASE = os.path.join(HERE, "..", "models", "third_party", "cct_xs_v1_global.onnx")
OUT = os.path.join(HERE, "..", "models", "plate_slots.onnx")


def load_base(path):
    """The original network as a trainable PyTorch module."""
    proto = onnx.load(path)
    del proto.graph.value_info[:]
    model = onnx2torch.convert(proto)
    # onnx2torch keeps MatMul weights as buffers: make every float tensor of more than one
    # value a parameter, except the fixed blur kernels of the anti-aliased pooling.
    for module in model.modules():
        for name, buf in list(module.named_buffers(recurse=False)):
            if buf.is_floating_point() and buf.numel() > 1:
                delattr(module, name)
                module.register_parameter(name, nn.Parameter(buf.clone()))
    for name, p in model.named_parameters():
        if "blur_pooling" in name:
            p.requires_grad_(False)
    return model




def initializer_map(base_proto, module):
    """state_dict key -> (initializer name, transposed) for every float tensor of more than one
    value in the converted module."""
    inits = {i.name: numpy_helper.to_array(i) for i in base_proto.graph.initializer}
    mapping = {}
    for key, tensor in module.state_dict().items():
        t = tensor.detach().numpy()
        if t.dtype != np.float32 or t.size <= 1:
            continue
        found = set()
        for name, value in inits.items():
            if value.dtype != np.float32:
                continue
            if value.shape == t.shape and np.array_equal(value, t):
                found.add((name, False))
            elif value.ndim == 2 and value.T.shape == t.shape and np.array_equal(value.T, t):
                found.add((name, True))
        distinct = {inits[n].tobytes() for n, _ in found}
        if not found or len(distinct) > 1:
            raise SystemExit(f"{key}: {'no' if not found else 'several different'} initializers match")
        # Identical initializers (a shared blur kernel) all take the same trained value.
        mapping[key] = sorted(found)
    return mapping


def write_back(state, base, out):
    """Writes the weights `state` (a state dict of `load_base(base)`) into the graph of `base`
    and saves it as `out`, after checking it computes what the module computes."""
    proto = onnx.load(base)
    module = load_base(base)
    mapping = initializer_map(proto, module)
    module.load_state_dict(state)
    module.eval()
    by_name = {i.name: i for i in proto.graph.initializer}
    for key, targets in mapping.items():
        trained = state[key].detach().numpy().astype(np.float32)
        for name, transposed in targets:
            value = trained.T if transposed else trained
            by_name[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(value), name))
    tmp = out + ".tmp"
    onnx.save(proto, tmp)
    session = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).integers(0, 256, (4, 64, 128, 3), dtype=np.uint8)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        os.remove(tmp)
        raise SystemExit(f"the patched graph differs from the trained module by {diff}")
    os.replace(tmp, out)
    print(f"wrote {out}: {len(mapping)} tensors replaced, max difference {diff:.2e}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=os.path.join(HERE, "checkpoints", "plate_slots.pt.best"))
    ap.add_argument("--base", default=BASE)
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    state = torch.load(a.weights)
    if "model" in state:  # a resumable checkpoint rather than a best-weights file
        state = state["model"]
    write_back(state, a.base, a.out)


if __name__ == "__main__":
    main()
