"""Optimizers and learning-rate schedulers, as in PyTorch:
`ember.optim.SGD(model.parameters(), lr=0.1)`, `ember.optim.lr_scheduler.StepLR(optimizer, 30)`."""
from ember.optim import lr_scheduler
from ember.optim.adadelta import Adadelta
from ember.optim.adagrad import Adagrad
from ember.optim.adam import Adam, AdamW
from ember.optim.optimizer import Optimizer
from ember.optim.rmsprop import RMSprop
from ember.optim.sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD",
           "lr_scheduler"]
