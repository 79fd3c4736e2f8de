/* models.h: the named architectures a config can ask for.
 *
 *   small             conv3x3 16 -> conv3x3 32 s2 -> conv3x3 64 s2, each
 *                     BN + ReLU, global average pool, fc; exactly the
 *                     `small` of the PyTorch peer (shared/peer/torch_train.py)
 *   resnet20          CIFAR ResNet-20 as in the peer: conv3x3 16 + 3 stages
 *                     x 3 basic blocks (16/32/64 channels, stride 2 at the
 *                     start of stages 2 and 3, 1x1 conv + BN shortcut when
 *                     the shape changes, ReLU after the add), pool, fc
 *   mobilenetv2_tiny  conv3x3 16 + 8 inverted residual blocks (1x1 expand,
 *                     3x3 depthwise, 1x1 project, ReLU6, residual when stride
 *                     1 and same width) for 28x28 / 32x32 inputs, 1x1 head
 *                     conv 256, pool, fc
 *
 * Convolutions have no bias (BN follows), the classifier has one. Layer
 * names are stable (they label HDF5 layer tables and per-layer bit lists):
 * small: conv1 bn1 relu1 ... conv3 bn3 relu3 pool fc; resnet20: conv1 bn1
 * relu1, layer<s>.<b>.{conv1,bn1,relu1,conv2,bn2,short.conv,short.bn,add,
 * relu}, pool, fc; mobilenetv2_tiny: stem.{conv,bn,relu},
 * block<i>.{expand,expand_bn,expand_relu,dw,dw_bn,dw_relu,project,
 * project_bn,add}, head.{conv,bn,relu}, pool, fc. */
#ifndef NN_MODELS_H
#define NN_MODELS_H

#include "nn/net.h"

/* Builds `arch` for (c, h, w) inputs and nclass outputs, NOT finalized: the
 * caller may replace layers, then calls nn_net_finalize(net, seed, err).
 * An unknown name is QA_ERR_ARG with a message listing the known ones. */
int nn_model_build(nn_net **out, const char *arch, int max_batch, int c, int h, int w,
                   int nclass, qa_err *err);

/* Appends resnet20's basic block reading tensor `in`, layers named
 * <prefix>conv1 ... <prefix>relu (prefix like "layer2.0."); returns the
 * output tensor. Exposed for custom nets and the PyTorch cross-check. */
int nn_model_basic_block(nn_net *net, const char *prefix, int in, int out_channels, int stride,
                         qa_err *err);

/* Known names, NULL-terminated. */
const char *const *nn_model_names(void);

/* A block of a model: its layers [first, last] read nothing from earlier
 * layers but the tensor `in` (the previous block's output, or the network
 * input 0), and later layers read nothing of it but its output `out`, so
 * two networks of one architecture can swap blocks between them (method
 * blockrep). */
typedef struct {
    char name[32];
    int first, last; /* layer indices */
    int in, out;     /* tensor ids */
} nn_block;

#define NN_MAX_BLOCKS 64

/* The blocks of a net built by nn_model_build(arch) (layers may have been
 * replaced by wrappers of the same name):
 *   small             stage1..stage3 (conv, bn, relu), head (pool, fc)
 *   resnet20          stem (conv1, bn1, relu1), each basic block layer<s>.<b>,
 *                     head (pool, fc)
 *   mobilenetv2_tiny  stem, each inverted residual block<i>, head (head.conv,
 *                     bn, relu, pool, fc)
 * into out (room for max); returns their number, or QA_ERR_ARG for an
 * unknown arch, a net that is not that model, or too many blocks. */
int nn_model_blocks(const nn_net *net, const char *arch, nn_block *out, int max, qa_err *err);

#endif
