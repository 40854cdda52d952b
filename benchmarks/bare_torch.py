"""PyTorch's side of benchmarks/bench_pytorch.py: import torch, build nn.LSTM (D -> M), time one
forward call on a random (1, T, D) input with `threads` threads, print its seconds.
Usage: python bare_torch.py T D M threads"""

import sys
import time

import torch

T, D, M, threads = (int(arg) for arg in sys.argv[1:5])
torch.set_num_threads(threads)
module = torch.nn.LSTM(D, M, batch_first=True).eval()
x = torch.randn(1, T, D)
with torch.no_grad():
    module(x[:, :10])  # the first call sets up what the later ones reuse
    start = time.perf_counter()
    module(x)
    print(time.perf_counter() - start)
