"""The recurrent layers of a saved model, as `rnnstate model PATH` lists them: a table or JSON."""

import orjson
from rich.table import Table
from rich.text import Text

from rnnstate.errors import shown_name
from rnnstate.models import ModelLayer

LISTING_SCHEMA = "rnnstate-layers/1"


def setting_text(settings: dict) -> str:
    """Settings as key=value, comma-separated; "-" when there are none."""
    return ", ".join(f"{key}={value}" for key, value in settings.items()) or "-"


def table(path: str, layers: list[ModelLayer]) -> Table | Text:
    """A table of the layers: index, name, class, units M, input features D, steps T (when
    fixed) and the settings that differ from Keras's defaults. Names from the file are Text
    (never markup), escaped by shown_name."""
    shown = shown_name(path)
    if not layers:
        return Text(f"{shown}: no recurrent layer (LSTM, GRU, SimpleRNN or Bidirectional of one)")
    notes = [
        f"{shown_name(layer.path)} is shared: the model calls it {layer.calls} times "
        "(--call K picks one)"
        for layer in layers
        if layer.calls > 1
    ] + [f"{shown_name(layer.path)} cannot run: {layer.refusal}" for layer in layers
         if layer.refusal]  # fmt: skip
    listing = Table(
        title=Text(f"{shown}: {len(layers)} recurrent layer{'s' if len(layers) > 1 else ''}"),
        title_justify="left",
        caption=Text("\n".join(notes)) if notes else None,
        caption_justify="left",
    )
    for column in ("#", "layer", "class", "M", "D", "T", "settings that differ from defaults"):
        listing.add_column(column, justify="right" if column in ("#", "M", "D", "T") else "left")
    for layer in layers:
        listing.add_row(
            str(layer.index),
            Text(shown_name(layer.path)),
            layer.class_name,
            str(layer.units),
            str(layer.features),
            "any" if layer.steps is None else str(layer.steps),
            Text(shown_name(setting_text(layer.differences))),
        )
    return listing


def json_bytes(path: str, layers: list[ModelLayer]) -> bytes:
    """The listing as one JSON document (docs/json.md), newline-terminated."""
    document = {
        "schema": LISTING_SCHEMA,
        "model": path,
        "layers": [layer.listing() for layer in layers],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
