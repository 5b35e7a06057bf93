"""docs/benchmarks.png: each scenario's throughput as a share of the bare FastAPI ceiling."""

from pathlib import Path

from bench.runner import ConfigResult

# Issue 9's ratio targets (× bare).
TARGETS = {
    "me_bearer": 0.7,
    "item_get": 0.5,
    "item_put": 0.2,
    "refresh": 0.25,
    "me_under_logouts": 0.5,
}


def write(configs: list[ConfigResult], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in configs[0].results if k != "bare" and configs[0].ratio(k) is not None]
    keys = [k for k in keys if not k.endswith(("_small", "_large"))]
    height = 0.8 / len(configs)
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(keys) * max(1, len(configs) / 1.5) + 1.5))
    for n, config in enumerate(configs):
        ratios = [config.ratio(k) or 0.0 for k in keys]
        positions = [i + n * height for i in range(len(keys))]
        bars = ax.barh(positions, ratios, height=height, label=config.name)
        ax.bar_label(bars, labels=[f"{r:.3f}" for r in ratios], padding=3, fontsize=8)
    for i, key in enumerate(keys):
        if key in TARGETS:
            top = i - height / 2, i + height * (len(configs) - 0.5)
            ax.vlines(TARGETS[key], *top, colors="black", linestyles="dashed", linewidth=1)
    ax.set_yticks([i + height * (len(configs) - 1) / 2 for i in range(len(keys))])
    ax.set_yticklabels([configs[0].labels[k] for k in keys], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("throughput ÷ bare FastAPI GET /hello (log scale; dashes: targets)")
    ax.set_title("authgate throughput relative to the bare FastAPI ceiling")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
