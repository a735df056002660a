/* What conv_kernel.c's method table takes from pool_kernel.c: max pooling's forward and
 * backward (Python functions of ember.ops._conv_kernel). */
#ifndef EMBER_POOL_KERNEL_H
#define EMBER_POOL_KERNEL_H

#include <Python.h>

PyObject *py_max_pool(PyObject *self, PyObject *args);
PyObject *py_max_pool_backward(PyObject *self, PyObject *args);

#endif
