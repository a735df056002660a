/* The LSTM cell's gate math for one time step, compiled: the same formulas as
 * ember/ops/rnn_gates.py's LSTMGates (which stays the reference and the NumPy-only path,
 * and which the tests compare this file with), in one pass over the step's arrays instead
 * of a dozen NumPy calls. Built by setup.py as ember.ops._lstm_kernel; float32 only.
 *
 * One step over n sequences, hidden size H, the gates stacked [i | f | g | o] per row:
 *   forward:   i, f, o = sigma(a_i), sigma(a_f), sigma(a_o);  g = tanh(a_g)
 *              c' = f c + i g;  h' = o tanh(c')
 *   backward:  dL/dc' = d_c + d_h o (1 - tanh(c')^2)       (c' reaches the loss twice)
 *              dL/da_o = d_h tanh(c') o (1 - o)              d sigma/da = s (1 - s)
 *              dL/da_i = dL/dc' g i (1 - i)
 *              dL/da_f = dL/dc' c f (1 - f)
 *              dL/da_g = dL/dc' i (1 - g^2)                  d tanh/da = 1 - t^2
 *              dL/dc   = dL/dc' f
 * exp and tanh are written out (Cephes' single-precision polynomials, within 2 ulp of the
 * exact values) so that the compiler can vectorize every loop; each loop is compiled for
 * AVX-512, AVX2 and plain x86-64, and the machine picks at load time (target_clones).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "simd.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

/* e^x = 2^k e^r with k = round(x / ln 2), |r| <= ln(2) / 2, e^r by a degree-7 polynomial;
 * x is clamped to the range where 2^k is a normal float. */
INLINE float exp_f(float x)
{
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.37626f ? 88.37626f : x;
    /* round(x / ln 2) by adding and removing 1.5 * 2^23: no rounding instruction needed */
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - k * 0.693359375f;          /* ln 2 in two parts (Cody and Waite) */
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23; /* the float 2^k */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh x = 1 - 2 / (e^{2|x|} + 1) with x's sign; near 0, where that loses digits, an odd
 * polynomial. Beyond |x| = 10 it is 1 to float32's precision (computing it there would
 * pass through numbers too small for a normal float, which are slow). */
INLINE float tanh_f(float x)
{
    float a = fabsf(x), z = x * x;
    float far = 1.0f - 2.0f / (exp_f(2.0f * (a < 10.0f ? a : 10.0f)) + 1.0f);
    float near = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
                   + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * a + a;
    return copysignf(a > 0.625f ? far : near, x);
}

/* a = scale sigma(scale a) - shift, in place: sigma(a) for (1, 0), and for (2, 1)
 * 2 sigma(2a) - 1 = tanh(a) (no overflow for any a, unlike (e^2a - 1)/(e^2a + 1)).
 * sigma(z) = 1 / (1 + e^-z), taken as 0 below z = -18 (where it is < 1.6e-8, as the NumPy
 * path's (1 + tanh(z/2)) / 2 also rounds to 0): products of such tiny gates would
 * otherwise fall below the normal floats, which are slow. */
INLINE void activate(float *restrict a, Py_ssize_t count, float scale, float shift)
{
    for (Py_ssize_t j = 0; j < count; j++) {
        float z = scale * a[j];
        float s = z < -18.0f ? 0.0f : 1.0f / (1.0f + exp_f(z < -18.0f ? 18.0f : -z));
        a[j] = scale * s - shift;
    }
}

/* c' = f c + i g, h' = o tanh(c'), for one row; c' may overwrite c (inference) */
INLINE void new_state(const float *restrict i, const float *restrict f,
                      const float *restrict g, const float *restrict o, const float *c,
                      float *c_new, float *restrict tanh_c, float *restrict h_new, Py_ssize_t H)
{
    for (Py_ssize_t j = 0; j < H; j++) {
        float cj = f[j] * c[j] + i[j] * g[j], t = tanh_f(cj);
        c_new[j] = cj;
        tanh_c[j] = t;
        h_new[j] = o[j] * t;
    }
}

INLINE void new_state_in_place(const float *restrict i, const float *restrict f,
                               const float *restrict g, const float *restrict o,
                               float *restrict c, float *restrict tanh_c,
                               float *restrict h_new, Py_ssize_t H)
{
    for (Py_ssize_t j = 0; j < H; j++) {
        float cj = f[j] * c[j] + i[j] * g[j], t = tanh_f(cj);
        c[j] = cj;
        tanh_c[j] = t;
        h_new[j] = o[j] * t;
    }
}

