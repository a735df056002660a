/* A small Linear layer's forward, y = x W^T + b, compiled, float32, and the bias add of a
 * larger one (after BLAS's product); built by setup.py as ember.ops._linear_kernel. For a layer of a few hundred weights NumPy's time is its
 * per-call cost (a product, a bias add and the output's allocation: 2.8 us for an
 * (8, 16) x (16, 16) layer against 0.4 us here, on a 2-core AMD EPYC); ember/ops/linear.py
 * keeps the NumPy lines, the path for everything else, and the tests hold the two to the
 * same numbers. The arrays are read through NumPy's C API: taking a buffer of each one
 * (the buffer protocol) cost more than the arithmetic.
 *
 * Outputs in blocks of 8 (a vector register), rows in groups of 4:
 *     y[i, j:j+8] = sum over l of x[i, l] W^T[l, j:j+8]      (W^T made first)
 * and the rest (the last m mod 4 rows, the last n mod 8 outputs) one dot product each,
 * y[i, j] = x_i . W_j. The bias is added last, as NumPy's x.dot(W.T) += b does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_20_API_VERSION
#include <numpy/arrayobject.h>
#include "simd.h"
#include <string.h>

#define SMALL_WEIGHTS 4096          /* ember/ops/compiled.py's SMALL_LINEAR_WEIGHTS */
#define SMALL_PRODUCT 65536         /* and SMALL_LINEAR_PRODUCT (multiply-adds) */
#define BLOCK 8

/* y[i:i+ROWS, j:j+BLOCK] with ROWS independent sums in registers: a single sum's chain of
 * fused multiply-adds waits on each one's latency (4 cycles). GCC's and Clang's vector
 * type holds BLOCK floats (one AVX register, two SSE ones); plain loops elsewhere. */
#define ROWS 4

#if defined(__GNUC__)
typedef float block_t __attribute__((vector_size(BLOCK * sizeof(float))));

static inline void rows_block(const float *x, const float *wt, const float *b, float *y,
                              npy_intp k, npy_intp n, npy_intp blocked, npy_intp j)
{
    block_t sum[ROWS] = {{0}}, column, bias = {0};
    for (npy_intp l = 0; l < k; l++) {
        memcpy(&column, wt + l * blocked + j, sizeof column);      /* unaligned loads */
        for (int r = 0; r < ROWS; r++) sum[r] += x[r * k + l] * column;
    }
    if (b != NULL)
        memcpy(&bias, b + j, sizeof bias);
    for (int r = 0; r < ROWS; r++) {
        if (b != NULL) sum[r] += bias;
        memcpy(y + r * n + j, &sum[r], sizeof sum[r]);
    }
}
#else
static void rows_block(const float *x, const float *wt, const float *b, float *y,
                       npy_intp k, npy_intp n, npy_intp blocked, npy_intp j)
{
    float sum[ROWS][BLOCK] = {{0}};
    for (npy_intp l = 0; l < k; l++)
        for (int r = 0; r < ROWS; r++)
            for (int q = 0; q < BLOCK; q++) sum[r][q] += x[r * k + l] * wt[l * blocked + j + q];
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < BLOCK; q++)
            y[r * n + j + q] = b != NULL ? sum[r][q] + b[j + q] : sum[r][q];
}
#endif

SIMD_VERSIONS
static void small_linear(const float *x, const float *w, const float *b, float *y,
                         npy_intp m, npy_intp k, npy_intp n)
{
    const npy_intp blocked = n - n % BLOCK, grouped = m - m % ROWS;
    float wt[SMALL_WEIGHTS];                       /* W^T (K, blocked) */
    for (npy_intp l = 0; l < k; l++)
        for (npy_intp j = 0; j < blocked; j++) wt[l * blocked + j] = w[j * k + l];
    for (npy_intp j = 0; j < blocked; j += BLOCK) {
        for (npy_intp i = 0; i < grouped; i += ROWS)
            rows_block(x + i * k, wt, b, y + i * n, k, n, blocked, j);
    }
    for (npy_intp i = 0; i < m; i++) {    /* the last m mod ROWS rows, n mod BLOCK outputs */
        const float *xi = x + i * k;
        for (npy_intp j = i < grouped ? blocked : 0; j < n; j++) {
            const float *wj = w + j * k;
            float sum = 0.0f;
            for (npy_intp l = 0; l < k; l++) sum += xi[l] * wj[l];
            y[i * n + j] = b != NULL ? sum + b[j] : sum;
        }
    }
}

/* y[i, :] += b for every row: NumPy's y += b takes twice as long on a (128, 512) output
 * (13 against 6.4 us), its broadcast loop restarting at every row */
SIMD_VERSIONS
static void add_bias_rows(float *y, const float *b, npy_intp m, npy_intp n)
{
    for (npy_intp i = 0; i < m; i++) {
        float *restrict row = y + i * n;
        for (npy_intp j = 0; j < n; j++) row[j] += b[j];
    }
}

