"""ONNX Runtime runs the shipped encoder (adapter merged, urgency branch beside the last block) and
gives torch's float32 results: the same hidden states, predictions and decisions, on any CPU."""

import numpy as np
import pytest

from models.onnx_forward import runtime_for

# Texts the exported graph must handle like torch: the shortest, word pieces past the 128 cut,
# emoji, another script, a batch whose lengths differ (padding), a lone text (batch of one).
TEXTS = [
    "",
    "ok",
    "@acme my order never arrived and nobody answers",
    "the brakes failed on the motorway, my kids were in the back 😡😡",
    "ما وصلني الطلب حتى الآن",
    "refund " * 400,
    "Thanks for the quick fix yesterday, all good now!",
    "someone changed my password and emptied my account overnight, please freeze it",
]


def test_runtime_rule():
    assert runtime_for("auto", "float32") == "onnx"
    assert runtime_for("auto", "bfloat16") == "torch"  # the export does not carry the bfloat16 branch
    assert runtime_for("torch", "float32") == "torch"
    assert runtime_for("onnx", "float32") == "onnx"
    assert runtime_for("onnx", "bfloat16") == "torch"  # the loader forks the branch in float32 for "onnx"
    with pytest.raises(ValueError, match="unknown model runtime"):
        runtime_for("gpu", "float32")


@pytest.fixture(scope="module")
def float32_encoder():
    """The shipped weights with the branch in float32 whatever this CPU has (so the test runs
    everywhere), on torch."""
    from models import adapter, urgency_branch
    from models.classifier import ARTIFACT_DIR
    from models.encoder import Encoder

    encoder = Encoder(threads=2).adapt(adapter.load(ARTIFACT_DIR))
    return encoder.fork(urgency_branch.load(ARTIFACT_DIR), "float32")


def test_hidden_states_match_torch(float32_encoder):
    import torch

    from models.onnx_forward import OnnxForward

    forward = OnnxForward(float32_encoder.model, threads=2)
    for texts in (TEXTS, TEXTS[2:3], ["x " * 300] * 3):
        batch = float32_encoder._tokenize(texts)
        with torch.inference_mode():
            expected = float32_encoder.model(**batch).last_hidden_state
        got = forward(batch)
        assert got.shape == expected.shape == (len(texts), batch["input_ids"].shape[1], 2 * float32_encoder.dim)
        assert torch.allclose(got, expected, atol=1e-4), float((got - expected).abs().max())


def test_an_accelerated_classifier_predicts_what_torch_does(float32_encoder):
    from models.classifier import ARTIFACT_DIR, Classifier, build_classifier
    from models.heads import load_heads
    from triage.urgency import decide

    heads, version = load_heads(ARTIFACT_DIR), "float32-check"
    torch_clf = Classifier(float32_encoder, heads, version)
    onnx_clf = Classifier(float32_encoder.copy().accelerate("auto"), heads, version)
    assert (torch_clf.encoder.runtime, onnx_clf.encoder.runtime) == ("torch", "onnx")
    for batch_size in (1, 16):
        pairs = zip(torch_clf.predict(TEXTS, batch_size), onnx_clf.predict(TEXTS, batch_size), TEXTS, strict=True)
        for a, b, text in pairs:
            assert b.complaint == pytest.approx(a.complaint, abs=1e-4)
            assert (b.severity, b.needs_reply, b.language) == (a.severity, a.needs_reply, a.language)
            assert np.allclose(b.embedding, a.embedding, atol=1e-4)
            assert b.urgency.p_critical == pytest.approx(a.urgency.p_critical, abs=1e-4)
            assert b.urgency.weighed == a.urgency.weighed
            context = {"followers": None, "repeat_contacts": 0}
            assert decide(b, text, **context).tier == decide(a, text, **context).tier
    # The shipped loader picks by the same rule on this CPU.
    shipped = build_classifier(threads=2)
    assert shipped.encoder.runtime == runtime_for("auto", shipped.encoder.branch_precision)
    assert build_classifier(threads=2, runtime="torch").encoder.runtime == "torch"
    pinned = build_classifier(threads=2, runtime="onnx").encoder  # every CPU alike, nothing measured
    assert (pinned.runtime, pinned.branch_precision) == ("onnx", "float32")


def test_training_copies_run_torch(float32_encoder):
    import torch

    accelerated = float32_encoder.copy().accelerate("auto")
    twin = accelerated.copy()
    assert twin.runtime == "torch" and twin._onnx is None
    # The adapter's training pools through torch even on an accelerated encoder: gradients flow.
    batch = accelerated._tokenize(["my parcel is lost"])
    layer = accelerated.model.encoder.layer[0].output.dense
    layer.weight.requires_grad_(True)
    try:
        with torch.enable_grad():
            accelerated.pool(batch).sum().backward()
        assert layer.weight.grad is not None
    finally:
        layer.weight.requires_grad_(False)
        layer.weight.grad = None


def test_an_export_that_fails_leaves_torch_running(float32_encoder, monkeypatch, caplog):
    from models import onnx_forward

    def broken(model, path):
        raise OSError("No space left on device")

    monkeypatch.setattr(onnx_forward, "export", broken)
    encoder = float32_encoder.copy().accelerate("auto")
    assert encoder.runtime == "torch" and encoder._onnx is None
    assert "ONNX Runtime unavailable" in caplog.text and "No space left" in caplog.text
    assert np.allclose(encoder.encode(["my parcel is lost"]), float32_encoder.encode(["my parcel is lost"]))
