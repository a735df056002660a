"""Saving and loading: safetensors checkpoints of tensors, state dicts and whole training
runs (model, optimizer, scheduler, counters and random state)."""
from ember.io.checkpoint import load, save
from ember.io.safetensors_file import CheckpointError
from ember.io.training_state import load_checkpoint, save_checkpoint
