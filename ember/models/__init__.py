"""A small zoo of models by name, for `ember train` and the examples. Each builder takes the
shape of one input example and the number of classes, plus its own options."""
from __future__ import annotations

from ember.models.cnn import LeNet5, SmallResNet, SmallVGG
from ember.models.mlp import ResidualMLP, logistic_regression, mlp

BUILDERS = {
    "logreg": logistic_regression,
    "mlp": mlp,
    "resmlp": ResidualMLP,
    "lenet5": LeNet5,
    "vgg": SmallVGG,
    "resnet": SmallResNet,
}


def build(name: str, input_shape, num_classes: int, **options):
    """The model `name` from the zoo, sized for the data."""
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; the zoo has {', '.join(sorted(BUILDERS))} "
                         "(or give path/to/file.py:function)")
    return BUILDERS[name](tuple(input_shape), num_classes, **options)
