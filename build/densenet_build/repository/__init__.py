"""The model repository: its configs read and edited in place, the model and plans installed into it,
labels.txt.
"""
