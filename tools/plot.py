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
#   ddq_bits.png   method ddq: each layer's learned weight and activation
#                  precision over the epochs (/train/ddq), a row per run
#   ddq_levels.png method ddq: each layer's final levels as fractions of its
#                  range (/quant/ddq_levels; non-uniform with ddq_adaptive)
#   ddq_cost.png   method ddq: the realised cost over the budget's reference
#                  (/train/ddq cost_ratio) against the target, a line per run
#   metamix_widths.png  method metamix: the chosen (held) activation width of
#                  every planned layer, a line per run, and each layer's
#                  activation instability after the search (/train/arch)
#   blockrep.png   method blockrep: each intermediate model's accuracy per
#                  epoch beside the teacher's and the student's, a panel per
#                  run (from /train/blockrep; test accuracy, train when the
#                  models were tested after fewer than two epochs)
#   search_reward.png  qadapt search files (search.h5): each episode's reward
#                  and the best so far, and each plan's cost against the
#                  budget (/search/episodes)
#   study_pareto.png  a comparison study (runs with [experiment] group, e.g.
#                  tools/study.sh's): grid-mean accuracy against realised
#                  BitOps (the grid's corrupted cells, over 8 x 8 bits), one
#                  line per [experiment] label through its groups, mean and
#                  sd over seeds as error bars, a panel per model; fp32 as a
#                  horizontal band. `--study FILE` writes only this figure,
#                  to FILE (docs/pareto.png).
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

FIXED_METHODS = ("fp32", "fixed", "blockrep")  # one width per layer for every input


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
            # method metamix's per-epoch, per-layer architecture
            self.arch = f["train/arch"][()] if "train/arch" in f else None
            at = dict(f["train/arch"].attrs) if "train/arch" in f else {}
            self.arch_names = text(at.get("names", "")).split(",") if at else []
            self.arch_cand = [int(c) for c in at.get("candidates", [])]
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
        if m == "metamix":
            return "metamix (%s)" % ini_value(self.ini, "metamix", "weight_step")
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


def ddq_name(r):
    return "%s (%s)" % (ini_value(r.ini, "experiment", "name"), ini_value(r.ini, "model", "arch"))


def ddq_read(r):
    """(/train/ddq, /quant/ddq_levels or None, layer names, steps per epoch)
    of a method ddq run, None for any other run."""
    with h5py.File(r.path, "r") as f:
        if "train/ddq" not in f or len(f["train/ddq"]) == 0:
            return None
        t = f["train/ddq"][()]
        lv = f["quant/ddq_levels"][()] if "quant/ddq_levels" in f else None
        names = text(f["quant/layers"].attrs["names"]).split(",")
    spe = float(r.epochs["step"][0]) if r.has(r.epochs, "step") else 1.0
    return t, lv, names, max(spe, 1.0)


def ddq_tables(runs):
    """(run, /train/ddq, /quant/ddq_levels, layer names, steps per epoch) of
    the method ddq runs, at most four."""
    out = [(r,) + d for r, d in ((r, ddq_read(r)) for r in runs) if d is not None]
    return out[:4]


