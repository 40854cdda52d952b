"""The floor for --plot: import matplotlib (Agg), draw one heatmap of an (M, T) array with a
colour bar and save it as PNG. Nothing else. Usage: python bare_plot.py T M PATH"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

T, M, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
values = np.random.default_rng(0).standard_normal((M, T)).astype(np.float32)
figure, axis = plt.subplots(figsize=(10, 3))
image = axis.imshow(values, aspect="auto", interpolation="nearest", cmap="RdBu_r")
figure.colorbar(image, ax=axis)
figure.savefig(path, dpi=100)
