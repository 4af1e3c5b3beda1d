"""Checks trol's first training step against the independent reference model:
    python3 scripts/reference/check_step.py DIR      (DIR from `trol bench --what train --export DIR`)
The loss must agree to a relative 1e-5 and every gradient to 1e-4 of its tensor's largest
entry, and trol's count of the step's matrix-product FLOPs (trol/model_flops.h) must agree
within 1 % with what PyTorch's profiler counts for the reference's forward and backward;
exits 1 with the worst offenders otherwise."""
import sys

import torch

from exported_step import ExportedStep


MATRIX_PRODUCTS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::conv2d", "aten::convolution"}


def profiled_matrix_flops(step):
    """FLOPs of the matrix products PyTorch's profiler records in one forward and backward."""
    from torch.profiler import profile, ProfilerActivity
    weights = step.parameters()
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        step.loss(weights).backward()
    counted = {}
    for event in prof.key_averages():
        if event.key in MATRIX_PRODUCTS and event.flops:
            counted[event.key] = counted.get(event.key, 0) + event.flops
    # aten::convolution reports the FLOPs of the aten::conv2d that calls it; count them once.
    if "aten::conv2d" in counted:
        counted.pop("aten::convolution", None)
    return sum(counted.values())


def main(folder, max_grad_norm=1.0):
    torch.set_num_threads(1)
    step = ExportedStep(folder)
    weights = step.parameters()
    loss = step.loss(weights)
    loss.backward()
    trained = [weights[n] for n in sorted(step.trainable)]
    grad_norm = float(torch.nn.utils.clip_grad_norm_(trained, max_grad_norm))

    failures = []
    trol_loss = step.step["loss"]
    print(f"loss: trol {trol_loss:.8f}  reference {loss.item():.8f}")
    if abs(loss.item() - trol_loss) > 1e-5 * max(1.0, abs(trol_loss)):
        failures.append("loss")
    print(f"gradient norm (before clipping): trol {step.step['grad_norm']:.6g}  reference {grad_norm:.6g}")
    if abs(grad_norm - step.step["grad_norm"]) > 1e-4 * max(1e-6, grad_norm):
        failures.append("gradient norm")

    expected = step.grads()
    with_grad = {n for n, t in weights.items() if t.grad is not None}
    if with_grad != set(expected):
        failures.append(f"parameters with gradients differ: only trol {sorted(set(expected) - with_grad)[:5]}, "
                        f"only reference {sorted(with_grad - set(expected))[:5]}")
    worst = []
    for name in sorted(set(expected) & with_grad):
        ours, theirs = weights[name].grad, expected[name]
        scale = max(float(ours.abs().max()), 1e-12)
        worst.append((float((ours - theirs).abs().max()) / scale, name))
    worst.sort(reverse=True)
    for error, name in worst[:3]:
        print(f"gradient {name}: max difference {error:.2e} of its largest entry")
    failures += [f"gradient of {name}" for error, name in worst if error > 1e-4]
    print(f"{len(worst)} gradients compared")

    measured = profiled_matrix_flops(step)
    counted = step.step["training_step_flops"]
    print(f"matrix-product FLOPs of the step: trol counts {counted:.6g}, the profiler measures {measured:.6g}")
    if abs(counted - measured) > 0.01 * measured:
        failures.append("FLOP count")
    if failures:
        print("MISMATCH: " + "; ".join(failures[:10]))
        return 1
    print("trol's first training step matches the reference")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
