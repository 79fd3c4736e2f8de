#!/usr/bin/python3
# plot.py: PNG figures from qadapt run files and sweep folders.
#
#   /usr/bin/python3 tools/plot.py [--out DIR] PATH [PATH ...]
#
# PATH is a run file (run.h5), a search file (search.h5) or a sweep folder (what `qadapt sweep` wrote:
# index.csv and <hash>/run.h5); every complete or interrupted run found is
# used. Writes into DIR (default: plots/):
#   curves.png     training curves: train/test loss and accuracy per epoch
#   severity.png   accuracy vs severity, one panel per corruption, a line per
#                  run (from /eval/grid)
#   pareto.png     accuracy vs mean BitOps per sample, Pareto front marked
#                  (clean test accuracy; mean corrupted accuracy too when the
#                  runs have a grid)
#   bits_heatmap.png  mean bits per planned layer x severity for adaptive
#                  methods (/eval/grid's per-cell mean widths, or method
#                  dqmq's /eval/policy_grid)
#   search_reward.png  qadapt search files (search.h5): each episode's reward
#                  and the best so far, and each plan's cost against the
#                  budget (/search/episodes)
# A figure whose data no run has is skipped with a line saying so.
# Needs Debian's python3-h5py and python3-matplotlib (nothing else).
import argparse
import csv
import os
import sys

try:
    import h5py
    import matplotlib
    import numpy as np
except ImportError as e:  # pragma: no cover - reported to the user
    sys.exit("plot.py: needs python3-h5py and python3-matplotlib (apt install them): %s" % e)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

FIXED_METHODS = ("fp32", "fixed")


def usage_text():
    lines = []
    with open(__file__) as f:
        next(f)
        for line in f:
            if not line.startswith("#"):
                break
            lines.append(line[2:].rstrip("\n"))
    return "\n".join(lines)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def ini_value(ini, section, key):
    cur = None
    for line in ini.splitlines():
        if line.startswith("["):
            cur = line.strip()[1:-1]
        elif cur == section and "=" in line:
            k, v = line.split("=", 1)
            if k.strip() == key:
                return v.strip()
    return None


class Run:
    """What the figures need from one run file."""

    def __init__(self, path, label=None):
        self.path = path
        with h5py.File(path, "r") as f:
            self.status = text(f.attrs.get("status", "?"))
            self.ini = text(f["config"][()]) if "config" in f else ""
            self.epochs = f["train/epochs"][()] if "train/epochs" in f else None
            self.grid = f["eval/grid"][()] if "eval/grid" in f else None
            self.grid_attrs = dict(f["eval/grid"].attrs) if "eval/grid" in f else {}
            # method dqmq's own final per-cell widths, on its test mix
            self.policy_grid = f["eval/policy_grid"][()] if "eval/policy_grid" in f else None
            self.test_acc = float(f.attrs.get("test_acc", np.nan))
            self.macs = float(f.attrs.get("macs_per_sample", np.nan))
        self.method = ini_value(self.ini, "experiment", "method") or "?"
        self.label = label or self.method_label()

    def method_label(self):
        m = self.method
        if m == "fixed":
            lb = ini_value(self.ini, "quant", "layer_bits")
            if lb:
                return "fixed [%s]" % lb
            return "fixed W%sA%s %s" % (ini_value(self.ini, "quant", "w_bits"),
                                        ini_value(self.ini, "quant", "a_bits"),
                                        ini_value(self.ini, "quant", "w_quantizer"))
        return m

    def has(self, table, col):
        return table is not None and col in (table.dtype.names or ())

    def bitops(self):
        """Mean BitOps per sample: the clean grid cell, the last epoch, or
        MACs x 32 x 32 for a float run."""
        if "clean_bitops" in self.grid_attrs:
            return float(self.grid_attrs["clean_bitops"])
        if self.has(self.epochs, "bitops") and len(self.epochs):
            return float(self.epochs["bitops"][-1])
        if self.method == "fp32":
            return self.macs * 32 * 32
        return np.nan


