"""Make the pictures of docs/pictures.md and the README from real runs:

    python docs/make_pictures.py

tests/test_pictures_docs.py draws each again and checks the committed file still shows it.
"""

import sys
from pathlib import Path

from typer.testing import CliRunner

from rnnstate.cli import app

HERE = Path(__file__).parent
# Each picture and the command line that draws it (rnnstate's options, without --plot).
PICTURES = {
    "images/lstm-gates.png": ["lstm", "--seed", "0", "-T", "24", "-M", "6", "--sequences",
                              "--gates", "--engine", "numpy"],
    "images/gru-bidirectional-long.png": ["gru", "--seed", "0", "-T", "2000", "-M", "32",
                                          "--sequences", "--bidirectional", "--engine", "numpy",
                                          "--units-shown", "0,1"],
}  # fmt: skip


def draw(name: str, folder: Path) -> Path:
    """Draw one picture into `folder`; returns its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    result = CliRunner().invoke(app, [*PICTURES[name], "--plot", str(path)])
    if result.exit_code != 0:
        sys.exit(f"{name}: {result.stderr}")
    return path


if __name__ == "__main__":
    for picture in PICTURES:
        print(draw(picture, HERE))
