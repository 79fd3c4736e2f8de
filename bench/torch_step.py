#!/usr/bin/python3
"""torch_step.py PEER --model M [--qat B] [--threads T] [--steps N] [--reps R]

The PyTorch peer's training step (its model, SGD recipe and Fashion-MNIST
batches, imported from the peer script PEER) timed like bench_train: after
5 warm-up steps, R repetitions of N steps, each giving images/s of wall time
and CPU milliseconds per image over all threads (time.process_time). On a
loaded shared machine the wall figure moves with whatever else runs, and
PyTorch's spinning OpenMP threads suffer most; the CPU figure is the cost of
a step in cores and moves far less, so train_vs_torch.sh and bench_quant.sh
print both. Last line:
  RESULT model=.. qat=.. threads=.. img_per_s=<median> cpu_ms_per_img=<median> peak_rss_mb=..
"""
import argparse
import importlib.util
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_peer(path):
    spec = importlib.util.spec_from_file_location("torch_train_peer", path)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    return peer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peer", help="path of ../shared/peer/torch_train.py")
    ap.add_argument("--model", choices=["small", "resnet20"], default="small")
    ap.add_argument("--qat", type=int, default=0, help="weight and activation bits (0 = fp32)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    a = ap.parse_args()
    if a.steps < 1 or a.reps < 1 or a.threads < 1 or a.batch < 1:
        sys.exit("torch_step: --steps, --reps, --threads and --batch must be >= 1")
    peer = load_peer(a.peer)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    xtr = peer.load_idx(f"{peer.data_dir()}/train-images-idx3-ubyte.gz")
    ytr = peer.load_idx(f"{peer.data_dir()}/train-labels-idx1-ubyte.gz")
    xtr = torch.from_numpy(xtr.astype(np.float32) / 255).unsqueeze(1)
    ytr = torch.from_numpy(ytr.astype(np.int64))
    net = getattr(peer, a.model)(a.qat)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    perm = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(0))
    net.train()
    step = 0

    def train_step():
        nonlocal step
        i = (step * a.batch) % (len(xtr) - a.batch + 1)
        idx = perm[i:i + a.batch]
        loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        return loss.item()

    for _ in range(5):
        train_step()
    rates, cpu = [], []
    for rep in range(a.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(a.steps):
            loss = train_step()
        n = a.steps * a.batch
        rates.append(n / (time.perf_counter() - t0))
        cpu.append(1e3 * (time.process_time() - c0) / n)
        print(f"rep {rep + 1}: {rates[-1]:.1f} img/s, {cpu[-1]:.3f} CPU ms/img, loss {loss:.4f}",
              flush=True)
    print(f"RESULT model={a.model} qat={a.qat} threads={a.threads} "
          f"img_per_s={statistics.median(rates):.1f} cpu_ms_per_img={statistics.median(cpu):.3f} "
          f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
