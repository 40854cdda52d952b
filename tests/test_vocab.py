"""--vocab: the example model's steps labelled by their tokens in tables, heatmaps, figures,
--explain and --summary --top; vocabulary files read and refused."""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnstate.cli import app
from rnnstate.errors import InputError
from rnnstate.vocab import StepTokens, read_vocab, shown_token

runner = CliRunner()
MODEL, REVIEWS = "docs/example/sentiment.keras", "docs/example/reviews.npy"
VOCAB = "docs/example/vocab.txt"
WORDS = ["<pad>", "good", "bad", "the", "movie", "was", "plot", "actors", "scenes", "ending"]
REVIEW_3 = [3, 1, 9, 1, 1, 2, 5, 6, 2, 3, 1, 4]  # the example's fourth review, unpadded


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def labelled(*options: str):
    result = invoke("model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--vocab", VOCAB,
                    *options)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_example_vocabulary_is_the_one_its_training_script_describes():
    assert read_vocab(VOCAB, 10) == tuple(WORDS)


def test_table_rows_are_labelled_by_step_and_token():
    out = labelled("--only", "3", "--sequences")
    x_table = out.split("x  input", 1)[1].split("o  output", 1)[0]
    rows = re.findall(r"^│ +(\d+ \S+) │", x_table, flags=re.M)
    assert rows == [f"{t} {WORDS[i]}" for t, i in enumerate(REVIEW_3)]


def test_padding_rows_show_the_padding_token_and_are_marked_masked():
    out = labelled("--only", "0", "--sequences")
    assert re.search(r"│ +3 <pad> │.*│ masked │", out)


def test_state_table_is_labelled_by_the_last_step_read_and_its_token():
    out = labelled("--only", "1")  # "bad . . bad", then padding: h is after t=3
    h_table = out.split("h  final hidden state", 1)[1]
    assert re.search(r"^│ 3 bad │", h_table, flags=re.M)


def test_heatmap_has_a_token_line_under_the_step_labels():
    out = labelled("--only", "3", "--sequences", "--heatmap")
    lines = out.split("x  input", 1)[1].splitlines()
    axis = next(k for k, line in enumerate(lines) if line.startswith("t "))
    first, second = lines[axis + 1], lines[axis + 2]
    assert first.startswith("token ")
    start = len("token ")  # the map's first column, 3 characters a step
    assert first[start:].startswith("the   ending")  # t=0 and t=2 on the first line
    assert second[start + 3 :].startswith("good  good")  # t=1 and t=3 on the second


def test_explain_names_the_token_of_the_step():
    out = labelled("--only", "3", "--explain", "5")
    assert "Step t=5 (token 'bad') explained: sequence n=3" in out


def test_figure_ticks_are_steps_with_their_tokens(tmp_path):
    labelled("--only", "3", "--sequences", "--plot", tmp_path / "run.svg")
    svg = (tmp_path / "run.svg").read_text()
    for t, i in enumerate(REVIEW_3):
        assert f">{t} {WORDS[i]}<" in svg


def test_figure_shows_dollar_signs_of_tokens_as_they_are(tmp_path):
    # matplotlib's mathtext would set "b$a$d" as b, an italic a, d and raise on "$\\frac{$"
    words = ["<pad>", "$\\frac{$", "b$a$d", *WORDS[3:]]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    for n, ids in ((0, [1, 5, 1]), (1, [2, 7, 3, 2])):
        svg_path = tmp_path / f"run{n}.svg"
        result = invoke("model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--vocab",
                        tmp_path / "vocab.txt", "--only", n, "--plot", svg_path)  # fmt: skip
        assert result.exit_code == 0, result.stderr
        svg = svg_path.read_text()
        for t, i in enumerate(ids):
            assert f">{t} {words[i]}<" in svg


def test_top_places_show_the_tokens_under_their_values():
    out = labelled("--summary", "--top", "2", "--unit", "3")
    top = out.split("h_t of unit 3: the 2 largest", 1)[1].splitlines()
    # sequence 1 is "bad actors the bad" (ids 2 7 3 2): unit 3 is largest after its last "bad"
    assert re.search(r"│ +1 │ +1 │ 3 │", top[4])  # top[0]: the title line's end
    assert [cell.strip() for cell in top[5].split("│")[4:9]] == [
        "actors", "the", "bad", "<pad>", "<pad>"]  # fmt: skip


def test_top_places_in_json_hold_the_whole_tokens():
    out = labelled("--summary", "--top", "1", "--unit", "3", "--json")
    place = json.loads(out)["summary"]["top"]["places"][0]
    assert (place["sequence"], place["step"]) == (1, 3)
    assert place["tokens"] == {"1": "actors", "2": "the", "3": "bad", "4": "<pad>", "5": "<pad>"}


def test_json_list_vocabulary_labels_the_same(tmp_path):
    (tmp_path / "vocab.json").write_text(json.dumps(WORDS))
    result = invoke("model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--vocab",
                    tmp_path / "vocab.json", "--only", "2", "--sequences")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^│ +4 bad │", result.stdout, flags=re.M)


