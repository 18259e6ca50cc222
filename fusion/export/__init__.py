"""Checkpoint -> plain nn.Module -> TorchScript / ONNX / safetensors."""