/* gates (n, 4H): in, the pre-activations a; out, the activations i, f, g, o */
SIMD_VERSIONS
static void lstm_forward(float *gates, const float *c, float *c_new, float *tanh_c,
                         float *h_new, Py_ssize_t n, Py_ssize_t H)
{
    for (Py_ssize_t b = 0; b < n; b++) {
        float *i = gates + b * 4 * H, *f = i + H, *g = f + H, *o = g + H;
        activate(i, 2 * H, 1.0f, 0.0f);                 /* i, f */
        activate(g, H, 2.0f, 1.0f);                     /* g = tanh */
        activate(o, H, 1.0f, 0.0f);
        if (c == c_new)
            new_state_in_place(i, f, g, o, c_new + b * H, tanh_c + b * H, h_new + b * H, H);
        else
            new_state(i, f, g, o, c + b * H, c_new + b * H, tanh_c + b * H, h_new + b * H, H);
    }
}

INLINE void gradients_row(const float *restrict i, const float *restrict f,
                          const float *restrict g, const float *restrict o,
                          const float *restrict d_h, float *restrict d_c,
                          const float *restrict c, const float *restrict tanh_c,
                          float *restrict d_i, float *restrict d_f, float *restrict d_g,
                          float *restrict d_o, Py_ssize_t H)
{
    for (Py_ssize_t j = 0; j < H; j++) {
        float t = tanh_c[j], dc = d_c[j] + d_h[j] * o[j] * (1.0f - t * t);
        d_o[j] = d_h[j] * t * o[j] * (1.0f - o[j]);
        d_i[j] = dc * g[j] * i[j] * (1.0f - i[j]);
        d_f[j] = dc * c[j] * f[j] * (1.0f - f[j]);
        d_g[j] = dc * i[j] * (1.0f - g[j] * g[j]);
        d_c[j] = dc * f[j];
    }
}

/* d_c (n, H): in, dL/dc' from later steps; out, dL/dc. d_gates (n, 4H): dL/da. */
SIMD_VERSIONS
static void lstm_backward(const float *d_h, float *d_c, const float *gates, const float *c,
                          const float *tanh_c, float *d_gates, Py_ssize_t n, Py_ssize_t H)
{
    for (Py_ssize_t b = 0; b < n; b++) {
        const float *a = gates + b * 4 * H;
        float *d = d_gates + b * 4 * H;
        gradients_row(a, a + H, a + 2 * H, a + 3 * H, d_h + b * H, d_c + b * H, c + b * H,
                      tanh_c + b * H, d, d + H, d + 2 * H, d + 3 * H, H);
    }
}

/* dst (n, m) (+)= src^T for src (m, n), in 16 x 16 tiles that stay in the L1 cache. src
 * is a matrix product's result, written in part by another core's BLAS thread: each tile
 * asks for the memory of the tile after next before it starts (otherwise every cache line
 * was waited for in turn: 66 against 12 us per LSTM step, batch 32, on a 2-core AMD
 * EPYC). */
SIMD_VERSIONS
static void add_transposed(float *dst, const float *src, Py_ssize_t n, Py_ssize_t m, int add)
{
    const Py_ssize_t tile = 16, ahead = 2 * tile * n;      /* floats: two tiles of src */
    for (Py_ssize_t k0 = 0; k0 < m; k0 += tile) {
        Py_ssize_t k1 = k0 + tile < m ? k0 + tile : m;
        for (Py_ssize_t p = k0 * n + ahead; p < k1 * n + ahead && p < m * n; p += 16)
            __builtin_prefetch(src + p);
        for (Py_ssize_t b = 0; b < n; b++) {
            float *row = dst + b * m;
            if (add)
                for (Py_ssize_t k = k0; k < k1; k++) row[k] += src[k * n + b];
            else
                for (Py_ssize_t k = k0; k < k1; k++) row[k] = src[k * n + b];
        }
    }
}

#ifdef HAVE_AVX2_INTRINSICS
/* The same with AVX2, 8 x 8 blocks at a time: 8 rows of src read as 8 vectors, turned in
 * registers, added to 8 rows of dst. n and m multiples of 8. For each block of 8 dst rows
 * src is walked from its first row to its last, the rows two blocks ahead asked for. */
AVX2_FMA
static void add_transposed_avx2(float *dst, const float *src, Py_ssize_t n, Py_ssize_t m,
                                int add)
{
    for (Py_ssize_t b0 = 0; b0 < n; b0 += 8)
        for (Py_ssize_t k0 = 0; k0 < m; k0 += 8) {
            if (k0 + 16 < m)
                for (int l = 0; l < 8; l++) __builtin_prefetch(src + (k0 + 16 + l) * n + b0);
            __m256 r[8];
            for (int l = 0; l < 8; l++) r[l] = _mm256_loadu_ps(src + (k0 + l) * n + b0);
            transpose_8x8(r);           /* r[l]: src[k0 .. k0 + 7, b0 + l] */
            for (int l = 0; l < 8; l++) {
                float *row = dst + (b0 + l) * m + k0;
                _mm256_storeu_ps(row, add ? _mm256_add_ps(_mm256_loadu_ps(row), r[l]) : r[l]);
            }
        }
}

