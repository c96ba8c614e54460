/*
 * Reference for the MLX affine quantizer benchmark (scripts/bench/mlx-affine.mjs): the same
 * algorithm as src/core/mlx/affine-kernel.ts, as a plain single-threaded C loop in float32.
 * Input: raw bf16 weights. Output: the packed uint32 words, then float32 scales, then float32 biases.
 *
 *   affine_ref <in.bf16> <bits> <group_size> <out.bin> <repeats>
 *
 * Prints the best wall time of `repeats` runs in seconds on stdout.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static float bf16_to_float(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static void quantize(const uint16_t *w, size_t count, int bits, int group_size,
                     uint32_t *words, float *scales, float *biases) {
  const float n_bins = (float)((1 << bits) - 1);
  const float eps = 1e-7f;
  size_t n_groups = count / group_size;
  size_t out = 0;
  for (size_t g = 0; g < n_groups; g++) {
    const uint16_t *x = w + g * group_size;
    float w_min = INFINITY, w_max = -INFINITY;
    for (int j = 0; j < group_size; j++) {
      float v = bf16_to_float(x[j]);
      if (v > w_max) w_max = v;
      if (v < w_min) w_min = v;
    }
    int mask = fabsf(w_min) > fabsf(w_max);
    float scale = (w_max - w_min) / n_bins;
    if (scale < eps) scale = eps;
    if (!mask) scale = -scale;
    float edge = mask ? w_min : w_max;
    float q0 = rintf(edge / scale);
    float bias = 0;
    if (q0 != 0) {
      scale = edge / q0;
      bias = edge;
    }
    scales[g] = scale;
    biases[g] = bias;
    uint64_t acc = 0;
    int filled = 0;
    for (int j = 0; j < group_size; j++) {
      float q = rintf((bf16_to_float(x[j]) - bias) / scale);
      if (q < 0) q = 0;
      if (q > n_bins) q = n_bins;
      acc |= (uint64_t)q << filled;
      filled += bits;
      if (filled >= 32) {
        words[out++] = (uint32_t)acc;
        acc >>= 32;
        filled -= 32;
      }
    }
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s <in.bf16> <bits> <group_size> <out.bin> <repeats>\n", argv[0]);
    return 2;
  }
  int bits = atoi(argv[2]), group_size = atoi(argv[3]), repeats = atoi(argv[5]);
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  size_t bytes = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  size_t count = bytes / 2;
  if (count % group_size) { fprintf(stderr, "input is not whole groups\n"); return 1; }
  uint16_t *w = malloc(bytes);
  if (fread(w, 1, bytes, f) != bytes) { perror("read"); return 1; }
  fclose(f);
  size_t n_words = count * bits / 32, n_groups = count / group_size;
  uint32_t *words = malloc(n_words * 4);
  float *scales = malloc(n_groups * 4), *biases = malloc(n_groups * 4);
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    double t0 = now();
    quantize(w, count, bits, group_size, words, scales, biases);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  FILE *o = fopen(argv[4], "wb");
  if (!o) { perror(argv[4]); return 1; }
  fwrite(words, 4, n_words, o);
  fwrite(scales, 4, n_groups, o);
  fwrite(biases, 4, n_groups, o);
  fclose(o);
  printf("%.6f\n", best);
  return 0;
}
