"""Hyperparameter sweeps: the space file (`space`), Optuna studies read and written without torch
(`study`), and trials run as ordinary training runs (`trials`, the one part that loads torch).
The only package that imports optuna; never textual or rich (CI checks the imports)."""
