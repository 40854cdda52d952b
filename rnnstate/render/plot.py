"""The run as one matplotlib figure (--plot, Result.plot()): x, o with the step each state equals
marked, the final states, the gates with --gates, and a few units through time.

matplotlib is imported here and only here, with the Agg backend (no display needed). Saved .svg
and .pdf files carry no dates or random ids, so the same run gives the same bytes.
"""

import io

import numpy as np

from rnnstate.render.table import trace_legend
from rnnstate.result import Result

SEQUENTIAL_ACTIVATIONS = {"sigmoid", "hard_sigmoid", "sparse_sigmoid"}  # values in [0, 1]
GATE_PRODUCERS = {"i": "rec", "f": "rec", "o": "rec", "z": "rec", "r": "rec"}
LINES_SHOWN = 4  # units drawn through time unless units_shown says which


def unit_scale(result: Result, base: str) -> bool:
    """Whether traced quantity `base` (i, f, z, ...) lies in [0, 1]: a gate made by a
    sigmoid-like recurrent activation, drawn on a 0..1 scale instead of one around 0."""
    producer = GATE_PRODUCERS.get(base)
    functions = {"rec": result.spec.recurrent_activation, "act": result.spec.activation}
    return producer is not None and functions[producer] in SEQUENTIAL_ACTIVATIONS


