"""Ensembles: several trained models in one `.keras` file that averages their probabilities.

Usage:

    model = build_ensemble([model_a, model_b, model_c])         # one keras.Model

An ensemble is an ordinary Keras model (the members are nested models, their
softmax outputs go through an Average layer), so everything that takes a Keras
model takes it. A shipped ensemble is stored as its card only and built here
from its members when it is used (`load_keras_model` of the card: evaluate,
export); predict and serve average the members' ONNX runtimes instead.
Members make different mistakes; averaging their probabilities corrects many
of them (An et al. 2020: simple-CNN ensembles reach 99.87–99.91 % on MNIST).

Shipping one (measuring it, fitting its calibration, writing its card) is
`digitlab.export.ship_ensemble`; this module only builds the model.
"""

from __future__ import annotations

from digitlab.errors import UserError


def build_ensemble(members: list, name: str = "ensemble"):
    """One keras.Model whose output is the mean of the members' class probabilities."""
    import keras  # heavy: only code that builds models loads it

    if len(members) < 2:
        raise UserError("an ensemble needs at least two members.")
    input_shapes = {tuple(member.input_shape[1:]) for member in members}
    if len(input_shapes) != 1:
        raise UserError(f"ensemble members take different inputs: {sorted(input_shapes)}.")
    inputs = keras.Input(shape=input_shapes.pop())
    outputs = []
    for index, member in enumerate(members, start=1):
        member.name = f"member_{index}_{member.name}"  # nested models need unique names to save
        outputs.append(member(inputs))
    return keras.Model(inputs, keras.layers.Average()(outputs), name=name)
