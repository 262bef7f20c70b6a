"""Training: the loop (fit, evaluate, predict), its schedules, resume and DDP.

Walkthrough: notebooks/02_training_loop.ipynb.
"""

from bigtext_lite.train.loop import (History, autocast, default_forward, evaluate, fit, linear_warmup_decay,
                                     predict, resolve_amp, to_device, unfreeze_after)
