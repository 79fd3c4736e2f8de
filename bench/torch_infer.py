#!/usr/bin/python3
"""Inference speed of the peer's networks in PyTorch: int8 (quantized engine
onednn, conv-bn-relu fused, post-training static quantization converted with
torch.ao.quantization.convert) and float, batch B and batch 1.

  /usr/bin/python3 torch_infer.py PEER --model small|resnet20 --bits 8|4
      [--threads 2] [--reps 5] [--batch 128]

PEER is shared/peer/torch_train.py, imported for its models. --bits 4 sets
the observers' ranges to 4 bits (weights -8..7, activations 0..15): the
converted model still runs PyTorch's int8 kernels, the only ones it has.
Calibration: 4 batches of Fashion-MNIST test images. Timing: each of R
rounds runs the batch (and 64 single images) repeatedly for >= 50 ms;
prints medians as RESULT lines, with the process CPU time per image at
batch B (all threads; OpenMP's spinning included).
"""
import argparse
import importlib.util
import time

import numpy as np
import torch
import torch.ao.quantization as tq
import torch.nn as nn


def load_peer(path):
    spec = importlib.util.spec_from_file_location("peer", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def plain(m):
    """The peer's QAT modules as plain float ones (its QConv/QReLU with bits 0)."""
    for name, c in m.named_children():
        if c.__class__.__name__ == "QConv":
            p = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding,
                          bias=c.bias is not None)
            p.load_state_dict(c.state_dict())
            setattr(m, name, p)
        elif c.__class__.__name__ == "QReLU":
            setattr(m, name, nn.ReLU())
        else:
            plain(c)
    return m


class Quantized(nn.Module):
    """QuantStub -> net -> DeQuantStub, residual adds through FloatFunctional."""

    def __init__(self, net):
        super().__init__()
        self.quant, self.net, self.dequant = tq.QuantStub(), net, tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.net(self.quant(x)))


class QBlock(nn.Module):
    def __init__(self, b):
        super().__init__()
        self.a, self.b, self.short, self.relu = b.a, b.b, b.short, nn.ReLU()
        self.add = nn.quantized.FloatFunctional()

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return self.relu(self.add.add(self.b(self.a(x)), s))


def fuse(seq):
    """conv-bn(-relu) fusion over a Sequential, recursing into blocks."""
    names = [n for n, _ in seq.named_children()]
    groups = []
    for i, n in enumerate(names):
        c = getattr(seq, n)
        if isinstance(c, nn.Conv2d) and i + 1 < len(names) and isinstance(getattr(seq, names[i + 1]), nn.BatchNorm2d):
            g = [n, names[i + 1]]
            if i + 2 < len(names) and isinstance(getattr(seq, names[i + 2]), nn.ReLU):
                g.append(names[i + 2])
            groups.append(g)
    if groups:
        tq.fuse_modules(seq, groups, inplace=True)
    for n, c in seq.named_children():
        if isinstance(c, nn.Sequential):
            fuse(c)
        elif isinstance(c, QBlock):
            fuse(c.a)
            fuse(c.b)
            if c.short is not None:
                fuse(c.short)


def qconfig(bits):
    if bits == 8:
        return tq.get_default_qconfig("onednn")
    act = tq.HistogramObserver.with_args(quant_min=0, quant_max=2 ** bits - 1, reduce_range=False)
    w = tq.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric,
                                               quant_min=-(2 ** (bits - 1)), quant_max=2 ** (bits - 1) - 1)
    return tq.QConfig(activation=act, weight=w)


def int8_model(peer, model, bits, calib):
    net = plain(getattr(peer, model)(0)).eval()
    for i, c in enumerate(net):
        if c.__class__.__name__ == "Block":
            net[i] = QBlock(c)
    fuse(net)
    q = Quantized(net).eval()
    q.qconfig = qconfig(bits)
    tq.prepare(q, inplace=True)
    with torch.no_grad():
        for x in calib:
            q(x)
    return tq.convert(q)


def timed(fn, x, cpu=None):
    """seconds per call, repeated to >= 50 ms; process CPU seconds per call
    appended to cpu"""
    calls, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        fn(x)
        calls += 1
        t = time.perf_counter() - t0
        if t >= 0.05:
            if cpu is not None:
                cpu.append((time.process_time() - c0) / calls)
            return t / calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("peer")
    ap.add_argument("--model", choices=["small", "resnet20"], default="small")
    ap.add_argument("--bits", type=int, choices=[4, 8], default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.backends.quantized.engine = "onednn"
    peer = load_peer(a.peer)
    xte = peer.load_idx(f"{peer.data_dir()}/t10k-images-idx3-ubyte.gz")
    x = torch.from_numpy(xte[:a.batch * 4].astype(np.float32) / 255).unsqueeze(1)
    calib = [x[i * a.batch:(i + 1) * a.batch] for i in range(4)]
    models = {"int8": int8_model(peer, a.model, a.bits, calib),
              "float": plain(getattr(peer, a.model)(0)).eval()}
    res = {k: ([], [], []) for k in models}
    with torch.no_grad():
        for _ in range(a.reps):
            for k, m in models.items():
                res[k][0].append(timed(m, calib[0], res[k][2]) / a.batch)
                res[k][1].append(np.median([timed(m, calib[0][i:i + 1]) for i in range(0, 64, 8)]))
    for k, (tb, t1, cpu) in res.items():
        print(f"RESULT engine=torch_{k} model={a.model} bits={a.bits} batch={a.batch} "
              f"img_per_s={1 / np.median(tb):.1f} latency_ms={1e3 * np.median(t1):.4f} "
              f"cpu_ms_per_img={1e3 * np.median(cpu) / a.batch:.5f}")


if __name__ == "__main__":
    main()
