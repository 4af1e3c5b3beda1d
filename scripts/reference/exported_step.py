"""What `trol bench --what train --export DIR` writes: the model's description, its weights
before the first step, the batch, and the first step's loss, gradient norm and (clipped)
gradients."""
import json
import os

import torch

import reference_model
import safetensors_io


class ExportedStep:
    def __init__(self, folder):
        self.folder = folder
        with open(os.path.join(folder, "step.json")) as f:
            self.step = json.load(f)
        self.cfg = self.step["model"]
        self.weights = safetensors_io.load(os.path.join(folder, "weights.safetensors"))
        self.batch = safetensors_io.load(os.path.join(folder, "batch.safetensors"))
        self.trainable = set(safetensors_io.load(os.path.join(folder, "grads.safetensors"))) \
            if os.path.exists(os.path.join(folder, "grads.safetensors")) else set()

    def grads(self):
        return safetensors_io.load(os.path.join(self.folder, "grads.safetensors"))

    def parameters(self):
        """Fresh leaf tensors; the trained ones require grad."""
        return {name: t.clone().requires_grad_(name in self.trainable) for name, t in self.weights.items()}

    def loss(self, weights):
        """Mean loss over the supervised tokens, as trol's training step computes it."""
        logits = reference_model.forward(weights, self.cfg, self.batch["input_ids"], self.batch["attention_mask"],
                                         self.batch.get("pixel_values"))
        total, count = reference_model.loss_sum(logits, self.batch["labels"])
        return total / max(count, 1)


def decays(name, tensor):
    """trol's rule: decoupled weight decay on matrices only, never on the TroL gates."""
    return tensor.dim() >= 2 and "trol_gating." not in name


def adamw(weights, trainable, lr=1e-4, weight_decay=0.01):
    decay = [t for n, t in weights.items() if n in trainable and decays(n, t)]
    plain = [t for n, t in weights.items() if n in trainable and not decays(n, t)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}], lr=lr)
