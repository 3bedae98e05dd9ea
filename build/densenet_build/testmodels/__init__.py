"""Stand-in models for offline use and tests, apart from the production path: the seeded DenseNet-121, the
trained EfficientNet-Lite0 and the PyTorch checkpoint reader it needs.
"""
