"""The urgency recipe end to end (``python -m models train-urgency --branch``, ``train_urgency``): probes
choose the thresholds, then the branch and the heads (``models.urgency_train``) are trained on all rows.

FOLDS probe branches and heads, each trained with the same recipe on the other folds' rows (grouped
as the cross-validation is), give every training row probabilities from a model that never saw it;
``critical_at``, ``calm_at`` and ``evidence_at`` (``urgency_train.choose_thresholds``) and the
passage gate (``models.passages.choose_gate``) are chosen on those. The probes take most of the
training's time (about 45 of its 55 minutes), so their held-out probabilities can be kept
(``--keep-probes``) and the threshold rule applied to them again (``rechoose``, ``python -m models
rechoose-thresholds``) without training them again; the passage gate needs the sentences' reads,
which are not kept. Where the probes would take too long (24 minutes each on a CPU without AVX-512),
``--held-pair N`` chooses the thresholds instead on spent test pair N, kept out of the training rows
(``held_pair_thresholds``, history step 36).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from models import passages, urgency_branch, urgency_data, urgency_train
from models.adapter import TRAIN_TOKENS
from models.datasets import embed_cached
from models.heads import ARTIFACT_DIR, load_heads
from models.text import normalize
from models.urgency_data import TIER_LABELS, UrgencySet

KEPT = ("y", "tier", "critical", "phrases", "written")  # the arrays ``keep`` writes, one row per training row


def cross_fitted_thresholds(encoder, data: UrgencySet, states: list, seed: int = 0, log=print,
                            steps: int = urgency_branch.STEPS, keep: Path | None = None) -> dict:  # fmt: skip
    """The thresholds (``choose_thresholds``) on probabilities every training row gets from a probe
    that never saw it. One held-out fifth proved too few rows (``critical_at`` moved from 0.25 to
    0.5 when 814 rows were added). ``states``: ``urgency_branch.capture``'s; ``keep``: a file to
    write the held-out probabilities to (``rechoose``)."""
    tier, critical = np.zeros((len(data), len(TIER_LABELS))), np.zeros(len(data))
    alone: list = [[] for _ in range(len(data))]  # per row: its sentences read alone, (P(tier), P(critical))
    folds = StratifiedGroupKFold(urgency_train.FOLDS, shuffle=True, random_state=seed)
    for number, (fit_idx, held_idx) in enumerate(folds.split(np.zeros(len(data)), data.tier, data.groups), 1):
        rows = data.subset(fit_idx)
        probe, _ = urgency_train.branched(encoder, rows, seed, log, [states[i] for i in fit_idx], steps)
        heads, _ = urgency_train.fit(probe.urgency_view(), rows, seed)
        x = embed_cached(probe.urgency_view(), [normalize(data.texts[i]) for i in held_idx])
        tier[held_idx], critical[held_idx] = heads["tier"].probabilities(x), heads["critical"].probabilities(x)
        read = sentences_alone(heads, probe.urgency_view(), [data.texts[i] for i in held_idx])
        for i, sentences in zip(held_idx, read, strict=True):
            alone[i] = sentences
        if log:
            log(f"threshold probe {number}/{urgency_train.FOLDS}: {len(held_idx)} rows held out")
    phrases, written = urgency_train.has_phrase(data.texts), urgency_data.written_rows(data.groups)
    if keep:
        np.savez_compressed(keep, **dict(zip(KEPT, (data.tier, tier, critical, phrases, written), strict=True)))
    chosen = urgency_train.choose_thresholds(data.tier, tier, critical, phrases, written)
    gate, gate_scores = passage_gate(data.tier, tier, critical, phrases, alone, chosen)
    return {**chosen, "passages": gate.meta() if gate else None, "passages_chosen": gate_scores, "rows": len(data),
            "folds": urgency_train.FOLDS}  # fmt: skip


def rechoose(kept: Path) -> dict:
    """``urgency_train.choose_thresholds`` as the code now reads it, on probabilities ``keep`` wrote."""
    with np.load(kept) as arrays:
        y, tier, critical, phrases, written = (arrays[name] for name in KEPT)
    return {**urgency_train.choose_thresholds(y, tier, critical, phrases, written), "rows": len(y)}


def rechoose_on_pairs(data_dir: Path, artifact_dir: Path, numbers: list[int], write: bool = False,
                      against: dict | None = None) -> dict:  # fmt: skip
    """``held_pair_thresholds`` on spent test pairs ``numbers`` together, from the artifact's own branch and
    heads, which must not have trained on them (history step 38); ``write``: into the artifact's meta;
    ``against``: the shipped version's counts there (``models.held_comparator``), whose real critical
    posts found are the floor (history step 87)."""
    from models.classifier import build_classifier

    held = urgency_data.concat([read_held_pair(data_dir, number) for number in numbers])
    never_trained_on(load_heads(artifact_dir).meta.get("urgency", {}).get("sources", ""), held)
    clf = build_classifier(artifact_dir)
    heads = clf.heads
    floor = against["real_critical_found"] if against else None
    chosen = held_pair_thresholds(clf.encoder.urgency_view(), {"tier": heads.tier, "critical": heads.critical}, held,
                                  floor)  # fmt: skip
    chosen = {**chosen, "against": against} if against else chosen
    if write:
        keys = ("critical_at", "evidence_at", "calm_at", "passages")
        heads.meta["urgency"].update({key: chosen[key] for key in keys}, thresholds_held_out=chosen)
        # The answer head was fitted, and its silent_at chosen, on the rows the old thresholds left below
        # critical: fit it again (``python -m models fit-answer``) after new thresholds.
        heads.drop_answer()
        heads.save(artifact_dir)
    return chosen


def sentences_alone(heads: dict, view, texts: list[str]) -> list[list[tuple[dict, float]]]:
    """Per text, its sentences (``models.passages.sentences``) read alone by ``view`` and ``heads``:
    the tier head's P(tier) and the critical head's P(critical) for each."""
    split = [passages.sentences(text) for text in texts]
    flat = [normalize(sentence) for parts in split for sentence in parts]
    if not flat:
        return [[] for _ in texts]
    x = embed_cached(view, flat)
    tiers, critical = heads["tier"].probabilities(x), heads["critical"].probabilities(x)
    read = iter(({label: float(p) for label, p in zip(TIER_LABELS, row, strict=True)}, float(c))
                for row, c in zip(tiers, critical, strict=True))  # fmt: skip
    return [[next(read) for _ in parts] for parts in split]


def passage_gate(y, proba, critical, phrases, alone: list, chosen: dict) -> tuple:
    """``models.passages.choose_gate`` on held-out rows, at the thresholds ``chosen`` for them."""
    critical_at, calm_at = chosen["critical_at"], chosen["calm_at"]
    decided = urgency_train.tiers_from(proba, critical, critical_at, chosen["evidence_at"], phrases, calm_at)
    rows = [{label: float(p) for label, p in zip(TIER_LABELS, row, strict=True)} for row in proba]
    counts = [any(passages.critical_alone(t, p, critical_at, calm_at) for t, p in read) for read in alone]
    return passages.choose_gate([TIER_LABELS[i] for i in y], [TIER_LABELS[i] for i in decided], rows,
                                [float(p) for p in critical], counts, critical_at, calm_at)  # fmt: skip


def held_pair_thresholds(view, heads: dict, held: UrgencySet, real_floor: int | None = None) -> dict:
    """``urgency_train.choose_thresholds`` on ``held`` (a spent test pair the branch and heads did not
    train on), from ``heads`` reading ``view``'s embeddings of it (history step 36)."""
    x = embed_cached(view, [normalize(t) for t in held.texts])
    chosen = urgency_train.choose_thresholds(held.tier, heads["tier"].probabilities(x),
                                             heads["critical"].probabilities(x), urgency_train.has_phrase(held.texts),
                                             urgency_data.written_rows(held.groups), real_floor)  # fmt: skip
    return {**chosen, "passages": None, "rows": len(held), "held_out": held.source}


