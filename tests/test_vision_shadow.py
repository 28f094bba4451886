"""Pieces of shadowed paper read as ink are told from ink: the paper around a stroke is brighter than it."""

from __future__ import annotations

import numpy as np

from digitlab.vision.segment import Region
from digitlab.vision.shadow import in_shadow


def _region(mask: np.ndarray) -> Region:
    rows, columns = np.nonzero(mask)
    box = (int(columns.min()), int(rows.min()), int(columns.max()) + 1, int(rows.max()) + 1)
    return Region(box, mask[box[1]:box[3], box[0]:box[2]])


def _page() -> np.ndarray:
    rows, columns = np.mgrid[0:200, 0:300]
    paper = np.full((200, 300), 0.85, dtype=np.float32)
    paper[columns > 180] = 0.45                                        # a hard shadow over the right side
    return paper


def test_the_dark_side_of_a_shadow_read_as_ink_is_shadow():
    paper = _page()
    piece = np.zeros(paper.shape, dtype=bool)
    piece[40:120, 181:195] = True                                      # the band the flattening left as "ink"
    paper[piece] = 0.42
    assert in_shadow(paper, _region(piece))


def test_strokes_on_paper_and_beside_the_shadow_are_ink():
    paper = _page()
    stroke = np.zeros(paper.shape, dtype=bool)
    stroke[50:110, 60:68] = True                                       # a 1 on the lit paper
    beside = np.zeros(paper.shape, dtype=bool)
    beside[50:110, 172:179] = True                                     # a 1 written just left of the shadow
    paper[stroke | beside] = 0.25
    assert not in_shadow(paper, _region(stroke))
    assert not in_shadow(paper, _region(beside))
    inside = np.zeros(paper.shape, dtype=bool)
    inside[50:110, 240:248] = True                                     # a 1 written in the shadow
    paper[inside] = 0.45 * 0.3
    assert not in_shadow(paper, _region(inside))
