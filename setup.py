"""ember's compiled kernels: the LSTM cell's gate math (ember/ops/lstm_kernel.c), the
optimizers' updates (ember/ops/update_kernel.c), the convolution and pooling kernels
(ember/ops/conv_kernel.c, pool_kernel.c), a Linear layer's forward (small ones whole,
the bias add of others: ember/ops/linear_kernel.c) and ReLU's forward and backward
(ember/ops/elementwise_kernel.c). The last two read arrays through NumPy's C API (its
headers come with the numpy that pyproject.toml's build requirements install).

Everything else is in pyproject.toml. The extensions are optional: where they cannot be
built (no C compiler), ember installs without them and runs the same math in NumPy.
"""
import sys

from setuptools import Extension, setup

try:
    import numpy
    numpy_headers = [numpy.get_include()]
except ImportError:         # built without build isolation and without NumPy: the two
    numpy_headers = []      # extensions that need its headers fail and are left out

# -fno-trapping-math lets GCC vectorize the clamps and selects; -fno-math-errno the rest
flags = [] if sys.platform == "win32" else ["-O3", "-fno-math-errno", "-fno-trapping-math"]

# the updates round step by step like NumPy (no fused multiply-adds): the same bits
exact = [] if sys.platform == "win32" else ["-ffp-contract=off"]

simd = "ember/ops/simd.h"        # the target_clones macro (and AVX2 helpers) they share

setup(ext_modules=[
    Extension("ember.ops._lstm_kernel", ["ember/ops/lstm_kernel.c"], depends=[simd],
              extra_compile_args=flags, optional=True),
    Extension("ember.ops._update_kernel", ["ember/ops/update_kernel.c"], depends=[simd],
              extra_compile_args=flags + exact, optional=True),
    Extension("ember.ops._conv_kernel", ["ember/ops/conv_kernel.c", "ember/ops/conv_avx2.c",
                                         "ember/ops/pool_kernel.c"],
              depends=[simd, "ember/ops/conv_avx2.h", "ember/ops/conv_common.h",
                       "ember/ops/pool_kernel.h"],
              extra_compile_args=flags + exact, optional=True),
    Extension("ember.ops._linear_kernel", ["ember/ops/linear_kernel.c"], depends=[simd],
              include_dirs=numpy_headers, extra_compile_args=flags, optional=True),
    Extension("ember.ops._elementwise_kernel", ["ember/ops/elementwise_kernel.c"],
              depends=[simd], include_dirs=numpy_headers, extra_compile_args=flags,
              optional=True),
])
