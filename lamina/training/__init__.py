"""Training: compile, fit, evaluate, predict (the training issue fills this package)."""
