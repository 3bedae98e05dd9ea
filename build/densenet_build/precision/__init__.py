"""Step 3, precision variants as ONNX (fp32, fp16, int8 with its calibration and sensitivity search) and
how closely each agrees with fp32.
"""
