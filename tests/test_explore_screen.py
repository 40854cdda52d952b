"""rnnstate explore's screen through Textual's headless driver (Pilot): resizes, the step
cursor, refused settings, the cell as a word, names that look like markup or hold control
characters, the keys that write files, the footer and the controls' labels."""

import asyncio
import os

import pytest
from typer.testing import CliRunner

from rnnstate import budget, models
from rnnstate.cli import app as cli_app
from rnnstate.cli.model import model_layer_data
from rnnstate.explore import terminal
from rnnstate.explore.app import Explorer
from rnnstate.explore.controls import Controls
from rnnstate.explore.settings import Settings
from rnnstate.explore.views import escaped
from tests.test_explore import MODEL, settle, shown

SIZE = (140, 50)


def run_app(settings: Settings, script, size=SIZE, **files) -> Explorer:
    """Run the app headless with `script(app, pilot)`, then quit with q; the app."""

    async def main():
        app = Explorer(settings, **files)
        async with app.run_test(size=size) as pilot:
            await settle(pilot, lambda: app.result is not None)
            await script(app, pilot)
            await pilot.press("escape", "q")
        return app

    return asyncio.run(main())


def view_text(app) -> str:
    return shown(app.query_one("#view"))


def test_the_small_terminal_message_comes_and_goes_with_each_resize():
    async def script(app, pilot):
        assert not app.has_class("too-small")
        await pilot.resize_terminal(70, 20)
        await pilot.pause(0.1)
        assert app.has_class("too-small")
        assert "The terminal is 70x20; rnnstate explore needs at least 80x24" in shown(
            app.query_one("#small")
        )
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.1)
        assert not app.has_class("too-small")

    run_app(Settings(seed=0, engine="numpy"), script, size=(100, 30))


