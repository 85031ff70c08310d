/* blas.c: the one door to BLAS (cblas_sgemm), and a plain-loop twin the
 * tests compare it with. */
#include "core/core_int.h"

#include <cblas.h>

void tlp_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
}

void tlp_gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * (size_t)lda + (size_t)i] : A[(size_t)i * (size_t)lda + (size_t)k];
                float b = tb ? B[(size_t)j * (size_t)ldb + (size_t)k] : B[(size_t)k * (size_t)ldb + (size_t)j];
                acc += (double)a * (double)b;
            }
            float *c = &C[(size_t)i * (size_t)ldc + (size_t)j];
            *c = (float)(alpha * acc + (beta == 0 ? 0.0 : (double)beta * (double)*c));
        }
}

/* The engine parallelises over the samples of a batch itself (OpenMP in
 * model.c, one shard per thread), so BLAS runs single-threaded inside each
 * shard: two layers of threads would only fight over the cores. */
static _Atomic int n_threads = 1;

void tlp_set_threads(int n)
{
    n_threads = n < 1 ? 1 : n > 64 ? 64 : n;
    openblas_set_num_threads(1);
}

int tlp_get_threads(void) { return n_threads; }
