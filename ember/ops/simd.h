/* What ember's C kernels share: each vectorizable loop is compiled for AVX-512, AVX2 (with
 * FMA) and plain x86-64 and the machine picks one when the module loads (GCC's target_clones, on
 * x86-64 Linux; elsewhere the compiler's default). */
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

#endif
