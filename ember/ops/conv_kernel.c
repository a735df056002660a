/* Two convolution kernels, compiled, float32 and float64, and the method table of
 * ember.ops._conv_kernel, which also holds max pooling (pool_kernel.c); built by
 * setup.py. The NumPy code they replace stays the reference and the path for everything
 * they don't cover; the tests compare the two.
 *
 * 1. col2im's scatter: the adjoint of im2col (ember/ops/im2col.py), which adds each
 * window's column back onto the input pixels it was read from (NumPy: a product and a
 * strided add per kernel offset).
 *
 * columns (M, KH*KW*C), row m = (n, oh, ow) in (i, j, c) order: dL/d(window m), i.e.
 * dL/dY_m W (one matrix product for all offsets). For every m and kernel offset (i, j):
 *     dx[n, oh*SH + i*DH, ow*SW + j*DW, :] += columns[m, (i*KW + j)*C : ... + C]
 * into the padded channels-last gradient dx (N, Hp, Wp, C). With DW = 1 a window row's
 * KW*C values land on adjacent memory: one run of additions per (m, i).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "simd.h"
#include "conv_avx2.h"
#include "conv_common.h"
#include "pool_kernel.h"
#include <string.h>

#define SCATTER(T)                                                                          \
    static void scatter_##T(T *dx, const T *columns, Py_ssize_t n, Py_ssize_t hp,          \
                            Py_ssize_t wp, Py_ssize_t c, const Py_ssize_t *g)              \
    {                                                                                       \
        const Py_ssize_t kh = g[0], kw = g[1], sh = g[2], sw = g[3], dh = g[4], dw = g[5];  \
        const Py_ssize_t oh = g[6], ow = g[7], width = kh * kw * c;                        \
        const T *column = columns;                                                          \
        for (Py_ssize_t b = 0; b < n; b++)                                                  \
            for (Py_ssize_t y = 0; y < oh; y++)                                             \
                for (Py_ssize_t x = 0; x < ow; x++, column += width)                        \
                    for (Py_ssize_t i = 0; i < kh; i++) {                                   \
                        T *row = dx + ((b * hp + y * sh + i * dh) * wp + x * sw) * c;       \
                        const T *src = column + i * kw * c;                                 \
                        if (dw == 1) {                                                      \
                            for (Py_ssize_t k = 0; k < kw * c; k++) row[k] += src[k];       \
                        } else {                                                            \
                            for (Py_ssize_t j = 0; j < kw; j++)                             \
                                for (Py_ssize_t k = 0; k < c; k++)                          \
                                    row[j * dw * c + k] += src[j * c + k];                  \
                        }                                                                   \
                    }                                                                       \
    }

SCATTER(float)
SCATTER(double)

static PyObject *py_col2im(PyObject *self, PyObject *args)
{
    PyObject *dx_obj, *columns_obj;
    Py_ssize_t g[8];
    if (!PyArg_ParseTuple(args, "OO(nn)(nn)(nn)(nn):col2im", &dx_obj, &columns_obj, &g[0],
                          &g[1], &g[2], &g[3], &g[4], &g[5], &g[6], &g[7]))
        return NULL;
    Py_buffer dx, columns;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_STRIDES;
    if (PyObject_GetBuffer(dx_obj, &dx, flags | PyBUF_WRITABLE) < 0) return NULL;
    if (PyObject_GetBuffer(columns_obj, &columns, flags) < 0) {
        PyBuffer_Release(&dx);
        return NULL;
    }
    const char *problem = NULL;
    Py_ssize_t n = 0, hp = 0, wp = 0, c = 0;
    if (dx.ndim != 4 || columns.ndim != 2) {
        problem = "dx must be (N, Hp, Wp, C) and columns (M, KH*KW*C)";
    } else if (strcmp(dx.format, columns.format) != 0
               || (strcmp(dx.format, "f") != 0 && strcmp(dx.format, "d") != 0)) {
        problem = "dx and columns must both be float32 or both float64";
    } else {
        n = dx.shape[0], hp = dx.shape[1], wp = dx.shape[2], c = dx.shape[3];
        if (!windows_inside(g, hp, wp))
            problem = "the windows reach outside dx";
        else if (columns.shape[0] != n * g[6] * g[7] || columns.shape[1] != g[0] * g[1] * c)
            problem = "columns must be (N*OH*OW, KH*KW*C)";
    }
    if (problem != NULL) {
        PyErr_Format(PyExc_ValueError, "col2im kernel: %s (dx shape (%zd, %zd, %zd, %zd), "
                     "columns shape (%zd, %zd))", problem,
                     size_along(&dx, 0), size_along(&dx, 1), size_along(&dx, 2),
                     size_along(&dx, 3), size_along(&columns, 0), size_along(&columns, 1));
    } else {
        int single = strcmp(dx.format, "f") == 0;
        Py_BEGIN_ALLOW_THREADS
        if (single)
            scatter_float(dx.buf, columns.buf, n, hp, wp, c, g);
        else
            scatter_double(dx.buf, columns.buf, n, hp, wp, c, g);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&dx);
    PyBuffer_Release(&columns);
    if (problem != NULL) return NULL;
    Py_RETURN_NONE;
}

/* 2. A stride-1 convolution with few weights (a network's first layer: 1 or 3 input
 * channels, a few outputs), where im2col would copy every pixel KH*KW times to feed a
 * product only O columns wide. Each input channel is a plane of rows Wp apart; output
 * position (oh, ow) of an image is taken at p = oh*Wp + ow of a "full-width" row-major
 * array of length L = (OH - 1)*Wp + OW (positions with ow >= OW are computed and thrown
 * away), so that kernel offset (i, j) of channel c reads the plane from i*DH*Wp + j*DW on:
 * one long unit-stride loop per (output channel, offset, channel):
 *   y_o[p]   += W[o, k] x_c[p + i*DH*Wp + j*DW]            k = (i*KW + j)*C + c
 *   dW[o, k] += sum over p of dY_o[p] x_c[p + i*DH*Wp + j*DW]   (dY_o zero where ow >= OW)
 *   db[o]    += sum of dY_o
 * W is (O, K [+ 1]), the bias last when there is one; y and dY are (N, OH, OW, O). */
