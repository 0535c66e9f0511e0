"""The machine itself: its GPUs, CPU and memory, read without torch (`sampler`), and which GPU each
job of a sweep gets (`gpus`).

May import only `dae_tui.core` (and psutil and nvidia-ml-py, lazily): the dashboard reads the
machine from its first seconds, long before torch has loaded, and the sweep's parent process never
loads torch at all.
"""
