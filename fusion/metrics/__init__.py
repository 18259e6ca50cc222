"""torchmetrics subclasses for AQA, Video->EMG and text answers."""
