"""Training: the fit loop, callbacks, metrics, progress display and history."""
from ember.training.callbacks import (
                                      Callback,
                                      CSVLogger,
                                      EarlyStopping,
                                      EpochTimer,
                                      LambdaCallback,
                                      LearningRateScheduler,
                                      ModelCheckpoint,
                                      TerminateOnNaN,
)
from ember.training.fit import evaluate, fit, predict
from ember.training.history import History
from ember.training.metrics import (
                                      Accuracy,
                                      ConfusionMatrix,
                                      MeanAbsoluteError,
                                      Metric,
                                      TopKAccuracy,
)
