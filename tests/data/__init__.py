"""Tests of ember.data, ember.utils.data and ember.datasets."""
