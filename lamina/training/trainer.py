"""The training API mixed into Model: compile, fit, evaluate, predict."""


class Trainer:
    """Keras's training methods for ``Model``."""

    def __init__(self):
        self.compiled = False
