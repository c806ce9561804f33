"""The nbsvm model: its numpy predict path gives what the torch training path computed."""

from __future__ import annotations

import numpy as np
import pytest

from textbatch.model.hashing import HashingFeaturizer
from textbatch.model.nbsvm import NbsvmScorer, class_logits, fit_temperature, softmax
from textbatch.model.nbsvm_fit import fit, prepare
from textbatch.sample_data import generate


@pytest.fixture(
    scope="module",
    params=[(2, "sublinear"), (5, "sublinear"), (2, "binary"), (5, "binary")],
    ids=["two-classes", "five-classes", "two-classes-binary-tf", "five-classes-binary-tf"],
)
def trained(request):
    n_labels, tf = request.param
    rows = generate(400, seed=3)
    labels = sorted({r["category"] for r in rows})[:n_labels]
    rows = [r for r in rows if r["category"] in labels]
    texts = [r["text"] for r in rows]
    y = np.array([labels.index(r["category"]) for r in rows])
    featurizer = HashingFeaturizer(buckets=1 << 16)
    val = np.arange(0, len(rows), 4)
    train = np.setdiff1d(np.arange(len(rows)), val)
    data = prepare(featurizer.counts(texts), y, train, val, len(labels), tf=tf)
    epochs: list[dict] = []
    result = fit(data, c=0.5, epochs=3, patience=0, on_epoch=lambda **e: epochs.append(e))
    return featurizer, result, [texts[i] for i in val], y[val], epochs


def test_numpy_scores_equal_the_torch_scores_of_training(trained) -> None:
    featurizer, result, texts, _, _ = trained
    scorer = NbsvmScorer(featurizer, result.tables)
    np.testing.assert_allclose(scorer.scores(texts), result.validation_scores, rtol=1e-4, atol=1e-4)
    probs = scorer.predict_proba(texts)
    assert np.array_equal(probs.argmax(axis=1), result.predicted)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_a_row_scores_the_same_in_any_batch(trained) -> None:
    """A large file's parts must write what one job writes: a row's score does not depend on
    the rows it is scored with (bit for bit)."""
    featurizer, result, texts, _, _ = trained
    scorer = NbsvmScorer(featurizer, result.tables)
    together = scorer.scores(texts[:40])
    alone = np.concatenate([scorer.scores([t]) for t in texts[:40]])
    assert np.array_equal(together, alone)
    assert np.array_equal(scorer.scores(texts[10:40]), together[10:])


def test_it_learns_the_categories(trained) -> None:
    _, result, _, y, epochs = trained
    assert (result.predicted == y).mean() >= 0.9
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert 1 <= result.best_epoch <= 3


def test_a_text_of_unseen_words_scores_the_bias_alone(trained) -> None:
    featurizer, result, _, _, _ = trained
    scores = NbsvmScorer(featurizer, result.tables).scores(["zzqx wvvk", ""])
    np.testing.assert_allclose(scores, np.stack([result.tables.bias] * 2), rtol=1e-6)


def test_binary_term_frequency_counts_a_feature_once_however_often_it_occurs(trained) -> None:
    featurizer, result, texts, _, _ = trained
    # single words only (the tables' unigram columns): "a b c" and "a b c a a" hold the same
    # features, the second its first one three times (a uniform repeat would cancel in the
    # normalisation)
    words = HashingFeaturizer(ngrams=1, buckets=featurizer.buckets)
    scorer = NbsvmScorer(words, result.tables)
    first = " ".join(texts[0].split()[:6])
    once, often = scorer.scores([first, " ".join([first] + [first.split()[0]] * 2)])
    if result.tables.term_frequency == "binary":
        np.testing.assert_allclose(once, often, rtol=1e-6)
    else:
        assert not np.allclose(once, often, rtol=1e-3)


def test_temperature_sharpens_confident_scores_and_softens_wrong_ones() -> None:
    y = np.array([0, 1] * 50)
    right = np.where(y == 1, 1.0, -1.0)[:, None] * 0.2
    assert fit_temperature(right, y, 2) < 0.1  # always right: as sharp as the grid allows
    noisy = right.copy()
    noisy[::4] *= -1  # a quarter wrong
    p = softmax(class_logits(noisy, 2) / fit_temperature(noisy, y, 2))
    assert 0.6 < p.max(axis=1).mean() < 0.9


def test_training_texts_without_a_token_are_a_clear_input_error() -> None:
    from textbatch.errors import InputError

    featurizer = HashingFeaturizer(buckets=1 << 10)
    counts = featurizer.counts(["\x01\x02", "\t\x03"])
    with pytest.raises(InputError, match="hold no words or punctuation"):
        prepare(counts, np.array([0, 1]), np.array([0]), np.array([1]), 2)
