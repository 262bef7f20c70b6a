"""Training: the loop (fit, evaluate, predict), its schedules, resume and DDP.

    loop.py         fit, evaluate, predict, History
    device.py       to_device, autocast, resolve_amp (mixed precision)
    schedules.py    linear_warmup_decay, unfreeze_after
    resume.py       what fit's checkpoints hold, and how a run continues from them
    distributed.py  the same fit on N processes under torchrun

Walkthrough: notebooks/04_training_loop.ipynb.
"""

from bigtext_lite.train.device import autocast, resolve_amp, to_device
from bigtext_lite.train.loop import History, default_forward, evaluate, fit, predict
from bigtext_lite.train.schedules import linear_warmup_decay, unfreeze_after

__all__ = ["History", "autocast", "default_forward", "evaluate", "fit", "linear_warmup_decay",
           "predict", "resolve_amp", "to_device", "unfreeze_after"]
