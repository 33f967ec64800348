"""The classifier the workers call: encoder + heads, loaded once per process.

clf = load_classifier()
clf.predict(["@acme you charged me twice"])  # -> [Prediction(...)]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from models import adapter, answer, passages, runtime_choice, severity_cues, urgency_branch
from models.attribution import weighed_most, word_scores
from models.heads import ARTIFACT_DIR, Heads, artifact_hash, load_heads
from models.language import unscored_words
from models.reply import needs_reply
from models.text import NORMALIZATION, analysed, normalize
from models.urgency_data import HARMS, TIER_LABELS

# Measured with bench/bench_model.py on 2 cores: 8-16 is the peak (about 125-130 texts/s), 64
# falls to about 97, single texts to about 66; a small batch also keeps a worker's memory low.
BATCH_SIZE = 16


@dataclass(frozen=True)
class Prediction:
    complaint: float  # probability 0..1
    severity: int  # 0..4, Jin & Aletras (2021); 0 means not a complaint
    needs_reply: bool
    embedding: np.ndarray  # float32, L2-normalised; for incident clustering
    severity_cue: str | None = None  # the wording that set the severity, if wording did
    urgency: ModelUrgency | None = None  # None from an artifact without the urgency heads
    language: str | None = None  # a language the heads cannot read, when one was recognised


@dataclass(frozen=True)
class ModelUrgency:
    """The urgency heads' view of a post (``models.urgency_train``); ``triage.urgency`` decides."""

    tiers: dict  # P(tier) for each of TIER_LABELS, from the tier head
    p_critical: float  # from the critical head
    harm: str  # the likeliest of HARMS
    harm_probability: float
    critical_at: float  # P(critical) from which the post is critical
    evidence_at: float  # P(critical) from which a risk phrase confirms critical
    weighed: tuple[str, ...] = ()  # the words that raised P(critical) most (models.attribution)
    calm_at: float | None = None  # P(low) + P(none) from which the critical head alone is overruled
    passage: str | None = None  # a sentence that, read alone, is critical (models.passages)
    answer: str | None = None  # the answer head's tier below critical, "none": no ticket (models.answer)

    @property
    def likeliest(self) -> str:
        return max(self.tiers, key=self.tiers.get)


