"""The line reader: a convolutional network that reads a whole strip of digits, trained with CTC.

Usage:

    model = build_line_reader()        # Keras model: (n, 32, width, 1) strips → (n, width / 4, 11) logits
    # class 10 is CTC's blank; a strip of width w has w / 4 frames, each 4 columns wide
    model = build_line_reader(frame_width=2, dilation=2)   # the finer variant tried on 2026-12-07 (see below)

Why this shape: a number is read as a sequence of frames, one per 4 columns,
each classified as one of the ten digits or "blank" (nothing new here), and
CTC lets training align the frames to the written number by itself, so no
one has to say where one digit ends and the next begins: recognition decides
the segmentation. Only convolutions (no recurrent layer), so the model takes
any width, exports to ONNX as it is, and runs in ONNX Runtime on the server
and in the browser. The receptive field of a frame is about 60 columns, two
to three digits, enough to see whether a stroke belongs to its neighbour.
Not in the registry: the registry's models classify one 28×28 digit.

Frames of 2 columns (with the 1-D convolutions dilated, so a frame still sees
about 48 columns) were meant to stop merges of a narrow 1 beside another digit
or of a repeated digit. Trained from scratch for 10 epochs on the same strips
(runs/20261207T042408Z-line-reader) its best epoch read 90.51 % of the
validation numbers exactly, the shipped 4-column reader 90.54 %
(benchmarks/line_readers.py): a tie, so the default stays the shipped shape.
"""

from __future__ import annotations

NUM_DIGITS = 10
BLANK = NUM_DIGITS  # CTC's blank is the last class
# Strip columns per output frame (two 2×2 poolings): digitlab.vision.line cuts strips a multiple of it wide.
FRAME_WIDTH = 4


def build_line_reader(strip_height: int = 32, widths: tuple[int, ...] = (32, 64, 96, 128), context: int = 160,
                      dropout_rate: float = 0.2, frame_width: int = FRAME_WIDTH, dilation: int = 1,
                      residual_blocks: tuple[int, ...] = ()):
    """The line reader's Keras model: conv blocks over the strip, then 1-D convolutions along the line.

    `residual_blocks`: the blocks (0 = the first) followed by a residual unit of two more 3×3
    convolutions at the block's width, whose last batch normalization starts at zero: a new unit
    passes its input through unchanged, so a deeper reader can start from a trained one
    (digitlab.train.line_training.transfer_weights) and read exactly as it did.
    """
    import keras  # heavy: a builder loads Keras when it runs
    from keras import layers  # (with Keras, above or already loaded)

    inputs = keras.Input(shape=(strip_height, None, 1), name="strip")
    features = inputs
    # Height 32 → 16 → 8 → 4 → 2 while the width halves only in the first blocks: one frame per frame_width columns.
    halvings = int(frame_width).bit_length() - 1
    pools = tuple((2, 2) if block < halvings else (2, 1) for block in range(len(widths)))
    for block, (filters, pool) in enumerate(zip(widths, pools)):
        features = layers.Conv2D(filters, 3, padding="same", use_bias=False)(features)
        features = layers.BatchNormalization()(features)
        features = layers.Activation("relu")(features)
        features = layers.MaxPooling2D(pool_size=pool)(features)
        if block in residual_blocks:
            features = _residual_unit(features, filters, f"residual{block}")
    # (n, rows, frames, channels) → (n, frames, rows · channels): each frame's column of features
    # (rows: the strip height halved once per block, 2 for the four default blocks).
    features = layers.Permute((2, 1, 3))(features)
    features = layers.Reshape((-1, strip_height // 2 ** len(widths) * widths[-1]))(features)
    # `dilation` widens each frame's context along the line (for finer frames: the same columns, fewer layers).
    for kernel_size in (5, 5):
        features = layers.Conv1D(context, kernel_size, padding="same", dilation_rate=dilation,
                                 activation="relu")(features)
        features = layers.Dropout(dropout_rate)(features)
    logits = layers.Dense(NUM_DIGITS + 1, name="frames")(features)
    return keras.Model(inputs, logits, name="line_reader")


# The prefix of every residual unit's layer names: transfer_weights copies all other layers from a
# trained reader and leaves these as built.
RESIDUAL_PREFIX = "residual"


def _residual_unit(features, filters: int, name: str):
    """relu(features + BN(conv(relu(BN(conv(features)))))), the last BN's scale zero: the identity at first
    (features are a ReLU's, so not negative)."""
    from keras import layers  # heavy: Keras, already loaded by build_line_reader, which calls this

    branch = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv_a")(features)
    branch = layers.BatchNormalization(name=f"{name}_norm_a")(branch)
    branch = layers.Activation("relu", name=f"{name}_relu_a")(branch)
    branch = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv_b")(branch)
    branch = layers.BatchNormalization(gamma_initializer="zeros", name=f"{name}_norm_b")(branch)
    joined = layers.Add(name=f"{name}_add")([features, branch])
    return layers.Activation("relu", name=f"{name}_relu")(joined)


def line_reader_shape(model) -> dict:
    """build_line_reader's keyword arguments (all but strip_height) that build a model of `model`'s shape."""
    convolutions = [layer for layer in model.layers
                    if type(layer).__name__ == "Conv2D" and not layer.name.startswith(RESIDUAL_PREFIX)]
    along_the_line = [layer for layer in model.layers if type(layer).__name__ == "Conv1D"]
    dropouts = [layer for layer in model.layers if type(layer).__name__ == "Dropout"]
    halvings = sum(layer.pool_size[1] == 2 for layer in model.layers if type(layer).__name__ == "MaxPooling2D")
    residual = sorted({int(layer.name[len(RESIDUAL_PREFIX):].split("_")[0]) for layer in model.layers
                       if layer.name.startswith(RESIDUAL_PREFIX)})
    return {"widths": [int(layer.filters) for layer in convolutions], "context": int(along_the_line[0].filters),
            "dropout_rate": float(dropouts[0].rate) if dropouts else 0.0, "frame_width": 2 ** halvings,
            "dilation": int(along_the_line[0].dilation_rate[0]), "residual_blocks": residual}
