"""rnnstate explore through Textual's headless driver (Pilot): what the widgets show against
rnnstate.run for the same settings; keys, files, sizes, the keras engine, pipes."""

import asyncio
import dataclasses
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from rich.color import ColorSystem
from rich.console import Console
from typer.testing import CliRunner

import rnnstate
from rnnstate import models
from rnnstate.cli import app as cli_app
from rnnstate.cli import explore as explore_command
from rnnstate.cli.model import model_layer_data
from rnnstate.engines import exact
from rnnstate.explore import memory_view, terminal
from rnnstate.explore.app import Explorer
from rnnstate.explore.settings import Settings
from rnnstate.explore.views import View, prerender

SIZE = (140, 50)


def shown(widget) -> str:
    """What a widget shows, as plain text."""
    if isinstance(widget, View):
        return widget.shown.text()
    with open(os.devnull, "w") as nowhere:
        console = Console(width=120, record=True, color_system=None, file=nowhere)
        console.print(widget.content)
        return console.export_text()


async def settle(pilot, done, seconds: float = 60.0) -> None:
    """Let the app work until done() holds (or fail after `seconds`)."""
    for _ in range(int(seconds / 0.05)):
        await pilot.pause(0.05)
        if done():
            return
    raise AssertionError("the app did not get there in time")


def run_app(settings: Settings, script, size=SIZE, **files):
    """Run the app headless with `script(app, pilot)`, then quit with q; the app. `files`: the
    Explorer's data and view."""

    async def main():
        app = Explorer(settings, **files)
        async with app.run_test(size=size) as pilot:
            await script(app, pilot)
            await pilot.press("q")
        return app

    return asyncio.run(main())


def test_shows_the_numbers_of_rnnstate_run_and_follows_a_change():
    expected = rnnstate.run("lstm", seed=3, return_sequences=True, engine="numpy")
    changed = rnnstate.run("lstm", seed=3, units=5, return_sequences=True, engine="numpy")

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        assert_allclose(app.result.h, expected.h, rtol=0, atol=0)
        view = shown(app.query_one("#view"))
        assert f"{expected.h[0, 0]: .4f}" in view and "= o[t=7]" in view
        app.query_one("#units").value = "5"
        await settle(pilot, lambda: app.result.spec.units == 5)
        assert_allclose(app.result.o, changed.o, rtol=0, atol=0)
        assert "-M 5" in shown(app.query_one("#command"))

    app = run_app(Settings(seed=3, engine="numpy"), script)
    assert app.return_code in (0, None)


def test_cell_direction_and_sequences_controls():
    expected = rnnstate.run("gru", seed=1, bidirectional=True, engine="numpy")

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        app.query_one("#cell").value = "gru"
        app.query_one("#direction").value = "bidirectional"
        app.query_one("#return_sequences").value = False
        await settle(pilot, lambda: app.result.spec.cell == "gru" and app.result.spec.bidirectional
                     and not app.result.spec.return_sequences)  # fmt: skip
        for name in ("h_fw", "h_bw"):
            assert_allclose(app.result.states[name], expected.states[name], rtol=0, atol=0)
        command = shown(app.query_one("#command"))
        assert "rnnstate gru" in command and "--bidirectional --merge concat" in command

    run_app(Settings(seed=1, engine="numpy"), script)


def test_a_long_run_is_given_up_when_the_settings_change():
    async def script(app, pilot):
        await pilot.pause(0.5)  # T=2,000,000: about 20 s on numpy, were it run to the end
        app.query_one("#steps").value = "5"
        await settle(pilot, lambda: app.result is not None and not app.runner.busy(),
                     seconds=10)  # fmt: skip
        assert app.result.spec.steps == 5 and app.runner.superseded >= 1

    run_app(Settings(steps=2_000_000, seed=0, engine="numpy"), script)


def test_step_cursor_moves_the_explanation_and_the_heatmap_mark():
    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        await pilot.press("right", "right", "right", "v")  # to the heatmap
        assert app.step == 3 and app.view_name == "heatmap"
        await settle(pilot, lambda: "| t=3" in shown(app.query_one("#view")))
        await pilot.press("v", "left")  # to the explanation, one step back
        await settle(pilot, lambda: "Step t=2 explained" in shown(app.query_one("#view")))
        view = shown(app.query_one("#view"))
        assert "Step t=2 explained: sequence n=0" in view
        assert "--explain 2" in shown(app.query_one("#command"))

    run_app(Settings(seed=0, engine="numpy"), script)


