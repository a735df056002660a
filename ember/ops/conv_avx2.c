/* The direct convolutions' forwards written with AVX2 and FMA intrinsics, part of
 * ember.ops._conv_kernel (conv_kernel.c calls them where the processor has AVX2 and FMA,
 * and has loops in plain C or im2col for everything else; the tests compare them). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include "conv_avx2.h"

#ifdef HAVE_AVX2_INTRINSICS

/* 1. The direct convolution's forward in float32 with AVX2 and FMA, where the processor
 * has them: the same sums as conv_kernel.c's direct_float, but each output value stays in
 * a register while all of its window's products are added (direct_float adds one product
 * to a whole plane in memory at a time, so it loads and stores every sum once per
 * weight). For each output row, 8 adjacent columns (one 256-bit register) and 8 output
 * channels at once:
 *   acc[q] = b_q + sum over (i, j, c) of W[q, (i, j, c)] x_c[r + i*DH, col + j*DW]
 * one unaligned load of 8 input values feeds 8 multiply-adds (one broadcast weight each).
 * The weights are first laid out as packed[block][k][8] (channels past O as zeros), and
 * a row's last 8 columns start at OW - 8 (recomputing a few: the same values). Needs
 * OW >= 8. (Plain C written this way was 8x slower: GCC kept the sums in memory.) */

/* packed: (ceil(O/8), K + 1, 8) floats, the bias (or 0) last in each block */
void pack_weights(const float *w, float *packed, Py_ssize_t o, Py_ssize_t taps, int bias)
{
    const Py_ssize_t width = taps + bias, blocks = (o + 7) / 8;
    for (Py_ssize_t block = 0; block < blocks; block++)
        for (Py_ssize_t k = 0; k <= taps; k++)
            for (Py_ssize_t l = 0; l < 8; l++) {
                Py_ssize_t q = block * 8 + l;
                float value = 0.0f;
                if (q < o && (k < taps || bias)) value = w[q * width + k];
                packed[(block * (taps + 1) + k) * 8 + l] = value;
            }
}

AVX2_FMA
void direct_forward_avx2(const char *x, const Py_ssize_t *sx, const float *packed, float *y,
                         const Py_ssize_t *g, Py_ssize_t n, Py_ssize_t c, Py_ssize_t o,
                         Py_ssize_t *offsets)
{
    const Py_ssize_t kh = g[0], kw = g[1], wp = g[2], dh = g[4], dw = g[5];
    const Py_ssize_t oh = g[6], ow = g[7], taps = kh * kw * c;
    for (Py_ssize_t i = 0; i < kh; i++)     /* where tap (i, j, c) reads, in floats */
        for (Py_ssize_t j = 0; j < kw; j++)
            for (Py_ssize_t ch = 0; ch < c; ch++)
                offsets[(i * kw + j) * c + ch] = ch * (sx[3] / 4) + i * dh * wp + j * dw;
    for (Py_ssize_t b = 0; b < n; b++) {
        const float *image = (const float *)(x + b * sx[0]);
        for (Py_ssize_t r = 0; r < oh; r++)
            for (Py_ssize_t strip = 0; strip < ow; strip += 8) {
                const Py_ssize_t col0 = strip + 8 <= ow ? strip : ow - 8;
                const float *corner = image + r * wp + col0;
                for (Py_ssize_t q0 = (o - 1) / 8 * 8; q0 >= 0; q0 -= 8) {
                    const float *wk = packed + (q0 / 8) * (taps + 1) * 8;
                    __m256 acc[8];
                    for (int l = 0; l < 8; l++) acc[l] = _mm256_set1_ps(wk[taps * 8 + l]);
                    for (Py_ssize_t k = 0; k < taps; k++, wk += 8) {
                        const __m256 v = _mm256_loadu_ps(corner + offsets[k]);
                        for (int l = 0; l < 8; l++)
                            acc[l] = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + l), v, acc[l]);
                    }
                    transpose_8x8(acc);         /* acc[col]: the 8 channels of a column */
                    float *out = y + ((b * oh + r) * ow + col0) * o + q0;
                    const Py_ssize_t count = o - q0 < 8 ? o - q0 : 8;
                    /* channels-last. With fewer than 8 channels left, a column's 8-lane
                       store runs on into the next pixels' channels, which are written after
                       it (blocks go from the last, columns from the left); where it would
                       run past this strip's 8 pixels, the lanes are copied one by one */
                    for (int col = 0; col < 8; col++) {
                        if (count == 8 || (8 - col) * o >= q0 + 8) {
                            _mm256_storeu_ps(out + col * o, acc[col]);
                        } else {
                            float lanes[8];
                            _mm256_storeu_ps(lanes, acc[col]);
                            for (Py_ssize_t l = 0; l < count; l++) out[col * o + l] = lanes[l];
                        }
                    }
                }
            }
    }
}