def plot_ddq(runs, out):
    tabs = ddq_tables(runs)
    if not tabs:
        return "no method ddq run with /train/ddq"
    fig, axes = plt.subplots(len(tabs), 2, figsize=(12, 0.25 * len(tabs[0][3]) + 2.5 * len(tabs)),
                             squeeze=False)
    cmap = plt.get_cmap("viridis", 7)
    for row, (r, t, _, names, spe) in zip(axes, tabs):
        x = t["step"] / spe
        edges = np.concatenate([[0.0], x])
        for ax, side in zip(row, ("w", "a")):
            bits = np.array(t[side + "_bits"], dtype=float).reshape(len(t), -1).T
            bits[bits > 8] = np.nan  # 32: not quantized
            im = ax.pcolormesh(edges, np.arange(len(names) + 1), bits, cmap=cmap, vmin=1.5,
                               vmax=8.5, shading="flat")
            ax.set(yticks=np.arange(len(names)) + 0.5, xlabel="epoch",
                   title="%s: %s precision" % (ddq_name(r), "weight" if side == "w" else "input"))
            ax.set_yticklabels(names, fontsize=6)
            ax.invert_yaxis()
            fig.colorbar(im, ax=ax, ticks=range(2, 9), label="bits")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def plot_ddq_levels(runs, out):
    tabs = [t for t in ddq_tables(runs) if t[2] is not None and len(t[2])]
    if not tabs:
        return "no method ddq run with /quant/ddq_levels"
    fig, axes = plt.subplots(len(tabs), 2, figsize=(12, 0.25 * len(tabs[0][3]) + 2.5 * len(tabs)),
                             squeeze=False)
    for row, (r, _, lv, names, _) in zip(axes, tabs):
        for ax, side in zip(row, ("w", "a")):
            for i, levels in enumerate(lv[side + "_levels"]):
                v = levels[np.isfinite(levels)]
                ax.plot(v, np.full(len(v), i), "|", ms=6, mew=0.6, color="C0")
                ax.text(1.02, i, str(int(lv[side + "_bits"][i])), fontsize=6, va="center",
                        transform=ax.get_yaxis_transform())
            ax.set(yticks=range(len(names)), xlabel="level / range R",
                   title="%s: final %s levels (bits at the right)" %
                   (ddq_name(r), "weight" if side == "w" else "input"))
            ax.set_yticklabels(names, fontsize=6)
            ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def plot_ddq_cost(runs, out):
    rows = [(r, d) for r, d in ((r, ddq_read(r)) for r in runs)
            if d is not None and r.has(r.epochs, "target") and len(r.epochs)]
    if not rows:
        return "no method ddq run with /train/ddq"
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r, (t, _, _, spe) in rows:
        line, = ax.plot(np.concatenate([[0.0], t["step"] / spe]),
                        np.concatenate([[1.0], t["cost_ratio"]]), lw=1, label=ddq_name(r))
        ax.axhline(float(r.epochs["target"][-1]), ls="--", lw=0.8, color=line.get_color())
    ax.set(xlabel="epoch", ylabel="realised cost / cost at max bits",
           title="method ddq: realised cost (solid) and target (dashed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def plot_metamix_widths(runs, out):
    runs = [r for r in runs if r.arch is not None and len(r.arch)]
    if not runs:
        return "no method metamix run (/train/arch)"
    colours = colour_of(runs)
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(9, 6.4), sharex=True)
    seen = set()
    for j, r in enumerate(runs):
        a = r.arch
        last = a[a["epoch"] == a["epoch"].max()]
        searched = a[a["phase"] <= 1]
        end = searched[searched["epoch"] == searched["epoch"].max()] if len(searched) else last
        lab = r.method_label()
        kw = dict(color=colours[lab], label=None if lab in seen else lab, alpha=0.8)
        seen.add(lab)
        off = 0.12 * (j - 0.5 * (len(runs) - 1)) / max(len(runs), 1)
        ax.plot(last["layer"] + off, last["a_bits"], "o-", ms=4, lw=0.8, **kw)
        bx.plot(end["layer"], end["instability"], ".-", lw=0.8, **kw)
    names = runs[0].arch_names
    cand = sorted({c for r in runs for c in r.arch_cand})
    ax.set(ylabel="held activation bits", yticks=cand,
           title="chosen widths per planned layer (last epoch)")
    bx.set(ylabel="instability (end of search)", xlabel="planned layer")
    if len(names) == len(runs[0].arch[runs[0].arch["epoch"] == 1]):
        bx.set_xticks(range(len(names)))
        bx.set_xticklabels(names, rotation=70, fontsize=7)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def blockrep_table(r):
    """/train/blockrep's rows and its block names, or None."""
    with h5py.File(r.path, "r") as f:
        if "train/blockrep" not in f:
            return None
        d = f["train/blockrep"]
        return d[()], text(d.attrs.get("blocks", "")).split(",")


def blockrep_label(row, nmodels, blocks):
    k, q0, q1 = int(row["model"]), int(row["q_first"]), int(row["q_last"])
    if k == 0:
        return "teacher (fp32)"
    if k == nmodels + 1:
        return "student (all quantized)"
    names = blocks[q0 - 1] if q0 == q1 else "%s to %s" % (blocks[q0 - 1], blocks[q1 - 1])
    return "M%d: %s quantized" % (k, names)


