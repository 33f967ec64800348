"""The urgency branch (``models.urgency_branch``): a second last block that only the urgency heads read.
The shipped embedding (complaints, severity, incident grouping) must stay the same to the bit."""

import json
import shutil

import numpy as np
import pytest

from models import urgency_branch
from models.adapter import TARGETS, _parent

TEXTS = [
    "@velocar the brake pedal sank to the floor on the ring road",
    "@acme love the new menu, thanks!",
    "@parcelco where is my parcel, three days late now",
    "hi",
]


def _random_branch(encoder, seed=0, scale=0.02):
    rng = np.random.default_rng(seed)
    tensors = {}
    for target in TARGETS:
        parent, leaf = _parent(urgency_branch.last_block(encoder.model), target)
        linear = getattr(parent, leaf)
        tensors[f"{target}.a"] = (rng.normal(size=(8, linear.in_features)) * scale).astype(np.float32)
        tensors[f"{target}.b"] = (rng.normal(size=(linear.out_features, 8)) * scale).astype(np.float32)
    return tensors


@pytest.fixture(scope="module")
def encoder():
    from models.classifier import build_classifier

    # torch throughout: these tests compare the forked encoder's torch results with the plain one's
    # bit for bit (tests/test_onnx_forward.py compares the runtimes).
    return build_classifier(branch=False, runtime="torch").encoder


def test_the_branch_changes_the_urgency_embedding_and_leaves_the_shipped_one_as_it_was(encoder):
    forked = encoder.copy().fork(_random_branch(encoder))
    plain = encoder.encode(TEXTS)
    assert np.array_equal(forked.encode(TEXTS), plain)
    assert np.array_equal(encoder.encode_urgency(TEXTS), plain)  # no branch: one embedding
    urgent = forked.encode_urgency(TEXTS)
    assert np.abs(urgent - plain).max() > 1e-3
    assert np.allclose(np.linalg.norm(urgent, axis=1), 1.0, atol=1e-5)
    vectors, also_urgent, _ = forked.encode_explained(TEXTS, np.ones((1, encoder.dim), np.float32))
    assert np.array_equal(vectors, plain) and np.allclose(also_urgent, urgent, atol=1e-6)
    assert forked.urgency_view().cache_key != encoder.urgency_view().cache_key == encoder.cache_key
    with pytest.raises(ValueError, match="already has an urgency branch"):
        forked.fork(_random_branch(encoder))


def test_training_reads_the_captured_inputs_of_the_last_block_as_the_forked_encoder_does(encoder):
    import torch

    tensors = _random_branch(encoder, seed=1)
    states = urgency_branch.capture(encoder, TEXTS, tokens=128)
    assert [len(s) for s in states] == [len(encoder.tokenizer(t)["input_ids"]) for t in TEXTS]
    with torch.inference_mode():
        run = urgency_branch._run(urgency_branch.branch_layer(encoder.model, tensors), encoder.model.config, states)
    assert np.allclose(run.numpy(), encoder.copy().fork(tensors).encode_urgency(TEXTS), atol=1e-5)


def test_a_short_training_moves_the_branch_and_the_loss_reads_the_labels(encoder):
    from models.urgency_data import UrgencySet

    data = UrgencySet(TEXTS * 4, np.array([0, 4, 2, 3] * 4), np.array([1, 0, 0, 0] * 4), "t", np.arange(16))
    states = urgency_branch.capture(encoder, data.texts, tokens=64)
    trained = urgency_branch.train(encoder, data, states, encoder.encode(data.texts), steps=3, log=None)
    assert set(trained["tensors"]) == {f"{t}.{m}" for t in TARGETS for m in ("a", "b")}
    assert any(np.abs(v).max() > 0 for k, v in trained["tensors"].items() if k.endswith(".b"))
    assert trained["meta"]["fingerprint"] and trained["meta"]["rows"] == 16
    assert trained["meta"]["precision"] == urgency_branch.PRECISION


