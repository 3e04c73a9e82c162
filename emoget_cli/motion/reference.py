"""The neutral reference face: the shape a face has when no action unit is active.

Face units (see geometry.FaceFrame: origin between the eye centres, x toward the image-right
eye, y up, IOD = 1). Derived from the mean 68-point iBUG shape that OpenFace publishes for its
dlib alignment (a mean over many detected faces, so mostly relaxed ones; see docs/expressions.md),
made left/right symmetric, with the inner lips closed. It is the origin of the FACS basis that
`estimate.estimate_units` fits a photo against, and the shape the unit amplitudes are calibrated
on (facs.CALIBRATION). Not the same as geometry.TEMPLATE, which is the (smiling) sample face.
"""

from __future__ import annotations

import numpy as np

NEUTRAL_REFERENCE = np.array([
    [-1.166, -0.013], [-1.16, -0.324], [-1.13, -0.636], [-1.068, -0.944], [-0.949, -1.231],
    [-0.764, -1.483], [-0.539, -1.697], [-0.286, -1.872], [0.0, -1.922], [0.286, -1.872],
    [0.539, -1.697], [0.764, -1.483], [0.949, -1.231], [1.068, -0.944], [1.13, -0.636],
    [1.16, -0.324], [1.166, -0.013], [-0.924, 0.218], [-0.778, 0.332], [-0.583, 0.362],
    [-0.383, 0.329], [-0.192, 0.249], [0.192, 0.249], [0.383, 0.329], [0.583, 0.362],
    [0.778, 0.332], [0.924, 0.218], [0.0, 0.019], [0.0, -0.184], [0.0, -0.387], [0.0, -0.595],
    [-0.227, -0.725], [-0.118, -0.769], [0.0, -0.807], [0.118, -0.769], [0.227, -0.725],
    [-0.693, -0.001], [-0.572, 0.071], [-0.423, 0.068], [-0.298, -0.028], [-0.435, -0.055],
    [-0.58, -0.054], [0.298, -0.028], [0.423, 0.068], [0.572, 0.071], [0.693, -0.001],
    [0.58, -0.054], [0.435, -0.055], [-0.453, -1.091], [-0.288, -1.024], [-0.12, -0.995],
    [0.0, -1.023], [0.12, -0.995], [0.288, -1.024], [0.453, -1.091], [0.295, -1.26],
    [0.131, -1.336], [0.0, -1.349], [-0.131, -1.336], [-0.295, -1.26], [-0.382, -1.102],
    [-0.122, -1.138], [0.0, -1.152], [0.122, -1.138], [0.382, -1.102], [0.124, -1.143],
    [0.0, -1.157], [-0.124, -1.143]], dtype=np.float64)