def plot_blockrep(runs, out):
    tables = [(r, blockrep_table(r)) for r in runs]
    tables = [(r, t) for r, t in tables if t is not None and len(t[0])][:6]
    if not tables:
        return "no run has /train/blockrep (method blockrep)"
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4), squeeze=False)
    for ax, (r, (rows, blocks)) in zip(axes[0], tables):
        nmodels = int(rows["model"].max()) - 1
        # a run tested only at its end (eval.every = epochs) has no curve
        test = np.isfinite(rows["test_acc"]).sum() >= 2 * (nmodels + 2)
        col = "test_acc" if test else "train_acc"
        cmap = plt.get_cmap("viridis")
        for k in range(nmodels + 2):
            sel = rows[rows["model"] == k]
            style = dict(color="black", ls="--") if k == 0 else dict(
                color="tab:red", lw=2.5) if k == nmodels + 1 else dict(
                color=cmap(0.15 + 0.7 * (k - 1) / max(nmodels - 1, 1)))
            ax.plot(sel["epoch"], 100 * sel[col], marker="o", ms=3,
                    label=blockrep_label(sel[0], nmodels, blocks), **style)
        ax.set(xlabel="epoch", ylabel="%s accuracy %%" % ("test" if test else "train"),
               title=r.label if r.label != "blockrep" else "blockrep W%sA%s %s" % (
                   ini_value(r.ini, "quant", "w_bits"), ini_value(r.ini, "quant", "a_bits"),
                   ini_value(r.ini, "experiment", "seed") and
                   "seed " + ini_value(r.ini, "experiment", "seed")))
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.legend(fontsize=7)
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


def study_point(r):
    """(model, label, group, realised BitOps over 8 x 8 bits, grid mean) of
    a study run, None for a run outside a study."""
    group = ini_value(r.ini, "experiment", "group")
    if not group or r.grid is None or "mean_corrupted_acc" not in r.grid_attrs:
        return None
    g = r.grid[r.grid["severity"] > 0]
    bitops = float(np.mean(g["bitops"])) / (64 * r.macs) if len(g) else np.nan
    label = ini_value(r.ini, "experiment", "label") or r.method
    return (ini_value(r.ini, "model", "arch") or "?", label, group, bitops,
            100 * float(r.grid_attrs["mean_corrupted_acc"]))


def plot_study(runs, out):
    pts = [p for p in map(study_point, runs) if p]
    if not pts:
        return "no run of a study ([experiment] group) with a grid"
    models = sorted({p[0] for p in pts})
    fig, axes = plt.subplots(1, len(models), figsize=(6.5 * len(models), 4.6), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, model in zip(axes[0], models):
        mine = [p for p in pts if p[0] == model]
        labels = list(dict.fromkeys(p[1] for p in mine))
        for i, lab in enumerate(labels):
            cells = {}
            for p in mine:
                if p[1] == lab:
                    cells.setdefault(p[2], []).append((p[3], p[4]))
            stats = sorted((np.mean([c[0] for c in v]), np.std([c[0] for c in v], ddof=1)
                            if len(v) > 1 else 0, np.mean([c[1] for c in v]),
                            np.std([c[1] for c in v], ddof=1) if len(v) > 1 else 0)
                           for v in cells.values())
            x, xe, y, ye = (np.array(c) for c in zip(*stats))
            if lab == "fp32" or not np.all(np.isfinite(x)) or np.all(x > 4):
                ax.axhline(y[0], color="black", ls="--", lw=1, label="%s (%.1f%%)" % (lab, y[0]))
                ax.axhspan(y[0] - ye[0], y[0] + ye[0], color="black", alpha=0.08)
                continue
            ax.errorbar(x, y, xerr=xe, yerr=ye, marker="os^vD<>ph*"[i % 10], ms=4, capsize=2,
                        lw=1, color=cmap(i % 10), label=lab)
        ax.set(xlabel="realised BitOps / uniform 8-bit (grid mean)",
               ylabel="grid-mean accuracy %", title=model)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


FIGURES = [("curves.png", plot_curves), ("severity.png", plot_severity),
           ("pareto.png", plot_pareto), ("bits_heatmap.png", plot_bits),
           ("ddq_bits.png", plot_ddq), ("ddq_levels.png", plot_ddq_levels),
           ("ddq_cost.png", plot_ddq_cost),
           ("metamix_widths.png", plot_metamix_widths),
           ("blockrep.png", plot_blockrep),
           ("search_reward.png", plot_search), ("study_pareto.png", plot_study)]


def main():
    ap = argparse.ArgumentParser(description=usage_text(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="PATH",
                    help="run.h5 or search.h5 files, or sweep folders")
    ap.add_argument("--out", default="plots", help="folder for the PNG files (default plots/)")
    ap.add_argument("--study", metavar="FILE",
                    help="write only the study's Pareto figure, to FILE")
    a = ap.parse_args()
    for p in a.paths:
        if not os.path.exists(p):
            sys.exit("plot.py: %s: no such file or folder" % p)
    runs = load(a.paths)
    if not runs:
        sys.exit("plot.py: no complete or interrupted run in %s" % " ".join(a.paths))
    if a.study:
        why = plot_study(runs, a.study)
        if why:
            sys.exit("plot.py: %s" % why)
        print("wrote %s" % a.study)
        return
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
