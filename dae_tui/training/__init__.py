"""Training and using a model: data, noise, models, steps, metrics, the `Trainer` (a generator of
`core.events`), checkpoints, evaluation and inspection. The only package that imports torch (with
`sweeps.trials`); never textual, rich or optuna (CI checks the imports)."""
