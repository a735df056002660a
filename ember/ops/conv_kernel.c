/* col2im's scatter, compiled: the adjoint of im2col (ember/ops/im2col.py), which adds each
 * window's column back onto the input pixels it was read from. The NumPy code in im2col.py
 * (col2im: a product and a strided add per kernel offset) stays the reference and the path
 * for grouped convolutions; the tests compare the two. Built by setup.py as
 * ember.ops._conv_kernel; float32 and float64.
 *
 * columns (M, KH*KW*C), row m = (n, oh, ow) in (i, j, c) order: dL/d(window m), i.e.
 * dL/dY_m W (one matrix product for all offsets). For every m and kernel offset (i, j):
 *     dx[n, oh*SH + i*DH, ow*SW + j*DW, :] += columns[m, (i*KW + j)*C : ... + C]
 * into the padded channels-last gradient dx (N, Hp, Wp, C). With DW = 1 a window row's
 * KW*C values land on adjacent memory: one run of additions per (m, i).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
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
        if (g[0] < 1 || g[1] < 1 || g[6] < 1 || g[7] < 1
            || (g[6] - 1) * g[2] + (g[0] - 1) * g[4] >= hp
            || (g[7] - 1) * g[3] + (g[1] - 1) * g[5] >= wp)
            problem = "the windows reach outside dx";
        else if (columns.shape[0] != n * g[6] * g[7] || columns.shape[1] != g[0] * g[1] * c)
            problem = "columns must be (N*OH*OW, KH*KW*C)";
    }
    if (problem != NULL) {
        PyErr_Format(PyExc_ValueError, "col2im kernel: %s (dx shape (%zd, %zd, %zd, %zd), "
                     "columns shape (%zd, %zd))", problem,
                     dx.ndim > 0 ? dx.shape[0] : 0, dx.ndim > 1 ? dx.shape[1] : 0,
                     dx.ndim > 2 ? dx.shape[2] : 0, dx.ndim > 3 ? dx.shape[3] : 0,
                     columns.ndim > 0 ? columns.shape[0] : 0,
                     columns.ndim > 1 ? columns.shape[1] : 0);
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

static PyMethodDef methods[] = {
    {"col2im", py_col2im, METH_VARARGS,
     "col2im(dx, columns, kernel, stride, dilation, output_size): dx += the columns "
     "scattered back onto the pixels their windows read"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_conv_kernel",
                                    "col2im's scatter, compiled.", -1, methods};

PyMODINIT_FUNC PyInit__conv_kernel(void) { return PyModule_Create(&module); }