def influence_by_finite_differences(settings: Settings, step: int, state: str) -> float:
    """‖∂s/∂x_step‖ of sequence 0's final state `state`, by central differences of the exact
    engine (float64) on the run of `settings`."""
    result = rnnstate.run(settings.cell, steps=settings.steps, features=settings.features,
                          units=settings.units, seed=settings.seed)  # fmt: skip
    spec = dataclasses.replace(result.spec, engine="exact")
    x = np.asarray(result.x, np.float64)
    columns = []
    for d in range(x.shape[2]):
        moved = []
        for sign in (1, -1):
            shifted = x.copy()
            shifted[0, step, d] += sign * 1e-6
            moved.append(exact.run(spec, shifted, result.weights).states[state][0])
        columns.append((moved[0] - moved[1]) / 2e-6)
    return float(np.linalg.norm(np.stack(columns)))


def test_memory_view_follows_the_step_cursor():
    settings = Settings(seed=0, steps=6, engine="numpy")

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        await pilot.press("v", "v", "v", "right", "right")  # the memory view, step 2
        await settle(pilot, lambda: app.drawn_look == ("memory", 2, 0))
        view = shown(app.query_one("#view"))
        for state in ("h", "c"):
            expected = influence_by_finite_differences(settings, 2, state)
            assert f"step t=2 on {state}: {expected:.4g}," in view
        assert "│ ▶ 2 │" in view and "horizon of h: the last" in view
        assert shown(app.query_one("#command")).rstrip().endswith("--engine numpy --memory")
        await pilot.press("left")
        await settle(pilot, lambda: "step t=1 on h" in shown(app.query_one("#view")))

    run_app(settings, script)


