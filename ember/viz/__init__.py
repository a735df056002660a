"""Plots (matplotlib, an optional extra): training curves and decision boundaries."""
from ember.viz.filters import plot_feature_maps, plot_filters
from ember.viz.plots import plot_decision_boundary, plot_history
