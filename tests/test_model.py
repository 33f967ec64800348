"""The shipped classifier, its CLI and its training command. The model loads once per module."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.heads import load_heads

ROOT = Path(__file__).resolve().parent.parent
COMPLAINT = "@acme you charged me twice for one order and support keeps ignoring me. Terrible."
PRAISE = "@acme just got my parcel a day early, lovely packaging. Thank you so much!"
QUESTION = "@acme what time do you open on Sunday?"
FIXTURE = [COMPLAINT, PRAISE, QUESTION, ""]
# What the shipped heads answer for the fixture: (P(complaint), severity). Retraining changes the
# artifact's hash; re-measure these then (python -c "from models.classifier import ...") and
# update them together with SHIPPED_VERSION (a change to models/severity_cues.py bumps its VERSION
# and so SHIPPED_VERSION too), after checking that the answers are still sensible.
SHIPPED_VERSION = "minilm-l6-v2+heads-d82baed7+cues-v1"
# The complaint's severity is 3 (accusation) from its wording, "you charged".
STABLE = {COMPLAINT: (0.9646, 3), PRAISE: (0.0396, 0), QUESTION: (0.3172, 0)}


def _refuse_network(*args, **kwargs):
    raise AssertionError("the model tried to reach the network")


@pytest.fixture(scope="module")
def clf():
    patch = pytest.MonkeyPatch()
    patch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub

    import models.classifier as classifier

    for name in ("hf_hub_download", "snapshot_download"):
        patch.setattr(huggingface_hub, name, _refuse_network)
        patch.setattr(f"huggingface_hub.file_download.{name}", _refuse_network, raising=False)
    patch.setattr("socket.socket.connect", _refuse_network)
    yield classifier.load_classifier(threads=1)
    patch.undo()


@pytest.fixture(scope="module")
def predictions(clf):
    return clf.predict(FIXTURE)


def test_loads_offline_once_with_a_version(clf):
    from models.classifier import load_classifier

    assert load_classifier() is clf
    assert clf.model_version.startswith("minilm-l6-v2+heads-")
    assert os.environ["TOKENIZERS_PARALLELISM"] == "false"


def test_obvious_complaint_and_praise(predictions):
    complaint, praise = predictions[0], predictions[1]
    assert complaint.complaint > 0.5 and complaint.severity >= 1 and complaint.needs_reply
    assert praise.complaint < 0.5 and praise.severity == 0 and not praise.needs_reply


def test_shipped_outputs_are_stable(clf, predictions):
    assert clf.model_version == SHIPPED_VERSION, "artifact changed: re-measure STABLE"
    for text, p in zip(FIXTURE, predictions):
        if text in STABLE:
            complaint, severity = STABLE[text]
            assert p.complaint == pytest.approx(complaint, abs=0.01), text
            assert p.severity == severity, text


def test_shipped_heads_read_normalised_text(clf):
    from models.text import NORMALIZATION

    assert clf.heads.meta["text_normalization"] == NORMALIZATION


def test_normalize_drops_mentions_and_links():
    from models.text import normalize

    assert normalize("@acme @acme_help,  you &amp; me\nhttps://t.co/x1 www.a.io ok") == "you & me ok"
    assert normalize("@acme https://t.co/x1") == normalize("") == "."


def test_handle_and_links_do_not_change_the_answer(clf):
    """The same words to another brand, with a link, get the same prediction and embedding."""
    a, b = clf.predict([COMPLAINT, COMPLAINT.replace("@acme", "@other_brand @x") + " https://t.co/9"])
    assert a.severity == b.severity and a.needs_reply == b.needs_reply
    assert a.complaint == pytest.approx(b.complaint, abs=1e-5)
    assert np.allclose(a.embedding, b.embedding, atol=1e-5)


def test_artifact_normalisation_is_checked(clf):
    from models.classifier import Classifier
    from models.heads import Heads

    shipped = clf.heads
    raw = Heads(shipped.complaint, shipped.severity, shipped.sentiment, {})
    assert Classifier(None, raw, "raw").normalize("@acme hi") == "@acme hi"  # older artifacts
    unknown = Heads(shipped.complaint, shipped.severity, shipped.sentiment, {"text_normalization": "v9"})
    with pytest.raises(ValueError, match="normalisation"):
        Classifier(None, unknown, "v9")


def test_question_needs_reply_and_outputs_in_range(predictions):
    assert predictions[2].needs_reply
    for p in predictions:
        assert 0.0 <= p.complaint <= 1.0 and p.severity in range(5)


def test_embeddings_are_normalised_float32(predictions):
    for p in predictions:
        assert p.embedding.dtype == np.float32 and p.embedding.shape == (384,)
        assert abs(float(np.linalg.norm(p.embedding)) - 1.0) < 1e-4


def test_same_output_twice_whatever_the_batch(clf, predictions):
    again = clf.predict(list(reversed(FIXTURE)))[::-1]
    for a, b in zip(predictions, again, strict=True):
        assert a.severity == b.severity and a.needs_reply == b.needs_reply
        assert a.complaint == pytest.approx(b.complaint, abs=1e-5)


def test_empty_batch(clf):
    assert clf.predict([]) == []


def _run_cli(args, stdin="", timeout=120):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "models", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def test_cli_classify_round_trips_json_lines():
    lines = [
        json.dumps({"id": "a", "text": COMPLAINT}),
        "not json",
        json.dumps({"id": "c", "text": "@acme my account was hacked"}),
        json.dumps({"id": "d"}),
        json.dumps({"id": "e", "text": PRAISE}),
    ]
    result = _run_cli(["classify"], "\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", None, "c", "d", "e"]
    assert "error" in out[1] and out[1]["line"] == 2 and "error" in out[3]
    assert set(out[0]) == {"id", "complaint", "severity", "urgency", "needs_reply"}
    assert out[0]["complaint"] > 0.5 and out[0]["urgency"] == "high"  # charged twice: money at high (URGENCY.md)
    assert out[2]["urgency"] == "critical"
    assert out[4]["needs_reply"] is False and out[4]["urgency"] == "low"


TINY_CSV = """text,is_complaint,severity
"@bank you took my money and blame me, disgusting",1,4
"@bank my card payment failed twice today",1,1
"@bank really disappointed with the app update",1,2
"@bank you lied about the fees",1,3
"@bank you are thieves and I blame you for this mess",1,4
"@bank the transfer has been pending for a week",1,1
"@bank not impressed with the queues",1,2
"@bank you are scamming your customers",1,3
"@bank thanks for the quick help",0,0
"@bank what are your opening hours?",0,0
"@bank great service today",0,0
"@bank is the branch open on Sunday?",0,0
"""

TINY_AIRLINE = """airline_sentiment,negativereason,text
negative,Late Flight,"@air delayed three hours again"
negative,Lost Luggage,"@air you lost my bag"
negative,Customer Service Issue,"@air on hold for two hours"
positive,,"@air lovely crew, thank you"
neutral,,"@air do you fly to Boston?"
positive,,"@air smooth flight today"
"""


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    directory = tmp_path_factory.mktemp("data")
    (directory / "fin.csv").write_text(TINY_CSV)
    (directory / "air.csv").write_text(TINY_AIRLINE)
    db = directory / "labels.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE labels (id INTEGER PRIMARY KEY, ticket_id TEXT, mention_id TEXT,"
            " text TEXT,"
            " kind TEXT, value TEXT, actor TEXT, created_at TEXT)"
        )
        conn.executemany(
            "INSERT INTO labels (text, kind, value, actor) VALUES (?, ?, ?, 'U1')",
            [
                ("@bank my statement is wrong again", "complaint", "1"),
                ("@bank cheers for sorting it", "complaint", "0"),
                ("@bank my card was cloned", "urgency", "critical"),
                ("@bank when do you open?", "urgency", "low"),
            ],
        )
    return directory


def test_corrections_are_read_and_mapped(tiny_data):
    from models.train import CORRECTION_WEIGHT, read_corrections

    corrections = read_corrections(f"sqlite:///{tiny_data / 'labels.db'}")
    assert corrections.texts == [
        "@bank my statement is wrong again",
        "@bank cheers for sorting it",
        "@bank my card was cloned",
    ]
    assert corrections.complaint.tolist() == [1, 0, 1]
    assert corrections.weights.tolist() == [CORRECTION_WEIGHT] * 3


def test_train_writes_a_loadable_artifact(tiny_data, tmp_path, clf, monkeypatch):
    from models.classifier import Classifier, build_classifier
    from models.train import train

    monkeypatch.setenv("EARSHOT_EMBED_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "artifact"
    shared_before = clf.encoder.encode(["@bank you stole my money"])
    heads = train(
        tiny_data / "fin.csv",
        tiny_data / "air.csv",
        f"sqlite:///{tiny_data / 'labels.db'}",
        seed=0,
        out_dir=out,
        encoder=clf.encoder,
        adapter_steps=3,
    )
    assert heads.meta["rows"] == {"fin": 12, "air": 6, "labels": 3}
    assert heads.meta["text_normalization"] == "strip-mentions-urls-v1"
    assert heads.meta["severity_c"] in (0.1, 0.3, 1.0, 3.0)
    assert heads.meta["adapter"]["steps"] == 3
    loaded = load_heads(out)
    assert (out / "heads.safetensors").stat().st_size < 2 * 2**20
    assert np.allclose(loaded.complaint.weight, heads.complaint.weight)
    # The encoder passed in is copied, not adapted: the shipped classifier must not change.
    assert np.array_equal(clf.encoder.encode(["@bank you stole my money"]), shared_before)
    assert clf.encoder.adapter != heads.meta["adapter"]["fingerprint"]
    rebuilt = build_classifier(out, threads=1)
    assert rebuilt.encoder.adapter == heads.meta["adapter"]["fingerprint"]
    assert rebuilt.model_version != clf.model_version
    adapted = rebuilt.encoder.encode(["@bank you stole my money"])
    assert not np.allclose(adapted, shared_before)  # the adapter is merged into the weights
    predictions = Classifier(rebuilt.encoder, loaded, "tiny").predict(["@bank you stole my money"])
    assert predictions[0].severity in range(5)


def test_train_without_an_adapter_removes_a_stale_one(tiny_data, tmp_path, clf, monkeypatch):
    from models.adapter import ADAPTER_FILE
    from models.classifier import build_classifier
    from models.train import train

    monkeypatch.setenv("EARSHOT_EMBED_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "artifact"
    out.mkdir()
    (out / ADAPTER_FILE).write_bytes(b"left over from an earlier training")
    heads = train(tiny_data / "fin.csv", tiny_data / "air.csv", out_dir=out, encoder=clf.encoder,
                  adapter_steps=0)
    assert heads.meta["adapter"] is None
    assert not (out / ADAPTER_FILE).exists()
    assert build_classifier(out, threads=1).encoder.adapter is None


def test_an_adapter_file_that_does_not_match_the_heads_is_refused(tmp_path):
    import shutil

    from models.adapter import ADAPTER_FILE, load, save
    from models.classifier import build_classifier

    out = tmp_path / "artifact"
    shutil.copytree(ROOT / "models" / "artifacts", out)
    tensors = load(out)
    first = sorted(tensors)[0]
    tensors[first] = tensors[first] * 2
    save(tensors, out)
    assert (out / ADAPTER_FILE).exists()
    with pytest.raises(ValueError, match="not the one the heads were fitted on"):
        build_classifier(out, threads=1)


def test_shipped_artifact_is_small():
    artifact = ROOT / "models" / "artifacts"
    assert sum(f.stat().st_size for f in artifact.iterdir()) < 2 * 2**20


def test_a_merged_adapter_computes_what_the_adapted_layers_did():
    import torch

    from models import adapter
    from models.encoder import Encoder

    encoder = Encoder(threads=1)
    texts = ["@acme you charged me twice", "thanks for sorting my refund so fast"]
    frozen = encoder.encode(texts)
    wrapped = adapter._attach(encoder.model, adapter.RANK, adapter.ALPHA)
    torch.manual_seed(1)
    for layer in wrapped.values():  # as if trained: B starts at zero, which would change nothing
        torch.nn.init.normal_(layer.b, std=0.02)
    encoder.model.eval()
    adapted = encoder.encode(texts)
    tensors = adapter._detach(encoder.model, wrapped)

    assert not np.allclose(adapted, frozen, atol=1e-3)
    assert np.allclose(encoder.encode(texts), adapted, atol=1e-5)  # merged weights, plain layers
    assert len(tensors) == 2 * 6 * len(adapter.TARGETS)