def test_in_the_memory_view_the_keys_save_the_influence_as_the_command_line_would(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    command = ["lstm", "-T", "6", "--seed", "0", "--sequences", "--engine", "numpy", "--memory"]
    for path in ("cli.npz", "cli.json", "cli.png"):
        option = "--plot" if path.endswith(".png") else "--output"
        assert CliRunner().invoke(cli_app, [*command, option, path]).exit_code == 0

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        await pilot.press("v", "v", "v")  # the memory view
        await settle(pilot, lambda: app.drawn_look[0] == "memory")
        await pilot.press("s", "j", "p")
        await settle(pilot, lambda: len(list(tmp_path.glob("rnnstate-*"))) == 3)

    run_app(Settings(seed=0, steps=6, engine="numpy"), script)
    name = "rnnstate-lstm-T6-M3-seed0-memory"
    with np.load(tmp_path / f"{name}.npz") as saved, np.load(tmp_path / "cli.npz") as cli:
        for key in ("memory.influence.h", "memory.influence.c", "memory.horizon.h"):
            assert_allclose(saved[key], cli[key], rtol=0, atol=0)
    saved_memory = json.loads((tmp_path / f"{name}.json").read_text())["memory"]
    assert saved_memory == json.loads((tmp_path / "cli.json").read_text())["memory"]
    assert (tmp_path / f"{name}.png").read_bytes() == (tmp_path / "cli.png").read_bytes()


def test_memory_view_of_a_long_run_shows_the_steps_around_the_cursor():
    result = rnnstate.run("rnn", steps=60, units=4, seed=3)
    text = prerender(memory_view.render(result, 30, 0), 120).text()
    rows = [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in text.splitlines() if line.startswith("│")]  # fmt: skip
    assert [row[0] for row in rows] == ["0..17", *map(str, range(18, 30)), "▶ 30",
                                        *map(str, range(31, 43)), "43..59"]  # fmt: skip
    for row, count in ((rows[0], 18), (rows[-1], 17)):
        assert (row[1], row[-1]) == (f"{count} steps", "not shown: move the cursor (←/→)")


def test_memory_view_says_why_an_activation_has_no_influence():
    result = rnnstate.run("rnn", steps=4, units=3, seed=0, activation="gelu")
    text = prerender(memory_view.render(result, 0, 0), 120).text()
    assert "The influence cannot be computed: cannot differentiate the activation 'gelu'" in text


def test_a_value_that_is_not_a_setting_waits_and_says_why():
    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        before = app.result
        app.query_one("#units").value = ""
        await pilot.pause(0.3)
        assert "units: expected a whole number" in shown(app.query_one("#status"))
        assert app.result is before
        app.query_one("#activation").value = "softmax"
        app.query_one("#units").value = "4"
        await settle(pilot, lambda: "not run" in shown(app.query_one("#status")))
        assert "mixes the units of a step" in shown(app.query_one("#status"))

    run_app(Settings(seed=0, engine="numpy"), script)


def test_keys_save_the_result_and_the_picture(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = rnnstate.run("rnn", seed=2, steps=6, return_sequences=True, engine="numpy")

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        await pilot.press("s", "p")
        await settle(pilot, lambda: len(list(tmp_path.iterdir())) == 2)

    run_app(Settings(cell="rnn", steps=6, seed=2, engine="numpy"), script)
    with np.load(tmp_path / "rnnstate-rnn-T6-M3-seed2.npz") as saved:
        assert_allclose(saved["o"], expected.o, rtol=0, atol=0)
    assert (tmp_path / "rnnstate-rnn-T6-M3-seed2.png").read_bytes()[:4] == b"\x89PNG"


def test_brackets_step_through_the_sequences_of_the_batch():
    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        before = app.result
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await settle(pilot, lambda: "sequence n=2 of N=3" in shown(app.query_one("#view")))
        await pilot.press("left_square_bracket")
        await settle(pilot, lambda: "sequence n=1 of N=3" in shown(app.query_one("#view")))
        assert app.result is before and app.settings.sequence == 1

    run_app(Settings(batch=3, seed=0, engine="numpy"), script)


def test_j_saves_the_json_document(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    saved = tmp_path / "rnnstate-gru-T8-M3-seed4.json"

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        await pilot.press("j")
        await settle(pilot, saved.exists)
        document = json.loads(saved.read_text())
        assert document["config"]["seed"] == 4
        assert_allclose(np.array(document["h"], dtype=np.float32), app.result.h, rtol=0, atol=0)

    run_app(Settings(cell="gru", seed=4, engine="numpy"), script)


def test_keras_engine_answers_with_its_agreement_once_loaded():
    expected = rnnstate.run("lstm", seed=4, return_sequences=True, engine="keras")

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None and app.result.spec.engine == "keras",
                     seconds=120)  # fmt: skip
        assert_allclose(app.result.o, expected.o, rtol=0, atol=0)
        assert "Keras's own numbers; keras and numpy agree" in shown(app.query_one("#status"))

    run_app(Settings(seed=4, engine="keras"), script)


def test_a_small_terminal_is_told_so():
    async def script(app, pilot):
        await pilot.pause(0.3)
        assert app.has_class("too-small")
        assert "needs at least 80x24" in shown(app.query_one("#small"))

    run_app(Settings(seed=0, engine="numpy"), script, size=(60, 20))


def test_explore_in_a_pipe_is_a_usage_error():
    result = CliRunner().invoke(cli_app, ["explore", "--engine", "numpy"])
    assert result.exit_code == 2
    assert result.stderr == "rnnstate explore: error: explore needs a terminal (stdin and " \
        "stdout are not one: a pipe or a file)\n"  # fmt: skip


@pytest.mark.parametrize("view", ["tables", "heatmap", "explain", "memory"])
def test_the_command_line_shown_prints_what_the_view_shows(view):
    settings = Settings(seed=5, steps=4, engine="numpy")
    command = settings.command(view, 2)
    result = CliRunner().invoke(cli_app, command.split()[1:])
    assert result.exit_code == 0, result.stderr
    assert {"tables": "h  final hidden state", "heatmap": "rows: units", "explain":
            "Step t=2 explained", "memory": "influence on h: ‖∂h/∂x_t‖"}[view] in \
        result.stdout  # fmt: skip


def test_keras_alone_runs_what_numpy_cannot():
    expected = rnnstate.run("gru", seed=6, activation="softmax", return_sequences=True)

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None and app.result.spec.engine == "keras",
                     seconds=120)  # fmt: skip
        assert_allclose(app.result.o, expected.o, rtol=0, atol=0)
        assert "numpy cannot compute this layer to compare" in shown(app.query_one("#status"))
        await pilot.press("v", "v")  # the explanation needs numpy's trace: said, not crashed
        await settle(pilot, lambda: "cannot be explained" in shown(app.query_one("#view")))

    run_app(Settings(cell="gru", seed=6, activation="softmax", engine="keras"), script)


def test_files_decide_their_controls_and_the_command_line_runs_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = CliRunner().invoke(cli_app, ["lstm", "-T", "5", "-M", "4", "-N", "2", "--seed", "3",
                                        "--no-bias", "--save-weights", "w.npz", "--output",
                                        "run.npz", "--engine", "numpy"])  # fmt: skip
    assert made.exit_code == 0, made.stderr
    settings = Settings(seed=0, engine="numpy", input_path="run.npz", weights_path="w.npz",
                        initial_state_path="run.npz")  # fmt: skip
    data = explore_command.explore_files(settings)
    settings = settings.sized(data)
    assert (settings.batch, settings.steps, settings.units, settings.use_bias) == (2, 5, 4, False)

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        for name in ("steps", "features", "batch", "units", "use_bias", "unit_forget_bias"):
            assert app.query_one(f"#{name}").disabled, name
        assert not app.query_one("#seed").disabled and not app.query_one("#cell").disabled

    app = run_app(settings, script, data=data)
    command = settings.command("tables", 0)
    assert command == "rnnstate lstm --seed 0 --sequences --input run.npz --weights w.npz " \
        "--initial-state run.npz --only 0 --engine numpy"  # fmt: skip
    shown_run = CliRunner().invoke(cli_app, [*command.split()[1:], "--json"])
    assert shown_run.exit_code == 0, shown_run.stderr
    document = json.loads(shown_run.stdout)
    for name in ("h", "c"):
        expected = np.array(document[name], dtype=np.float32)
        assert_allclose(app.result.states[name], expected, rtol=0, atol=0)


def test_explore_opens_the_view_and_settings_its_options_say(monkeypatch):
    opened = []
    monkeypatch.setattr(explore_command, "is_terminal", lambda: True)
    monkeypatch.setattr(terminal, "run", lambda app: opened.append(app))
    words = ["--cell", "gru", "-N", "3", "--only", "1", "--explain", "2", "--no-bias"]
    result = CliRunner().invoke(cli_app, ["explore", *words, "--engine", "numpy"])
    assert result.exit_code == 0, result.stderr
    (app,) = opened
    assert (app.view_name, app.step, app.settings.sequence) == ("explain", 2, 1)
    assert (app.settings.cell, app.settings.use_bias, app.settings.batch) == ("gru", False, 3)
    both = CliRunner().invoke(cli_app, ["explore", "--heatmap", "--explain", "1"])
    assert both.exit_code == 2 and "--heatmap or --explain, not both" in both.stderr
    memory = CliRunner().invoke(cli_app, ["explore", "--memory", "--explain", "1"])
    assert memory.exit_code == 2 and "--explain or --memory, not both" in memory.stderr
    beyond = CliRunner().invoke(cli_app, ["explore", "-N", "2", "--only", "2"])
    assert beyond.exit_code == 2 and "2 is not a sequence: N=2 (0 to 1)" in beyond.stderr
    piped = CliRunner().invoke(cli_app, ["explore", "--input", "-"])
    assert piped.exit_code == 2 and "explore reads its keys from stdin" in piped.stderr
    assert len(opened) == 1


def test_the_command_line_shown_opens_the_same_screen_in_explore(monkeypatch):
    opened = []
    monkeypatch.setattr(explore_command, "is_terminal", lambda: True)
    monkeypatch.setattr(terminal, "run", lambda app: opened.append(app))
    settings = Settings(cell="gru", steps=5, features=3, units=4, batch=3, seed=9,
                        return_sequences=False, direction="bidirectional", merge="sum",
                        activation="relu", recurrent_activation="hard_sigmoid",
                        reset_after=False, use_bias=False, mask_value=0.5, sequence=2)  # fmt: skip
    words = settings.command("explain", 4).split()
    assert words[:2] == ["rnnstate", "gru"]
    result = CliRunner().invoke(cli_app, ["explore", "--cell", *words[1:]])
    assert result.exit_code == 0, result.stderr
    (app,) = opened
    assert app.settings == settings and (app.view_name, app.step) == ("explain", 4)
    again = CliRunner().invoke(cli_app, ["explore", "--cell", *settings.command("memory", 4)
                                         .split()[1:]])  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert opened[1].settings == settings and opened[1].view_name == "memory"


# ------------------------------------------------------------------ a saved model's layer

MODEL, REVIEWS = "docs/example/sentiment.keras", "docs/example/reviews.npy"


def example_layer() -> tuple[Settings, models.LayerData]:
    """The explorer's settings and data for layer lstm of the example model on its reviews."""
    loaded = models.load(MODEL)
    chosen = models.find_layer(models.recurrent_layers(loaded), "lstm", MODEL)
    data = model_layer_data(loaded, chosen, REVIEWS, None, None)
    settings = Settings.of_layer(data, seed=0, engine="numpy", model_path=MODEL,
                                 input_path=REVIEWS)  # fmt: skip
    return settings, data


def test_a_saved_models_layer_runs_on_the_models_input_with_its_own_weights():
    keras = pytest.importorskip("keras")
    model = keras.saving.load_model(MODEL, compile=False)
    reviews = np.load(REVIEWS)
    expected_h = keras.Model(model.inputs, model.get_layer("lstm").output)([reviews]).numpy()
    settings, data = example_layer()

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        assert_allclose(app.result.h, expected_h, rtol=0, atol=1e-5)
        assert app.result.spec.batch == 4 and app.result.spec.steps == 12
        for name in ("cell", "units", "features", "activation", "direction", "steps", "seed"):
            assert app.query_one(f"#{name}").disabled, name
        assert not app.query_one("#return_sequences").disabled
        assert " ".join(shown(app.query_one("#command")).split()) == (
            f"$ rnnstate model {MODEL} --layer lstm --input {REVIEWS} --no-sequences --only 0 "
            "--engine numpy"
        )
        assert "masked" in shown(app.query_one("#view"))  # the Embedding's mask_zero
        app.query_one("#return_sequences").value = True
        await settle(pilot, lambda: app.result.spec.return_sequences)
        assert app.result.o.shape == (4, 12, 8)
        assert_allclose(app.result.h, expected_h, rtol=0, atol=1e-5)

    run_app(settings, script, data=data)


def test_a_saved_models_layer_on_the_keras_engine_is_keras_own_and_agrees():
    keras = pytest.importorskip("keras")
    model = keras.saving.load_model(MODEL, compile=False)
    expected_h = keras.Model(model.inputs, model.get_layer("lstm").output)([np.load(REVIEWS)])
    settings, data = example_layer()

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None and app.result.spec.engine == "keras",
                     seconds=120)  # fmt: skip
        assert_allclose(app.result.h, expected_h.numpy(), rtol=0, atol=1e-5)
        assert "Keras's own numbers; keras and numpy agree" in shown(app.query_one("#status"))

    run_app(dataclasses.replace(settings, engine="keras"), script, data=data)


