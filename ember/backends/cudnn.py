"""cuDNN switches PyTorch code sets (`ember.backends.cudnn.benchmark = True`); ember's
convolutions don't use cuDNN, so they are recorded and have no effect."""

enabled = True
benchmark = False
deterministic = False


def is_available() -> bool:
    return False
