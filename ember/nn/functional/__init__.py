"""Stateless layer math under PyTorch's names: `import ember.nn.functional as F`.

Each function is composed from differentiable ops (or is a fused primitive where
measurement showed it pays), so its gradient comes from autograd.
"""
from ember.nn.functional.activations import (celu, elu, gelu, glu, hardsigmoid, hardswish,
                                             hardtanh, leaky_relu, log_softmax, logsigmoid,
                                             mish, prelu, relu, relu6, selu, silu, softmax,
                                             softmin, softplus, softsign, threshold)
from ember.nn.functional.classification_losses import (binary_cross_entropy,
                                                       binary_cross_entropy_with_logits,
                                                       cross_entropy, nll_loss)
from ember.nn.functional.layers import linear
from ember.nn.functional.losses import (gaussian_nll_loss, huber_loss, kl_div, l1_loss,
                                        mse_loss, smooth_l1_loss)
from ember.nn.functional.normalization import batch_norm, group_norm, layer_norm, normalize
from ember.nn.functional.regularization import alpha_dropout, dropout
from ember.nn.functional.sparse import embedding, one_hot
from ember.ops.elementwise import sigmoid, tanh
from ember.ops.shape import pad
from ember.nn.functional.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ember.nn.functional.dropout2d import dropout2d
from ember.nn.functional.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d,
                                         adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d,
                                         avg_pool2d, max_pool1d, max_pool2d)