class Classifier:
    def __init__(self, encoder, heads: Heads, version: str, batch_size: int = BATCH_SIZE):
        self.encoder = encoder
        self.heads = heads
        self.model_version = version
        self.batch_size = batch_size
        # The heads see texts normalised as in training; heads.json says how (absent: raw text).
        normalization = heads.meta.get("text_normalization")
        if normalization not in (None, NORMALIZATION):
            raise ValueError(f"artifact wants text normalisation {normalization!r}, "
                             f"this code has {NORMALIZATION!r}")
        self.normalize = normalize if normalization else (lambda text: text)
        # Which posts have their sentences read alone (models.passages); None: none are.
        gate = passages.gate_from_meta((heads.meta.get("urgency") or {}).get("passages"))
        self.passage_gate = gate if heads.critical is not None else None

    def predict(self, texts: list[str], batch_size: int | None = None) -> list[Prediction]:
        texts = [analysed(t) if isinstance(t, str) else "" for t in texts]
        read = [self.normalize(t) for t in texts]
        size = batch_size or self.batch_size
        if self.heads.critical is None:
            return self.predict_vectors(self.encoder.encode(read, batch_size=size), texts)
        vectors, urgent, explained = self.encoder.encode_explained(read, self.heads.critical.weight[:1], size)
        weighed = [weighed_most(word_scores(r, offsets, shares[:, 0])) for r, (offsets, shares)
                   in zip(read, explained, strict=True)]  # fmt: skip
        predictions = self.predict_vectors(vectors, texts, weighed, urgent)
        return self._read_closely(texts, predictions, size) if self.passage_gate else predictions

    def _read_closely(self, texts: list[str], predictions: list[Prediction], size: int) -> list[Prediction]:
        """``models.passages``: the sentences of the posts near critical, read alone by the same
        branch and heads; the most critical sentence that counts is kept as the post's ``passage``
        (its harm too, where the whole post's is none)."""
        wanted = [(i, sentence) for i, (text, p) in enumerate(zip(texts, predictions, strict=True))
                  if self._near_critical(p.urgency) for sentence in passages.sentences(text)]  # fmt: skip
        if not wanted:
            return predictions
        vectors = self.encoder.encode_urgency([self.normalize(sentence) for _, sentence in wanted], size)
        best: dict[int, ModelUrgency] = {}
        for (i, sentence), alone in zip(wanted, self._urgency(vectors, [()] * len(wanted)), strict=True):
            counts = passages.critical_alone(alone.tiers, alone.p_critical, alone.critical_at, alone.calm_at)
            if counts and (i not in best or alone.p_critical > best[i].p_critical):
                best[i] = replace(alone, passage=sentence)
        out = list(predictions)
        for i, alone in best.items():
            whole = out[i].urgency
            named = whole if whole.harm != "none" else alone
            urgency = replace(whole, passage=alone.passage, harm=named.harm, harm_probability=named.harm_probability)
            out[i] = replace(out[i], urgency=urgency)
        return out

    def _near_critical(self, urgency: ModelUrgency | None) -> bool:
        return urgency is not None and passages.worth_reading_closely(
            urgency.tiers, urgency.p_critical, urgency.critical_at, urgency.calm_at, self.passage_gate
        )

    def predict_vectors(self, vectors: np.ndarray, texts: list[str], weighed=None, urgent=None) -> list[Prediction]:
        """Heads only, for embeddings already computed (evaluation reuses cached ones).

        ``vectors`` are embeddings of the normalised texts; ``texts`` are the raw ones (the reply
        rules read them); ``weighed``, per text, the words that raised P(critical) most; ``urgent``
        the urgency embeddings (``Encoder.encode_urgency``), where they differ from ``vectors``.
        """
        if not len(texts):
            return []
        complaint = self.heads.complaint.probabilities(vectors)
        severity = self.heads.severity.probabilities(vectors)
        sentiment = self.heads.sentiment.probabilities(vectors)
        urgency = self._urgency(vectors if urgent is None else urgent, weighed or [()] * len(texts))
        threshold = self.heads.complaint_threshold
        answers = self._answers(urgency, complaint, texts)
        out = []
        for i, text in enumerate(texts):
            p = float(complaint[i])
            is_complaint = p >= threshold
            words = normalize(text)
            rated = severity_cues.decide_severity(severity[i], words) if is_complaint else None
            if answers[i] is not None:
                urgency[i] = replace(urgency[i], answer=answers[i])
                reply = answers[i] != "none"
            else:
                reply = needs_reply(text, is_complaint, float(sentiment[i, 2]))
                # The urgency heads learned which posts need nothing: anything else is answered.
                reply = reply or (urgency[i] is not None and urgency[i].likeliest != "none")
            out.append(
                Prediction(
                    complaint=p,
                    severity=rated.level if rated else 0,
                    needs_reply=reply,
                    embedding=vectors[i],
                    severity_cue=rated.cue if rated else None,
                    urgency=urgency[i],
                    language=unscored_words(words),
                )
            )
        return out

    def _answers(self, urgency: list, complaint: np.ndarray, texts: list[str]) -> list[str | None]:
        """The answer head's tier for each post (``models.answer``); None without the head."""
        if self.heads.answer is None or urgency[0] is None:
            return [None] * len(texts)
        rows = np.stack([answer.features(u.tiers, u.p_critical, float(c), text)
                         for u, c, text in zip(urgency, complaint, texts, strict=True)])  # fmt: skip
        silent_at = float(self.heads.meta["answer"]["silent_at"])
        return [answer.answer(dict(zip(answer.ANSWER_TIERS, row, strict=True)), silent_at)
                for row in self.heads.answer.probabilities(rows)]  # fmt: skip

    def _urgency(self, vectors: np.ndarray, weighed: list) -> list[ModelUrgency | None]:
        if self.heads.tier is None or self.heads.harm is None or self.heads.critical is None:
            return [None] * len(vectors)
        tiers, harms = self.heads.tier.probabilities(vectors), self.heads.harm.probabilities(vectors)
        critical = self.heads.critical.probabilities(vectors)
        meta = self.heads.meta["urgency"]
        out = []
        for tier_row, harm_row, p_critical, words in zip(tiers, harms, critical, weighed, strict=True):
            harm = int(np.argmax(harm_row))
            out.append(ModelUrgency(
                tiers={label: float(p) for label, p in zip(TIER_LABELS, tier_row, strict=True)},
                p_critical=float(p_critical),
                harm=HARMS[harm],
                harm_probability=float(harm_row[harm]),
                critical_at=float(meta["critical_at"]),
                evidence_at=float(meta["evidence_at"]),
                weighed=tuple(words),
                calm_at=None if meta.get("calm_at") is None else float(meta["calm_at"]),
            ))  # fmt: skip
        return out


