/* Max pooling, forward and backward, compiled, float32 and float64; part of
 * ember.ops._conv_kernel (conv_kernel.c holds the module's method table). The NumPy code
 * in ember/ops/pooling.py stays the reference and the path for everything else; the
 * tests hold the two to the same bits.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "simd.h"
#include "conv_common.h"
#include "pool_kernel.h"
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

/* 1. The forward on channels-last memory, x (N, Hp, Wp, C) already padded with
 * -inf and y (N, OH, OW, C):
 *     y[n, oh, ow, c] = max over (i, j) of x[n, oh*SH + i*DH, ow*SW + j*DW, c]
 * with a NaN winning, as in NumPy's maximum (and PyTorch). NCHW memory is the same with
 * C = 1 and N*C planes. Why compiled: NumPy's maximum over the strided views of the
 * windows' elements runs inner loops only C values long on channels-last activations. */
#define MAX_POOL(T)                                                                         \
    SIMD_VERSIONS static void max_pool_##T(const T *x, T *y, Py_ssize_t n, Py_ssize_t hp,  \
                                           Py_ssize_t wp, Py_ssize_t c, const Py_ssize_t *g) \
    {                                                                                       \
        const Py_ssize_t kh = g[0], kw = g[1], sh = g[2], sw = g[3], dh = g[4], dw = g[5];  \
        const Py_ssize_t oh = g[6], ow = g[7];                                              \
        for (Py_ssize_t b = 0; b < n; b++)                                                  \
            for (Py_ssize_t r = 0; r < oh; r++) {                                           \
                T *restrict out = y + (b * oh + r) * ow * c;                                \
                const T *restrict top = x + (b * hp + r * sh) * wp * c;                     \
                if (c >= 8) {             /* many channels: vector loops along them */      \
                    for (Py_ssize_t col = 0; col < ow; col++)                               \
                        for (Py_ssize_t k = 0; k < c; k++)                                  \
                            out[col * c + k] = top[col * sw * c + k];                       \
                    for (Py_ssize_t i = 0; i < kh; i++)                                     \
                        for (Py_ssize_t j = (i == 0); j < kw; j++) {                        \
                            const T *restrict row = top + (i * dh * wp + j * dw) * c;       \
                            for (Py_ssize_t col = 0; col < ow; col++)                       \
                                for (Py_ssize_t k = 0; k < c; k++) {                        \
                                    const T v = row[col * sw * c + k], m = out[col * c + k]; \
                                    /* maxps, then NaN wins (both without a branch) */      \
                                    const T larger = m > v ? m : v;                         \
                                    out[col * c + k] = m != m ? m : larger;                 \
                                }                                                           \
                        }                                                                   \
                    continue;                                                               \
                }                                                                           \
                if (kh == 2 && kw == 2) {   /* few channels, 2 x 2 windows: unrolled */     \
                    const Py_ssize_t down = dh * wp * c, right = dw * c;                    \
                    for (Py_ssize_t col = 0; col < ow; col++)                               \
                        for (Py_ssize_t k = 0; k < c; k++) {                                \
                            const T *restrict p = top + col * sw * c + k;                   \
                            const T a = p[0], e = p[right], f = p[down], h = p[down + right]; \
                            /* x > y ? x : y is one maxss, y when either is NaN: a NaN \
                               in h reaches m, in a, e or f it could be lost */             \
                            const T upper = a > e ? a : e, lower = f > h ? f : h;           \
                            const T m = upper > lower ? upper : lower;                      \
                            out[col * c + k] = (a != a) | (e != e) | (f != f) ? (T)NAN : m; \
                        }                                                                   \
                    continue;                                                               \
                }                                                                           \
                for (Py_ssize_t col = 0; col < ow; col++)   /* few: window by window */     \
                    for (Py_ssize_t k = 0; k < c; k++) {                                    \
                        const T *restrict corner = top + col * sw * c + k;                  \
                        T m = corner[0];                                                    \
                        int nan = m != m;                                                   \
                        for (Py_ssize_t i = 0; i < kh; i++)                                 \
                            for (Py_ssize_t j = 0; j < kw; j++) {                           \
                                const T v = corner[(i * dh * wp + j * dw) * c];             \
                                m = m > v ? m : v;                      /* one maxss */     \
                                nan |= v != v;                                              \
                            }                                                               \
                        out[col * c + k] = nan ? (T)NAN : m;                                \
                    }                                                                       \
            }                                                                               \
    }

