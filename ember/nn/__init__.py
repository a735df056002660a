"""Neural-network building blocks: Module and its containers, layers, activations, losses,
initialisation; `ember.nn.functional` holds the stateless math."""
from ember.nn import functional, init, utils
from ember.nn.activation import (
                                 CELU,
                                 ELU,
                                 GELU,
                                 GLU,
                                 SELU,
                                 Hardsigmoid,
                                 Hardswish,
                                 Hardtanh,
                                 LeakyReLU,
                                 LogSigmoid,
                                 LogSoftmax,
                                 Mish,
                                 PReLU,
                                 ReLU,
                                 ReLU6,
                                 Sigmoid,
                                 SiLU,
                                 Softmax,
                                 Softmin,
                                 Softplus,
                                 Softsign,
                                 Tanh,
                                 Threshold,
)
from ember.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ember.nn.dropout import AlphaDropout, Dropout
from ember.nn.embedding import Embedding
from ember.nn.flatten import Flatten, Unflatten
from ember.nn.linear import Identity, Linear
from ember.nn.loss import (
                                 BCELoss,
                                 BCEWithLogitsLoss,
                                 CrossEntropyLoss,
                                 GaussianNLLLoss,
                                 HuberLoss,
                                 KLDivLoss,
                                 L1Loss,
                                 MSELoss,
                                 NLLLoss,
                                 SmoothL1Loss,
)
from ember.nn.maxout import Maxout
from ember.nn.module import Module
from ember.nn.normalization import BatchNorm1d, GroupNorm, LayerNorm
from ember.nn.parameter import Buffer, Parameter
from ember.nn.batchnorm2d import BatchNorm2d
from ember.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from ember.nn.dropout2d import Dropout2d
from ember.nn.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d,
                              AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d)
from ember.nn.rnn import GRU, LSTM, RNN
from ember.nn.rnn_base import RNNBase
from ember.nn.rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
