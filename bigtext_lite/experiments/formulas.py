"""The foundations chapter's numbers: every formula of the book against its reference.

Each row is one derivation (a hand-written gradient, optimiser or layer from
``bigtext_lite.formulas``) and the largest absolute difference from what
PyTorch computes (autograd, ``torch.optim``, ``nn.LSTMCell``,
``nn.MultiheadAttention``) on random float64 inputs. Runs in a second on a CPU;
the profile changes nothing.

Walkthrough: notebooks/02_classification.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bigtext_lite import formulas
from bigtext_lite.experiments import settings

D = torch.float64


@dataclass(frozen=True)
class Settings(settings.Settings):
    seed: int = 0  # seeds every random input; the same in both profiles


def _gap(a, b) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def checks(seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0):
        return torch.randn(*shape, dtype=D, generator=g) * scale

    rows = []

    def row(name, reference, error):
        rows.append({"config": name, "reference": reference,
                     "max_abs_error": float(f"{error:.3g}")})

    z, y = rand(16, 5).requires_grad_(), torch.randint(0, 5, (16,), generator=g)
    F.cross_entropy(z, y).backward()
    row("softmax cross-entropy gradient (softmax - onehot) / B", "autograd",
        (formulas.cross_entropy_grad(z.detach(), y) - z.grad).abs().max().item())
    big = rand(4, 7, scale=1000)
    row("log-sum-exp on scores of size 1000", "torch.logsumexp",
        (formulas.logsumexp(big) - torch.logsumexp(big, -1, keepdim=True)).abs().max().item())

    X, yy = rand(32, 10), torch.randint(0, 3, (32,), generator=g)
    params = [rand(10, 8).requires_grad_(), rand(8).requires_grad_(), rand(8, 3).requires_grad_(),
              rand(3).requires_grad_()]
    loss, grads = formulas.mlp_forward_backward(X, yy, *[p.detach() for p in params])
    F.cross_entropy(torch.tanh(X @ params[0] + params[1]) @ params[2] + params[3], yy).backward()
    row("two-layer MLP backpropagation, all four gradients", "autograd",
        _gap(grads, [p.grad for p in params]))

    def sgd(p, gr, s):
        return formulas.sgd_step(p, gr, s, 0.01, momentum=0.9, weight_decay=0.01)

    def adamw(p, gr, s):
        return formulas.adam_step(p, gr, s, 0.01, weight_decay=0.1, decoupled=True)

    row("SGD with momentum and weight decay, 100 steps", "torch.optim.SGD",
        formulas.gap_to_torch_optim(sgd, torch.optim.SGD, lr=0.01, momentum=0.9, weight_decay=0.01))
    row("Adam, 100 steps", "torch.optim.Adam",
        formulas.gap_to_torch_optim(lambda p, gr, s: formulas.adam_step(p, gr, s, 0.01),
                                    torch.optim.Adam, lr=0.01))
    row("AdamW (decoupled weight decay), 100 steps", "torch.optim.AdamW",
        formulas.gap_to_torch_optim(adamw, torch.optim.AdamW, lr=0.01, weight_decay=0.1))

    v, u_o = rand(16).requires_grad_(), rand(16).requires_grad_()  # (d,) each
    u_neg = rand(5, 16).requires_grad_()  # (k, d)
    loss, hand = formulas.sgns_loss_and_grads(v.detach(), u_o.detach(), u_neg.detach())
    (-F.logsigmoid(u_o @ v) - F.logsigmoid(-(u_neg @ v)).sum()).backward()
    row("skip-gram negative-sampling gradients", "autograd",
        _gap(hand, [v.grad, u_o.grad, u_neg.grad]))

    cell = torch.nn.LSTMCell(6, 4).to(D)
    x, h, c = rand(3, 6), rand(3, 4), rand(3, 4)
    ours = formulas.lstm_cell(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    row("LSTM step (gates i, f, g, o)", "nn.LSTMCell",
        _gap([t.detach() for t in ours], cell(x, (h, c))))

    q, k, vv = rand(2, 5, 8), rand(2, 7, 8), rand(2, 7, 8)
    mask = torch.rand(2, 5, 7, generator=g) > 0.3
    mask[..., 0] = True
    fused = F.scaled_dot_product_attention(q, k, vv, mask)  # (2, 5, 8)
    row("scaled dot-product attention with a mask", "F.scaled_dot_product_attention",
        (formulas.attention(q, k, vv, mask)[0] - fused).abs().max().item())

    mha = torch.nn.MultiheadAttention(12, 3, batch_first=True).to(D)
    x = rand(2, 6, 12)
    pad = torch.zeros(2, 6, dtype=torch.bool)
    pad[1, 4:] = True
    ref, _ = mha(x, x, x, key_padding_mask=pad)
    out, _ = formulas.multi_head_attention(x, mha.in_proj_weight, mha.in_proj_bias,
                                           mha.out_proj.weight, mha.out_proj.bias, 3,
                                           key_padding_mask=pad)
    row("multi-head self-attention with padding", "nn.MultiheadAttention",
        (out - ref).abs().max().item())
    return rows


def run(s: Settings, save_partial=lambda result: None) -> dict:
    rows = checks(s.seed)
    return {"rows": rows, "worst_error": max(r["max_abs_error"] for r in rows)}
