#!/usr/bin/env python3
"""Draws the panels of observability/dashboard.json from the series a real run saved.

    IDEMGATE_DASHBOARD_DATA=/tmp/dashboard.json \
        cargo test -p shop --all-features --test prometheus -- --nocapture
    python3 observability/render_dashboard.py /tmp/dashboard.json docs/dashboard.png

The data is what Prometheus answered to each panel's query (its range API, one point a
second) during the end-to-end test: a shop at 50 orders/s whose payment provider goes down and
comes back. Needs matplotlib.
"""

import json
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def legend(fmt, metric):
    """Grafana's legendFormat: {{label}} replaced by the series' label value."""
    if not fmt:
        return ",".join(f"{k}={v}" for k, v in sorted(metric.items())) or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt)


def main(data_path, out_path):
    with open(data_path) as f:
        data = json.load(f)
    start = data["start"]
    panels = []
    for query in data["queries"]:
        if not panels or panels[-1][0] != query["panel"]:
            panels.append((query["panel"], []))
        panels[-1][1].append(query)

    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(13, 2.6 * rows), sharex=True)
    for ax, (title, queries) in zip(axes.flat, panels):
        ax.axvspan(data["outage"] - start, data["recovered"] - start, color="#f4cccc", lw=0)
        drawn = 0
        for query in queries:
            for series in query["result"]:
                xs = [float(t) - start for t, _ in series["values"]]
                ys = [float(v) for _, v in series["values"]]
                if not any(ys):
                    continue  # series registered at zero that never moved
                label = legend(query.get("legend"), series["metric"])
                ax.plot(xs, ys, label=label.replace("shop::", ""), lw=1.4)
                drawn += 1
        if title == "Retry amplification per dependency":
            ax.axhline(1.2, color="red", ls="--", lw=0.8, label="alert threshold")
        if title == "Circuit breaker state":
            ax.set_yticks([0, 1, 2], ["closed", "half-open", "open"])
        if query.get("unit") == "percentunit":
            ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_title(title, fontsize=10, loc="left")
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=7, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no events", ha="center", va="center", transform=ax.transAxes,
                    color="grey")
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("seconds (shaded: payment provider down)", fontsize=8)
    fig.suptitle("idemgate dashboard — shop at 50 orders/s, payment provider outage "
                 "(real Prometheus, 1 s scrapes)", fontsize=11)
    fig.tight_layout()
    fig.savefig(out_path, dpi=90)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: render_dashboard.py <data.json> <out.png>")
    main(sys.argv[1], sys.argv[2])