def load(paths):
    runs = []
    for p in paths:
        if os.path.isdir(p):
            index = os.path.join(p, "index.csv")
            if not os.path.exists(index):
                sys.exit("plot.py: %s: no index.csv (not a sweep folder)" % p)
            with open(index) as f:
                rows = list(csv.DictReader(f))
            for row in rows:
                run = os.path.join(p, row["run"])
                if not os.path.exists(run):
                    continue
                axes = [k for k in row if k not in ("hash", "status", "run") and
                        k not in ("test_acc", "test_loss", "bitops", "seconds", "grid_acc",
                                  "mce", "rel_mce")]
                r = Run(run)
                r.label = r.method_label() + "".join(
                    ", %s=%s" % (k.split(".")[-1], row[k]) for k in axes
                    if k.split(".")[0] != "quant" and k != "experiment.method")
                runs.append(r)
        else:
            runs.append(Run(p, None))
    return [r for r in runs if r.status in ("complete", "interrupted")]


def colour_of(runs):
    methods = sorted({r.method_label() for r in runs})
    cmap = plt.get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(methods)}


def plot_curves(runs, out):
    runs = [r for r in runs if r.epochs is not None and len(r.epochs)]
    if not runs:
        return "no run has /train/epochs rows"
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for r in runs:
        e = r.epochs["epoch"]
        line, = ax[0].plot(e, r.epochs["train_loss"], marker="o", ms=3, label=r.label)
        ax[0].plot(e, r.epochs["test_loss"], "--", color=line.get_color())
        ax[1].plot(e, 100 * r.epochs["train_acc"], color=line.get_color(), label=r.label)
        ax[1].plot(e, 100 * r.epochs["test_acc"], "--", color=line.get_color())
    ax[0].set(xlabel="epoch", ylabel="loss", title="loss (solid: train, dashed: test)")
    ax[1].set(xlabel="epoch", ylabel="accuracy %", title="accuracy (solid: train, dashed: test)")
    if len(runs) <= 12:
        ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def plot_severity(runs, out):
    runs = [r for r in runs if r.grid is not None and len(r.grid)]
    if not runs:
        return "no run has an /eval/grid (set [eval] grid = true)"
    names = []
    for r in runs:
        for c in r.grid["corruption"]:
            c = text(c)
            if c != "clean" and c not in names:
                names.append(c)
    if not names:
        return "the grids hold only the clean cell"
    cols = min(4, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
    colours = colour_of(runs)
    for k, name in enumerate(names):
        ax = axes[k // cols][k % cols]
        for r in runs:
            g = r.grid
            corr = np.array([text(c) for c in g["corruption"]])
            clean = g["accuracy"][corr == "clean"]
            sel = corr == name
            sev = np.concatenate([[0], g["severity"][sel]]) if len(clean) else g["severity"][sel]
            acc = np.concatenate([clean[:1], g["accuracy"][sel]]) if len(clean) else g["accuracy"][sel]
            order = np.argsort(sev)
            ax.plot(sev[order], 100 * acc[order], marker="o", ms=3, lw=1,
                    color=colours[r.method_label()], label=r.label)
        ax.set(title=name, xlabel="severity", ylabel="accuracy %")
        ax.grid(alpha=0.3)
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].axis("off")
    if len(runs) <= 12:
        axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def pareto_front(x, y):
    """Indices of the points no other point beats in both fewer BitOps and
    higher accuracy, by BitOps."""
    order = np.argsort(x)
    front, best = [], -np.inf
    for i in order:
        if y[i] > best:
            front.append(i)
            best = y[i]
    return front


def plot_pareto(runs, out):
    runs = [r for r in runs if np.isfinite(r.bitops()) and np.isfinite(r.test_acc)]
    if not runs:
        return "no run has both a test accuracy and BitOps"
    panels = [("clean test accuracy %", [r.test_acc for r in runs])]
    if all("mean_corrupted_acc" in r.grid_attrs for r in runs):
        panels.append(("mean corrupted accuracy %",
                       [float(r.grid_attrs["mean_corrupted_acc"]) for r in runs]))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    colours = colour_of(runs)
    x = np.array([r.bitops() for r in runs])
    for ax, (title, ys) in zip(axes[0], panels):
        y = 100 * np.array(ys)
        seen = set()
        for r, xi, yi in zip(runs, x, y):
            m = r.method_label()
            ax.scatter(xi, yi, color=colours[m], s=18, label=None if m in seen else m)
            seen.add(m)
        f = pareto_front(x, y)
        ax.plot(x[f], y[f], "k--", lw=0.8, label="Pareto front")
        ax.set(xscale="log", xlabel="mean BitOps per sample", ylabel=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def bits_table(r):
    """The per-cell widths of an adaptive run: /eval/grid, else dqmq's
    /eval/policy_grid."""
    if r.has(r.grid, "w_bits"):
        return r.grid
    if r.has(r.policy_grid, "w_bits") and len(r.policy_grid):
        return r.policy_grid
    return None


def plot_bits(runs, out):
    runs = [r for r in runs if r.method not in FIXED_METHODS and bits_table(r) is not None]
    if not runs:
        return ("no adaptive-method run (not fp32/fixed) with per-layer bits in /eval/grid "
                "or /eval/policy_grid")
    fig, axes = plt.subplots(1, len(runs), figsize=(4.5 * len(runs), 3.6), squeeze=False)
    for ax, r in zip(axes[0], runs):
        g = bits_table(r)
        sevs = sorted(set(int(s) for s in g["severity"]))
        bits = np.array(g["w_bits"], dtype=float).reshape(len(g), -1)
        if r.has(g, "a_bits"):
            bits = 0.5 * (bits + np.array(g["a_bits"], dtype=float).reshape(len(g), -1))
        m = np.array([bits[g["severity"] == s].mean(axis=0) for s in sevs]).T
        im = ax.imshow(m, aspect="auto", cmap="viridis", origin="lower")
        ax.set(xticks=range(len(sevs)), xticklabels=sevs, yticks=range(m.shape[0]),
               xlabel="severity", ylabel="planned layer", title=r.label)
        fig.colorbar(im, ax=ax, label="mean bits (w+a)/2")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def search_tables(runs):
    """(run, /search/episodes, budget, warm-up episodes) of qadapt search
    files."""
    out = []
    for r in runs:
        with h5py.File(r.path, "r") as f:
            if "search/episodes" not in f or len(f["search/episodes"]) == 0:
                continue
            e = f["search/episodes"][()]
        budget = float(ini_value(r.ini, "search", "budget") or "nan")
        out.append((r, e, budget, int(ini_value(r.ini, "search", "warmup") or 0)))
    return out


def plot_search(runs, out):
    tabs = search_tables(runs)
    if not tabs:
        return "no qadapt search file with /search/episodes"
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 3.8))
    cmap = plt.get_cmap("tab10")
    for i, (r, e, budget, warmup) in enumerate(tabs):
        c, name = cmap(i % 10), ini_value(r.ini, "experiment", "name")
        x, rew = e["episode"], e["reward"]
        ax.plot(x, rew, ".", color=c, alpha=0.45, ms=4)
        ax.plot(x, np.maximum.accumulate(rew), "-", color=c, label="%s: best so far" % name)
        ax.axvspan(0.5, warmup + 0.5, color=c, alpha=0.08, lw=0)
        bx.plot(x, e["cost"], ".", color=c, alpha=0.6, ms=4, label=name)
        bx.axhline(budget, color=c, ls="--", lw=0.8)
    ax.set(xlabel="episode", ylabel="reward: 0.1 x (val acc - acc_ref) in points",
           title="reward per episode (shaded: warm-up)")
    bx.set(xlabel="episode", ylabel="plan cost / 8-bit", title="cost of each plan (dashed: budget)")
    ax.legend(fontsize=8)
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


FIGURES = [("curves.png", plot_curves), ("severity.png", plot_severity),
           ("pareto.png", plot_pareto), ("bits_heatmap.png", plot_bits),
           ("search_reward.png", plot_search)]


def main():
    ap = argparse.ArgumentParser(description=usage_text(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="PATH",
                    help="run.h5 or search.h5 files, or sweep folders")
    ap.add_argument("--out", default="plots", help="folder for the PNG files (default plots/)")
    a = ap.parse_args()
    for p in a.paths:
        if not os.path.exists(p):
            sys.exit("plot.py: %s: no such file or folder" % p)
    runs = load(a.paths)
    if not runs:
        sys.exit("plot.py: no complete or interrupted run in %s" % " ".join(a.paths))
    os.makedirs(a.out, exist_ok=True)
    for name, fn in FIGURES:
        path = os.path.join(a.out, name)
        why = fn(runs, path)
        if why:
            print("skipped %s: %s" % (name, why))
        else:
            print("wrote %s" % path)


if __name__ == "__main__":
    main()
