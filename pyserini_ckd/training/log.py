"""The training log (JSONL: step, epoch, loss, lr, examples per second) and its loss-curve PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Union


def read_log(path: Union[str, Path]) -> List[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_log(path: Path, last_step: int) -> None:
    """Keep the entries up to ``last_step`` (after a resume from that step)."""
    kept = [e for e in read_log(path) if e["step"] <= last_step]
    path.write_text("".join(json.dumps(e) + "\n" for e in kept))


def plot_loss(log_path: Union[str, Path], png_path: Union[str, Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = read_log(log_path)
    if not entries:
        return
    steps = [e["step"] for e in entries]
    losses = [e["loss"] for e in entries]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="loss")
    window = max(1, len(losses) // 20)
    if window > 1:
        smooth = [sum(losses[max(0, i - window + 1):i + 1]) / len(losses[max(0, i - window + 1):i + 1]) for i in range(len(losses))]
        ax.plot(steps, smooth, lw=1.5, label=f"mean of {window}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
