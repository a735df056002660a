"""Neural-network building blocks; `ember.nn.functional` holds the stateless math."""
from ember.nn import functional
