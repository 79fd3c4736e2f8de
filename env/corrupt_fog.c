/* corrupt_fog.c: fog, a diamond-square plasma fractal added to the image.
 * The plasma follows the reference's plasma_fractal step for step (numpy's
 * rolls become wrapped indices), including its quirk of drawing the
 * perturbation as wibble * U(-wibble, wibble); values are drawn in numpy's
 * C order, square step then the two diamond steps, per level. */
#include <math.h>

#include "env/corrupt_impl.h"

/* map side per table: the generators' mapsize (32 for cifar, 64 tiny, 256 imagenet) */
static const int plasma_sides[ENV_NTABLE] = {32, 64, 256};

static double wibbled(nn_rng *rng, double sum4, double wibble)
{
    return sum4 / 4.0 + wibble * (nn_rng_uniform_d(rng) * 2.0 - 1.0) * wibble;
}

void env_plasma(env_work *ws, int m, double decay, nn_rng *rng)
{
    QA_ASSERT(m <= ws->plasma_side && (m & (m - 1)) == 0);
    double *a = ws->plasma;
#define P(y, x) a[(size_t)(y) * (size_t)m + (size_t)(x)]
    P(0, 0) = 0.0;
    double wibble = 100.0;
    for (int s = m; s >= 2; s /= 2) {
        int n = m / s, hs = s / 2;
        /* squares: centre = mean of the four corners (wrapped) */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                int i1 = (i + 1) % n, j1 = (j + 1) % n;
                double sum = P(i * s, j * s) + P(i1 * s, j * s) + P(i * s, j1 * s) +
                             P(i1 * s, j1 * s);
                P(hs + i * s, hs + j * s) = wibbled(rng, sum, wibble);
            }
        /* diamonds on the top edges: centres above and below, corners left and right */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                int im = (i + n - 1) % n, j1 = (j + 1) % n;
                double sum = P(hs + i * s, hs + j * s) + P(hs + im * s, hs + j * s) +
                             P(i * s, j * s) + P(i * s, j1 * s);
                P(i * s, hs + j * s) = wibbled(rng, sum, wibble);
            }
        /* diamonds on the left edges */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                int jm = (j + n - 1) % n, i1 = (i + 1) % n;
                double sum = P(hs + i * s, hs + j * s) + P(hs + i * s, hs + jm * s) +
                             P(i * s, j * s) + P(i1 * s, j * s);
                P(hs + i * s, j * s) = wibbled(rng, sum, wibble);
            }
        wibble /= decay;
    }
    double lo = a[0], hi;
    for (size_t i = 1; i < (size_t)m * m; i++)
        lo = a[i] < lo ? a[i] : lo;
    hi = a[0] - lo;
    for (size_t i = 0; i < (size_t)m * m; i++) {
        a[i] -= lo;
        hi = a[i] > hi ? a[i] : hi;
    }
    for (size_t i = 0; i < (size_t)m * m; i++)
        a[i] /= hi;
#undef P
}

/* x += c0 * plasma (same for every channel); out = x * max / (max + c0) */
int env_fog(const env_job *j, qa_err *err)
{
    (void)err;
    int m = plasma_sides[j->table], side = j->h > j->w ? j->h : j->w;
    while (m < side)
        m *= 2;
    env_plasma(j->ws, m, j->p.b, j->rng);
    size_t hw = (size_t)j->h * (size_t)j->w;
    int mx = 0;
    for (size_t i = 0; i < hw * (size_t)j->c; i++)
        mx = j->in[i] > mx ? j->in[i] : mx;
    double vmax = mx / 255.0, c0 = j->p.a, scale = vmax / (vmax + c0);
    for (int y = 0; y < j->h; y++)
        for (int x = 0; x < j->w; x++) {
            double f = c0 * j->ws->plasma[(size_t)y * (size_t)m + (size_t)x];
            size_t o = ((size_t)y * j->w + x) * j->c;
            for (int ch = 0; ch < j->c; ch++) {
                double v = (j->in[o + ch] / 255.0 + f) * scale;
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                j->out[o + ch] = (uint8_t)(v * 255.0);
            }
        }
    return QA_OK;
}