MAX_POOL(float)
MAX_POOL(double)

/* max_pool(x, y, kernel, stride, dilation): y (N, OH, OW, C) = the maxima of the windows
 * of x (N, Hp, Wp, C), both C-contiguous. */
PyObject *py_max_pool(PyObject *self, PyObject *args)
{
    PyObject *x_obj, *y_obj;
    Py_ssize_t g[8];
    if (!PyArg_ParseTuple(args, "OO(nn)(nn)(nn):max_pool", &x_obj, &y_obj, &g[0], &g[1],
                          &g[2], &g[3], &g[4], &g[5]))
        return NULL;
    Py_buffer x, y;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_STRIDES;
    if (PyObject_GetBuffer(x_obj, &x, flags) < 0) return NULL;
    if (PyObject_GetBuffer(y_obj, &y, flags | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    const char *problem = NULL;
    if (x.ndim != 4 || y.ndim != 4) {
        problem = "x must be (N, Hp, Wp, C) and y (N, OH, OW, C)";
    } else if (strcmp(x.format, y.format) != 0
               || (strcmp(x.format, "f") != 0 && strcmp(x.format, "d") != 0)) {
        problem = "x and y must both be float32 or both float64";
    } else {
        g[6] = y.shape[1], g[7] = y.shape[2];
        if (y.shape[0] != x.shape[0] || y.shape[3] != x.shape[3])
            problem = "x and y must have the same N and C";
        else if (g[0] < 1 || g[1] < 1 || g[2] < 1 || g[3] < 1 || g[4] < 1 || g[5] < 1)
            problem = "kernel, stride and dilation must be positive";
        else if (!windows_inside(g, x.shape[1], x.shape[2]))
            problem = "the windows reach outside x";
    }
    if (problem != NULL) {
        PyErr_Format(PyExc_ValueError, "max pooling kernel: %s (x shape (%zd, %zd, %zd, "
                     "%zd), y shape (%zd, %zd, %zd, %zd))", problem, size_along(&x, 0),
                     size_along(&x, 1), size_along(&x, 2), size_along(&x, 3), size_along(&y, 0),
                     size_along(&y, 1), size_along(&y, 2), size_along(&y, 3));
    } else {
        int single = strcmp(x.format, "f") == 0;
        Py_BEGIN_ALLOW_THREADS
        if (single)
            max_pool_float(x.buf, y.buf, x.shape[0], x.shape[1], x.shape[2], x.shape[3], g);
        else
            max_pool_double(x.buf, y.buf, x.shape[0], x.shape[1], x.shape[2], x.shape[3], g);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&x);
    PyBuffer_Release(&y);
    if (problem != NULL) return NULL;
    Py_RETURN_NONE;
}

/* 2. The backward: each window passes dL/dy to its first maximal element (row-major order
 * in the window, as PyTorch's CPU kernel; none when the maximum is NaN, and never to the
 * padding), overlapping windows adding up. x and dx (N, Hp, Wp, C), y and dy (N, OH, OW,
 * C); the input proper is rows top..top+H-1, columns left..left+W-1 of x.
 * 2 x 2 windows that tile x (MaxPool2d(2) on an even-sized input), in one pass: with
 * a, e (top row), f, h (bottom row) and the maximum m,
 *     dx_a = dy if a == m,   dx_e = dy if e == m and a != m,
 *     dx_f = dy if f == m and a, e != m,   dx_h = dy if h == m and a, e, f != m,
 * else 0: each a select (no branch to mispredict on the many ties a ReLU leaves).
 * Other windows in two passes:
 *   pass 1: chosen[n, oh, ow, c] = the offset i*KW + j of the window's first element equal
 *           to its maximum, -1 for none;
 *   pass 2: offsets in row-major order, windows inside: dx[element] += dy where chosen is
 *           this offset (0 added elsewhere: exact), the order of NumPy's loop, so the
 *           same sums.
 * g = (KH, KW, SH, SW, DH, DW, OH, OW, top, left, H, W). */

/* one column of 2 x 2 windows, c channels. A function of its own, with restrict
 * parameters: GCC 12 vectorizes the loop only so (not with restrict locals, nor inlined) */
#define FIRST_MAXIMA_2X2(T, U)                                                              \
    SIMD_VERSIONS __attribute__((noinline)) static void first_maxima_2x2_##T(              \
        const T *restrict a, const T *restrict e, const T *restrict f, const T *restrict h, \
        const T *restrict most, const T *restrict grad, T *restrict out_a,                  \
        T *restrict out_e, T *restrict out_f, T *restrict out_h, Py_ssize_t c)              \
    {                                                                                       \
        for (Py_ssize_t k = 0; k < c; k++) {                                                \
            /* all-ones where the element equals the maximum; the gradient's bits kept     \
               under the mask of the first such element: selects with no branch */          \
            const U at_a = (U)0 - (U)(a[k] == most[k]), at_e = (U)0 - (U)(e[k] == most[k]); \
            const U at_f = (U)0 - (U)(f[k] == most[k]), at_h = (U)0 - (U)(h[k] == most[k]); \
            U bits, put;                                                                    \
            memcpy(&bits, grad + k, sizeof bits);                                           \
            put = bits & at_a;                                                              \
            memcpy(out_a + k, &put, sizeof put);                                            \
            put = bits & at_e & ~at_a;                                                      \
            memcpy(out_e + k, &put, sizeof put);                                            \
            put = bits & at_f & ~(at_a | at_e);                                             \
            memcpy(out_f + k, &put, sizeof put);                                            \
            put = bits & at_h & ~(at_a | at_e | at_f);                                      \
            memcpy(out_h + k, &put, sizeof put);                                            \
        }                                                                                   \
    }

#define MAX_POOL_BACKWARD_TILED_2X2(T, U)                                                   \
    FIRST_MAXIMA_2X2(T, U)                                                                  \
    static void max_pool_backward_2x2_##T(                                                  \
        const T *x, const T *y, const T *dy, T *dx, Py_ssize_t n, Py_ssize_t oh,            \
        Py_ssize_t ow, Py_ssize_t c)                                                        \
    {                                                                                       \
        const Py_ssize_t wp = 2 * ow, down = wp * c;                                        \
        for (Py_ssize_t b = 0; b < n; b++)                                                  \
            for (Py_ssize_t r = 0; r < oh; r++) {                                           \
                const Py_ssize_t corner = (b * 2 * oh + 2 * r) * wp * c;                    \
                const Py_ssize_t pooled = (b * oh + r) * ow * c;                            \
                for (Py_ssize_t col = 0; col < ow; col++) {                                 \
                    const Py_ssize_t at = corner + 2 * col * c;                             \
                    first_maxima_2x2_##T(x + at, x + at + c, x + at + down,                 \
                                         x + at + down + c, y + pooled + col * c,           \
                                         dy + pooled + col * c, dx + at, dx + at + c,       \
                                         dx + at + down, dx + at + down + c, c);            \
                }                                                                           \
            }                                                                               \
    }

