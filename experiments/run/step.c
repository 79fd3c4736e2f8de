/* step.c: the default training and evaluation steps on a prepared batch. */
#include "experiments/run/method.h"

#include "experiments/run/run.h"
#include "nn/loss.h"

/* L = mean_i CE(z_i, y_i); dL/dz goes to the output gradient, and the
 * backward leaves dL/dtheta in every parameter's gradient. */
int exp_step_grad(exp_run *r, exp_batch *b, exp_stats *s, qa_err *err)
{
    (void)err;
    nn_net *net = r->net;
    nn_net_forward(net, b->n, 1);
    const nn_tensor *out = nn_net_output(net);
    int correct = 0;
    float loss = nn_softmax_ce(out->data, b->label, b->n, out->d[1], nn_net_output_grad(net),
                               b->loss, &correct);
    nn_net_zero_grad(net);
    nn_net_backward(net, b->n);
    s->loss_sum += (double)loss * b->n;
    s->correct += correct;
    s->n += b->n;
    return QA_OK;
}

/* the gradients, then one optimizer step of the backbone at the run's
 * current learning rate */
int exp_step_train(exp_run *r, exp_batch *b, exp_stats *s, qa_err *err)
{
    int rc = exp_step_grad(r, b, s, err);
    if (!rc)
        nn_optim_step(r->opt, r->lr);
    return rc;
}

int exp_step_eval(exp_run *r, exp_batch *b, exp_stats *s, qa_err *err)
{
    (void)err;
    nn_net_forward(r->net, b->n, 0);
    const nn_tensor *out = nn_net_output(r->net);
    int correct = 0;
    float loss = nn_softmax_ce(out->data, b->label, b->n, out->d[1], NULL, b->loss, &correct);
    s->loss_sum += (double)loss * b->n;
    s->correct += correct;
    s->n += b->n;
    return QA_OK;
}
