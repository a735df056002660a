/* What ember's C kernels share: each vectorizable loop is compiled for AVX-512, AVX2 (with
 * FMA) and plain x86-64 and the machine picks one when the module loads (GCC's
 * target_clones, on x86-64 Linux; elsewhere the compiler's default); and the helpers of
 * the few loops written with AVX2 intrinsics. */
#ifndef EMBER_SIMD_H
#define EMBER_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && __GNUC__ >= 12
/* the x86-64 levels: v3 is AVX2 with FMA (a plain "avx2" clone has no fused multiply-add),
 * v4 adds AVX-512; each is picked by the processor's features, Intel or AMD alike */
#define SIMD_VERSIONS \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SIMD_VERSIONS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_VERSIONS
#endif

/* Hand-written AVX2 code (intrinsics) for GCC and Clang on x86-64, in functions marked
 * AVX2_FMA and called only where has_avx2_fma() says the processor has them. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_INTRINSICS 1
#define AVX2_FMA __attribute__((target("avx2,fma")))

__attribute__((unused)) static int has_avx2_fma(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* r[k] (lane l) = r[l] (lane k): the standard 8 x 8 transpose in three rounds of shuffles */
AVX2_FMA __attribute__((always_inline))
static inline void transpose_8x8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
        r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
}

#endif

#endif