MAX_POOL_BACKWARD_TILED_2X2(float, uint32_t)
MAX_POOL_BACKWARD_TILED_2X2(double, uint64_t)

#define MAX_POOL_BACKWARD(T)                                                                \
    SIMD_VERSIONS static void max_pool_backward_##T(                                        \
        const T *x, const T *y, const T *dy, T *dx, int *chosen, Py_ssize_t n,              \
        Py_ssize_t hp, Py_ssize_t wp, Py_ssize_t c, const Py_ssize_t *g)                    \
    {                                                                                       \
        const Py_ssize_t kh = g[0], kw = g[1], sh = g[2], sw = g[3], dh = g[4], dw = g[5];  \
        const Py_ssize_t oh = g[6], ow = g[7], top = g[8], left = g[9];                     \
        const Py_ssize_t bottom = top + g[10], right = left + g[11];                        \
        for (Py_ssize_t b = 0; b < n; b++)                                                  \
            for (Py_ssize_t r = 0; r < oh; r++)                                             \
                for (Py_ssize_t col = 0; col < ow; col++) {                                 \
                    const Py_ssize_t window = ((b * oh + r) * ow + col) * c;                \
                    int *restrict first = chosen + window;                                  \
                    const T *restrict m = y + window;                                       \
                    for (Py_ssize_t k = 0; k < c; k++) first[k] = -1;                       \
                    for (Py_ssize_t i = 0; i < kh; i++) {                                   \
                        const Py_ssize_t row = r * sh + i * dh;                             \
                        if (row < top || row >= bottom) continue;       /* padding */       \
                        for (Py_ssize_t j = 0; j < kw; j++) {                               \
                            const Py_ssize_t column = col * sw + j * dw;                    \
                            if (column < left || column >= right) continue;                 \
                            const T *restrict v = x + ((b * hp + row) * wp + column) * c;   \
                            const int offset = (int)(i * kw + j);                           \
                            for (Py_ssize_t k = 0; k < c; k++)                              \
                                first[k] = (first[k] < 0) & (v[k] == m[k]) ? offset : first[k]; \
                        }                                                                   \
                    }                                                                       \
                }                                                                           \
        memset(dx, 0, (size_t)(n * hp * wp * c) * sizeof(T));                              \
        for (Py_ssize_t i = 0; i < kh; i++)                                                 \
            for (Py_ssize_t j = 0; j < kw; j++) {                                           \
                const int offset = (int)(i * kw + j);                                       \
                for (Py_ssize_t b = 0; b < n; b++)                                          \
                    for (Py_ssize_t r = 0; r < oh; r++)                                     \
                        for (Py_ssize_t col = 0; col < ow; col++) {                         \
                            const Py_ssize_t window = ((b * oh + r) * ow + col) * c;        \
                            const int *restrict first = chosen + window;                    \
                            const T *restrict d = dy + window;                              \
                            T *restrict target =                                            \
                                dx + ((b * hp + r * sh + i * dh) * wp + col * sw + j * dw) * c; \
                            for (Py_ssize_t k = 0; k < c; k++)                              \
                                target[k] += first[k] == offset ? d[k] : (T)0;              \
                        }                                                                   \
            }                                                                               \
    }

