"""The dataset layer and the loading strategies.

Importing this package does not import TensorFlow: the dataset description,
validation and synthetic data work without it; strategies import it when built.
"""
