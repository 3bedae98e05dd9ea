"""Steps 1 and 2, acquire and prepare: the ONNX model (downloaded, given, or a stand-in), its opset and
IR checks, the dynamic batch and the optional simplification.
"""
