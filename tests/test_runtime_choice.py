"""Where the CPU could run the model two ways, the loader measures both and keeps the faster; the
branch's own precision stays unless the other is clearly faster."""

import logging

from models import runtime_choice, urgency_branch
from models.classifier import build_classifier
from models.onnx_forward import runtime_for


def test_the_branchs_own_precision_stays_unless_another_is_margin_times_as_fast():
    assert runtime_choice.choose([100.0, 105.0]) == 0  # noise
    assert runtime_choice.choose([100.0, 90.0]) == 0
    assert runtime_choice.choose([100.0, 111.0]) == 1
    assert runtime_choice.choose([100.0, 150.0, 120.0]) == 1
    assert runtime_choice.choose([100.0, 120.0], margin=1.5) == 0


def test_the_probe_is_customer_posts_of_several_lengths():
    lengths = {len(text.split()) for text in runtime_choice.PROBE}
    assert len(runtime_choice.PROBE) >= 3 * runtime_choice.BATCH_SIZE and len(lengths) >= 3


def test_rates_time_each_encoder_on_the_whole_model():
    encoder = build_classifier(threads=2, runtime="torch").encoder
    (rate,) = runtime_choice.rates([encoder], rounds=1)
    assert 1 < rate < 100_000


def test_auto_keeps_a_way_this_cpu_runs_says_which_and_keeps_to_it(caplog, monkeypatch):
    monkeypatch.setattr(runtime_choice, "_kept", None)  # as in a fresh process
    with caplog.at_level(logging.INFO, logger="models.runtime_choice"):
        chosen = build_classifier(threads=2).encoder
        again = build_classifier(threads=2).encoder
    assert chosen.runtime == runtime_for("auto", chosen.branch_precision)
    assert (again.runtime, again.branch_precision) == (chosen.runtime, chosen.branch_precision)
    measured = [r for r in caplog.records if r.getMessage().startswith("model runtime")]
    if urgency_branch.bf16_native():  # two ways to run it: both were timed, once
        assert len(measured) == 1 and set(measured[0].texts_per_second) == {"torch/bfloat16", "onnx/float32"}
        assert runtime_choice.chosen() == chosen.branch_precision
    else:  # one way: nothing to measure
        assert measured == [] and (chosen.runtime, chosen.branch_precision) == ("onnx", "float32")
    torch_only = build_classifier(threads=2, runtime="torch").encoder
    assert torch_only.runtime == "torch"
    assert torch_only.branch_precision == ("bfloat16" if urgency_branch.bf16_native() else "float32")