def test_the_sequence_control_shows_another_sequence_of_the_same_run():
    settings, data = example_layer()

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        before = app.result
        app.query_one("#sequence").value = "2"
        await settle(pilot, lambda: "sequence n=2 of N=4" in shown(app.query_one("#view")))
        assert app.result is before  # drawn again, not run again
        assert "--only 2" in shown(app.query_one("#command"))
        app.query_one("#sequence").value = "4"
        await settle(pilot, lambda: "sequence shown: expected 0 to 3" in
                     shown(app.query_one("#status")))  # fmt: skip

    run_app(settings, script, data=data)


def test_a_model_layers_result_is_saved_under_the_layers_name(tmp_path, monkeypatch):
    settings, data = example_layer()
    monkeypatch.chdir(tmp_path)

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        await pilot.press("s")
        await settle(pilot, lambda: (tmp_path / "rnnstate-lstm-T12.npz").exists())
        with np.load(tmp_path / "rnnstate-lstm-T12.npz") as saved:
            assert_allclose(saved["h"], app.result.h, rtol=0, atol=0)

    run_app(settings, script, data=data)


def test_a_model_layers_command_line_prints_the_numbers_shown():
    settings, data = example_layer()
    app = run_app(settings, lambda app, pilot: settle(pilot, lambda: app.result is not None),
                  data=data)  # fmt: skip
    words = settings.command("tables", 0).split()[1:]
    result = CliRunner().invoke(cli_app, [*words, "--json"])
    assert result.exit_code == 0, result.stderr
    shown_h = np.array(json.loads(result.stdout)["h"], dtype=np.float32)  # float32 round trip
    assert_allclose(shown_h, app.result.h, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--layer", "lstm"], "'--layer': goes with a saved model: give --model PATH too"),
        (["--model", MODEL, "--layer", "lstm", "--activation", "relu"],
         "'--activation': the model's layer has its own (--model): leave it out"),
        (["--model", MODEL], f"'--layer': name the layer of {MODEL} to explore; its recurrent "
         "layers: 0: lstm"),
        (["--model", MODEL, "--layer", "gru"], f"'--layer': {MODEL} has no recurrent layer 'gru'"),
    ],
)  # fmt: skip
def test_explore_refuses_model_options_that_do_not_fit(monkeypatch, words, message):
    monkeypatch.setattr(explore_command, "is_terminal", lambda: True)
    result = CliRunner().invoke(cli_app, ["explore", "--engine", "numpy", *words])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------ snapshots

