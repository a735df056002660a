"""Neural-network building blocks: Module and its containers, layers, activations, losses,
initialisation; `ember.nn.functional` holds the stateless math."""
from ember.nn import functional, init
from ember.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ember.nn.flatten import Flatten, Unflatten
from ember.nn.linear import Identity, Linear
from ember.nn.module import Module
from ember.nn.parameter import Buffer, Parameter
