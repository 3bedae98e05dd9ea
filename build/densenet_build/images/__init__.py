"""Images for calibration and evaluation: sample photographs, and a folder turned into the server's
tensors.
"""