def held_pair_sets(data_dir: Path, number: int) -> tuple[UrgencySet, UrgencySet]:
    """Spent test pair ``number``'s real tweets and hand-written posts; a fresh pair is refused."""
    if number >= urgency_data.FIRST_FRESH:
        raise ValueError(f"pair {number} is not spent: only a spent pair not trained on can set thresholds")
    return (urgency_data.read_real(Path(data_dir), urgency_data.test_split(number)),
            urgency_data.read_written(urgency_data.written_test(number)))  # fmt: skip


def read_held_pair(data_dir: Path, number: int) -> UrgencySet:
    return urgency_data.concat(list(held_pair_sets(data_dir, number)))


def never_trained_on(sources: str, held: UrgencySet) -> None:
    """Refuse ``held`` where any of its sets is among ``sources`` (a training set's, ``+``-joined)."""
    both = set(sources.split("+")) & set(held.source.split("+"))
    if both:
        raise ValueError(f"{', '.join(sorted(both))}: among the training rows")


def train_urgency(data_dir: Path, artifact_dir: Path = ARTIFACT_DIR, encoder=None, seed: int = 0,
                  thresholds: dict | None = None, branch: bool = False, log=print,
                  keep_probes: Path | None = None, held_pair: int | None = None) -> dict:  # fmt: skip
    """Fit the heads on the artifact's own encoder and write them into the artifact. With ``branch``,
    first train an urgency branch: five probe branches and heads, each on four fifths of the rows, set
    the thresholds on the rows they did not see (``cross_fitted_thresholds``; ``keep_probes``: where
    to keep their probabilities), then the branch and heads are trained on all rows. With ``held_pair``
    instead of probes, the thresholds are chosen on that spent pair (``held_pair_thresholds``), which
    must not be among the training rows."""
    from models.classifier import build_classifier

    encoder = encoder.copy(branch=False) if encoder and encoder.branch else encoder
    encoder = encoder or build_classifier(artifact_dir, branch=False).encoder
    data, trained = urgency_train.training_set(Path(data_dir)), None
    held = read_held_pair(data_dir, held_pair) if held_pair else None
    if held:
        never_trained_on(data.source, held)
    if branch:
        states = urgency_branch.capture(encoder, [normalize(t) for t in data.texts], TRAIN_TOKENS)
        if not held:
            thresholds = cross_fitted_thresholds(encoder, data, states, seed, log, keep=keep_probes)
        encoder, trained = urgency_train.branched(encoder, data, seed, log, states)
    heads = load_heads(artifact_dir)
    fitted, meta = urgency_train.fit(encoder.urgency_view(), data, seed, thresholds)
    if held:
        chosen = held_pair_thresholds(encoder.urgency_view(), fitted, held)
        meta.update(critical_at=chosen["critical_at"], evidence_at=chosen["evidence_at"], calm_at=chosen["calm_at"],
                    passages=None, thresholds_held_out=chosen)  # fmt: skip
    heads.tier, heads.harm, heads.critical = fitted["tier"], fitted["harm"], fitted["critical"]
    heads.drop_answer()
    (Path(artifact_dir) / urgency_branch.BRANCH_FILE).unlink(missing_ok=True)
    if trained:
        urgency_branch.save(trained["tensors"], artifact_dir)
        meta["branch"] = trained["meta"]
    heads.meta["urgency"] = meta
    heads.save(artifact_dir)
    return meta
