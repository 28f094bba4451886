"""Stage 5b: pieces that are paper in a shadow, not ink: the dark side of a shadow's edge read as a stroke.

Usage:

    regions = [region for region in regions if not in_shadow(paper_light, region)]

Why: the illumination flattening (preprocess.py) follows shadows, but not into
a wedge or a strip of shadow narrower than its window; there the shadowed paper
reads as ink, and segmentation makes a digit of it (a blank sheet under a hand
is read as "1"). Ink is darker than the paper all round it; such a piece is
not: much of the paper around it is as dark as the piece itself (the rest of
the shadow). A stroke is surrounded by paper, and a digit beside a shadow's
edge is still darker than the shadowed paper next to it.
"""

from __future__ import annotations

import numpy as np

from digitlab.vision.kernels import dilate

# The ring of paper looked at: from RING_INNER to RING_OUTER working pixels off the piece (past its
# anti-aliased edge).
RING_INNER, RING_OUTER = 2, 5
# A ring pixel is "as dark" as the piece when it is at most AS_DARK brighter than the piece's median, as a
# fraction of that median (a digit beside a shadow's edge is darker than the shadowed paper by more).
AS_DARK = 0.15
# A piece with at least this share of its ring as dark as itself is shadow, not ink. Chosen on validation
# photos (digitlab.synth.strips with MNIST validation digits, and blank sheets with a hard shadow): 0.3
# and 0.2 found the same lines (benchmarks/line_finding.py: 92.6% -> 93.8%) and read the same numbers
# (benchmarks/readers_validation.py: 84.6% -> 85.5%); 0.3 keeps more margin for ink.
SHADOW_RING_SHARE = 0.3


def in_shadow(paper_light: np.ndarray, region) -> bool:
    """Whether a segmented region of `paper_light` (ink dark, working pixels) is shadowed paper, not ink."""
    window, mask = region.padded(RING_OUTER + 1, paper_light.shape)
    ring = dilate(mask, RING_OUTER) & ~dilate(mask, RING_INNER)
    if not ring.any() or not mask.any():
        return False
    crop = paper_light[window]
    level = float(np.median(crop[mask]))
    share = float(np.mean(crop[ring] <= level * (1.0 + AS_DARK)))
    return share >= SHADOW_RING_SHARE
