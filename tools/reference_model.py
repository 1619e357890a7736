"""PyTorch reference of dnacl's layers and of the chapter's ConvModelV2.

Run with /usr/bin/python3 (Debian's python3-torch). Layout everywhere is dnacl's:
activations (B, C, L) with L contiguous, dense inputs (B, In), weights as PyTorch stores
them (conv (Cout, Cin, K), dense (Out, In)).

The functional pieces here are the definitions the golden files are generated from
(tools/make_goldens.py); later tools (checkpoint checks, explainer references) reuse
ConvModelV2 and the name mapping to dnacl's checkpoint names.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import dnacl_ref

# ---------------------------------------------------------------------------
# Functional layers
# ---------------------------------------------------------------------------


def same_padding(K, dilation=1):
    """(left, right) zero padding for padding='same' (PyTorch: left = total // 2)."""
    total = dilation * (K - 1)
    return total // 2, total - total // 2


def conv1d(x, w, b=None, padding="same", dilation=1):
    if padding == "same":
        x = F.pad(x, same_padding(w.shape[2], dilation))
    elif padding != "valid":
        raise ValueError("padding must be 'same' or 'valid'")
    return F.conv1d(x, w, b, dilation=dilation)


def dense(x, w, b=None):
    return F.linear(x, w, b)


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


ACTIVATIONS = {
    "relu": torch.relu,
    "exponential": torch.exp,
    "gelu_tanh": gelu_tanh,
    "gelu_erf": lambda x: F.gelu(x),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softplus": lambda x: F.softplus(x, beta=1.0, threshold=20.0),
    "elu": lambda x: F.elu(x, alpha=1.0),
    "linear": lambda x: x,
}


def layernorm_c(x, gamma, beta, eps=1e-5):
    """LayerNorm over the channel dim of (B, C, L), for each (b, l)."""
    t = x.transpose(1, 2)
    t = F.layer_norm(t, (x.shape[1],), gamma, beta, eps)
    return t.transpose(1, 2)


def maxpool(x, W, S):
    return F.max_pool1d(x, W, S)


def dropout(x, keep, p):
    """Dropout with an explicit keep mask (bool tensor of x's shape)."""
    if p == 0:
        return x
    return x * keep.to(x.dtype) / (1.0 - p)


def keep_tensor(seed, shape, p, like=None):
    m = torch.from_numpy(dnacl_ref.dropout_keep(seed, tuple(shape), p))
    return m if like is None else m.to(like.device)


def bce_logits(x, target):
    """Mean sigmoid binary cross-entropy over all elements."""
    return F.binary_cross_entropy_with_logits(x, target, reduction="mean")


def mha(x, P, H, prefix=""):
    """Multi-head self-attention on (B, C, L) = L tokens of width C.

    P holds prefix+"wq","bq","wk","bk","wv","bv","wo","bo" ((C, C) dense layout (out, in)
    and (C,)). Head h uses channels [h*D, (h+1)*D) of q/k/v, D = C/H; scores are scaled by
    1/sqrt(D); softmax over keys; no mask; head outputs are concatenated in the same
    channel order before wo. Returns (B, C, L).
    """
    B, C, L = x.shape
    D = C // H
    t = x.transpose(1, 2)  # (B, L, C)

    def proj(n):
        return F.linear(t, P[prefix + "w" + n], P[prefix + "b" + n]).reshape(B, L, H, D).transpose(1, 2)

    q, k, v = proj("q"), proj("k"), proj("v")  # (B, H, L, D)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)  # (B, H, Lq, Lk)
    a = torch.softmax(s, dim=-1)
    o = (a @ v).transpose(1, 2).reshape(B, L, C)
    return F.linear(o, P[prefix + "wo"], P[prefix + "bo"]).transpose(1, 2)


def transformer_block(x, P, H, p=0.0, seed=0, eps=1e-5):
    """Pre-LN block: h = x + MHA(LN1(x)); y = h + W2(dropout(gelu_tanh(W1(LN2(h))))).

    W1 (F, C), W2 (C, F) in dense layout, applied per token. The hidden tensor is (B, F, L)
    and the dropout mask is keep(seed, i) over its flat (B, F, L) C-order index.
    """
    h = x + mha(layernorm_c(x, P["ln1_gamma"], P["ln1_beta"], eps), P, H)
    u = layernorm_c(h, P["ln2_gamma"], P["ln2_beta"], eps).transpose(1, 2)  # (B, L, C)
    u = gelu_tanh(F.linear(u, P["w1"], P["b1"])).transpose(1, 2)  # (B, F, L)
    if p > 0:
        u = dropout(u, keep_tensor(seed, u.shape, p), p)
    out = F.linear(u.transpose(1, 2), P["w2"], P["b2"]).transpose(1, 2)
    return h + out


# ---------------------------------------------------------------------------
# ConvModelV2 (the chapter's model)
# ---------------------------------------------------------------------------

# dnacl checkpoint name -> attribute path in ConvModelV2 (params and BN running stats).
PARAM_MAP = [
    ("conv1.w", "conv1.weight"), ("conv1.b", "conv1.bias"),
    ("bn1.gamma", "bn1.weight"), ("bn1.beta", "bn1.bias"),
    ("bn1.rmean", "bn1.running_mean"), ("bn1.rvar", "bn1.running_var"),
    ("conv2.w", "conv2.weight"), ("conv2.b", "conv2.bias"),
    ("bn2.gamma", "bn2.weight"), ("bn2.beta", "bn2.bias"),
    ("bn2.rmean", "bn2.running_mean"), ("bn2.rvar", "bn2.running_var"),
    ("dense1.w", "dense1.weight"), ("dense1.b", "dense1.bias"),
    ("dense2.w", "dense2.weight"), ("dense2.b", "dense2.bias"),
    ("dense3.w", "dense3.weight"), ("dense3.b", "dense3.bias"),
]
BUFFER_NAMES = {"bn1.rmean", "bn1.rvar", "bn2.rmean", "bn2.rvar"}
TRAINABLE_NAMES = [n for n, _ in PARAM_MAP if n not in BUFFER_NAMES]


class ConvModelV2(nn.Module):
    """conv(4->64,k10,same) -> BN -> GELU(tanh) -> maxpool2 -> conv(64->64,k10,same) ->
    GELU(tanh) -> BN -> maxpool2 -> flatten (C-major) -> dense(64*L/4 -> 128) -> GELU ->
    dropout(0.2) -> dense(128 -> 64) -> GELU -> dropout(0.2) -> dense(64 -> 1).

    Dropout uses dnacl's hash masks, not torch's RNG: in training forward(x, step) builds
    the mask of dropout layer j (0 or 1) over its (B, units) output from
    seed = dropout_seed(run_seed, step, j). forward(x) with step=None is eval mode for
    dropout (BN mode follows module.train()/eval()).
    """

    def __init__(self, L=200, filters=64, hidden=(128, 64), p=0.2, run_seed=42):
        super().__init__()
        self.p = p
        self.run_seed = run_seed
        self.conv1 = nn.Conv1d(4, filters, 10, padding="same")
        self.bn1 = nn.BatchNorm1d(filters, eps=1e-5, momentum=0.1)
        self.conv2 = nn.Conv1d(filters, filters, 10, padding="same")
        self.bn2 = nn.BatchNorm1d(filters, eps=1e-5, momentum=0.1)
        self.dense1 = nn.Linear(filters * (L // 4), hidden[0])
        self.dense2 = nn.Linear(hidden[0], hidden[1])
        self.dense3 = nn.Linear(hidden[1], 1)

    def forward(self, x, step=None):
        h = F.max_pool1d(gelu_tanh(self.bn1(conv1d(x, self.conv1.weight, self.conv1.bias))), 2, 2)
        h = F.max_pool1d(self.bn2(gelu_tanh(conv1d(h, self.conv2.weight, self.conv2.bias))), 2, 2)
        h = h.reshape(h.shape[0], -1)
        for j, lin in enumerate((self.dense1, self.dense2)):
            h = gelu_tanh(lin(h))
            if step is not None and self.p > 0:
                seed = dnacl_ref.dropout_seed(self.run_seed, step, j)
                h = dropout(h, keep_tensor(seed, h.shape, self.p), self.p)
        return self.dense3(h)

    def _get(self, path):
        obj = self
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def state_dnacl(self):
        """dnacl name -> float64 numpy copy (params and BN running stats)."""
        return {n: self._get(a).detach().cpu().double().numpy().copy() for n, a in PARAM_MAP}

    def grads_dnacl(self):
        """dnacl name -> float64 numpy gradient, for each trainable parameter."""
        attr = dict(PARAM_MAP)
        return {n: self._get(attr[n]).grad.detach().cpu().double().numpy().copy() for n in TRAINABLE_NAMES}

    def load_dnacl(self, state):
        """Copy arrays from a dnacl-named dict (e.g. load_safetensors(...)[0]) into the model."""
        with torch.no_grad():
            for n, a in PARAM_MAP:
                t = self._get(a)
                t.copy_(torch.as_tensor(np.asarray(state[n]), dtype=t.dtype))