MAX_POOL_BACKWARD(float)
MAX_POOL_BACKWARD(double)

/* max_pool_backward(x, y, dy, dx, kernel, stride, dilation, (top, left, H, W)): dx (N, Hp,
 * Wp, C) = dL/dx of max pooling for x (N, Hp, Wp, C), its maxima y and their gradient dy
 * (N, OH, OW, C), all C-contiguous and of one float type; (top, left, H, W) is where the
 * input lies in the padded x. */
PyObject *py_max_pool_backward(PyObject *self, PyObject *args)
{
    PyObject *objects[4];
    Py_ssize_t g[12];
    if (!PyArg_ParseTuple(args, "OOOO(nn)(nn)(nn)(nnnn):max_pool_backward", &objects[0],
                          &objects[1], &objects[2], &objects[3], &g[0], &g[1], &g[2], &g[3],
                          &g[4], &g[5], &g[8], &g[9], &g[10], &g[11]))
        return NULL;
    Py_buffer views[4];                                     /* x, y, dy, dx */
    int taken = 0;
    for (; taken < 4; taken++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (taken == 3 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objects[taken], &views[taken], flags) < 0) {
            while (taken--) PyBuffer_Release(&views[taken]);
            return NULL;
        }
    }
    const Py_buffer *x = &views[0], *y = &views[1], *dy = &views[2], *dx = &views[3];
    const char *problem = NULL;
    if (x->ndim != 4 || y->ndim != 4 || dy->ndim != 4 || dx->ndim != 4) {
        problem = "x and dx must be (N, Hp, Wp, C), y and dy (N, OH, OW, C)";
    } else if ((strcmp(x->format, "f") != 0 && strcmp(x->format, "d") != 0)
               || strcmp(y->format, x->format) != 0 || strcmp(dy->format, x->format) != 0
               || strcmp(dx->format, x->format) != 0) {
        problem = "x, y, dy and dx must all be float32 or all float64";
    } else {
        g[6] = y->shape[1], g[7] = y->shape[2];
        int same = 1;
        for (int k = 0; k < 4; k++)
            same &= dx->shape[k] == x->shape[k] && dy->shape[k] == y->shape[k];
        if (!same || y->shape[0] != x->shape[0] || y->shape[3] != x->shape[3])
            problem = "dx must match x and dy y, with the same N and C";
        else if (g[0] < 1 || g[1] < 1 || g[2] < 1 || g[3] < 1 || g[4] < 1 || g[5] < 1)
            problem = "kernel, stride and dilation must be positive";
        else if (!windows_inside(g, x->shape[1], x->shape[2]))
            problem = "the windows reach outside x";
        else if (g[8] < 0 || g[9] < 0 || g[10] < 0 || g[11] < 0
                 || g[8] + g[10] > x->shape[1] || g[9] + g[11] > x->shape[2])
            problem = "the input's place (top, left, H, W) must lie inside x";
        else if (g[0] * g[1] > INT_MAX)
            problem = "the window has too many elements";
    }
    int *chosen = NULL;
    if (problem == NULL) {
        const Py_ssize_t n = x->shape[0], hp = x->shape[1], wp = x->shape[2], c = x->shape[3];
        const int single = strcmp(x->format, "f") == 0;
        /* 2 x 2 windows, stride 2, covering x exactly (no padding) */
        const int tiled_2x2 = g[0] == 2 && g[1] == 2 && g[2] == 2 && g[3] == 2 && g[4] == 1
                              && g[5] == 1 && 2 * g[6] == hp && 2 * g[7] == wp && g[8] == 0
                              && g[9] == 0 && g[10] == hp && g[11] == wp;
        if (!tiled_2x2) {
            chosen = PyMem_RawMalloc((size_t)(n * g[6] * g[7] * c) * sizeof(int) + 1);
            if (chosen == NULL) {
                for (int k = 0; k < 4; k++) PyBuffer_Release(&views[k]);
                return PyErr_NoMemory();
            }
        }
        Py_BEGIN_ALLOW_THREADS
        if (tiled_2x2 && single)
            max_pool_backward_2x2_float(x->buf, y->buf, dy->buf, dx->buf, n, g[6], g[7], c);
        else if (tiled_2x2)
            max_pool_backward_2x2_double(x->buf, y->buf, dy->buf, dx->buf, n, g[6], g[7], c);
        else if (single)
            max_pool_backward_float(x->buf, y->buf, dy->buf, dx->buf, chosen, n, hp, wp, c, g);
        else
            max_pool_backward_double(x->buf, y->buf, dy->buf, dx->buf, chosen, n, hp, wp, c,
                                     g);
        Py_END_ALLOW_THREADS
        PyMem_RawFree(chosen);
    } else {
        PyErr_Format(PyExc_ValueError, "max pooling backward kernel: %s (x shape (%zd, %zd, "
                     "%zd, %zd), y shape (%zd, %zd, %zd, %zd))", problem, size_along(x, 0),
                     size_along(x, 1), size_along(x, 2), size_along(x, 3), size_along(y, 0),
                     size_along(y, 1), size_along(y, 2), size_along(y, 3));
    }
    for (int k = 0; k < 4; k++) PyBuffer_Release(&views[k]);
    if (problem != NULL) return NULL;
    Py_RETURN_NONE;
}
