"""Token labels for the steps of a model that starts with an Embedding (--vocab FILE): the
vocabulary read and checked, and each input step named by the token its id stands for.

A vocabulary file is one token per line (line k is token id k), or a JSON list of strings. It
must name every id the Embedding has (input_dim of them); a longer one is fine.
"""

from dataclasses import dataclass

import numpy as np
import orjson

from rnnstate.errors import InputError, SpecError

VOCAB_LIMIT = 64 << 20  # bytes: a vocabulary of a million long tokens fits well under this
TOKEN_WIDTH = 12  # characters a step's token takes at most where a step is labelled
ELLIPSIS = "…"


def read_vocab(path: str, needed: int) -> tuple[str, ...]:
    """The tokens of the vocabulary file at `path`, by id: one a line (a final newline ends the
    last line; "\\r\\n" is read as "\\n"), or a JSON list of strings (a .json file, or a file
    that parses as one). Raises InputError naming the file when it is missing, unreadable, not
    UTF-8, not such a list, or holds fewer than `needed` tokens (the Embedding's input_dim)."""
    from rnnstate.data import first_line, read_bytes

    data = read_bytes(path, VOCAB_LIMIT)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(path, f"is not UTF-8 text (byte {error.start}); expected one "
                         "token per line, or a JSON list of strings") from None  # fmt: skip
    tokens = json_tokens(text) if text.lstrip().startswith("[") else None
    if path.lower().endswith(".json") and tokens is None:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise InputError(path, f"is not valid JSON ({first_line(error)}); expected a JSON "
                             "list of strings, one per token id") from None  # fmt: skip
        raise InputError(path, "holds JSON that is not a list of strings; expected a JSON "
                         "list of strings, one per token id")  # fmt: skip
    if tokens is None:
        tokens = text.replace("\r\n", "\n").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()  # the newline that ends the last line
    if len(tokens) < needed:
        raise InputError(path, f"holds {len(tokens)} token{'s' * (len(tokens) != 1)}; the "
                         f"model's Embedding takes ids 0 to {needed - 1}, so expected at least "
                         f"{needed}, one per line or a JSON list")  # fmt: skip
    return tuple(tokens)


def json_tokens(text: str) -> list[str] | None:
    """The tokens of a JSON list of strings, or None when `text` is not one (a token file whose
    first token starts with "[", as BERT's "[PAD]", is read line by line)."""
    try:
        tokens = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if isinstance(tokens, list) and all(isinstance(token, str) for token in tokens):
        return tokens
    return None


def shown_token(token: str, width: int = TOKEN_WIDTH) -> str:
    """A token as a label shows it: control characters as their escapes (a newline as \\n), an
    empty token as "''", and cut to `width` characters with "…" when longer."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in token) or "''"
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


@dataclass(frozen=True)
class StepTokens:
    """The token at each input step of each sequence: ids (N, T) (an array or a memory-mapped
    one, read a row at a time) and the vocabulary's tokens by id."""

    ids: np.ndarray
    tokens: tuple[str, ...]

    def token(self, n: int, t: int, width: int = TOKEN_WIDTH) -> str:
        """The token at input step t of sequence n, as shown_token shows it."""
        return shown_token(self.tokens[int(self.ids[n, t])], width)

    def of_sequence(self, n: int, width: int = TOKEN_WIDTH) -> dict[int, str]:
        """Input step t -> its token, for every step of sequence n."""
        row = np.asarray(self.ids[n])
        return {t: shown_token(self.tokens[int(i)], width) for t, i in enumerate(row.tolist())}

    def label(self, n: int, t: int) -> str:
        """Step t of sequence n labelled with its token: "3 not"."""
        return f"{t} {self.token(n, t)}"


def check_steps(tokens: StepTokens, steps: int) -> None:
    """SpecError when the layer's input has other than one step per token id (a layer between
    the Embedding and it changed the length): its steps are not the tokens."""
    T = tokens.ids.shape[1]
    if steps != T:
        raise SpecError("--vocab", f"the model's input has {T} token ids a sequence but the "
                        f"layer's input has {steps} steps: its steps are not tokens")  # fmt: skip