SNAPSHOTS = Path(__file__).parent / "snapshots"
# differences of float32 rounding (1e-8), which the order of a sum on another CPU can change
ROUNDING = re.compile(r"(largest difference) \d\.\d\de-\d\d")


def styled(view: View) -> str:
    """The output view's lines with their colours and styles, as ANSI escape codes (a
    heatmap is its colours): `cat` a snapshot in a terminal to see it."""
    return "\n".join(
        "".join(
            segment.style.render(segment.text, color_system=ColorSystem.TRUECOLOR)
            if segment.style
            else segment.text
            for segment in line
        ).rstrip()
        for line in view.shown.lines
    )


SCREENS = {  # name: (settings, keys pressed on the output, whether it is the example model's)
    "lstm_tables": (Settings(seed=0, steps=6, engine="numpy"), (), False),
    "gru_heatmap_t3": (Settings(cell="gru", seed=1, steps=6, units=4, engine="numpy"),
                       ("right", "right", "right", "v"), False),
    "rnn_bidirectional_explain_t2": (
        Settings(cell="rnn", seed=2, steps=5, direction="bidirectional", engine="numpy"),
        ("right", "right", "v", "v"), False),
    "lstm_memory_t2": (Settings(seed=0, steps=6, engine="numpy"),
                       ("right", "right", "v", "v", "v"), False),
    "model_lstm_sequence_1": (None, (), True),
}  # fmt: skip