/* a NumPy array (not a subclass) of native float32, C-contiguous and aligned */
static int is_plain_float32(PyObject *object, int ndim)
{
    if (!PyArray_CheckExact(object))
        return 0;
    PyArrayObject *array = (PyArrayObject *)object;
    return PyArray_NDIM(array) == ndim && PyArray_TYPE(array) == NPY_FLOAT32
           && PyArray_ISCARRAY_RO(array);
}

/* forward(x, weight, bias or None) -> y = x W^T + b, a new (M, N) array; None where an
 * array is not a C-contiguous float32 NumPy array of the right rank or the layer is not
 * small (the caller then uses NumPy). Shapes that do not fit raise ValueError. */
static PyObject *py_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "forward() takes 3 arguments (x, weight, bias), "
                     "%zd given", nargs);
        return NULL;
    }
    PyObject *x = args[0], *weight = args[1], *bias = args[2];
    const int with_bias = bias != Py_None;
    if (!is_plain_float32(x, 2) || !is_plain_float32(weight, 2)
            || (with_bias && !is_plain_float32(bias, 1)))
        Py_RETURN_NONE;
    const npy_intp m = PyArray_DIM((PyArrayObject *)x, 0), k = PyArray_DIM((PyArrayObject *)x, 1);
    const npy_intp n = PyArray_DIM((PyArrayObject *)weight, 0);
    const npy_intp weight_k = PyArray_DIM((PyArrayObject *)weight, 1);
    const char *problem = NULL;
    if (weight_k != k)
        problem = "x's features must match the weight's second size";
    else if (with_bias && PyArray_DIM((PyArrayObject *)bias, 0) != n)
        problem = "the bias must have one value per row of the weight";
    if (problem != NULL) {
        PyErr_Format(PyExc_ValueError, "linear kernel: %s (x (%zd, %zd), weight (%zd, %zd))",
                     problem, (Py_ssize_t)m, (Py_ssize_t)k, (Py_ssize_t)n,
                     (Py_ssize_t)weight_k);
        return NULL;
    }
    if (n * k > SMALL_WEIGHTS || m * n * k > SMALL_PRODUCT)
        Py_RETURN_NONE;
    npy_intp shape[2] = {m, n};
    PyObject *y = PyArray_SimpleNew(2, shape, NPY_FLOAT32);
    if (y == NULL)
        return NULL;
    small_linear(PyArray_DATA((PyArrayObject *)x), PyArray_DATA((PyArrayObject *)weight),
                 with_bias ? PyArray_DATA((PyArrayObject *)bias) : NULL,
                 PyArray_DATA((PyArrayObject *)y), m, k, n);
    return y;
}

/* add_bias(y, bias) -> True, having added the bias to every row of y (in place); None,
 * writing nothing, where the arrays are not C-contiguous float32 NumPy arrays or y is not
 * writable. A bias of the wrong length raises ValueError. */
static PyObject *py_add_bias(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "add_bias() takes 2 arguments (y, bias), %zd given",
                     nargs);
        return NULL;
    }
    PyObject *y = args[0], *bias = args[1];
    if (!is_plain_float32(y, 2) || !is_plain_float32(bias, 1)
            || !PyArray_ISWRITEABLE((PyArrayObject *)y))
        Py_RETURN_NONE;
    const npy_intp m = PyArray_DIM((PyArrayObject *)y, 0), n = PyArray_DIM((PyArrayObject *)y, 1);
    if (PyArray_DIM((PyArrayObject *)bias, 0) != n) {
        PyErr_Format(PyExc_ValueError, "linear kernel: the bias must have one value per "
                     "column of y (y (%zd, %zd), bias (%zd,))", (Py_ssize_t)m, (Py_ssize_t)n,
                     (Py_ssize_t)PyArray_DIM((PyArrayObject *)bias, 0));
        return NULL;
    }
    float *rows = PyArray_DATA((PyArrayObject *)y);
    const float *values = PyArray_DATA((PyArrayObject *)bias);
    Py_BEGIN_ALLOW_THREADS
    add_bias_rows(rows, values, m, n);
    Py_END_ALLOW_THREADS
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"forward", (PyCFunction)(void (*)(void))py_forward, METH_FASTCALL,
     "forward(x, weight, bias): x W^T + b, a new array, for small float32 layers; None "
     "where the arrays are not C-contiguous float32 or the layer is not small"},
    {"add_bias", (PyCFunction)(void (*)(void))py_add_bias, METH_FASTCALL,
     "add_bias(y, bias): y += bias, row by row, in place; True, or None (nothing written) "
     "where the arrays are not C-contiguous float32"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_linear_kernel",
                                    "A Linear layer's forward: small ones whole, the bias "
                                    "add of others; compiled.", -1, methods};

PyMODINIT_FUNC PyInit__linear_kernel(void)
{
    import_array();
    return PyModule_Create(&module);
}
