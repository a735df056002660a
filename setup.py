"""The one compiled part of ember: the LSTM cell's gate math (ember/ops/lstm_kernel.c).

Everything else is in pyproject.toml. The extension is optional: where it cannot be
built (no C compiler), ember installs without it and runs the same math in NumPy.
"""
import sys

from setuptools import Extension, setup

# -fno-trapping-math lets GCC vectorize the clamps and selects; -fno-math-errno the rest
flags = [] if sys.platform == "win32" else ["-O3", "-fno-math-errno", "-fno-trapping-math"]

setup(ext_modules=[Extension("ember.ops._lstm_kernel", ["ember/ops/lstm_kernel.c"],
                             extra_compile_args=flags, optional=True)])
