/* What ember's C kernels share: each vectorizable loop is compiled for AVX-512, AVX2 and
 * plain x86-64 and the machine picks one when the module loads (GCC's target_clones, on
 * x86-64 Linux; elsewhere the compiler's default). */
#ifndef EMBER_SIMD_H
#define EMBER_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SIMD_VERSIONS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_VERSIONS
#endif

#endif
