/* action.h: turning the agent's distributions into the actions a hard
 * backbone runs: per sample and planned layer one width, written into the
 * plan's hard rows (quant/plan.h), and the one-hot rows of the widths
 * taken, which a critic is fitted on.
 *
 * Layouts: prob and onehot (n, S, L, K), S = 1 when the plan is tied (one
 * distribution drives weights and activations) else 2 (side 0 weights,
 * side 1 activations), row (i, s, l) at ((i S + s) L + l) K. Each sample's
 * draws come from its own stream, keyed on (seed, stream, key[i], round),
 * so a sample's widths do not depend on its batch.
 * Deliberately not here: the distributions (policy.h, relax.h), what the
 * backbone does with the plan (quant/). */
#ifndef AGENT_ACTION_H
#define AGENT_ACTION_H

#include <stdint.h>

#include "quant/plan.h"

/* Widths drawn from prob for samples [0, n) (AGENT_STREAM_SAMPLE) into the
 * plan's hard rows; onehot (zeroed first) marks them; plan->mode = hard. */
void agent_plan_sample(const float *prob, int S, const int *key, int n, uint64_t seed,
                       uint32_t round, q_plan *plan, float *onehot);
/* Random widths for samples [0, n) (AGENT_STREAM_WARMUP), per layer (and
 * side when untied) uniform over the candidates, or drawn from p (K) when
 * not NULL; plan->mode = hard. */
void agent_plan_random(const float *p, const int *key, int n, uint64_t seed, uint32_t round,
                       q_plan *plan);
/* onehot (n, S L K, zeroed first) of the plan's current hard widths. */
void agent_plan_onehot(const q_plan *plan, int S, int n, float *onehot);

#endif