#define DIRECT(T)                                                                           \
    static inline __attribute__((always_inline)) T dot_##T(const T *restrict a,            \
                                                            const T *restrict b, Py_ssize_t n) \
    {                                                                                       \
        T part[16] = {0}, total = 0;          /* 16 running sums: a vectorizable order */   \
        Py_ssize_t k = 0;                                                                   \
        for (; k + 16 <= n; k += 16)                                                        \
            for (int l = 0; l < 16; l++) part[l] += a[k + l] * b[k + l];                    \
        for (; k < n; k++) total += a[k] * b[k];                                            \
        for (int l = 0; l < 16; l++) total += part[l];                                      \
        return total;                                                                       \
    }                                                                                       \
    SIMD_VERSIONS static void direct_##T(const char *x, const Py_ssize_t *sx, T *w, T *y,  \
                                         const Py_ssize_t *g, Py_ssize_t n, Py_ssize_t c,  \
                                         Py_ssize_t o, int bias, int gradient, T *full)     \
    {                                                                                       \
        const Py_ssize_t kh = g[0], kw = g[1], dh = g[4], dw = g[5], oh = g[6], ow = g[7];  \
        const Py_ssize_t wp = g[2], width = kh * kw * c + bias;     /* g[2]: the row pitch */ \
        const Py_ssize_t length = (oh - 1) * wp + ow;                                       \
        for (Py_ssize_t b = 0; b < n; b++) {                                                \
            T *rows = y + b * oh * ow * o;             /* this image's (OH, OW, O) */       \
            for (Py_ssize_t q = 0; q < o; q++) {       /* full_q = b_q, or dY_q */          \
                T *f = full + q * length;                                                   \
                for (Py_ssize_t p = 0; p < length; p++)                                     \
                    f[p] = gradient ? (T)0 : (bias ? w[q * width + width - 1] : (T)0);      \
                if (gradient)                                                               \
                    for (Py_ssize_t r = 0; r < oh; r++)                                     \
                        for (Py_ssize_t col = 0; col < ow; col++)                           \
                            f[r * wp + col] = rows[(r * ow + col) * o + q];                 \
            }                                                                               \
            for (Py_ssize_t i = 0; i < kh; i++)                                             \
                for (Py_ssize_t j = 0; j < kw; j++)                                         \
                    for (Py_ssize_t ch = 0; ch < c; ch++) {                                 \
                        const T *restrict plane = (const T *)(x + b * sx[0] + ch * sx[3])   \
                                                  + i * dh * wp + j * dw;                   \
                        Py_ssize_t k = (i * kw + j) * c + ch;                               \
                        for (Py_ssize_t q = 0; q < o; q++) {                                \
                            T *restrict f = full + q * length;                              \
                            if (gradient) {                                                 \
                                w[q * width + k] += dot_##T(f, plane, length);              \
                            } else {                                                        \
                                const T weight = w[q * width + k];                          \
                                for (Py_ssize_t p = 0; p < length; p++)                     \
                                    f[p] += weight * plane[p];                              \
                            }                                                               \
                        }                                                                   \
                    }                                                                       \
            for (Py_ssize_t q = 0; q < o; q++) {                                            \
                const T *f = full + q * length;                                             \
                if (gradient) {                                                             \
                    if (bias) {                                                             \
                        T total = 0;                                                        \
                        for (Py_ssize_t p = 0; p < oh * ow; p++) total += rows[p * o + q];  \
                        w[q * width + width - 1] += total;                                  \
                    }                                                                       \
                } else {                                                                    \
                    for (Py_ssize_t r = 0; r < oh; r++)                                     \
                        for (Py_ssize_t col = 0; col < ow; col++)                           \
                            rows[(r * ow + col) * o + q] = f[r * wp + col];                 \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }

DIRECT(float)
DIRECT(double)

/* 2b. Where the processor has AVX2 and FMA, the forwards of this direct convolution (for
 * float32 outputs at least 8 wide) and of one over channels-last inputs (direct_last:
 * small later layers) run the register-blocked versions in conv_avx2.c. */
#ifdef HAVE_AVX2_INTRINSICS
#define HAVE_DIRECT_AVX2 1
#endif

static int use_direct_avx2 = 0;             /* set when the module loads */

/* direct(x, weights, y, kernel, dilation, output_size, bias, gradient): with gradient
 * false, y (N, OH, OW, O) = the stride-1 convolution of x (N, Hp, Wp, C) (+ b); with
 * gradient true, weights += dL/dW (and dL/db) given dY = y. */
static PyObject *py_direct(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    Py_ssize_t g[8] = {0, 0, 1, 1, 0, 0, 0, 0};
    int bias, gradient;
    if (!PyArg_ParseTuple(args, "OOO(nn)(nn)(nn)pp:direct", &o[0], &o[1], &o[2], &g[0], &g[1],
                          &g[4], &g[5], &g[6], &g[7], &bias, &gradient))
        return NULL;
    Py_buffer x, w, y;
    if (PyObject_GetBuffer(o[0], &x, PyBUF_RECORDS_RO) < 0) return NULL;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_STRIDES;
    if (PyObject_GetBuffer(o[1], &w, flags | (gradient ? PyBUF_WRITABLE : 0)) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    if (PyObject_GetBuffer(o[2], &y, flags | (gradient ? 0 : PyBUF_WRITABLE)) < 0) {
        PyBuffer_Release(&x);
        PyBuffer_Release(&w);
        return NULL;
    }
    const char *problem = NULL;
    Py_ssize_t n = 0, c = 0, out = 0, length = 0;
    if (x.ndim != 4 || w.ndim != 2 || y.ndim != 4) {
        problem = "x must be (N, Hp, Wp, C), the weights (O, K [+ 1]) and y (N, OH, OW, O)";
    } else if (strcmp(x.format, w.format) != 0 || strcmp(x.format, y.format) != 0
               || (strcmp(x.format, "f") != 0 && strcmp(x.format, "d") != 0)) {
        problem = "x, the weights and y must all be float32 or all float64";
    } else {
        n = x.shape[0], c = x.shape[3], out = w.shape[0];
        g[2] = x.shape[2];                  /* rows are Wp values apart */
        length = (g[6] - 1) * g[2] + g[7];
        if ((x.shape[2] > 1 && x.strides[2] != x.itemsize)
            || (x.shape[1] > 1 && x.strides[1] != x.shape[2] * x.itemsize)
            || x.strides[0] % x.itemsize || x.strides[3] % x.itemsize)
            problem = "x's rows must be whole, adjacent rows of adjacent values (NCHW memory)";
        else if (g[0] < 1 || g[1] < 1 || g[6] < 1 || g[7] < 1
                 || g[6] - 1 + (g[0] - 1) * g[4] >= x.shape[1]
                 || g[7] - 1 + (g[1] - 1) * g[5] >= x.shape[2])
            problem = "the windows reach outside x";
        else if (w.shape[1] != g[0] * g[1] * c + (bias ? 1 : 0))
            problem = "the weights must be (O, KH*KW*C [+ 1 with a bias])";
        else if (y.shape[0] != n || y.shape[1] != g[6] || y.shape[2] != g[7] || y.shape[3] != out)
            problem = "y must be (N, OH, OW, O)";
    }
    if (problem != NULL) {
        PyErr_Format(PyExc_ValueError, "direct convolution kernel: %s", problem);
        PyBuffer_Release(&x); PyBuffer_Release(&w); PyBuffer_Release(&y);
        return NULL;
    }
    void *full = PyMem_RawMalloc((size_t)(out * length) * (size_t)x.itemsize);
    if (full == NULL) {
        PyBuffer_Release(&x); PyBuffer_Release(&w); PyBuffer_Release(&y);
        return PyErr_NoMemory();
    }
    int single = strcmp(x.format, "f") == 0;
#ifdef HAVE_DIRECT_AVX2
    if (single && !gradient && use_direct_avx2 && g[7] >= 8) {
        const Py_ssize_t taps = g[0] * g[1] * c, floats = ((out + 7) / 8) * (taps + 1) * 8;
        float *packed = PyMem_RawMalloc((size_t)floats * sizeof(float)
                                        + (size_t)taps * sizeof(Py_ssize_t));
        if (packed != NULL) {
            Py_ssize_t *offsets = (Py_ssize_t *)(packed + floats);   /* (8-float aligned) */
            pack_weights(w.buf, packed, out, taps, bias);
            Py_BEGIN_ALLOW_THREADS
            direct_forward_avx2(x.buf, x.strides, packed, y.buf, g, n, c, out, offsets);
            Py_END_ALLOW_THREADS
            PyMem_RawFree(packed);
            PyMem_RawFree(full);
            PyBuffer_Release(&x);
            PyBuffer_Release(&w);
            PyBuffer_Release(&y);
            Py_RETURN_NONE;
        }
    }
#endif
    Py_BEGIN_ALLOW_THREADS
    if (single)
        direct_float(x.buf, x.strides, w.buf, y.buf, g, n, c, out, bias, gradient, full);
    else
        direct_double(x.buf, x.strides, w.buf, y.buf, g, n, c, out, bias, gradient, full);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(full);
    PyBuffer_Release(&x);
    PyBuffer_Release(&w);
    PyBuffer_Release(&y);
    Py_RETURN_NONE;
}

/* direct_last(x, weights, y, kernel, dilation, output_size, bias): y (N, OH, OW, O) = the
 * stride-1 convolution of the channels-last x (N, Hp, Wp, C) (+ b), the weights (O, K [+ 1])
 * in (kh, kw, c) order. Returns False, having written nothing, where the processor has no
 * AVX2 and FMA, the arrays are not float32 or OW < 6 (the caller then uses im2col). */
static PyObject *py_direct_last(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    Py_ssize_t g[8] = {0, 0, 1, 1, 0, 0, 0, 0};
    int bias;
    if (!PyArg_ParseTuple(args, "OOO(nn)(nn)(nn)p:direct_last", &o[0], &o[1], &o[2], &g[0],
                          &g[1], &g[4], &g[5], &g[6], &g[7], &bias))
        return NULL;
    Py_buffer x, w, y;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_STRIDES;
    if (PyObject_GetBuffer(o[0], &x, flags) < 0) return NULL;
    if (PyObject_GetBuffer(o[1], &w, flags) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    if (PyObject_GetBuffer(o[2], &y, flags | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&x);
        PyBuffer_Release(&w);
        return NULL;
    }
    const char *problem = NULL;
    int usable = 0;
    Py_ssize_t out = 0, taps = 0;
    if (x.ndim != 4 || w.ndim != 2 || y.ndim != 4) {
        problem = "x must be (N, Hp, Wp, C), the weights (O, K [+ 1]) and y (N, OH, OW, O)";
    } else {
        out = w.shape[0], taps = g[0] * g[1] * x.shape[3];
        if (!windows_inside(g, x.shape[1], x.shape[2]))
            problem = "the windows reach outside x";
        else if (w.shape[1] != taps + (bias ? 1 : 0))
            problem = "the weights must be (O, KH*KW*C [+ 1 with a bias])";
        else if (y.shape[0] != x.shape[0] || y.shape[1] != g[6] || y.shape[2] != g[7]
                 || y.shape[3] != out)
            problem = "y must be (N, OH, OW, O)";
#ifdef HAVE_DIRECT_AVX2
        else
            usable = use_direct_avx2 && g[7] >= LAST_PIXELS && strcmp(x.format, "f") == 0
                     && strcmp(w.format, "f") == 0 && strcmp(y.format, "f") == 0;
#endif
    }
    if (problem != NULL) {
        PyErr_Format(PyExc_ValueError, "channels-last direct convolution kernel: %s", problem);
    }
#ifdef HAVE_DIRECT_AVX2
    else if (usable) {
        const Py_ssize_t o16 = (out + 15) / 16 * 16;
        float *packed = PyMem_RawMalloc((size_t)((taps + 1) * o16) * sizeof(float)
                                        + (size_t)taps * sizeof(Py_ssize_t));
        if (packed == NULL) {
            PyErr_NoMemory();
            problem = "no memory";
        } else {
            Py_ssize_t *offsets = (Py_ssize_t *)(packed + (taps + 1) * o16);
            const Py_ssize_t c = x.shape[3], wp = x.shape[2];
            for (Py_ssize_t i = 0; i < g[0]; i++)       /* where tap (i, j, c) reads */
                for (Py_ssize_t j = 0; j < g[1]; j++)
                    for (Py_ssize_t ch = 0; ch < c; ch++)
                        offsets[(i * g[1] + j) * c + ch] = (i * g[4] * wp + j * g[5]) * c + ch;
            pack_weights_transposed(w.buf, packed, out, o16, taps, bias);
            Py_BEGIN_ALLOW_THREADS
            direct_last_avx2(x.buf, x.shape, packed, y.buf, out, g, offsets);
            Py_END_ALLOW_THREADS
            PyMem_RawFree(packed);
        }
    }
#endif
    PyBuffer_Release(&x);
    PyBuffer_Release(&w);
    PyBuffer_Release(&y);
    if (problem != NULL) return NULL;
    return PyBool_FromLong(usable);
}

static PyMethodDef methods[] = {
    {"col2im", py_col2im, METH_VARARGS,
     "col2im(dx, columns, kernel, stride, dilation, output_size): dx += the columns "
     "scattered back onto the pixels their windows read"},
    {"direct", py_direct, METH_VARARGS,
     "direct(x, weights, y, kernel, dilation, output_size, bias, gradient): a stride-1 "
     "convolution with few weights without im2col, or (gradient) its weights' gradient"},
    {"direct_last", py_direct_last, METH_VARARGS,
     "direct_last(x, weights, y, kernel, dilation, output_size, bias): a stride-1 "
     "convolution of a channels-last input with AVX2; False where it cannot run"},
    {"max_pool", py_max_pool, METH_VARARGS,
     "max_pool(x, y, kernel, stride, dilation): y (N, OH, OW, C) = the window maxima of "
     "x (N, Hp, Wp, C), NaN winning"},
    {"max_pool_backward", py_max_pool_backward, METH_VARARGS,
     "max_pool_backward(x, y, dy, dx, kernel, stride, dilation, (top, left, H, W)): dx = "
     "dL/dx of max pooling, each window's dy to its first maximum"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_conv_kernel",
    "col2im's scatter, a direct convolution and max pooling, compiled.", -1, methods};

PyMODINIT_FUNC PyInit__conv_kernel(void)
{
#ifdef HAVE_DIRECT_AVX2
    use_direct_avx2 = has_avx2_fma();
#endif
    return PyModule_Create(&module);
}
