/* A small Linear layer's forward, y = x W^T + b, compiled, float32; built by setup.py as
 * ember.ops._linear_kernel. For a layer of a few hundred weights NumPy's time is its
 * per-call cost (a product and a bias add: 2.8 us for an (8, 16) x (16, 16) layer against
 * 1 us here, on a 2-core AMD EPYC); ember/ops/linear.py keeps the NumPy lines, the path
 * for everything else, and the tests hold the two to the same numbers.
 *
 * Row i of y is a sum of rows of W^T:  y_i = sum over l of x[i, l] W^T[l, :]  (+ b), so
 * W is first turned (N x K floats, at most SMALL_WEIGHTS) and each line below is one
 * vectorizable loop along the N outputs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "simd.h"
#include <string.h>

#define SMALL_WEIGHTS 4096          /* ember/ops/compiled.py's SMALL_LINEAR_WEIGHTS */

SIMD_VERSIONS
static void small_linear(const float *x, const float *w, const float *b, float *y,
                         Py_ssize_t m, Py_ssize_t k, Py_ssize_t n)
{
    float wt[SMALL_WEIGHTS];                       /* W^T (K, N) */
    for (Py_ssize_t j = 0; j < n; j++)
        for (Py_ssize_t l = 0; l < k; l++) wt[l * n + j] = w[j * k + l];
    for (Py_ssize_t i = 0; i < m; i++) {
        float *restrict row = y + i * n;
        for (Py_ssize_t j = 0; j < n; j++) row[j] = 0.0f;
        for (Py_ssize_t l = 0; l < k; l++) {
            const float a = x[i * k + l], *restrict column = wt + l * n;
            for (Py_ssize_t j = 0; j < n; j++) row[j] += a * column[j];
        }
        if (b != NULL)
            for (Py_ssize_t j = 0; j < n; j++) row[j] += b[j];
    }
}

static int is_float32_matrix(const Py_buffer *view, int ndim)
{
    return view->ndim == ndim && view->itemsize == 4 && view->format != NULL
           && strcmp(view->format, "f") == 0;
}

/* forward(x, weight, bias or None, y): y = x W^T + b. Returns False, having written
 * nothing, where an array is not C-contiguous float32 (the caller then uses NumPy). */
static PyObject *py_forward(PyObject *self, PyObject *args)
{
    PyObject *objects[4];
    if (!PyArg_ParseTuple(args, "OOOO:forward", &objects[0], &objects[1], &objects[2],
                          &objects[3]))
        return NULL;
    const int with_bias = objects[2] != Py_None, count = with_bias ? 4 : 3;
    PyObject *order[4] = {objects[0], objects[1], objects[3], objects[2]};   /* x, W, y, b */
    Py_buffer views[4];
    int taken = 0, usable = 1;
    for (; taken < count; taken++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (taken == 2 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(order[taken], &views[taken], flags) < 0) {
            PyErr_Clear();                  /* not a contiguous buffer: NumPy's job */
            usable = 0;
            break;
        }
        if (!is_float32_matrix(&views[taken], taken == 3 ? 1 : 2)) {
            taken++;
            usable = 0;
            break;
        }
    }
    const char *problem = NULL;
    Py_ssize_t m = 0, k = 0, n = 0, weight_k = 0;
    if (usable) {
        m = views[0].shape[0], k = views[0].shape[1];
        n = views[1].shape[0], weight_k = views[1].shape[1];
        if (weight_k != k)
            problem = "x's features must match the weight's second size";
        else if (views[2].shape[0] != m || views[2].shape[1] != n)
            problem = "y must be (rows of x, rows of the weight)";
        else if (with_bias && views[3].shape[0] != n)
            problem = "the bias must have one value per row of the weight";
        else if (n * k > SMALL_WEIGHTS)
            usable = 0;
    }
    if (usable && problem == NULL) {
        Py_BEGIN_ALLOW_THREADS
        small_linear(views[0].buf, views[1].buf, with_bias ? views[3].buf : NULL, views[2].buf,
                     m, k, n);
        Py_END_ALLOW_THREADS
    }
    while (taken--) PyBuffer_Release(&views[taken]);
    if (problem != NULL) {
        PyErr_Format(PyExc_ValueError, "linear kernel: %s (x (%zd, %zd), weight (%zd, %zd))",
                     problem, m, k, n, weight_k);
        return NULL;
    }
    return PyBool_FromLong(usable);
}

static PyMethodDef methods[] = {
    {"forward", py_forward, METH_VARARGS,
     "forward(x, weight, bias, y): y = x W^T + b for small float32 layers; False (and "
     "nothing written) where the arrays are not C-contiguous float32"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_linear_kernel",
                                    "A small Linear layer's forward, compiled.", -1, methods};

PyMODINIT_FUNC PyInit__linear_kernel(void) { return PyModule_Create(&module); }
