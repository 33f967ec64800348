"""The encoder's forward pass run by ONNX Runtime: the same float32 graph (the adapter merged, the
urgency branch beside the last block), exported once when the classifier loads.

Why: three quarters of a batch's time is the linear layers, and on CPUs without native bfloat16
torch runs them, and the small operations between them, slower than ONNX Runtime's CPU kernels.
Measured on a 2-core AMD EPYC with AVX2 only (256 tweets, batch 16, 2 threads): the forward
pass 111 -> 134 texts/s, the last hidden states within 5e-6 of torch's (largest value about 6);
the whole model (``bench.bench_model``) in the README's "Measured". Where bfloat16 is native the urgency
branch computes in it under torch (``models.urgency_branch``), which this export does not carry,
so torch stays there (``runtime_for``). Dynamic int8 was measured and not used: in ONNX Runtime
no faster here (133 texts/s) with hidden states off by up to 3.9; in torch see the README.

Training never runs here: an exported graph has no gradients. ``Encoder.copy``, ``adapt`` and
``fork`` drop the session, and ``Encoder.pool`` (the adapter's training) always runs torch.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

# The YAML model.runtime: "auto" is ONNX Runtime where it is exact (and, where the CPU runs bfloat16
# natively, the faster of the two, ``models.runtime_choice``); "onnx" always ONNX Runtime, the urgency
# branch in float32; "torch" always torch.
RUNTIMES = ("auto", "torch", "onnx")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


def runtime_for(setting: str, branch_precision: str) -> str:
    """What runs the model, "onnx" or "torch": ONNX Runtime unless the operator chose torch or the
    urgency branch computes in bfloat16 (torch only; with "onnx" the loader forks it in float32)."""
    if setting not in RUNTIMES:
        raise ValueError(f"unknown model runtime {setting!r}: one of {', '.join(RUNTIMES)}")
    return "onnx" if setting in ("auto", "onnx") and branch_precision == "float32" else "torch"


def _hidden(model):
    import torch

    class Hidden(torch.nn.Module):
        """The encoder's last hidden states from its three inputs, positionally (for the export)."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    return Hidden()


def export(model, path: Path) -> None:
    """Write ``model`` (a transformers BERT encoder, float32) to ``path`` as an ONNX graph whose batch
    size and length are free. The probe batch pads its second text, so the graph keeps the attention
    mask's path. To a file, not to bytes: measured, the worker then keeps 60 MiB of the export
    instead of 170."""
    import torch

    probe = {name: torch.ones((2, 8), dtype=torch.long) for name in INPUTS}
    probe["attention_mask"][1, 5:] = 0
    probe["token_type_ids"].zero_()
    axes = {name: {0: "batch", 1: "length"} for name in (*INPUTS, "hidden")}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        # The tracer warns about Python booleans it fixes as constants (transformers' causal-mask
        # check, false for an encoder) and about index arithmetic; neither changes this graph.
        warnings.simplefilter("ignore")
        torch.onnx.export(_hidden(model).eval(), tuple(probe[name] for name in INPUTS), str(path),
                          input_names=list(INPUTS), output_names=["hidden"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)  # fmt: skip


class OnnxForward:
    """Calls the exported graph on a tokenizer's batch; returns the last hidden states (torch)."""

    def __init__(self, model, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # Like OMP_WAIT_POLICY=PASSIVE for torch (models.encoder): no spinning between batches,
        # taking CPU from the web and Slack processes on the same machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: its warnings name graph internals, not inputs
        with tempfile.TemporaryDirectory(prefix="earshot-onnx-") as folder:
            export(model, Path(folder) / "encoder.onnx")
            self.session = onnxruntime.InferenceSession(str(Path(folder) / "encoder.onnx"), options,
                                                        providers=["CPUExecutionProvider"])  # fmt: skip

    def __call__(self, batch):
        import torch

        feeds = {name: batch[name].numpy() for name in INPUTS}
        return torch.from_numpy(self.session.run(None, feeds)[0])