def screen_text(name: str) -> str:
    """What screen `name` of SCREENS shows of rnnstate's own: the command line, the output
    view (with its colours) and the status line. Textual's drawing of its own widgets is left
    out: it changes with Textual's versions; rnnstate's does not."""
    settings, keys, of_model = SCREENS[name]
    files = {}
    if of_model:
        settings, files["data"] = example_layer()
        settings = dataclasses.replace(settings, sequence=1)
    parts = []

    async def script(app, pilot):
        await settle(pilot, lambda: app.result is not None)
        await pilot.press(*keys)
        look = app.look()
        await settle(pilot, lambda: app.drawn_look == look)
        view = styled(app.query_one("#view"))
        parts.extend([shown(app.query_one("#command")).rstrip(), view,
                      shown(app.query_one("#status")).rstrip()])  # fmt: skip

    run_app(settings, script, **files)
    return ROUNDING.sub(r"\1 …", "\n\n".join(parts)) + "\n"


@pytest.mark.parametrize("name", SCREENS)
def test_screens_match_their_snapshots(name):
    expected = (SNAPSHOTS / f"explore_{name}.txt").read_text()
    assert screen_text(name) == expected, f"refresh with: python {Path(__file__).name}"


if __name__ == "__main__":  # write the snapshots again (look at their diff before committing)
    SNAPSHOTS.mkdir(exist_ok=True)
    for screen in SCREENS:
        (SNAPSHOTS / f"explore_{screen}.txt").write_text(screen_text(screen))


@pytest.mark.parametrize(
    "name, word",
    [
        ("plain.npy", "plain.npy"),
        ("a b.npy", "'a b.npy'"),
        ("x\x1b[31m.npy", "$'x\\x1b[31m.npy'"),
        ("it's\n.npy", "$'it\\'s\\n.npy'"),
        ("\u200b.npy", "$'\\U0000200b.npy'"),
    ],
)
def test_a_file_name_is_quoted_so_bash_reads_it_back(name, word):
    from rnnstate.explore.settings import shell_word

    assert shell_word(name) == word
    echoed = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, check=True)
    assert echoed.stdout.decode() == name