static int use_avx2 = 0;            /* set when the module loads */
#endif

/* The Python side: every argument a C-contiguous float32 buffer (a NumPy array) holding
 * at least the floats the step reads or writes; checked before anything is written. */

typedef struct { const char *name; Py_ssize_t count; int writable; } Operand;

static int take_buffers(PyObject **objects, Py_buffer *views, const Operand *operands, int k)
{
    for (int got = 0; got < k; got++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (operands[got].writable ? PyBUF_WRITABLE : 0);
        const char *problem = NULL;
        if (PyObject_GetBuffer(objects[got], &views[got], flags) < 0) {
            problem = "is not a writable C-contiguous buffer";
        } else if (views[got].itemsize != 4 || views[got].format == NULL
                   || strcmp(views[got].format, "f") != 0) {
            problem = "does not hold float32";
            PyBuffer_Release(&views[got]);
        } else if (views[got].len < operands[got].count * 4) {
            problem = "holds fewer floats than the step needs";
            PyBuffer_Release(&views[got]);
        }
        if (problem != NULL) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "lstm kernel: %s %s (needs %zd floats)",
                         operands[got].name, problem, operands[got].count);
            while (got--) PyBuffer_Release(&views[got]);
            return -1;
        }
    }
    return 0;
}

static void give_back(Py_buffer *views, int k)
{
    for (int j = 0; j < k; j++) PyBuffer_Release(&views[j]);
}

static PyObject *py_forward(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    Py_ssize_t n, H;
    if (!PyArg_ParseTuple(args, "OOOOOnn:forward", &o[0], &o[1], &o[2], &o[3], &o[4], &n, &H))
        return NULL;
    const Operand operands[5] = {{"gates", 4 * n * H, 1}, {"c", n * H, 0}, {"c_new", n * H, 1},
                                 {"tanh_c", n * H, 1}, {"h_new", n * H, 1}};
    Py_buffer v[5];
    if (take_buffers(o, v, operands, 5) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    lstm_forward(v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, n, H);
    Py_END_ALLOW_THREADS
    give_back(v, 5);
    Py_RETURN_NONE;
}

static PyObject *py_backward(PyObject *self, PyObject *args)
{
    PyObject *o[6];
    Py_ssize_t n, H;
    if (!PyArg_ParseTuple(args, "OOOOOOnn:backward", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                          &n, &H))
        return NULL;
    const Operand operands[6] = {{"d_h", n * H, 0}, {"d_c", n * H, 1}, {"gates", 4 * n * H, 0},
                                 {"c", n * H, 0}, {"tanh_c", n * H, 0},
                                 {"d_gates", 4 * n * H, 1}};
    Py_buffer v[6];
    if (take_buffers(o, v, operands, 6) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    lstm_backward(v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, n, H);
    Py_END_ALLOW_THREADS
    give_back(v, 6);
    Py_RETURN_NONE;
}

static PyObject *py_add_transposed(PyObject *self, PyObject *args)
{
    PyObject *o[2];
    Py_ssize_t n, m;
    int add;
    if (!PyArg_ParseTuple(args, "OOnnp:add_transposed", &o[0], &o[1], &n, &m, &add))
        return NULL;
    const Operand operands[2] = {{"dst", n * m, 1}, {"src", n * m, 0}};
    Py_buffer v[2];
    if (take_buffers(o, v, operands, 2) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
#ifdef HAVE_AVX2_INTRINSICS
    if (use_avx2 && n % 8 == 0 && m % 8 == 0)
        add_transposed_avx2(v[0].buf, v[1].buf, n, m, add);
    else
#endif
        add_transposed(v[0].buf, v[1].buf, n, m, add);
    Py_END_ALLOW_THREADS
    give_back(v, 2);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"forward", py_forward, METH_VARARGS,
     "forward(gates, c, c_new, tanh_c, h_new, n, H): one LSTM step's gate math, in place"},
    {"backward", py_backward, METH_VARARGS,
     "backward(d_h, d_c, gates, c, tanh_c, d_gates, n, H): its gradients, in place"},
    {"add_transposed", py_add_transposed, METH_VARARGS,
     "add_transposed(dst, src, n, m, add): dst (n, m) += src^T (or = where add is false)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_lstm_kernel",
                                    "The LSTM cell's gate math, compiled.", -1, methods};

PyMODINIT_FUNC PyInit__lstm_kernel(void)
{
#ifdef HAVE_AVX2_INTRINSICS
    use_avx2 = has_avx2_fma();
#endif
    return PyModule_Create(&module);
}
