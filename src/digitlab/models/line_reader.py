"""The line reader: a convolutional network that reads a whole strip of digits, trained with CTC.

Usage:

    model = build_line_reader()        # Keras model: (n, 32, width, 1) strips → (n, width / 2, 11) logits
    # class 10 is CTC's blank; a strip of width w has w / 2 frames, each 2 columns wide

Why this shape: a number is read as a sequence of frames, one per 2 columns,
each classified as one of the ten digits or "blank" (nothing new here), and
CTC lets training align the frames to the written number by itself, so no
one has to say where one digit ends and the next begins: recognition decides
the segmentation. Only convolutions (no recurrent layer), so the model takes
any width, exports to ONNX as it is, and runs in ONNX Runtime on the server
and in the browser. The receptive field of a frame is about 48 columns, about
two digits, enough to see whether a stroke belongs to its neighbour.
Not in the registry: the registry's models classify one 28×28 digit.
"""

from __future__ import annotations

NUM_DIGITS = 10
BLANK = NUM_DIGITS  # CTC's blank is the last class
# Strip columns per output frame (one 2×2 pooling): digitlab.vision.line cuts strips a multiple of it wide.
# 4 columns (the first shipped line reader's) were too coarse: a narrow 1 beside another digit, or a digit
# repeated, had too few frames to be told apart, and those merged.
FRAME_WIDTH = 2


def build_line_reader(strip_height: int = 32, widths: tuple[int, ...] = (32, 64, 96, 128), context: int = 160,
                      dropout_rate: float = 0.2, frame_width: int | None = None):
    """The line reader's Keras model: conv blocks over the strip, then 1-D convolutions along the line."""
    import keras  # heavy: a builder loads Keras when it runs
    from keras import layers  # (with Keras, above or already loaded)

    inputs = keras.Input(shape=(strip_height, None, 1), name="strip")
    features = inputs
    # Height 32 → 16 → 8 → 4 → 2 while the width halves only in the first blocks: one frame per frame_width columns.
    frame_width = frame_width or FRAME_WIDTH
    halvings = int(frame_width).bit_length() - 1
    pools = tuple((2, 2) if block < halvings else (2, 1) for block in range(len(widths)))
    for filters, pool in zip(widths, pools):
        features = layers.Conv2D(filters, 3, padding="same", use_bias=False)(features)
        features = layers.BatchNormalization()(features)
        features = layers.Activation("relu")(features)
        features = layers.MaxPooling2D(pool_size=pool)(features)
    # (n, height / 16, frames, channels) → (n, frames, height / 16 · channels): each frame's column of features.
    features = layers.Permute((2, 1, 3))(features)
    features = layers.Reshape((-1, strip_height // 16 * widths[-1]))(features)
    # Dilated along the line: with 2-column frames, the context stays about two digits wide.
    for kernel_size in (5, 5):
        features = layers.Conv1D(context, kernel_size, padding="same", dilation_rate=2, activation="relu")(features)
        features = layers.Dropout(dropout_rate)(features)
    logits = layers.Dense(NUM_DIGITS + 1, name="frames")(features)
    return keras.Model(inputs, logits, name="line_reader")
