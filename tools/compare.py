#!/usr/bin/python3
# compare.py: the DQMQ comparison table from finished run files.
#
#   /usr/bin/python3 tools/compare.py RUN.h5|RUN_DIR [...]
#
# One row per run: method label (experiment.name without its -s<seed>
# suffix), seed, clean accuracy and mean accuracy over the corrupted cells
# of /eval/grid ([eval] grid = true: the full test set per cell, the same
# images for every run), accuracy on the mixed test set, realised BitOps
# relative to uniform 8 bits (the last test evaluation's per-input plans),
# training seconds (the epochs' training passes, not the evaluations), the
# last validation accuracy (data.val_fraction > 0), method metamix's mean
# activation instability at the end of its search (/train/epochs
# instability_mean of the last search epoch), and,
# for runs with /eval/samples (method dqmq), Spearman's rank correlation of
# severity with the chosen width of each planned layer (a/b/...), per
# corruption of the mixed test set, its samples at severities 1..5 together
# with the clean ones as severity 0. Per layer, not of the mean width: under
# a fixed mean cost a policy may move bits between layers of equal MACs
# with severity, which leaves the mean flat. Then the mean of each label over its
# seeds; there the correlations are the mean of their absolute values, as
# seeds may move bits between the same layers in opposite directions (a
# signed mean of +0.8 and -0.8 would read as no dependence at all). Needs
# Debian's python3-h5py and python3-scipy.
import os
import re
import sys

import h5py
import numpy as np
from scipy.stats import spearmanr


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def config_value(f, section, key):
    cfg = text(f["/config"][()]) if "/config" in f else ""
    sec = None
    for line in cfg.splitlines():
        line = line.split(";")[0].strip()
        if line.startswith("["):
            sec = line.strip("[]")
        elif "=" in line and sec == section and line.split("=")[0].strip() == key:
            return line.split("=", 1)[1].strip()
    return None


def row(path):
    with h5py.File(path, "r") as f:
        e = f["/train/epochs"][:]
        name = config_value(f, "experiment", "name") or os.path.basename(os.path.dirname(path))
        m = re.match(r"(.*)-s(\d+)$", name)
        r = {"label": m.group(1) if m else name,
             "seed": int(config_value(f, "experiment", "seed") or -1),
             "test": float(e["test_acc"][-1]), "bitops": float(e["bitops_vs_int8"][-1]),
             "train_s": float(np.nansum(e["seconds"])), "clean": np.nan, "grid": np.nan,
             "val": float(e["val_acc"][-1]) if "val_acc" in e.dtype.names else np.nan,
             "instab": np.nan, "rho": {}}
        if "instability_mean" in e.dtype.names:
            search = e[e["phase"] <= 1]
            r["instab"] = float(search["instability_mean"][-1]) if len(search) else np.nan
        if "/eval/grid" in f:
            g = f["/eval/grid"]
            r["clean"] = float(g.attrs["clean_acc"])
            r["grid"] = float(g.attrs["mean_corrupted_acc"])
        if "/eval/samples" in f and len(f["/eval/samples"]) > 0:
            s = f["/eval/samples"][:]
            names = {}
            if "/eval/grid" in f:
                gt = f["/eval/grid"][:]
                names = {int(i): text(n) for i, n in zip(gt["corruption_id"], gt["corruption"])}
            wb = s["w_bits"]
            for c in sorted(set(s["corruption"][s["corruption"] >= 0])):
                k = (s["corruption"] == c) | (s["corruption"] == -1)
                # one width for every input (static plans): no ranking to correlate
                rho = [spearmanr(s["severity"][k], wb[k, l]).correlation
                       if len(np.unique(wb[k, l])) > 1 else np.nan for l in range(wb.shape[1])]
                r["rho"][names.get(int(c), str(c))] = np.array(rho, dtype=float)
    return r


SHORT = {"gaussian_noise": "noise", "gaussian_blur": "blur", "jpeg_compression": "jpeg"}


def mean_abs(rhos):
    """per layer, the mean |rho| over the seeds that have one (nan: none)"""
    a = np.abs(np.array(rhos, dtype=float))
    n = np.sum(~np.isnan(a), axis=0)
    return np.where(n > 0, np.nansum(a, axis=0) / np.maximum(n, 1), np.nan)


def fmt_rho(d, fmt="%+.2f"):
    if not d or all(np.isnan(v).all() for v in d.values()):
        return "-"
    return "  ".join("%s %s" % (SHORT.get(k, k), "/".join(fmt % x for x in v))
                     for k, v in d.items())


def read_row(path):
    """row(path), or exit naming the file and what is wrong with it."""
    if not os.path.exists(path):
        sys.exit(f"compare.py: {path}: no such file")
    try:
        return row(path)
    except OSError as e:
        sys.exit(f"compare.py: {path}: not a readable HDF5 file ({e})")
    except (KeyError, ValueError) as e:
        sys.exit(f"compare.py: {path}: not a qadapt run file with /train/epochs ({e})")


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__ or "", end="")
        print("usage: /usr/bin/python3 tools/compare.py RUN.h5|RUN_DIR [...] (see the comment at the "
              "top of tools/compare.py)")
        sys.exit(0 if argv else 2)
    paths = [os.path.join(p, "run.h5") if os.path.isdir(p) else p for p in argv]
    rows = [read_row(p) for p in paths]
    hdr = "%-28s %4s %7s %7s %7s %7s %7s %8s %7s  %s" % (
        "method", "seed", "clean", "grid", "mixed", "val", "bitops", "train_s", "instab",
        "spearman(severity, width per layer)")
    print(hdr)
    for r in rows:
        print("%-28s %4d %7.2f %7.2f %7.2f %7.2f %7.4f %8.0f %7.4f  %s" % (
            r["label"], r["seed"], 100 * r["clean"], 100 * r["grid"], 100 * r["test"],
            100 * r["val"], r["bitops"], r["train_s"], r["instab"], fmt_rho(r["rho"])))
    print()
    print(hdr.replace("seed", "  n ").replace("spearman(", "mean |spearman|("))
    for label in dict.fromkeys(r["label"] for r in rows):
        g = [r for r in rows if r["label"] == label]
        rho = {}
        for r in g:
            for k, v in r["rho"].items():
                rho.setdefault(k, []).append(v)
        print("%-28s %4d %7.2f %7.2f %7.2f %7.2f %7.4f %8.0f %7.4f  %s" % (
            label, len(g), 100 * np.mean([r["clean"] for r in g]),
            100 * np.mean([r["grid"] for r in g]), 100 * np.mean([r["test"] for r in g]),
            100 * np.mean([r["val"] for r in g]), np.mean([r["bitops"] for r in g]),
            np.mean([r["train_s"] for r in g]), np.mean([r["instab"] for r in g]),
            fmt_rho({k: mean_abs(v) for k, v in rho.items()}, "%.2f")))


if __name__ == "__main__":
    main(sys.argv[1:])
