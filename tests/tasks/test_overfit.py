"""The task can memorise a handful of samples: every loss term goes to near zero."""

from __future__ import annotations

import torch

from fusion.config import compose, to_container
from fusion.data.datamodule import FusionDataModule
from fusion.tasks.aqa import AQATask


def test_overfitting_four_samples_drives_the_loss_near_zero(flex_root, tmp_path):
    torch.manual_seed(0)  # the clip jitter draws from torch's generator: same batch every run
    config = compose(
        None,
        [
            f"data.reader.root={flex_root}",
            f"data.cache.dir={tmp_path}",
            "data.cache.workers=1",
            "data.loader.num_workers=0",
            "data.loader.batch_size=4",
            "data.split.protocol=random",
            "data.augment=[]",
            "model.modalities=[pose,emg,physio]",
            "model.head.dropout=0.0",
        ],
    )
    config.model.fuser = {"name": "concat", "dropout": 0.0}
    datamodule = FusionDataModule(config.data, progress=False)
    datamodule.setup()
    batch = datamodule.on_after_batch_transfer(next(iter(datamodule.train_dataloader())), 0)
    torch.manual_seed(0)
    task = AQATask(to_container(config))
    task.train()
    optimizer = torch.optim.Adam(task.parameters(), lr=3e-3)
    first = None
    for _ in range(250):
        terms = task.losses(task.model(batch, batch["action"]), batch)
        first = first if first is not None else {k: v.item() for k, v in terms.items()}
        optimizer.zero_grad()
        terms["total"].backward()
        optimizer.step()
    last = {k: round(v.item(), 4) for k, v in terms.items()}
    assert last["total"] < 0.05 * first["total"], (first, last)
    # The deviation path standardises by per-action statistics that move with the encoders,
    # so the score settles more slowly than the cross-entropies: 5 % of its start.
    assert last["action"] < 0.05 and last["score"] < 0.05 * first["score"], (first, last)