def test_tokens_are_shown_escaped_and_cut_to_a_bounded_width():
    assert shown_token("extraordinarily") == "extraordina…"
    assert shown_token("new\nline") == "new\\nline"
    assert shown_token("") == "''"
    tokens = StepTokens(np.array([[0, 1]]), ("[bold]x[/bold]", "ok"))
    assert tokens.label(0, 0) == "0 [bold]x[/bo…"
    assert tokens.of_sequence(0) == {0: "[bold]x[/bo…", 1: "ok"}


def test_markup_in_a_token_reaches_the_terminal_as_text(tmp_path):
    (tmp_path / "v.txt").write_text("\n".join(["[red]pad", *WORDS[1:]]) + "\n")
    result = invoke("model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--vocab",
                    tmp_path / "v.txt", "--only", "0", "--sequences")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "3 [red]pad" in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"", "is empty"),
        (b"\xff\xfe\n", "is not UTF-8 text (byte 0); expected one token per line, or a JSON list"),
        (b'["a", 2]', "holds JSON that is not a list of strings"),
        (b'["a",', "is not valid JSON"),
        (b"<pad>\ngood\nbad\n", "holds 3 tokens; the model's Embedding takes ids 0 to 9"),
    ],
)
def test_unusable_vocabulary_is_a_one_line_error_naming_the_file(tmp_path, content, expected):
    path = tmp_path / ("v.json" if content and content.startswith(b"[") else "v.txt")
    if content is not None:
        path.write_bytes(content)
    result = invoke("model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--vocab", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"rnnstate: error: {path}: {expected}")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_token_file_starting_with_a_bracketed_token_is_read_by_lines(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nthe\n")
    assert read_vocab(str(tmp_path / "vocab.txt"), 3) == ("[PAD]", "[UNK]", "the")


def test_read_vocab_raises_input_error_for_a_short_json_list(tmp_path):
    (tmp_path / "v.json").write_text('["a", "b"]')
    with pytest.raises(InputError, match="holds 2 tokens"):
        read_vocab(str(tmp_path / "v.json"), 3)


def test_vocab_needs_the_models_token_ids():
    result = invoke("model", MODEL, "--layer", "lstm", "--vocab", VOCAB)
    assert result.exit_code == 2
    assert "'--vocab'" in result.stderr and "give them with --input" in result.stderr


def test_vocab_is_refused_for_a_model_without_an_embedding(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4, 2)), keras.layers.GRU(3)])
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", np.zeros((1, 4, 2), dtype=np.float32))
    result = invoke("model", tmp_path / "m.keras", "--layer", "0", "--input",
                    tmp_path / "x.npy", "--vocab", VOCAB)  # fmt: skip
    assert result.exit_code == 2
    assert "does not" in result.stderr and "Embedding" in result.stderr


def test_memory_tables_and_heatmap_name_each_step_by_its_token():
    common = ("model", MODEL, "--layer", "lstm", "--input", REVIEWS, "--only", "1", "--memory",
              "--vocab", VOCAB, "--engine", "numpy")  # fmt: skip
    tables = invoke(*common)
    assert tables.exit_code == 0, tables.stderr
    h_table = tables.stdout.split("influence on h:", 1)[1].split("horizon of h", 1)[0]
    rows = [line.split("│")[1].strip() for line in h_table.splitlines() if line.startswith("│")]
    assert rows[:5] == ["0 bad", "1 actors", "2 the", "3 bad", "4 <pad>"]
    # review 1 is 4 tokens, then padding: the horizon's span ends at the last token read
    assert "horizon of h: the last 3 steps read (t=1..3) hold 90% of it" in tables.stdout
    heatmap = invoke(*common, "--heatmap")
    assert heatmap.exit_code == 0, heatmap.stderr
    token_line = next(line for line in heatmap.stdout.splitlines() if line.startswith("token"))
    assert token_line.split()[:4] == ["token", "bad", "the", "<pad>"]  # every other step


def test_memory_figure_labels_its_steps_by_token_and_ends_the_horizon_at_the_last_token(tmp_path):
    labelled("--only", "3", "--memory", "--plot", tmp_path / "memory.svg")
    svg = (tmp_path / "memory.svg").read_text()
    for t, i in enumerate(REVIEW_3):
        assert svg.count(f">{t} {WORDS[i]}<") == 2  # under the curve of h and of c
    labelled("--only", "1", "--memory", "--plot", tmp_path / "short.svg")  # 4 tokens, then padding
    short = (tmp_path / "short.svg").read_text()
    assert re.search(r"the last \d steps read \(t=\d\.\.3\) hold 90%", short)


def test_unit_across_sequences_in_json_holds_the_whole_token_of_each_step():
    across = json.loads(labelled("--summary", "--unit", "3", "--json"))["summary"]["across"]
    ids = np.load(REVIEWS)  # (4, 12), 0 the padding the Embedding masks
    assert across["tokens"] == [[WORDS[i] for i in row] for row in ids]
    assert [[v is None for v in row] for row in across["values"]["h_t"]] == (ids == 0).tolist()
