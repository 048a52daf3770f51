#!/usr/bin/env python3
"""Draws one plot of the ReLU story from the CSV nnjit-relu-story wrote.

    plot.py vanishing|convergence|sparsity|dying|cost  data.csv  plot.png

Needs matplotlib (Debian: python3-matplotlib). Plots are small on purpose (they live in docs/).
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"relu": "C0", "sigmoid": "C1", "tanh": "C2", "leaky_relu": "C3", "prelu": "C4"}


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def vanishing(header, rows, ax):
    layers = [int(r[0]) for r in rows]
    for c, name in enumerate(header[1:], start=1):
        act, when = name.rsplit(" ", 1)
        ax.semilogy(layers, [float(r[c]) for r in rows], color=COLORS.get(act), marker="o", markersize=3,
                    linestyle="-" if when == "init" else "--", label=f"{act} ({when})")
    ax.set_xlabel("layer (1 = input side)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("|dL/dW|")
    ax.set_title("Weight-gradient norm per layer")
    ax.legend(fontsize=7, ncol=2)


def convergence(header, rows, fig):
    depths = sorted({int(r[0]) for r in rows})
    axes = fig.subplots(1, len(depths), sharey=True)
    for ax, depth in zip(axes, depths):
        for act in dict.fromkeys(r[1] for r in rows):
            pts = [(int(r[2]), float(r[3])) for r in rows if int(r[0]) == depth and r[1] == act]
            window = 20
            ys = [p[1] for p in pts]
            smooth = [sum(ys[max(0, i - window + 1):i + 1]) / len(ys[max(0, i - window + 1):i + 1]) for i in range(len(ys))]
            ax.plot([p[0] for p in pts], smooth, color=COLORS.get(act), label=act)
        ax.set_title(f"{depth} layers")
        ax.set_xlabel("SGD step")
    axes[0].set_ylabel("training loss (trailing mean)")
    axes[0].legend(fontsize=8)


def sparsity(header, rows, ax):
    trained = [c for c, h in enumerate(header) if h.endswith("trained")]
    width = 0.8 / len(rows)
    for k, r in enumerate(rows):
        xs = [i + k * width for i in range(len(trained))]
        ax.bar(xs, [float(r[c]) for c in trained], width, color=COLORS.get(r[0]), label=r[0])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(trained))])
    ax.set_xticklabels([header[c].replace(" trained", "") for c in trained])
    ax.set_ylabel("fraction of activations = 0")
    ax.set_ylim(0, 1)
    ax.set_title("Sparsity after training")
    ax.legend(fontsize=8)


def dying(header, rows, fig):
    conditions = list(dict.fromkeys(r[0] for r in rows))
    epochs = [c for c, h in enumerate(header) if h.startswith("epoch")]
    axes = fig.subplots(1, len(conditions), sharey=True)
    for ax, cond in zip(axes, conditions):
        for r in rows:
            if r[0] == cond:
                counts = [float(r[c]) if r[c] != "diverged" else float("nan") for c in epochs]
                diverged = any(r[c] == "diverged" for c in epochs)
                ax.plot(range(1, len(epochs) + 1), counts, color=COLORS.get(r[1]), marker="o", markersize=3,
                        label=r[1] + (" (diverged)" if diverged else ""))
        ax.set_title(cond)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("dead hidden units")


def cost(header, rows, fig):
    sizes = list(dict.fromkeys(r[1] for r in rows))
    axes = fig.subplots(1, len(sizes))
    for ax, size in zip(axes, sizes):
        sub = [r for r in rows if r[1] == size]
        xs = range(len(sub))
        ax.bar([x - 0.2 for x in xs], [float(r[2]) for r in sub], 0.4, label="interpreter")
        ax.bar([x + 0.2 for x in xs], [float(r[3]) for r in sub], 0.4, label="JIT")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r[0] for r in sub], fontsize=8)
        ax.set_title(f"{size} elements")
    axes[0].set_ylabel("ns per element (fwd + bwd)")
    axes[0].legend(fontsize=8)


def main():
    kind, src, dst = sys.argv[1:4]
    header, rows = read(src)
    fig = plt.figure(figsize=(7, 3.6), dpi=80)
    if kind in ("convergence", "dying", "cost"):
        globals()[kind](header, rows, fig)
    else:
        globals()[kind](header, rows, fig.add_subplot())
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    main()
