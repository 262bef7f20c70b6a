"""LSTMClassifier: packing keeps padding out, pooling is masked, and a saved
classifier predicts on raw text in a fresh process."""

import json
import subprocess
import sys

import pytest
import torch

from bigtext_lite.data.text import Vocab, basic_english
from bigtext_lite.models import lstm
from bigtext_lite.models.lstm import LSTMClassifier


def _model(**kwargs):
    torch.manual_seed(0)
    return LSTMClassifier(30, num_classes=2, pad_id=1, embed_dim=8, hidden=6, dropout=0.0,
                          **kwargs).eval()


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_packed_output_ignores_padding(pooling, rnn):
    model = _model(pooling=pooling, rnn=rnn, layers=2)
    short = model(torch.tensor([[4, 5, 6]]), torch.tensor([3]))
    padded = model(torch.tensor([[4, 5, 6, 1, 1, 1, 1]]), torch.tensor([3]))
    torch.testing.assert_close(short, padded)


def _packed_reference(rnn, x, lengths):
    """What PyTorch's packed path returns: outputs (zero on padding) and last states."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    out, h = rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, h[0] if isinstance(h, tuple) else h


# skewed lengths, run sorted in stretches; near-equal ones, run in the batch's order
LENGTHS = {"stretches": [7, 1, 4, 7, 2, 5], "batch order": [7, 6, 7, 7, 5, 7]}


@pytest.mark.parametrize("cell", [torch.nn.LSTM, torch.nn.GRU])
@pytest.mark.parametrize("layers,bidirectional", [(1, True), (2, True), (2, False)])
@pytest.mark.parametrize("lengths", LENGTHS.values(), ids=LENGTHS.keys())
def test_padded_cpu_path_equals_packing_with_gradients(cell, layers, bidirectional, lengths):
    """rnn_within_lengths (the CPU path) gives packing's outputs, last states and
    gradients, on lengths from 1 to T."""
    torch.manual_seed(0)
    rnn = cell(8, 6, num_layers=layers, bidirectional=bidirectional, batch_first=True,
               dropout=0.3).eval()
    lengths = torch.tensor(lengths)
    x = torch.randn(len(lengths), 7, 8, requires_grad=True)
    results = []
    for compute in (_packed_reference, lstm.rnn_within_lengths):
        rnn.zero_grad()
        x.grad = None
        out, h = compute(rnn, x, lengths)
        (out.square().sum() + h.sin().sum()).backward()
        results.append((out, h, x.grad, [p.grad for p in rnn.parameters()]))
    (out, h, gx, gp), (out2, h2, gx2, gp2) = results
    for a, b in [(out, out2), (h, h2), (gx, gx2), *zip(gp, gp2)]:
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_cpu_path_trains_like_packing_with_dropout(monkeypatch):
    """In training mode, with dropout, the CPU path draws the same masks as packing
    does, so the same seed gives the same loss gradients (what lets the chapter train
    the library's classifier in place of the reader's packed one)."""
    torch.manual_seed(0)
    model = LSTMClassifier(30, pad_id=1, embed_dim=8, hidden=6, dropout=0.5, pooling="mean")
    ids = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 1, 1, 1], [11, 12, 13, 1, 1]])
    lengths = torch.tensor([5, 2, 3])
    grads = []
    for compute in (lstm.rnn_within_lengths, _packed_reference):
        monkeypatch.setattr(lstm, "rnn_within_lengths", compute)
        model.zero_grad()
        torch.manual_seed(1)
        model(ids, lengths).sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_stretches_drop_the_reviews_that_have_ended():
    lengths = [9, 9, 7, 6, 6, 3, 2, 1]  # longest first
    parts = lstm.stretches(lengths)
    assert parts == [(0, 3, 8), (3, 6, 5), (6, 9, 3)]
    # they tile the longest review's steps, each on the reviews with real tokens left
    assert [a for a, _, _ in parts] == [0] + [b for _, b, _ in parts[:-1]]
    assert parts[-1][1] == max(lengths)
    assert all(rows == sum(n > a for n in lengths) for a, _, rows in parts)
    assert lstm.stretches([0, 0]) == [] and lstm.stretches([]) == []


def test_cpu_path_runs_the_recurrence_on_fewer_steps_than_padding(monkeypatch):
    """The work the recurrence does, in (review, step) pairs: at least every real step,
    and on a batch of skewed lengths well under the padded batch's B * T."""
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(4, 3, bidirectional=True, batch_first=True)
    lengths = torch.tensor([3, 40, 5, 2, 40, 8, 1, 12])
    x = torch.randn(len(lengths), 40, 4)
    ran, lstm_op = [], torch.lstm

    def counting(seq, *args):
        ran.append(seq.shape[0] * seq.shape[1])
        return lstm_op(seq, *args)

    monkeypatch.setattr(torch, "lstm", counting)
    lstm.rnn_within_lengths(rnn, x, lengths)
    per_direction = sum(ran) / 2
    assert int(lengths.sum()) <= per_direction < 0.6 * x.shape[0] * x.shape[1]


def test_reverse_within_lengths_keeps_padding_in_place():
    index = lstm.reverse_within_lengths(torch.tensor([3, 1, 4]), 4)
    assert index.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]


def test_unpacked_last_state_reads_the_padding():
    # The naive version the chapter measures: its answer depends on how much padding follows.
    model = _model(pooling="last", packed=False)
    short = model(torch.tensor([[4, 5, 6]]), torch.tensor([3]))
    padded = model(torch.tensor([[4, 5, 6, 1, 1, 1, 1]]), torch.tensor([3]))
    assert (short - padded).abs().max() > 1e-4