def pyplot():
    """matplotlib.pyplot on the Agg backend, with settings that keep saved bytes stable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "rnnstate"  # fixed ids in SVG, not random ones
    return plt


def panels(result: Result, n: int) -> list[tuple[str, np.ndarray, bool]]:
    """(title, values (rows, T), sequential) for each heatmap of sequence n: x, the halves of
    o or o, then the traced quantities with --gates."""
    spec, M = result.spec, result.spec.units
    found = [("x  input (rows: features d)", result.x[n].T, False)]
    if spec.return_sequences:
        order = " (rows of o in reading order)" if spec.backwards else ""
        if spec.bidirectional and spec.merge == "concat":
            found.append(("o[:, :M]  forward half", result.o[n][:, :M].T, False))
            found.append(("o[:, M:]  backward half", result.o[n][:, M:].T, False))
        elif spec.bidirectional and spec.merge == "none":
            found += [(f"{name}", result.outputs[name][n].T, False) for name in ("o_fw", "o_bw")]
        else:
            found.append((f"o  output at every step{order}", result.o[n].T, False))
    if spec.gates and result.gates:
        for name, values in result.gates.items():
            base = name[:-3] if spec.bidirectional else name
            meaning, _ = trace_legend(result, base)
            found.append((f"{name}  {meaning}", values[n].T, unit_scale(result, base)))
    return found


def draw_heatmap(figure, axis, title: str, values: np.ndarray, sequential: bool, steps: list[int]):
    """One (rows, T) heatmap with its own colour bar: a 0..1 scale for gates in [0, 1], else a
    scale symmetric around 0. Drawn in float64: matplotlib scales the values by subtracting the
    lower limit, which overflows float32 for values near its largest (±3.4e38)."""
    values = values.astype(np.float64)
    if sequential:
        image = axis.imshow(values, aspect="auto", interpolation="nearest", cmap="viridis",
                            vmin=0.0, vmax=1.0)  # fmt: skip
    else:
        limit = float(np.max(np.abs(values))) or 1.0
        image = axis.imshow(values, aspect="auto", interpolation="nearest", cmap="RdBu_r",
                            vmin=-limit, vmax=limit)  # fmt: skip
    axis.set_title(title, loc="left", fontsize=9)
    axis.set_ylabel("unit" if not title.startswith("x") else "d", fontsize=8)
    rows = values.shape[0]
    axis.set_yticks(range(rows) if rows <= 16 else np.linspace(0, rows - 1, 5).astype(int))
    T = values.shape[1]
    ticks = range(T) if T <= 16 else np.linspace(0, T - 1, 9).astype(int)
    axis.set_xticks(list(ticks), [str(steps[t]) for t in ticks], fontsize=7)
    axis.tick_params(axis="y", labelsize=7)
    figure.colorbar(image, ax=axis, fraction=0.025, pad=0.01)


def shade_masked(axis, masked: list[int]) -> None:
    """Grey hatching over the masked steps (columns)."""
    for t in masked:
        axis.axvspan(t - 0.5, t + 0.5, facecolor="none", edgecolor="0.4", hatch="///", lw=0)


def figure(result: Result, n: int | None = None, units_shown: list[int] | None = None):
    """The figure of sequence n (--only; the first by default, with a note for a batch)."""
    plt = pyplot()
    spec = result.spec
    n = 0 if n is None else n
    maps = panels(result, n)
    T = spec.steps
    steps = [result.step_of_row(r) for r in range(T)]
    rows = len(maps) + 2  # + the final states and the lines through time
    fig, axes = plt.subplots(rows, 1, figsize=(10, 1.7 * rows + 0.6))
    fig.subplots_adjust(left=0.11, right=0.93, top=1 - 0.75 / (1.7 * rows + 0.6), bottom=0.05,
                        hspace=0.55)  # fmt: skip
    layer = f"Bidirectional({spec.keras_layer})" if spec.bidirectional else spec.keras_layer
    settings = f"activation={spec.activation}"
    if spec.cell != "rnn":
        settings += f", recurrent_activation={spec.recurrent_activation}"
    batch = f"; sequence n={n} of N={spec.batch}" if spec.batch > 1 else ""
    fig.suptitle(
        f"{layer} on the {spec.engine} engine, T={T} D={spec.features} M={spec.units} "
        f"N={spec.batch}, seed={spec.seed}\nreturn_sequences={spec.return_sequences}, "
        f"{settings}{batch}",
        fontsize=10,
    )
    masked = [] if result.mask is None else [int(t) for t in np.flatnonzero(~result.mask[n])]
    checks = [c for c in result.checks() if c.sequence == n]
    for axis, (title, values, sequential) in zip(axes, maps, strict=False):
        # x and a bidirectional layer's arrays are in input order; the rest in reading order
        labels = list(range(T)) if title.startswith("x") or spec.bidirectional else steps
        draw_heatmap(fig, axis, title, values, sequential, labels)
        shade_masked(axis, [labels.index(t) for t in masked])
        mark_equal_rows(axis, title, checks)
    draw_states(fig, axes[len(maps)], result, n, checks)
    draw_lines(axes[len(maps) + 1], result, n, units_shown)
    axes[-1].set_xlabel("t (input step)" if not spec.backwards else "row of o (reading order)")
    return fig


def mark_equal_rows(axis, title: str, checks) -> None:
    """A triangle above the column of o each state equals exactly, named."""
    for check in checks:
        if not check.equal or check.row is None:
            continue
        parts = {"h": ("o  output at",), "h_fw": ("o[:, :M]", "o_fw"), "h_bw": ("o[:, M:]", "o_bw")}
        if title.startswith(parts[check.state]):
            axis.plot([check.row], [-0.5], marker="v", color="black", clip_on=False, markersize=7)
            axis.annotate(f"= {check.state}", (check.row, -0.5), xytext=(4, 2),
                          textcoords="offset points", fontsize=7)  # fmt: skip


def draw_states(fig, axis, result: Result, n: int, checks) -> None:
    """The final states side by side, one column each, with what each equals in its label."""
    equals = {c.state: c.output for c in checks if c.equal}
    names = list(result.states)
    values = np.stack([result.states[name][n] for name in names], axis=1).astype(np.float64)
    limit = float(np.max(np.abs(values))) or 1.0
    image = axis.imshow(values.T, aspect="auto", interpolation="nearest", cmap="RdBu_r",
                        vmin=-limit, vmax=limit)  # fmt: skip
    axis.set_yticks(range(len(names)),
                    [f"{name} = {equals[name]}" if name in equals else name for name in names],
                    fontsize=7)  # fmt: skip
    axis.set_xticks(range(values.shape[0]) if values.shape[0] <= 16 else [])
    axis.tick_params(axis="x", labelsize=7)
    axis.set_title("final states (columns: units)", loc="left", fontsize=9)
    fig.colorbar(image, ax=axis, fraction=0.025, pad=0.01)


def draw_lines(axis, result: Result, n: int, units_shown: list[int] | None) -> None:
    """A few units of o (or of h_t, without return_sequences but with a trace) through time."""
    spec = result.spec
    if spec.return_sequences and "o" in result.outputs:
        values, name = result.o[n], "o"
    elif result.gates is not None and "h_t" in result.gates:
        values, name = result.gates["h_t"][n], "h_t"
    else:
        axis.set_title("o holds only the last step: add --sequences (or --gates) for lines",
                       loc="left", fontsize=9)  # fmt: skip
        axis.axis("off")
        return
    units = units_shown or list(range(min(LINES_SHOWN, values.shape[1])))
    for unit in units:
        axis.plot(range(values.shape[0]), values[:, unit], lw=1, label=f"u{unit}")
    axis.set_title(f"{name} through time, units {', '.join(f'u{u}' for u in units)}",
                   loc="left", fontsize=9)  # fmt: skip
    axis.legend(fontsize=7, loc="upper right", ncols=min(len(units), 8))
    axis.set_xlim(-0.5, values.shape[0] - 0.5)
    axis.tick_params(labelsize=7)


def image_bytes(fig, suffix: str) -> bytes:
    """The figure as .png, .svg or .pdf bytes, without dates (stable for .svg and .pdf)."""
    metadata = {".png": {"Software": None}, ".svg": {"Date": None}, ".pdf": {"CreationDate": None}}
    buffer = io.BytesIO()
    fig.savefig(buffer, format=suffix[1:], metadata=metadata[suffix], dpi=100)
    pyplot().close(fig)
    return buffer.getvalue()
