"""Every formula of the theory chapter against autograd, gradcheck, torch.optim and
torch.nn, and proof that the checks catch a wrong formula."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from bigtext_lite import formulas as fm

D = torch.float64


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


def test_softmax_stable_where_naive_overflows():
    z = torch.tensor([[1000.0, 0.0]])
    assert torch.isnan(fm.naive_softmax(z)).any()
    torch.testing.assert_close(fm.softmax(z), torch.tensor([[1.0, 0.0]]))
    z = torch.randn(5, 7, dtype=D) * 30
    torch.testing.assert_close(fm.softmax(z), torch.softmax(z, -1))
    torch.testing.assert_close(fm.logsumexp(z), torch.logsumexp(z, -1, keepdim=True))


def test_cross_entropy_and_its_gradient():
    z = torch.randn(6, 4, dtype=D, requires_grad=True)
    y = torch.randint(0, 4, (6,))
    loss = fm.cross_entropy(z, y)
    torch.testing.assert_close(loss, F.cross_entropy(z, y))
    (grad,) = torch.autograd.grad(loss, z)
    torch.testing.assert_close(fm.cross_entropy_grad(z.detach(), y), grad, rtol=0, atol=1e-12)


def test_gradcheck_passes_the_right_gradient_and_catches_wrong_ones():
    def forgot_batch_mean(z, y):
        return fm.cross_entropy_grad(z, y) * z.shape[0]

    def sign_flipped(z, y):
        return -fm.cross_entropy_grad(z, y)

    for seed, batch in ((0, 3), (1, 8)):
        assert fm.passes_gradcheck(fm.cross_entropy_grad, batch, seed=seed)
        for wrong in (forgot_batch_mean, sign_flipped):
            assert not fm.passes_gradcheck(wrong, batch, seed=seed)


def test_mlp_backprop_matches_autograd_to_1e10():
    X, y = torch.randn(8, 5, dtype=D), torch.randint(0, 3, (8,))
    params = [torch.randn(5, 4, dtype=D, requires_grad=True),
              torch.randn(4, dtype=D, requires_grad=True),
              torch.randn(4, 3, dtype=D, requires_grad=True),
              torch.randn(3, dtype=D, requires_grad=True)]
    loss, hand = fm.mlp_forward_backward(X, y, *params)
    auto = torch.autograd.grad(loss, params)
    for h, a in zip(hand, auto):
        assert (h - a).abs().max() < 1e-10


@pytest.mark.parametrize("name,step,cls,kw", [
    ("sgd", lambda p, g, s: fm.sgd_step(p, g, s, lr=0.01), torch.optim.SGD, dict(lr=0.01)),
    ("momentum", lambda p, g, s: fm.sgd_step(p, g, s, lr=0.01, momentum=0.9, weight_decay=0.01),
     torch.optim.SGD, dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("adam", lambda p, g, s: fm.adam_step(p, g, s, lr=0.05, weight_decay=0.01),
     torch.optim.Adam, dict(lr=0.05, weight_decay=0.01)),
    ("adamw", lambda p, g, s: fm.adam_step(p, g, s, lr=0.05, weight_decay=0.1, decoupled=True),
     torch.optim.AdamW, dict(lr=0.05, weight_decay=0.1)),
])
def test_optimisers_match_torch_optim_over_100_steps(name, step, cls, kw):
    assert fm.gap_to_torch_optim(step, cls, **kw) < 1e-6


def test_the_optimiser_check_catches_mistakes():
    def no_bias_correction(p, g, s):
        return fm.adam_step(p, g, s, lr=0.05, bias_correction=False)

    assert fm.gap_to_torch_optim(no_bias_correction, torch.optim.Adam, lr=0.05) > 1e-3

    def coupled_decay(p, g, s):  # Adam, not AdamW
        return fm.adam_step(p, g, s, lr=0.05, weight_decay=0.1)

    assert fm.gap_to_torch_optim(coupled_decay, torch.optim.AdamW, lr=0.05, weight_decay=0.1) > 1e-3


def test_huffman_tree_probabilities_sum_to_one_and_paths_are_short():
    counts = [500, 300, 100, 50, 30, 10, 6, 4]
    codes = fm.huffman_codes(counts)
    assert len(codes[0][0]) <= len(codes[-1][0])  # frequent label, short path
    node_vectors, h = torch.randn(len(counts) - 1, 5, dtype=D), torch.randn(5, dtype=D)
    total = sum(fm.hs_log_prob(h, node_vectors, n, b).exp() for n, b in codes)
    torch.testing.assert_close(total, torch.tensor(1.0, dtype=D))
    # expected path length lies between the entropy and the entropy + 1 bit
    p = torch.tensor(counts, dtype=D) / sum(counts)
    depth = sum(pi * len(c[0]) for pi, c in zip(p.tolist(), codes))
    entropy = -(p * p.log2()).sum().item()
    assert entropy <= depth <= entropy + 1
    bits = [tuple(b) for _, b in codes]
    assert not any(a != b and b[: len(a)] == a for a in bits for b in bits)  # prefix-free


def test_sgns_gradients_match_autograd():
    v_c, u_o, u_neg = (torch.randn(*s, dtype=D, requires_grad=True) for s in [(8,), (8,), (5, 8)])
    loss, hand = fm.sgns_loss_and_grads(v_c, u_o, u_neg)
    auto = torch.autograd.grad(loss, (v_c, u_o, u_neg))
    for h, a in zip(hand, auto):
        torch.testing.assert_close(h, a, rtol=0, atol=1e-12)


def test_glove_weight_and_gradient():
    x = torch.tensor([0.0, 1.0, 50.0, 100.0, 1e4], dtype=D)
    assert fm.glove_weight(x).tolist() == pytest.approx([0, 0.01**0.75, 0.5**0.75, 1, 1])
    V, d = 6, 3
    X = torch.poisson(torch.full((V, V), 3.0, dtype=D))
    params = [torch.randn(V, d, dtype=D, requires_grad=True),
              torch.randn(V, d, dtype=D, requires_grad=True),
              torch.randn(V, dtype=D, requires_grad=True),
              torch.randn(V, dtype=D, requires_grad=True)]
    assert gradcheck(lambda *p: fm.glove_loss(*p, X, x_max=5.0), params)
    # dJ/dw_i = sum_j 2 f(X_ij) e_ij w~_j, written out for one row
    (grad_W,) = torch.autograd.grad(fm.glove_loss(*params, X, x_max=5.0), params[0])
    for i in range(V):
        torch.testing.assert_close(grad_W[i], fm.glove_grad_row(*params, X, i, x_max=5.0).detach())
    wrong_weight = fm.glove_grad_row(*params, X, 2, x_max=100.0).detach()  # the check can tell
    assert not torch.allclose(grad_W[2], wrong_weight)


def test_lstm_cell_reproduces_nn_lstm():
    lstm = torch.nn.LSTM(4, 6, batch_first=True)
    x = torch.randn(3, 7, 4)
    out, (h_n, c_n) = lstm(x)
    h = c = torch.zeros(3, 6)
    w = dict(lstm.named_parameters())
    for t in range(7):
        h, c = fm.lstm_cell(x[:, t], h, c, w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"],
                            w["bias_hh_l0"])
        assert (h - out[:, t]).abs().max() < 1e-6
    assert (c - c_n[0]).abs().max() < 1e-6


def test_attention_matches_sdpa_with_masks():
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 8)
    mask = torch.ones(2, 1, 5, 6, dtype=torch.bool)
    mask[0, ..., 4:] = False  # padding in the first sequence
    ours, _ = fm.attention(q, k, v, mask)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                               atol=1e-6, rtol=1e-5)
    causal = torch.ones(5, 6, dtype=torch.bool).tril()
    ours, _ = fm.attention(q, k, v, causal)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=causal),
                               atol=1e-6, rtol=1e-5)


def test_multi_head_attention_matches_nn_multiheadattention():
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    x = torch.randn(2, 5, 16)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    ref_out, ref_w = mha(x, x, x, key_padding_mask=pad)
    out, w = fm.multi_head_attention(x, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight,
                                     mha.out_proj.bias, 4, key_padding_mask=pad)
    torch.testing.assert_close(out, ref_out, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=1e-5)
    assert math.isclose(w[1, 0, 3:].sum().item(), 0.0, abs_tol=1e-7)  # padding gets no attention


def test_mse_grads_match_autograd_and_descent_along_them_goes_down():
    X, y = torch.randn(7, 4, dtype=D), torch.randn(7, dtype=D)
    w = torch.randn(4, dtype=D, requires_grad=True)
    b = torch.tensor(0.3, dtype=D, requires_grad=True)
    expected = torch.autograd.grad(F.mse_loss(X @ w + b, y), (w, b))
    got = fm.mse_grads(X, w.detach(), b.detach(), y)
    for ours, theirs in zip(got, expected):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    assert not torch.allclose(-got[0], expected[0])  # the flipped sign is told apart

    def loss_at(sign):
        return F.mse_loss(X @ (w - sign * 0.01 * got[0]) + b - sign * 0.01 * got[1], y).item()

    start = F.mse_loss(X @ w + b, y).item()
    assert loss_at(+1) < start < loss_at(-1)  # a small step down the gradient, and up the other


def test_batch_norm_matches_nn_batchnorm1d_in_both_modes():
    bn = torch.nn.BatchNorm1d(5, momentum=0.3, eps=1e-3, dtype=D)
    torch.nn.init.uniform_(bn.weight, 0.5, 2.0)
    torch.nn.init.uniform_(bn.bias, -1.0, 1.0)
    stats = [torch.zeros(5, dtype=D), torch.ones(5, dtype=D)]
    params = (bn.weight.detach(), bn.bias.detach())
    for batch in torch.randn(4, 6, 5, dtype=D) * 2 - 1:  # four batches of (6, 5)
        ours = fm.batch_norm(batch, *params, *stats, momentum=0.3, eps=1e-3)
        torch.testing.assert_close(ours, bn(batch), rtol=0, atol=1e-12)
    torch.testing.assert_close(stats[0], bn.running_mean, rtol=0, atol=1e-12)
    torch.testing.assert_close(stats[1], bn.running_var, rtol=0, atol=1e-12)
    bn.eval()
    x = torch.randn(3, 5, dtype=D)
    frozen = [s.clone() for s in stats]
    torch.testing.assert_close(fm.batch_norm(x, *params, *stats, training=False, eps=1e-3), bn(x),
                               rtol=0, atol=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(frozen, stats))  # evaluation changes nothing


def test_batch_norm_running_var_is_the_unbiased_one():
    x = torch.tensor([[0.0], [2.0]], dtype=D)  # batch variance 1 (biased), 2 (unbiased)
    mean, var = torch.zeros(1, dtype=D), torch.zeros(1, dtype=D)
    out = fm.batch_norm(x, torch.ones(1, dtype=D), torch.zeros(1, dtype=D), mean, var,
                        momentum=1.0, eps=0.0)
    assert out.flatten().tolist() == [-1.0, 1.0]  # normalised with the biased variance
    assert mean.item() == 1.0 and var.item() == 2.0  # tracked with the unbiased one
