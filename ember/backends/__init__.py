"""`ember.backends`, for PyTorch code that checks for Apple's MPS or sets cuDNN flags."""
from ember.backends import cudnn, mps
