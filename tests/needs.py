"""Marks for the tests that need an optional package rnnstate does not install: skipped, with
the reason, where it is missing (the README's test command runs without PyTorch)."""

import pytest

from rnnstate.spec import torch_installed

NO_TORCH = "torch is not installed (CI installs it: .ci/run); the tests running PyTorch are skipped"
needs_torch = pytest.mark.skipif(not torch_installed(), reason=NO_TORCH)
