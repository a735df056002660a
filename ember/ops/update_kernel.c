/* The optimizers' parameter updates, compiled: SGD and Adam/AdamW as one pass over each
 * parameter, where the NumPy code in ember/optim/sgd.py and adam.py (the reference, the
 * NumPy-only path and the path for every other case, which the tests compare these with)
 * takes a dozen passes and temporaries. Built by setup.py as ember.ops._update_kernel;
 * float32, C-contiguous arrays.
 *
 * SGD (g = dL/dtheta, after maximize's sign):
 *   g = g + lambda theta                         (weight decay, where lambda != 0)
 *   b = g on the first step, else mu b + (1 - tau) g      (momentum, where mu != 0)
 *   g = g + mu b (Nesterov) or b
 *   theta = theta - lr g
 * Adam, step t:
 *   theta = theta (1 - lr lambda)   (AdamW)   or   g = g + lambda theta   (Adam's L2)
 *   m = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g^2
 *   theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "simd.h"
#include <math.h>
#include <string.h>


/* Each line rounds as the NumPy code's does (compiled without fused multiply-adds), so the
 * two paths give the same bits; the ifs are the same for every k, and the compiler moves
 * them out of the loop. */
SIMD_VERSIONS
static void sgd(float *restrict theta, const float *restrict grad, float *restrict buffer,
                Py_ssize_t count, float lr, float momentum, float one_minus_dampening,
                float weight_decay, int maximize, int first, int nesterov)
{
    for (Py_ssize_t k = 0; k < count; k++) {
        float g = maximize ? -grad[k] : grad[k];
        if (weight_decay != 0.0f) g = g + weight_decay * theta[k];
        if (buffer != NULL) {
            float b = first ? g : momentum * buffer[k] + one_minus_dampening * g;
            buffer[k] = b;
            g = nesterov ? g + momentum * b : b;
        }
        theta[k] -= lr * g;
    }
}

SIMD_VERSIONS
static void adam(float *restrict theta, const float *restrict grad, float *restrict m,
                 float *restrict v, Py_ssize_t count, float step_size,
                 float one_minus_beta1, float beta2, float one_minus_beta2, float eps,
                 float correction2, float l2, float shrink, int maximize)
{
    for (Py_ssize_t k = 0; k < count; k++) {
        float t = shrink != 1.0f ? theta[k] * shrink : theta[k];
        float g = maximize ? -grad[k] : grad[k];
        if (l2 != 0.0f) g = g + l2 * t;
        float mk = m[k] + one_minus_beta1 * (g - m[k]);
        float vk = beta2 * v[k] + one_minus_beta2 * g * g;
        m[k] = mk;
        v[k] = vk;
        theta[k] = t - step_size * mk / (sqrtf(vk) / correction2 + eps);
    }
}

/* Every array a writable (the gradient: readable) C-contiguous float32 buffer of `count`
 * floats; checked before anything is written. */
static int take(PyObject *object, Py_buffer *view, Py_ssize_t count, int writable,
                const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "update kernel: %s is not a %sC-contiguous buffer",
                     name, writable ? "writable " : "");
        return -1;
    }
    if (view->itemsize != 4 || view->format == NULL || strcmp(view->format, "f") != 0
        || view->len != count * 4) {
        PyErr_Format(PyExc_ValueError, "update kernel: %s must hold %zd float32 values "
                     "(the parameter's), got %zd bytes of format '%s'", name, count, view->len,
                     view->format ? view->format : "?");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static Py_ssize_t element_count(PyObject *param)
{
    Py_buffer view;
    if (PyObject_GetBuffer(param, &view, PyBUF_SIMPLE) < 0) return -1;
    Py_ssize_t count = view.len / 4;
    PyBuffer_Release(&view);
    return count;
}

static PyObject *py_sgd(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    float lr, momentum, one_minus_dampening, weight_decay;
    int maximize, first, nesterov;
    if (!PyArg_ParseTuple(args, "OOOffffppp:sgd", &o[0], &o[1], &o[2], &lr, &momentum,
                          &one_minus_dampening, &weight_decay, &maximize, &first, &nesterov))
        return NULL;
    Py_ssize_t count = element_count(o[0]);
    if (count < 0) return NULL;
    Py_buffer v[3];
    int with_buffer = o[2] != Py_None;
    if (take(o[0], &v[0], count, 1, "param") < 0) return NULL;
    if (take(o[1], &v[1], count, 0, "grad") < 0) { PyBuffer_Release(&v[0]); return NULL; }
    if (with_buffer && take(o[2], &v[2], count, 1, "momentum_buffer") < 0) {
        PyBuffer_Release(&v[0]); PyBuffer_Release(&v[1]); return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    sgd(v[0].buf, v[1].buf, with_buffer ? v[2].buf : NULL, count, lr, momentum,
        one_minus_dampening, weight_decay, maximize, first, nesterov);
    Py_END_ALLOW_THREADS
    for (int k = 0; k < 2 + with_buffer; k++) PyBuffer_Release(&v[k]);
    Py_RETURN_NONE;
}

static PyObject *py_adam(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    float step_size, one_minus_beta1, beta2, one_minus_beta2, eps, correction2, l2, shrink;
    int maximize;
    if (!PyArg_ParseTuple(args, "OOOOffffffffp:adam", &o[0], &o[1], &o[2], &o[3], &step_size,
                          &one_minus_beta1, &beta2, &one_minus_beta2, &eps, &correction2, &l2,
                          &shrink, &maximize))
        return NULL;
    Py_ssize_t count = element_count(o[0]);
    if (count < 0) return NULL;
    static const char *names[4] = {"param", "grad", "exp_avg", "exp_avg_sq"};
    Py_buffer v[4];
    for (int k = 0; k < 4; k++) {
        if (take(o[k], &v[k], count, k != 1, names[k]) < 0) {
            while (k--) PyBuffer_Release(&v[k]);
            return NULL;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    adam(v[0].buf, v[1].buf, v[2].buf, v[3].buf, count, step_size, one_minus_beta1, beta2,
         one_minus_beta2, eps, correction2, l2, shrink, maximize);
    Py_END_ALLOW_THREADS
    for (int k = 0; k < 4; k++) PyBuffer_Release(&v[k]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"sgd", py_sgd, METH_VARARGS,
     "sgd(param, grad, buffer or None, lr, momentum, 1 - dampening, weight_decay, maximize, "
     "first, nesterov): one SGD update, in place"},
    {"adam", py_adam, METH_VARARGS,
     "adam(param, grad, exp_avg, exp_avg_sq, lr / (1 - beta1^t), 1 - beta1, beta2, 1 - beta2, "
     "eps, sqrt(1 - beta2^t), l2, shrink, maximize): one Adam update, in place"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_update_kernel",
                                    "The optimizers' updates, compiled.", -1, methods};

PyMODINIT_FUNC PyInit__update_kernel(void) { return PyModule_Create(&module); }