/* 2. A stride-1 convolution of a channels-last input (N, Hp, Wp, C), float32, with AVX2
 * and FMA: a later layer with few weights (LeNet's second, 16 x 6 x 5 x 5), where im2col
 * copies every pixel KH*KW times for a product only O columns wide. 6 adjacent output
 * pixels x 16 output channels are held in 12 registers while the window's taps are added:
 *   acc[p][q] = b_q + sum over k = (i, j, c) of x[r + i*DH, col0 + p + j*DW, c] W[q, k]
 * each tap is 2 loads of 8 weights (W^T packed as (K + 1, O16), zeros past O, the bias
 * last) and 6 broadcast input values feeding 12 multiply-adds. A row's last 6 pixels
 * start at OW - 6 (recomputing a few: the same values). Needs OW >= 6. */
void pack_weights_transposed(const float *w, float *packed, Py_ssize_t o, Py_ssize_t o16,
                             Py_ssize_t taps, int bias)
{
    const Py_ssize_t width = taps + bias;
    for (Py_ssize_t k = 0; k <= taps; k++)
        for (Py_ssize_t q = 0; q < o16; q++)
            packed[k * o16 + q] = q < o && (k < taps || bias) ? w[q * width + k] : 0.0f;
}

AVX2_FMA
void direct_last_avx2(const float *x, const Py_ssize_t *shape, const float *packed, float *y,
                      Py_ssize_t o, const Py_ssize_t *g, const Py_ssize_t *offsets)
{
    const Py_ssize_t n = shape[0], hp = shape[1], wp = shape[2], c = shape[3];
    const Py_ssize_t kh = g[0], kw = g[1], oh = g[6], ow = g[7], taps = kh * kw * c;
    const Py_ssize_t o16 = (o + 15) / 16 * 16;
    for (Py_ssize_t b = 0; b < n; b++)
        for (Py_ssize_t r = 0; r < oh; r++)
            for (Py_ssize_t strip = 0; strip < ow; strip += LAST_PIXELS) {
                const Py_ssize_t col0 = strip + LAST_PIXELS <= ow ? strip : ow - LAST_PIXELS;
                const float *corner = x + ((b * hp + r) * wp + col0) * c;
                for (Py_ssize_t q0 = 0; q0 < o16; q0 += 16) {
                    __m256 acc[LAST_PIXELS][2];
                    const float *bias = packed + taps * o16 + q0;
                    for (int p = 0; p < LAST_PIXELS; p++) {
                        acc[p][0] = _mm256_loadu_ps(bias);
                        acc[p][1] = _mm256_loadu_ps(bias + 8);
                    }
                    for (Py_ssize_t k = 0; k < taps; k++) {
                        const float *wk = packed + k * o16 + q0, *src = corner + offsets[k];
                        const __m256 w0 = _mm256_loadu_ps(wk), w1 = _mm256_loadu_ps(wk + 8);
                        for (int p = 0; p < LAST_PIXELS; p++) {
                            const __m256 v = _mm256_broadcast_ss(src + p * c);
                            acc[p][0] = _mm256_fmadd_ps(v, w0, acc[p][0]);
                            acc[p][1] = _mm256_fmadd_ps(v, w1, acc[p][1]);
                        }
                    }
                    /* out through a small array: indexing acc by a variable below would
                       make GCC keep a copy of it in memory, stored at every tap */
                    float block[LAST_PIXELS][16];
                    for (int p = 0; p < LAST_PIXELS; p++) {
                        _mm256_storeu_ps(block[p], acc[p][0]);
                        _mm256_storeu_ps(block[p] + 8, acc[p][1]);
                    }
                    const Py_ssize_t count = o - q0 < 16 ? o - q0 : 16;
                    for (int p = 0; p < LAST_PIXELS; p++)       /* channels-last */
                        memcpy(y + ((b * oh + r) * ow + col0 + p) * o + q0, block[p],
                               (size_t)count * sizeof(float));
                }
            }
}

#endif