def build_classifier(artifact_dir: Path | None = None, threads: int | None = None, branch: bool = True,
                     runtime: str = "auto") -> Classifier:  # fmt: skip
    """Uncached constructor, for evaluating an artifact other than the shipped one (``branch=False``:
    without the urgency branch, for training a new one on the same encoder). ``runtime``: the YAML
    model.runtime (``models.onnx_forward``); "auto" with a bfloat16 branch on a CPU that runs it
    natively measures that against float32 on ONNX Runtime and keeps the faster (``models.runtime_choice``);
    "onnx" runs the branch in float32 on ONNX Runtime, measuring nothing."""
    from models.encoder import ENCODER_NAME, Encoder

    artifact_dir = Path(artifact_dir or ARTIFACT_DIR)
    heads = load_heads(artifact_dir)
    version = f"{ENCODER_NAME}+heads-{artifact_hash(artifact_dir)}+{severity_cues.VERSION}"
    if heads.meta.get("urgency", {}).get("passages"):
        version += f"+{passages.VERSION}"
    encoder = Encoder(threads=threads)
    if trained := heads.meta.get("adapter"):
        encoder.adapt(adapter.load(artifact_dir))
        if encoder.adapter != trained["fingerprint"]:
            raise ValueError(f"{artifact_dir}: the adapter file is not the one the heads were fitted on")
    if branch and (fitted := heads.meta.get("urgency", {}).get("branch")):
        tensors, precision = urgency_branch.load(artifact_dir), fitted.get("precision", "float32")
        precision = "float32" if runtime == "onnx" else precision  # ONNX Runtime's graph is float32
        # Two ways to run it on this CPU (bfloat16 on torch, float32 on ONNX Runtime): the faster, measured
        # once per process.
        two_ways = runtime == "auto" and urgency_branch.runs_in(precision) != "float32"
        twin = encoder.copy() if two_ways and runtime_choice.chosen() is None else None
        encoder.fork(tensors, (runtime_choice.chosen() or precision) if two_ways else precision)
        if encoder.branch != fitted["fingerprint"]:
            raise ValueError(f"{artifact_dir}: the urgency branch file is not the one the heads were fitted on")
        if twin is not None:
            encoder = runtime_choice.fastest([encoder, twin.fork(tensors, "float32").accelerate(runtime)])
            twin = None
            runtime_choice.release()
    return Classifier(encoder.accelerate(runtime), heads, version)


_loaded: Classifier | None = None
_loading = threading.Lock()


def load_classifier(threads: int | None = None, runtime: str = "auto") -> Classifier:
    """The shipped model, loaded once per process (a worker keeps it between jobs).

    ``threads`` sets the intra-op threads and ``runtime`` what runs the model (``models.onnx_forward``)
    at that first load; later calls return the same instance whatever they pass.
    """
    global _loaded
    with _loading:
        if _loaded is None:
            _loaded = build_classifier(threads=threads, runtime=runtime)
    return _loaded
