/* quality.h: what the policy is told about an image's quality.
 *
 * Three feature modes, each a fixed-length float vector per image:
 *   none     no features (length 0);
 *   quality  no-reference measures computed from the degraded pixels only
 *            (never from the clean image or the true corruption);
 *   oracle   the truth, for ablations: one-hot over every corruption id of
 *            corrupt.h (all zero for a clean image) then severity / 5.
 *
 * The quality measures work on the luma Y (the grey channel, or
 * 0.299 R + 0.587 G + 0.114 B) in 0..255 units, except noise_clip and
 * noise_gain, which work on each channel of a colour image (pooled or
 * averaged as said below): colour noise is drawn per channel, and the luma
 * both averages it down and is rarely pinned at 0 or 255 where a channel
 * is. Each is mapped to O(1) by a
 * fixed transform written next to it below, not by statistics fitted on a
 * data set, so a feature means the same in every run and on every data set:
 *
 *  0 noise      Immerkaer's noise sigma, robust form: the 3x3 operator
 *               M = [1 -2 1; -2 4 -2; 1 -2 1] kills planes and gentle
 *               curvature and turns N(0, s^2) noise into N(0, 36 s^2), so
 *               sigma = median |M * Y| / (0.6745 * 6), the median taken over
 *               the interior pixels whose 3x3 mean lies in (32, 223)
 *               (mid-tones: noise near black or white is cut by clipping,
 *               and signal-dependent noise vanishes on black) and ignoring
 *               edges. With fewer than 16 such pixels, Immerkaer's mean form
 *               sqrt(pi/2) / 6 * mean |M * Y| over every interior pixel.
 *               Feature log(1 + sigma) / 4.
 *  1 noise_clip noise seen where the image is pinned at black or white
 *               (at least 5 of the 8 neighbours at 0, or at 255: backgrounds):
 *               additive noise there survives as a half-normal, so
 *               sigma = sqrt(2 pi) * mean distance of those centre pixels
 *               from the bound, the pixels of every channel pooled (each
 *               channel's own neighbours). 0 with fewer than 16 such
 *               pixels.
 *               Feature log(1 + sigma) / 4.
 *  2 sharpness  variance of the 4-neighbour Laplacian over interior pixels.
 *               Feature log(1 + var) / 12.
 *  3 blockiness JPEG 8x8 grid: B = mean |step| across the grid's block
 *               boundaries (between columns or rows 8k-1 and 8k), I = mean
 *               |step| between other neighbours. Feature log((1 + B) / (1 + I)):
 *               0 on a flat image, > 0 when steps gather on the grid.
 *  4 jpeg       JPEG compression strength 1 - Q / 100 of the quality Q whose
 *               standard (IJG, Annex K) luminance table best explains the
 *               orthonormal 8x8 DCT of Y - 128 on the grid's blocks that are
 *               inside the image and not flat (AC energy > 64; the first 64
 *               such blocks; the first 192 coefficients with |value| > 2,
 *               lowest frequencies first): for each Q in 5..99, over the
 *               coefficients with step q >= 4 and |value| > q / 2,
 *               r(Q) = RMS distance to the nearest multiple of q / RMS of
 *               q / sqrt(12) (about 1 off the grid, about 0.4 on it; going
 *               from the highest frequency down, a Q is dropped once 12 or
 *               more coefficients give r > 0.9). Q with r < 0.7 on at least
 *               24 coefficients fit (fewer let low-contrast images fit by
 *               chance); among the fits resting on at least a
 *               quarter of the coefficients of the best-supported one (a
 *               finer Q also fits where only its high frequencies have steps
 *               >= 4), the smallest r wins. No fit (never compressed, or
 *               with other tables): the feature is 0.
 *  5 contrast   RMS contrast 2 std(Y) / 255: 0 flat, 1 at the largest
 *               possible spread (half black, half white).
 *  6 mean       mean(Y) / 255.
 *  7 saturated  fraction of pixels at 0 or 255 in any channel.
 *  8 impulse    10 x the fraction of pixels at 0 or 255 in some channel
 *               that differs by more than 64 from at least 6 of its 8
 *               neighbours in that channel (interior pixels): isolated
 *               salt and pepper (also pairs and L-shaped triples), not
 *               saturated regions (whose corners differ from 5).
 *  9 hf_ratio   high-frequency energy ratio: energy of Y minus its 3x3 box
 *               mean over the energy of Y minus its global mean (interior
 *               pixels; 0 on a flat image). Falls with blur, rises with noise.
 * 10 pixelation resolution loss as left by a box downscale + nearest
 *               upscale: among adjacent rows and adjacent columns that are
 *               not constant, the fraction that equal their next neighbour
 *               exactly. About 0 on natural images; pixelate's nearest
 *               upscale repeats about (1 - factor) of the lines.
 * 11 noise_gain signal-dependent noise (shot: variance 255 Y / c; speckle:
 *               std proportional to Y), which vanishes on black and so is
 *               diluted in noise. On each channel (Y below), per pixel
 *               at least 2 from the top and left and 3 from the bottom
 *               and right border whose 3x3 mean Y is above 16, the fine response r = (M * Y) / 6 (noise
 *               variance in Y units, as for noise) and the coarse response
 *               rc = (M2 * B) / 6, where B are the 2x2 block means starting
 *               at each pixel and M2 is M with its taps 2 pixels apart;
 *               d = (r^2 - rc^2 / 2) / (3x3 mean Y); g = median d (0 with
 *               fewer than 16 such pixels). Dividing by the mean makes g
 *               a noise gain (variance per unit intensity: about 0.35 x
 *               255 / c for shot noise, 0.35 being the median of d over
 *               its mean). Subtracting half the coarse energy takes out
 *               part of the pixel-scale texture (edges, weaves), which
 *               reaches the coarse scale too, while white noise keeps 7/8
 *               of its fine energy (averaging 4 pixels quarters its
 *               variance). Colour: g is the mean of the channels' g.
 *               Feature log(1 + max(g, 0)) / 4.
 *
 * Images must be at least ENV_MIN_SIDE on each side. Deliberately not here:
 * which corruption an image gets (mix.h), the corruptions (corrupt.h). */
