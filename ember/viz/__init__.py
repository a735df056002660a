"""Plots (matplotlib, an optional extra): training curves and decision boundaries."""
from ember.viz.plots import plot_decision_boundary, plot_history