def test_an_artifact_with_a_branch_loads_it_and_refuses_a_mismatched_file(encoder, tmp_path):
    from models.adapter import fingerprint
    from models.classifier import build_classifier
    from models.heads import ARTIFACT_DIR, artifact_hash
    from models.text import analysed

    artifact = tmp_path / "artifact"
    shutil.copytree(ARTIFACT_DIR, artifact)
    (artifact / urgency_branch.BRANCH_FILE).unlink(missing_ok=True)
    meta = json.loads((artifact / "heads.json").read_text())
    meta["urgency"].pop("branch", None)
    (artifact / "heads.json").write_text(json.dumps(meta))
    plain = artifact_hash(artifact)
    tensors = _random_branch(encoder, seed=2)
    urgency_branch.save(tensors, artifact)
    meta["urgency"]["branch"] = {"fingerprint": fingerprint(tensors)}
    (artifact / "heads.json").write_text(json.dumps(meta))
    assert artifact_hash(artifact) != plain
    clf = build_classifier(artifact, runtime="torch")
    assert clf.encoder.branch == fingerprint(tensors)
    [prediction] = clf.predict([TEXTS[0]])
    assert np.array_equal(prediction.embedding, encoder.encode([clf.normalize(analysed(TEXTS[0]))])[0])
    urgency_branch.save(_random_branch(encoder, seed=3), artifact)
    with pytest.raises(ValueError, match="urgency branch file is not the one"):
        build_classifier(artifact)


def test_a_bfloat16_branch_stays_near_its_float32_self_and_leaves_the_shipped_embedding_alone(encoder):
    tensors = _random_branch(encoder, seed=4)
    exact, half = encoder.copy().fork(tensors), encoder.copy().fork(tensors, "bfloat16")
    native = urgency_branch.bf16_native()
    assert half.branch == exact.branch and half.branch_precision == ("bfloat16" if native else "float32")
    assert np.array_equal(half.encode(TEXTS), encoder.encode(TEXTS))
    urgent, reference = half.encode_urgency(TEXTS), exact.encode_urgency(TEXTS)
    assert np.min(np.sum(urgent * reference, axis=1)) > 0.9999
    assert (half.urgency_view().cache_key != exact.urgency_view().cache_key) == native
    linears = {type(m).__name__ for m in half.model.encoder.layer[-1].branch.modules()}
    assert ("BF16Linear" in linears) == native and ("Linear" in linears) != native
    with pytest.raises(ValueError, match="unknown branch precision"):
        encoder.copy().fork(tensors, "float8")


def test_an_artifact_says_what_its_branch_computes_in(encoder, tmp_path):
    from models.adapter import fingerprint
    from models.classifier import build_classifier
    from models.heads import ARTIFACT_DIR

    artifact = tmp_path / "artifact"
    shutil.copytree(ARTIFACT_DIR, artifact)
    tensors = _random_branch(encoder, seed=5)
    urgency_branch.save(tensors, artifact)
    meta = json.loads((artifact / "heads.json").read_text())
    meta["urgency"]["branch"] = {"fingerprint": fingerprint(tensors)}  # fitted before precision was recorded
    (artifact / "heads.json").write_text(json.dumps(meta))
    assert build_classifier(artifact).encoder.branch_precision == "float32"
    meta["urgency"]["branch"]["precision"] = "bfloat16"
    (artifact / "heads.json").write_text(json.dumps(meta))
    expected = "bfloat16" if urgency_branch.bf16_native() else "float32"
    assert build_classifier(artifact, runtime="torch").encoder.branch_precision == expected


@pytest.mark.parametrize(("listing", "native"), [
    ("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512_vnni\n", False),  # oneDNN would emulate
    ("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n", True),
    ("processor\t: 0\nflags\t\t: fpu avx2 amx_tile amx_bf16\n", True),
    ("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n", True),  # Arm
    ("processor\t: 0\nFeatures\t: fp asimd\n", False),
])  # fmt: skip
def test_bfloat16_is_native_only_where_the_cpu_lists_its_instructions(tmp_path, listing, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(listing)
    assert urgency_branch.bf16_native(cpuinfo) is native


def test_without_a_cpu_listing_onednn_answers(tmp_path):
    assert urgency_branch.cpu_flags(tmp_path / "absent") is None
    assert isinstance(urgency_branch.bf16_native(tmp_path / "absent"), bool)
