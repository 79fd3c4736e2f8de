#!/usr/bin/python3
"""torch_conv.py [--batch B] [--reps R] [--iters N]

PyTorch's time for the convolutions that bench_conv.c times (resnet20 on
28x28 grey, one thread, CPU time of the process, median of R repetitions
of N iterations; forward, and backward for dx and dw, no dx for the stem).
Prints one line per shape in bench_conv's row format, so that
conv_vs_torch.sh can put the two side by side.
"""
import argparse
import statistics
import time

import torch

SHAPES = [  # name, in, out, size, kernel, stride, needs dx, count in resnet20
    ("stem 1->16 3x3 @28", 1, 16, 28, 3, 1, False, 1),
    ("s1 16->16 3x3 @28", 16, 16, 28, 3, 1, True, 6),
    ("s2 16->32 3x3/2 @28", 16, 32, 28, 3, 2, True, 1),
    ("s2 short 16->32 1x1/2", 16, 32, 28, 1, 2, True, 1),
    ("s2 32->32 3x3 @14", 32, 32, 14, 3, 1, True, 5),
    ("s3 32->64 3x3/2 @14", 32, 64, 14, 3, 2, True, 1),
    ("s3 short 32->64 1x1/2", 32, 64, 14, 1, 2, True, 1),
    ("s3 64->64 3x3 @7", 64, 64, 7, 3, 1, True, 5),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--iters", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(1)
    total = 0.0
    for name, c, oc, h, k, s, need_dx, count in SHAPES:
        conv = torch.nn.Conv2d(c, oc, k, s, k // 2, bias=False)
        x = torch.rand(a.batch, c, h, h, requires_grad=need_dx)
        fwd, bwd = [], []
        for r in range(-1, a.reps):
            tf = tb = 0.0
            for _ in range(a.iters):
                t0 = time.process_time()
                y = conv(x)
                tf += time.process_time() - t0
                g = torch.ones_like(y)
                t0 = time.process_time()
                y.backward(g)
                tb += time.process_time() - t0
            if r >= 0:
                fwd.append(1e3 * tf / a.iters)
                bwd.append(1e3 * tb / a.iters)
        mf, mb = statistics.median(fwd), statistics.median(bwd)
        total += count * (mf + mb)
        print(f'ROW name="{name}" count={count} fwd_ms={mf:.2f} bwd_ms={mb:.2f} '
              f'total_ms={mf + mb:.2f}', flush=True)
    print(f"RESULT conv_ms_per_step={total:.1f} (every convolution of resnet20, forward + backward)")


if __name__ == "__main__":
    main()
