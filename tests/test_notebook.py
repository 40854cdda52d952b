"""A Result in a real Jupyter kernel (nbclient + ipykernel): its tables as HTML, `result.plot()`
shown inline as a PNG in a fresh kernel, and the user's matplotlib left as it was (the backend
unchanged, pyplot not imported, the user's own pyplot figures still shown)."""

import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).parent.parent
CELLS = [
    "import matplotlib\nbefore = matplotlib.get_backend()",
    "import rnnstate\n"
    "result = rnnstate.run('lstm', steps=6, seed=0, engine='numpy', return_sequences=True)\n"
    "result",
    "result.plot()",
    "import sys\nprint(matplotlib.get_backend() == before, 'matplotlib.pyplot' in sys.modules)",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);",
]


def outputs_of(cells: list[str]) -> list[list[dict]]:
    """Run `cells` in a fresh kernel of this Python, in the project's folder; each cell's
    outputs."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})  # fmt: skip
    client.execute()
    return [cell.outputs for cell in notebook.cells]


def test_a_result_shows_its_tables_and_its_figure_and_leaves_matplotlib_alone():
    _, shown, plotted, after, users_plot = outputs_of(CELLS)
    [html] = [o for o in shown if o.output_type == "execute_result"]
    assert "<pre" in html.data["text/html"] and "= o[t=5]" in html.data["text/html"]
    [figure] = [o for o in plotted if o.output_type == "execute_result"]
    assert figure.data["image/png"]  # base64 PNG: drawn inline, not just "<Figure size ...>"
    assert after[0].text == "True False\n"  # the backend unchanged; pyplot never imported
    assert [o for o in users_plot if "image/png" in o.get("data", {})]  # theirs still shows


def test_the_result_module_imports_no_renderer_and_the_api_gives_results_their_display():
    code = (
        "import sys, rnnstate.result\n"
        "print(sorted(m for m in sys.modules if m.startswith('rnnstate.render')))\n"
        "print(hasattr(rnnstate.result.Result, 'plot'))\n"
        "from rnnstate.api import Result\n"
        "print(Result.plot.__module__, Result._repr_html_.__module__)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert shown.stdout.splitlines() == [
        "[]",
        "False",
        "rnnstate.render.notebook rnnstate.render.notebook",
    ], shown.stderr