def test_last_pooling_is_the_final_states_of_both_directions():
    model = _model(pooling="last")
    ids, lengths = torch.tensor([[4, 5, 6, 7]]), torch.tensor([4])
    out, _ = model.rnn(model.embedding(ids))
    hidden = model.rnn.hidden_size
    # forward direction: state after the last token; backward: state after reading back to the first
    by_hand = torch.cat([out[0, -1, :hidden], out[0, 0, hidden:]])
    torch.testing.assert_close(model(ids, lengths)[0], model.out(by_hand))


def test_batch_of_mixed_lengths_equals_one_by_one():
    model = _model(pooling="max", layers=2)
    seqs = [[4, 5, 6, 7, 8], [9, 10], [11, 12, 13]]
    ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True,
                                          padding_value=1)
    batch = model(ids, torch.tensor([len(s) for s in seqs]))
    for row, s in enumerate(seqs):
        torch.testing.assert_close(batch[row], model(torch.tensor([s]), torch.tensor([len(s)]))[0])


def test_frozen_pretrained_embeddings_stay_put_and_unfreeze():
    matrix = torch.randn(30, 8)
    model = LSTMClassifier(30, pad_id=1, embed_dim=8, hidden=6, embeddings=matrix, freeze=True)
    assert torch.equal(model.embedding.weight, matrix) and not model.embedding.weight.requires_grad
    model.freeze_embeddings(False)
    assert model.embedding.weight.requires_grad
    with pytest.raises(ValueError, match=r"shape \(30, 4\)"):
        LSTMClassifier(30, pad_id=1, embed_dim=8, embeddings=torch.randn(30, 4))


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="pooling"):
        LSTMClassifier(10, pooling="sum")
    with pytest.raises(ValueError, match="rnn"):
        LSTMClassifier(10, rnn="transformer")


def test_learns_a_toy_task():
    """Trained with the chapter-2 loop: 'good' vs 'bad' anywhere in a sequence."""
    from bigtext_lite.data.batching import bucketed_loader
    from bigtext_lite.train import fit

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    seqs, labels = [], []
    for i in range(400):
        seq = torch.randint(4, 30, (int(torch.randint(3, 12, (1,), generator=g)),), generator=g)
        label = i % 2
        seq[torch.randint(0, len(seq), (1,), generator=g)] = 2 + label  # token 2 = bad, 3 = good
        seq[seq == 3 - label] = 5  # never the other class's token
        seqs.append(seq)
        labels.append(label)
    model = LSTMClassifier(30, pad_id=1, embed_dim=16, hidden=16, pooling="max", dropout=0.0)
    loader = bucketed_loader(seqs, labels, 16, pad_id=1)
    history = fit(model, loader, num_epochs=8, optimizer=torch.optim.Adam(model.parameters(), 1e-2),
                  valid_loader=bucketed_loader(seqs, labels, 64, 1, shuffle=False), device="cpu",
                  progress=False, verbose=False)
    assert history.epochs[-1]["val_acc"] > 0.95


PREDICT_IN_FRESH_PROCESS = """
import json, sys
from bigtext_lite.models import lstm
p = lstm.load(sys.argv[1])
print(json.dumps({"one": p.predict("a great film"), "many": p.predict(["a great film", "awful"]),
                  "probs": p.probabilities(["a great film"]).tolist()}))
"""


def test_save_load_predict_in_a_fresh_process(tmp_path):
    texts = ["a great film", "awful , boring", "great acting", "awful plot"]
    vocab = Vocab.build(basic_english(t) for t in texts)
    model = LSTMClassifier(len(vocab), pad_id=vocab["<pad>"], embed_dim=8, hidden=6,
                           pooling="mean").eval()
    folder = lstm.save(model, vocab, tmp_path / "clf", labels=("neg", "pos"), max_len=100)
    expected = lstm.Predictor(model, vocab, ("neg", "pos")).probabilities(["a great film"])
    done = subprocess.run([sys.executable, "-c", PREDICT_IN_FRESH_PROCESS, str(folder)],
                          capture_output=True, text=True, check=True)
    got = json.loads(done.stdout)
    torch.testing.assert_close(torch.tensor(got["probs"]), expected)
    label, prob = got["one"]
    assert label in ("neg", "pos") and prob == pytest.approx(expected.max().item(), abs=1e-6)
    assert len(got["many"]) == 2 and got["many"][0] == got["one"]


def test_load_names_what_is_missing_or_wrong(tmp_path):
    vocab = Vocab.build([["a", "b"]])
    model = LSTMClassifier(len(vocab), pad_id=1, embed_dim=4, hidden=3)
    folder = lstm.save(model, vocab, tmp_path / "clf")
    (folder / "vocab.json").unlink()
    with pytest.raises(FileNotFoundError, match="missing vocab.json"):
        lstm.load(folder)
    Vocab.build([["a", "b", "c"]]).save(folder / "vocab.json")  # one token too many
    with pytest.raises(ValueError, match="vocabulary has 5 tokens but the model expects 4"):
        lstm.load(folder)
    with pytest.raises(ValueError, match="3 labels"):
        lstm.save(model, vocab, tmp_path / "x", labels=("a", "b", "c"))
    with pytest.raises(TypeError, match="list of texts"):
        lstm.Predictor(model, vocab, ("neg", "pos")).probabilities("one text")
