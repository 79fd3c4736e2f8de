/* loss.h: losses on a network's output, as plain functions (the caller
 * copies dlogits into nn_net_output_grad before backward).
 *
 *   softmax CE: p = softmax(z_i), l_i = -log p[y_i] = logsumexp(z_i) - z_i[y_i]
 *               L = mean_i l_i,   dL/dz_i = (p - onehot(y_i)) / n
 *   MSE:        L = mean over all n*k elements of (pred - target)^2,
 *               dL/dpred = 2 (pred - target) / (n k)
 *
 * Both match PyTorch's reduction='mean'; nn_softmax_kl below distils.
 * Not here: label smoothing, class
 * weights, ignore_index. */
#ifndef NN_LOSS_H
#define NN_LOSS_H

/* logits (n, k), labels (n) in [0, k). Returns the mean loss. dlogits
 * (n, k): gradient of the mean; loss_per_sample (n): l_i; ncorrect: number
 * of samples whose argmax (first maximum) is the label. Each output is
 * skipped when NULL. A label outside [0, k) is a programmer error. */
float nn_softmax_ce(const float *logits, const int *labels, int n, int k, float *dlogits,
                    float *loss_per_sample, int *ncorrect);

/* Distillation to a teacher's softened outputs (Hinton et al. 2015), t > 0:
 *   p = softmax(teacher_i / t), q = softmax(logits_i / t)
 *   l_i = t^2 KL(p || q) = t^2 sum_j p_j (log p_j - log q_j),  L = mean_i l_i
 *   dL/dlogits_i = t (q - p) / n
 * (the t^2 keeps the gradient's scale as t changes). Outputs skipped when
 * NULL as for nn_softmax_ce. Returns the mean loss. */
float nn_softmax_kl(const float *logits, const float *teacher, int n, int k, float t,
                    float *dlogits, float *loss_per_sample);

/* pred, target, dpred: (n, k); dpred nullable. Returns the mean loss. */
float nn_mse(const float *pred, const float *target, int n, int k, float *dpred);

#endif