#ifndef ENV_QUALITY_H
#define ENV_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

typedef enum { ENV_FEAT_NONE = 0, ENV_FEAT_QUALITY = 1, ENV_FEAT_ORACLE = 2, ENV_NFEAT_MODE } env_feat_mode;

enum {
    ENV_Q_NOISE,
    ENV_Q_NOISE_CLIP,
    ENV_Q_SHARPNESS,
    ENV_Q_BLOCKINESS,
    ENV_Q_JPEG,
    ENV_Q_CONTRAST,
    ENV_Q_MEAN,
    ENV_Q_SATURATED,
    ENV_Q_IMPULSE,
    ENV_Q_HF_RATIO,
    ENV_Q_PIXELATION,
    ENV_Q_NOISE_GAIN,
    ENV_Q_NFEAT,
};

/* "none", "quality", "oracle" (the [env] features key) */
const char *env_feat_mode_name(env_feat_mode m);
int env_feat_mode_find(const char *name, env_feat_mode *m, qa_err *err);
/* features per image in mode m */
int env_feat_count(env_feat_mode m);
/* name of feature i in mode m: quality "noise" ... "noise_gain"; oracle
 * the corruption names of corrupt.h then "severity"; NULL out of range */
const char *env_feat_name(env_feat_mode m, int i);

/* Floats of scratch env_quality needs for an h x w image (luma, the
 * noise estimators' responses, 2x2 block means, a transposed luma or a
 * channel, row sums and byte flags). */
size_t env_quality_scratch(int h, int w);
/* px (h, w, c), c = 1 or 3, h, w >= ENV_MIN_SIDE -> f[ENV_Q_NFEAT].
 * scratch: env_quality_scratch(h, w) floats. */
void env_quality(const uint8_t *px, int h, int w, int c, float *scratch, float *f);
/* corruption id (ENV_CLEAN = -1 for none), severity 0..5 -> f[env_feat_count(ORACLE)] */
void env_oracle(int corruption, int severity, float *f);

#endif
