"""Steps 4 to 6, the TensorRT plan: built (Polygraphy's loaders, or trtexec), described by its sidecar,
checked against the GPU and TensorRT that will load it, and verified.
"""
