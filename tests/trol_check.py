"""What the Python checks in tests/ share: running the trol binary as a user does, and seeded
random weights."""
import os
import shutil
import subprocess
import sys

import torch


def start_check():
    """The arguments TROL SOURCE_DIR WORK_DIR of a check: the reference's modules
    (scripts/reference) made importable, WORK_DIR emptied."""
    trol, source, work = sys.argv[1:4]
    sys.path.insert(0, os.path.join(source, "scripts", "reference"))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return trol, source, work


def run_trol(trol, args, expect_failure=None):
    """trol's (stdout, stderr). Exits with the output when trol fails, or, with `expect_failure`
    (a text or a list of texts that must all appear in the output), when it does not fail."""
    result = subprocess.run([trol, *args], capture_output=True, text=True)
    output = result.stdout + result.stderr
    command = f"trol {' '.join(args)}"
    if expect_failure is None:
        if result.returncode != 0:
            sys.exit(f"{command} failed:\n{output}")
    else:
        if result.returncode == 0:
            sys.exit(f"{command} should have failed ({expect_failure})")
        for part in [expect_failure] if isinstance(expect_failure, str) else expect_failure:
            if part not in output:
                sys.exit(f"{command}: expected {part!r} in:\n{output}")
    return result.stdout, result.stderr


def seeded_randn(seed, scale):
    """randn(*shape, scale=scale): normal values times `scale` from one generator seeded `seed`."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape, scale=scale):
        return torch.randn(*shape, generator=generator) * scale

    return randn
