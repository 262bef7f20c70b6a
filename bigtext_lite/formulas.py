"""The book's formulas as code, written from their definitions.

Each function here is derived in the chapter that uses it (the MSE gradient and batch
norm in notebooks/01_fundamentals.ipynb; softmax, backpropagation and optimisers in
02_classification; hierarchical softmax in 06_fasttext, SGNS and GloVe in 07_word_vectors,
the LSTM cell in 08_lstm, attention in 09_bert) and checked there (and in
tests/test_formulas.py) against autograd, ``torch.autograd.gradcheck``, ``torch.optim``
or ``torch.nn``. Most are references for learning and testing, and the models of
later chapters use PyTorch's fused versions; ``huffman_codes`` is used as it is, by
fastText's hierarchical softmax (fasttext/model.py).
"""

from __future__ import annotations

import heapq
import math

import torch

# --- softmax and cross-entropy -------------------------------------------------

def naive_softmax(z: torch.Tensor) -> torch.Tensor:
    """exp(z) / sum(exp(z)): right on paper, overflows for logits above ~88 (float32)."""
    e = z.exp()
    return e / e.sum(-1, keepdim=True)


def logsumexp(z: torch.Tensor) -> torch.Tensor:
    """log sum_j exp(z_j) = m + log sum_j exp(z_j - m), m = max_j z_j: nothing overflows."""
    m = z.amax(-1, keepdim=True)
    return m + (z - m).exp().sum(-1, keepdim=True).log()


def softmax(z: torch.Tensor) -> torch.Tensor:
    return (z - logsumexp(z)).exp()


def cross_entropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -log softmax(z)_y.  z: (B, K) logits, y: (B,) classes."""
    log_probs = z - logsumexp(z)
    return -log_probs.gather(1, y[:, None]).mean()


def cross_entropy_grad(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """dL/dz = (softmax(z) - onehot(y)) / B for the batch-mean cross-entropy."""
    onehot = torch.nn.functional.one_hot(y, z.shape[-1]).to(z.dtype)
    return (softmax(z) - onehot) / z.shape[0]


class CrossEntropyWithGrad(torch.autograd.Function):
    """cross_entropy forward; backward by a formula we pass in, not by autograd.
    PyTorch 2's form: forward sees only the inputs, setup_context keeps what backward
    needs (which lets torch.func transform the function)."""

    @staticmethod
    def forward(z, y, grad_formula):
        return cross_entropy(z, y)

    @staticmethod
    def setup_context(ctx, inputs, output):
        z, y, grad_formula = inputs
        ctx.save_for_backward(z, y)
        ctx.grad_formula = grad_formula

    @staticmethod
    def backward(ctx, g):
        z, y = ctx.saved_tensors
        return g * ctx.grad_formula(z, y), None, None


def passes_gradcheck(grad_formula, batch: int = 4, classes: int = 5,
                     seed: int = 0) -> bool:
    """Whether ``grad_formula(z, y)`` is the gradient of :func:`cross_entropy` by
    ``torch.autograd.gradcheck``: finite differences of the forward against the
    formula, on random float64 logits z: (batch, classes). False, not an exception,
    when it is not."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, classes, dtype=torch.float64, generator=g,
                    requires_grad=True)
    y = torch.randint(0, classes, (batch,), generator=g)
    return torch.autograd.gradcheck(
        lambda z: CrossEntropyWithGrad.apply(z, y, grad_formula), (z,),
        raise_exception=False)


# --- backpropagation through a two-layer MLP ------------------------------------

def mlp_forward_backward(X, y, W1, b1, W2, b2):
    """Loss and hand-derived gradients of  z = tanh(X W1 + b1) W2 + b2,  L = CE(z, y).

    Backward, layer by layer (matrix form):
        dz  = (softmax(z) - Y) / B
        dW2 = h^T dz,   db2 = sum_rows dz,   dh = dz W2^T
        da  = dh * (1 - h^2)                  (tanh' = 1 - tanh^2)
        dW1 = X^T da,   db1 = sum_rows da
    """
    h = torch.tanh(X @ W1 + b1)  # h: (B, H)
    z = h @ W2 + b2  # z: (B, K)
    loss = cross_entropy(z, y)
    dz = cross_entropy_grad(z, y)
    dW2, db2, dh = h.T @ dz, dz.sum(0), dz @ W2.T
    da = dh * (1 - h**2)
    dW1, db1 = X.T @ da, da.sum(0)
    return loss, (dW1, db1, dW2, db2)


# --- optimisers, one step each; `state` is a dict the caller keeps ---------------

