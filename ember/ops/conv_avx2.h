/* What conv_kernel.c calls in conv_avx2.c: the direct convolutions' forwards with AVX2
 * and FMA, defined where HAVE_AVX2_INTRINSICS is (simd.h: GCC or Clang on x86-64). */
#ifndef EMBER_CONV_AVX2_H
#define EMBER_CONV_AVX2_H

#include <Python.h>
#include "simd.h"

#ifdef HAVE_AVX2_INTRINSICS
#define LAST_PIXELS 6               /* direct_last_avx2 needs at least this many columns */

/* w (O, K [+ 1]) -> packed (ceil(O/8), K + 1, 8), for direct_forward_avx2 */
void pack_weights(const float *w, float *packed, Py_ssize_t o, Py_ssize_t taps, int bias);
/* a stride-1 convolution of NCHW planes x (strides sx) into y (N, OH, OW, O) */
void direct_forward_avx2(const char *x, const Py_ssize_t *sx, const float *packed, float *y,
                         const Py_ssize_t *g, Py_ssize_t n, Py_ssize_t c, Py_ssize_t o,
                         Py_ssize_t *offsets);
/* w (O, K [+ 1]) -> packed (K + 1, O16), for direct_last_avx2 */
void pack_weights_transposed(const float *w, float *packed, Py_ssize_t o, Py_ssize_t o16,
                             Py_ssize_t taps, int bias);
/* a stride-1 convolution of a channels-last x (shape (N, Hp, Wp, C)) into y (N, OH, OW, O) */
void direct_last_avx2(const float *x, const Py_ssize_t *shape, const float *packed, float *y,
                      Py_ssize_t o, const Py_ssize_t *g, const Py_ssize_t *offsets);
#endif

#endif
