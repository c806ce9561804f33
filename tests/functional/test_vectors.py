"""use_spacy_pretrained with a real spaCy pipeline that has vectors (built here, saved to disk)."""

from __future__ import annotations

import io
import json

import numpy as np
import spacy
from safetensors.numpy import load_file

from tests.conftest import write_config
from textbatch.jobs.events import EventLog
from textbatch.jobs.train import TrainRequest, run_train


def test_embeddings_start_from_the_spacy_vectors(tmp_path, sample_train) -> None:
    nlp = spacy.blank("en")
    vectors = {
        "fire": np.full(10, 0.5, dtype=np.float32),
        "leaked": np.arange(10, dtype=np.float32),
    }
    for word, vector in vectors.items():
        nlp.vocab.set_vector(word, vector)
    nlp.to_disk(tmp_path / "vectors_model")
    log = io.StringIO()
    result = run_train(
        TrainRequest(
            config=str(
                write_config(
                    tmp_path,
                    use_spacy_pretrained=True,
                    spacy_model=str(tmp_path / "vectors_model"),
                    num_epoch=1,
                    learning_rate=1e-9,  # leave the initial embeddings (almost) where they start
                )
            ),
            data=str(sample_train),
            out=str(tmp_path / "store"),
        ),
        log=EventLog(log, job="train"),
    )
    events = [json.loads(line) for line in log.getvalue().splitlines()]
    [embeddings] = [e for e in events if e["event"] == "embeddings"]
    assert embeddings["tokens_with_vectors"] == 2
    assert embeddings["size"] == 10  # the vectors' width wins over embed_size
    version = tmp_path / "store" / "models" / result.version
    tokens = json.loads((version / "transformer.json").read_text())["tokens"]
    weights = load_file(str(version / "model.params"))["embedding.weight"]
    np.testing.assert_allclose(weights[tokens.index("fire")], vectors["fire"], atol=1e-6)
    np.testing.assert_allclose(weights[tokens.index("leaked")], vectors["leaked"], atol=1e-6)


def test_without_a_vector_model_training_says_so_once(tmp_path, sample_train) -> None:
    log = io.StringIO()
    run_train(
        TrainRequest(
            config=str(
                write_config(
                    tmp_path, use_spacy_pretrained=True, spacy_model="no_such_model", num_epoch=1
                )
            ),
            data=str(sample_train),
            out=str(tmp_path / "store"),
        ),
        log=EventLog(log, job="train"),
    )
    events = [json.loads(line) for line in log.getvalue().splitlines()]
    said = [e for e in events if e["event"] == "embeddings"]
    assert len(said) == 1
    assert said[0]["source"] == "random"
    assert "no_such_model" in said[0]["reason"]