def rows_of(text: str, title: str) -> list[str]:
    """The lines of the table titled `title` in a view's text, up to the next blank title."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("└"))
    return lines[start:end]


def test_the_tables_mark_the_row_of_the_step_cursor_apart_from_the_h_mark():
    async def script(app, pilot):
        await pilot.press("right", "right", "right")
        await settle(pilot, lambda: app.drawn_look == ("tables", 3, 0))
        x_rows = rows_of(view_text(app), "x  input")
        o_rows = rows_of(view_text(app), "o  output")
        assert [row for row in x_rows if "▶" in row] == [next(r for r in x_rows if "│ ▶ 3 │" in r)]
        (cursor_row,) = [row for row in o_rows if "▶" in row]
        assert "│ ▶ 3 │" in cursor_row and "= h" not in cursor_row
        (h_row,) = [row for row in o_rows if "= h" in row]
        assert "│   7 │" in h_row  # the last step, not the cursor's

    run_app(Settings(seed=0, engine="numpy"), script)


def test_the_cursors_row_is_shown_where_a_long_table_is_elided():
    async def script(app, pilot):
        await settle(pilot, lambda: app.drawn_look == ("tables", 20, 0))
        x_rows = rows_of(view_text(app), "x  input")
        labels = [row.split("│")[1].strip() for row in x_rows if row.startswith("│")]
        assert labels == ["0", "1", "2", "3", "4", "5", "6", "7", "⋮", "19", "▶ 20", "21", "⋮",
                          "32", "33", "34", "35", "36", "37", "38", "39"]  # fmt: skip

    run_app(Settings(seed=0, steps=40, engine="numpy"), script, view=("tables", 20))


def test_a_refused_setting_leaves_the_command_line_of_the_run_on_screen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def script(app, pilot):
        before = shown(app.query_one("#command")).strip()
        assert before == "$ rnnstate lstm -T 8 -D 2 -M 3 -N 1 --seed 0 --sequences --engine numpy"
        app.query_one("#activation").value = "softmax"
        await settle(pilot, lambda: "not run" in shown(app.query_one("#status")))
        assert shown(app.query_one("#command")).strip() == before
        app.query_one("#view").focus()
        await pilot.press("right", "v")  # the view and the cursor move on the run shown
        await settle(pilot, lambda: app.drawn_look == ("heatmap", 1, 0))
        assert shown(app.query_one("#command")).strip() == f"{before} --heatmap"
        await pilot.press("s")  # and its file is named for it
        await settle(pilot, lambda: (tmp_path / "rnnstate-lstm-T8-M3-seed0.npz").exists())

    run_app(Settings(seed=0, engine="numpy"), script)


def test_the_cell_is_a_word_as_in_the_other_commands(monkeypatch):
    opened = []
    monkeypatch.setattr(explore_command_module(), "is_terminal", lambda: True)
    monkeypatch.setattr(terminal, "run", lambda app: opened.append(app))
    result = CliRunner().invoke(cli_app, ["explore", "gru", "-M", "4", "--engine", "numpy"])
    assert result.exit_code == 0, result.stderr
    assert (opened[0].settings.cell, opened[0].settings.units) == ("gru", 4)
    same = CliRunner().invoke(cli_app, ["explore", "rnn", "--cell", "rnn", "--engine", "numpy"])
    assert same.exit_code == 0 and opened[1].settings.cell == "rnn"
    both = CliRunner().invoke(cli_app, ["explore", "gru", "--cell", "rnn"])
    assert both.exit_code == 2
    assert "two cells given: gru and --cell rnn; give one" in both.stderr
    model = CliRunner().invoke(cli_app, ["explore", "gru", "--model", MODEL, "--layer", "lstm"])
    assert model.exit_code == 2
    assert "'CELL': the model's layer has its own (--model): leave it out" in model.stderr
    assert len(opened) == 2


def explore_command_module():
    from rnnstate.cli import explore

    return explore


def test_the_command_line_shown_opens_the_same_screen_as_explore_cell(monkeypatch):
    opened = []
    monkeypatch.setattr(explore_command_module(), "is_terminal", lambda: True)
    monkeypatch.setattr(terminal, "run", lambda app: opened.append(app))
    settings = Settings(cell="gru", steps=5, units=4, seed=9, direction="backwards",
                        activation="relu", engine="numpy")  # fmt: skip
    words = settings.command("heatmap", 0).split()
    result = CliRunner().invoke(cli_app, ["explore", *words[1:]])
    assert result.exit_code == 0, result.stderr
    assert opened[0].settings == settings and opened[0].view_name == "heatmap"


def test_markup_in_a_setting_is_text():
    async def script(app, pilot):
        app.query_one("#activation").value = "[/]"
        await settle(pilot, lambda: "not run" in shown(app.query_one("#status")))
        assert "[/]" in shown(app.query_one("#status"))
        app.query_one("#activation").value = "[bold]tanh\x1b[2J"
        await settle(pilot, lambda: "\\x1b[2J" in shown(app.query_one("#status")))

    app = run_app(Settings(seed=0, engine="numpy"), script)
    assert app.return_code == 0


def test_a_layer_named_with_markup_and_control_characters_is_shown_as_text(tmp_path):
    keras = pytest.importorskip("keras")
    name = "l[red]x\x1b[2Jy"  # Keras refuses / in a name; the file's name has [/]
    folder = tmp_path / "d[" / "]e"  # the path holds [/]
    folder.mkdir(parents=True)
    path = folder / "x[red]y.keras"
    inputs = keras.Input((5, 2))
    model = keras.Model(inputs, keras.layers.LSTM(3, name=name)(inputs))
    model.save(path)
    loaded = models.load(str(path))
    chosen = models.find_layer(models.recurrent_layers(loaded), name, str(path))
    data = model_layer_data(loaded, chosen, None, None, None)
    settings = Settings.of_layer(data, seed=0, engine="numpy", model_path=str(path))

    async def script(app, pilot):
        label = shown(app.query_one("#model"))
        assert f"{escaped(name)} of x[red]y.keras" in " ".join(label.split())
        command = " ".join(shown(app.query_one("#command")).split())
        assert f"'{path}' --layer $'l[red]x\\x1b[2Jy'" in command  # pasted, bash reads the name
        assert "\x1b" not in view_text(app) and escaped(name) in view_text(app)

    app = run_app(settings, script, data=data)
    assert app.return_code == 0


def test_s_into_a_deleted_folder_says_so_in_the_status_line(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()

    async def script(app, pilot):
        await pilot.press("s")
        await settle(pilot, lambda: "not written" in shown(app.query_one("#status")))
        assert shown(app.query_one("#status")).strip() == (
            "not written: rnnstate-lstm-T8-M3-seed0.npz: the current folder no longer exists"
        )

    app = run_app(Settings(seed=0, engine="numpy"), script)
    assert app.return_code == 0
    os.chdir(tmp_path)


def test_the_picture_key_is_checked_by_the_memory_guard(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(seed=0, engine="numpy")

    async def script(app, pilot):
        monkeypatch.setattr(budget, "available_bytes", lambda: 999)  # once the run is shown
        needed = budget.estimate_bytes(app.result.spec, plot=True) - budget.estimate_bytes(
            app.result.spec
        )
        await pilot.press("p")
        await settle(pilot, lambda: "not written" in shown(app.query_one("#status")))
        assert shown(app.query_one("#status")).strip() == (
            f"not written: rnnstate-lstm-T8-M3-seed0.png needs about "
            f"{budget.human_bytes(needed)} of memory; 999 B are available"
        )

    run_app(settings, script)
    assert list(tmp_path.iterdir()) == []


def test_in_a_text_field_the_footer_says_how_to_leave_it():
    async def script(app, pilot):
        app.query_one("#activation").focus()
        await settle(pilot, lambda: "leave the field" in footer_keys(app))  # redrawn for it
        assert "quit" not in footer_keys(app)
        await pilot.press("end", "q")  # typed into the field, not quitting
        assert app.query_one("#activation").value == "tanhq" and app.is_running
        await pilot.press("backspace", "escape")
        assert app.focused is app.query_one("#view")
        await settle(pilot, lambda: "quit" in footer_keys(app))  # redrawn for the view
        assert "leave the field" not in footer_keys(app)

    run_app(Settings(seed=0, engine="numpy"), script)


def footer_keys(app) -> str:
    """The descriptions of the keys the footer shows."""
    return " ".join(str(key.description) for key in app.query("FooterKey"))


def test_the_focused_control_keeps_its_label_in_view():
    async def script(app, pilot):
        controls = app.query_one(Controls)
        for name in ("engine", "steps", "mask_value", "seed", "cell", "recurrent_activation"):
            control = app.query_one(f"#{name}")
            control.focus()
            await pilot.pause(0.3)
            label = control.parent.children[0]
            visible = controls.content_region
            assert visible.contains_region(label.region), (name, label.region, visible)
            assert visible.contains_region(control.region), name

    run_app(Settings(seed=0, engine="numpy"), script, size=(100, 24))


def test_a_long_write_is_not_left_behind_when_the_app_ends(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    started = []

    async def script(app, pilot):
        from rnnstate.save import AllOrNothing

        files = AllOrNothing()
        files.write(str(tmp_path / "half.npz"), lambda file: file.write(b"x"))
        app.runner.writing.append(files)  # as a write still going when the app ends
        started.append(files.staged[0][0])

    run_app(Settings(seed=0, engine="numpy"), script)
    assert not os.path.exists(started[0]) and list(tmp_path.iterdir()) == []