@torch.no_grad()
def sgd_step(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    """p <- p - lr * v,  v <- momentum * v + (g + wd * p)  (v = g on the first step)."""
    for i, (p, g) in enumerate(zip(params, grads)):
        g = g + weight_decay * p
        if momentum:
            v = state.get(i)
            state[i] = v = g.clone() if v is None else momentum * v + g
            g = v
        p -= lr * g


@torch.no_grad()
def adam_step(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled=False, bias_correction=True):
    """Adam (Kingma & Ba) and, with ``decoupled=True``, AdamW (Loshchilov & Hutter).

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)          v_hat = v / (1 - b2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    Weight decay: Adam adds wd * p to g (an L2 term, rescaled by v_hat); AdamW
    shrinks p directly, p <- p (1 - lr wd), outside the adaptive scaling.
    ``bias_correction=False`` exists only to show what goes wrong without it.
    """
    b1, b2 = betas
    t = state["t"] = state.get("t", 0) + 1
    for i, (p, g) in enumerate(zip(params, grads)):
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
        m = state[("m", i)] = (b1 * state.get(("m", i), torch.zeros_like(p))
                               + (1 - b1) * g)
        v = state[("v", i)] = (b2 * state.get(("v", i), torch.zeros_like(p))
                               + (1 - b2) * g * g)
        m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if bias_correction else (m, v)
        p -= lr * m_hat / (v_hat.sqrt() + eps)


def gap_to_torch_optim(step_fn, torch_opt_cls, steps: int = 100, **opt_kwargs) -> float:
    """Run a hand-written ``step_fn(params, grads, state)`` and ``torch_opt_cls(**opt_kwargs)``
    side by side for ``steps`` steps from the same start on the same float64 loss
    (a noisy ill-conditioned quadratic); return the largest parameter difference."""
    gen = torch.Generator().manual_seed(1)
    A = torch.randn(6, 6, dtype=torch.float64, generator=gen)
    A = A @ A.T / 6 + 0.1 * torch.eye(6, dtype=torch.float64)
    target = torch.randn(6, 2, dtype=torch.float64, generator=gen)
    hand = [torch.randn(6, 2, dtype=torch.float64, generator=gen),
            torch.randn(2, dtype=torch.float64, generator=gen)]
    ref = [p.clone().requires_grad_(True) for p in hand]
    opt, state = torch_opt_cls(ref, **opt_kwargs), {}

    def loss_of(params):
        W, b = params
        return ((A @ (W - target)) ** 2).sum() + (b**2).sum()

    for _ in range(steps):
        opt.zero_grad()
        loss_of(ref).backward()
        opt.step()
        params = [p.clone().requires_grad_(True) for p in hand]
        step_fn(hand, torch.autograd.grad(loss_of(params), params), state)
    return max((h - r.detach()).abs().max().item() for h, r in zip(hand, ref))


# --- fastText: hierarchical softmax over a Huffman tree ---------------------------

def huffman_codes(counts: list[int]) -> list[tuple[list[int], list[int]]]:
    """For each label, the path of inner nodes from the root and the binary code.

    Built as fastText does: repeatedly merge the two least frequent nodes.
    Frequent labels get short paths, so the expected path length is at most
    the entropy of the label distribution plus one bit (about log2 k when balanced).
    Returns [(inner_node_ids, bits)] in label order; inner nodes are 0..k-2.
    """
    k = len(counts)
    if k < 2:
        raise ValueError("hierarchical softmax needs at least two labels")
    heap = [(c, i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent, bit, next_id = {}, {}, k
    while len(heap) > 1:
        (c0, a), (c1, b) = heapq.heappop(heap), heapq.heappop(heap)
        parent[a], bit[a], parent[b], bit[b] = next_id, 0, next_id, 1
        heapq.heappush(heap, (c0 + c1, next_id))
        next_id += 1
    root = next_id - 1
    codes = []
    for label in range(k):
        nodes, bits, node = [], [], label
        while node != root:
            nodes.append(parent[node] - k)
            bits.append(bit[node])
            node = parent[node]
        codes.append((nodes[::-1], bits[::-1]))
    return codes


def hs_log_prob(h: torch.Tensor, node_vectors: torch.Tensor, nodes, bits) -> torch.Tensor:
    """log P(label | h) = sum over the path of log sigmoid(+-u_n . h): one dot product
    per inner node on the path instead of one per label."""
    signs = 1 - 2 * torch.tensor(bits, dtype=h.dtype)  # bit 0 -> +1 (left), 1 -> -1 (right)
    return torch.nn.functional.logsigmoid(signs * (node_vectors[nodes] @ h)).sum()


# --- skip-gram with negative sampling -------------------------------------------

def sgns_loss_and_grads(v_c: torch.Tensor, u_o: torch.Tensor, u_neg: torch.Tensor):
    """L = -log s(u_o.v_c) - sum_k log s(-u_k.v_c), s = sigmoid.

    Gradients: dL/dv_c = (s(u_o.v_c) - 1) u_o + sum_k s(u_k.v_c) u_k
               dL/du_o = (s(u_o.v_c) - 1) v_c,   dL/du_k = s(u_k.v_c) v_c
    """
    pos, neg = torch.sigmoid(u_o @ v_c), torch.sigmoid(u_neg @ v_c)  # neg: (K,)
    loss = -torch.log(pos) - torch.log1p(-neg).sum()
    return loss, ((pos - 1) * u_o + neg @ u_neg, (pos - 1) * v_c, neg[:, None] * v_c[None, :])


# --- GloVe --------------------------------------------------------------------------

def glove_weight(x: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
    """f(x) = (x / x_max)^alpha below x_max, 1 above: rare pairs count less, and
    very frequent pairs ("of the") do not dominate."""
    return torch.where(x < x_max, (x / x_max) ** alpha, torch.ones_like(x))


def glove_loss(W, W_ctx, b, b_ctx, X, x_max=100.0, alpha=0.75):
    """J = sum over pairs with X_ij > 0 of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2.

    Only observed pairs enter the sum: log 0 is undefined, and f(0) = 0 anyway.
    """
    i, j = torch.nonzero(X, as_tuple=True)
    err = (W[i] * W_ctx[j]).sum(-1) + b[i] + b_ctx[j] - X[i, j].log()
    return (glove_weight(X[i, j], x_max, alpha) * err**2).sum()


def glove_grad_row(W, W_ctx, b, b_ctx, X, i: int, x_max=100.0, alpha=0.75) -> torch.Tensor:
    """dJ/dw_i = sum over j with X_ij > 0 of 2 f(X_ij) e_ij w~_j, e_ij the bracketed error
    of :func:`glove_loss`: the gradient for one word vector, written out.  Returns (d,)."""
    js = torch.nonzero(X[i]).flatten()  # the words seen with word i
    err = W[i] @ W_ctx[js].T + b[i] + b_ctx[js] - X[i, js].log()  # err: (len(js),)
    return (2 * glove_weight(X[i, js], x_max, alpha) * err) @ W_ctx[js]


# --- LSTM and attention -----------------------------------------------------------

def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step with PyTorch's gate order (input, forget, cell, output):

        i, f, g, o = s(.), s(.), tanh(.), s(.)  of  W_ih x + b_ih + W_hh h + b_hh
        c' = f * c + i * g,   h' = o * tanh(c')
    """
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # gates: (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d) + mask) v.  q: (..., Tq, d), k, v: (..., Tk, d).

    ``mask`` is boolean, True where attending is allowed (as in
    ``F.scaled_dot_product_attention``). Returns (output, weights).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # scores: (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def multi_head_attention(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias,
                         num_heads, key_padding_mask=None):
    """Self-attention with ``num_heads`` heads, in nn.MultiheadAttention's parameter layout.

    x: (B, T, E). Project to q, k, v; split E into (heads, E / heads); attend in
    each head; concatenate; project out. ``key_padding_mask``: (B, T), True = padding.
    Returns (output (B, T, E), weights averaged over heads (B, T, T)).
    """
    B, T, E = x.shape
    q, k, v = (x @ in_proj_weight.T + in_proj_bias).chunk(3, dim=-1)

    def split(t):  # (B, T, E) -> (B, heads, T, E / heads)
        return t.view(B, T, num_heads, E // num_heads).transpose(1, 2)

    mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
    out, weights = attention(split(q), split(k), split(v), mask)
    out = out.transpose(1, 2).reshape(B, T, E)
    return out @ out_proj_weight.T + out_proj_bias, weights.mean(dim=1)


# --- linear regression and batch normalization ------------------------------------

def mse_grads(X, w, b, y):
    """L = (1/n) ||X w + b - y||^2:  dL/dw = (2/n) X^T r,  dL/db = (2/n) sum_i r_i,
    with the residual r = X w + b - y (prediction minus target, not the reverse)."""
    r = X @ w + b - y  # r: (n,)
    return 2 / len(y) * X.T @ r, 2 / len(y) * r.sum()


def batch_norm(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
               eps=1e-5):
    """gamma (x - mu) / sqrt(var + eps) + beta for x: (B, d), as nn.BatchNorm1d does.
    Training: mu and the biased var (divide by B) of this batch, and the running
    statistics move in place, r <- (1 - momentum) r + momentum * stat, with the
    UNBIASED var (B - 1). Evaluation: the running statistics, and nothing changes."""
    if training:
        mu, var = x.mean(0), x.var(0, unbiased=False)
        with torch.no_grad():
            running_mean.lerp_(mu, momentum)
            running_var.lerp_(x.var(0, unbiased=True), momentum)
    else:
        mu, var = running_mean, running_var
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta
