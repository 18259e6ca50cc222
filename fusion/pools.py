"""Worker processes that are safe to start after PyAV or torch have run in this process.

A forked child inherits a library's native thread pool without its threads. After PyAV has
converted a frame (FFmpeg's swscale slice threads) or torch has run an op (its intra-op pool),
a forked worker that enters the same library waits forever for threads that do not exist
(seen with av 18.1.1: `data check` hung in `sws_scale_frame`). So every pool that reads
samples starts its workers from a forkserver: one clean process, started once per run, that
has imported the heavy modules but run none of them. Workers fork from it in milliseconds,
where `spawn` would import torch again in each (measured in BENCHMARKS.md, "Worker start").
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext

# Imported once in the forkserver so its children start warm. Importing starts no native
# threads; running does, and nothing runs in the server. Given as names, so this module
# imports none of them and sits below every layer that uses it.
PRELOAD = (
    "numpy",
    "torch",
    "av",
    "fusion.data.readers",
    "fusion.data.cache",
    "fusion.data.check",
    "fusion.synth.generate",
)


def worker_context() -> BaseContext:
    """The multiprocessing context for every pool and live DataLoader that reads samples."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context
