#!/usr/bin/python3
"""Golden values for test/adamw-matches-torch.test.ts, from torch.optim.AdamW itself.

Two param groups (different lr and weight decay), a fixed sequence of gradients, global-norm
clipping with torch.nn.utils.clip_grad_norm_, and a LambdaLR with linear warmup + linear decay
(the formula of transformers.get_linear_schedule_with_warmup). Writes JSON to stdout.
Run: /usr/bin/python3 tools/optim-golden.py > test/fixtures/adamw-golden.json
(dev tool only; CI has no torch and uses the committed JSON)
"""
import json
import torch

torch.manual_seed(0)
STEPS, WARMUP, MAX_NORM = 6, 2, 0.5
a = torch.nn.Parameter(torch.randn(3, 4))
b = torch.nn.Parameter(torch.randn(5))
init = {"a": a.detach().clone(), "b": b.detach().clone()}
grads = [{"a": torch.randn(3, 4) * (1 + i), "b": torch.randn(5) * 0.1} for i in range(STEPS)]

opt = torch.optim.AdamW(
    [{"params": [a], "lr": 1e-2, "weight_decay": 0.1}, {"params": [b], "lr": 5e-2, "weight_decay": 0.0}],
    betas=(0.9, 0.999), eps=1e-8,
)


def linear_with_warmup(step):
    if step < WARMUP:
        return step / max(1, WARMUP)
    return max(0.0, (STEPS - step) / max(1, STEPS - WARMUP))


sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_with_warmup)
steps = []
for g in grads:
    a.grad, b.grad = g["a"].clone(), g["b"].clone()
    lrs = [group["lr"] for group in opt.param_groups]
    norm = torch.nn.utils.clip_grad_norm_([a, b], MAX_NORM)
    opt.step()
    sched.step()
    steps.append({
        "lrs": lrs, "norm": float(norm),
        "a": a.detach().flatten().tolist(), "b": b.detach().flatten().tolist(),
        "exp_avg_a": opt.state[a]["exp_avg"].flatten().tolist(),
        "exp_avg_sq_b": opt.state[b]["exp_avg_sq"].flatten().tolist(),
    })

print(json.dumps({
    "torch": torch.__version__, "steps_total": STEPS, "warmup": WARMUP, "max_norm": MAX_NORM,
    "groups": [{"lr": 1e-2, "weight_decay": 0.1}, {"lr": 5e-2, "weight_decay": 0.0}],
    "betas": [0.9, 0.999], "eps": 1e-8,
    "init": {"a": init["a"].flatten().tolist(), "b": init["b"].flatten().tolist()},
    "grads": [{"a": g["a"].flatten().tolist(), "b": g["b"].flatten().tolist()} for g in grads],
    "steps": steps,
}, indent=1))
