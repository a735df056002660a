/* The shape checks that conv_kernel.c and pool_kernel.c (both in ember.ops._conv_kernel)
 * share. */
#ifndef EMBER_CONV_COMMON_H
#define EMBER_CONV_COMMON_H

#include <Python.h>

/* a buffer's size along axis k, 0 where it has no such axis (for error messages) */
static inline Py_ssize_t size_along(const Py_buffer *view, int k)
{
    return view->ndim > k ? view->shape[k] : 0;
}

/* g = (KH, KW, SH, SW, DH, DW, OH, OW): whether there are windows and every one of them
 * lies inside an (Hp, Wp) plane */
static inline int windows_inside(const Py_ssize_t *g, Py_ssize_t hp, Py_ssize_t wp)
{
    return g[0] >= 1 && g[1] >= 1 && g[6] >= 1 && g[7] >= 1
           && (g[6] - 1) * g[2] + (g[0] - 1) * g[4] < hp
           && (g[7] - 1) * g[3] + (g[1] - 1) * g[5] < wp;
}

#endif
