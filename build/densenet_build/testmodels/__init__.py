"""Stand-in models for offline use and tests, apart from the production path: the seeded DenseNet-121
and the trained EfficientNet-Lite0 (its PyTorch checkpoint read by ``acquire.torch_checkpoint``).
"""
