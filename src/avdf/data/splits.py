"""Splits as versioned files (``data/splits/<dataset>/<protocol>.csv``): the same clips and seed
always give the same file. ``params.yaml: split.protocol`` picks one of :data:`PROTOCOLS`:

- ``paper``: stratified random 80:20 (Sec. 4.2.1 of the paper);
- ``identity_disjoint``: no person appears on both sides; a clip's people are its ``identities``
  (source and targets of a manipulation); clips that would mix the sides are ``excluded``;
- ``official``: the dataset's own split (DFDC's test set, LAV-DF's train/dev/test).

A validation split (``val``) is then carved from the training clips by the same protocol
(``official``: stratified as ``paper``; LAV-DF's dev set is its validation split). It is never
trained on: the trained model scores it to choose its decision threshold (avdf.learning.train).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from avdf.contracts.errors import InputError

CATEGORY_ORDER = ["RVRA", "RVFA", "FVRA", "FVFA", "FAKE"]


class SplitError(InputError):
    """A protocol that does not apply to a dataset (the message names both)."""


def paper_split(clips: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    """Stratified random split, as in the paper (Sec. 4.2.1: "randomized stratification (80:20)").

    Strata are the four categories, so each category keeps the 80:20 ratio. Within a category the
    test clips are spread over identities: clips are dealt identity by identity, in one random
    identity order shared by all categories (see docs/paper-notes.md, "the split"). Without this,
    a category whose test part happens to hold more of one person than another category's would
    let a detector score identity instead of manipulation. Clips are ordered by ``clip_id`` first,
    so the split does not depend on the order of the metadata file.
    """
    rng = np.random.default_rng(seed)
    identities = rng.permutation(np.array(sorted(clips["identity"].astype(str).unique()), dtype=object))
    split = pd.Series("train", index=clips.index, dtype=object)
    for category in [c for c in CATEGORY_ORDER if c in set(clips["category"])]:
        members = clips[clips["category"] == category].sort_values("clip_id", kind="stable")
        groups = {
            who: list(rng.permutation(idx.to_numpy()))
            for who, idx in members.groupby(members["identity"].astype(str)).groups.items()
        }
        dealt = []
        while any(groups.values()):
            for who in identities:
                if groups.get(who):
                    dealt.append(groups[who].pop())
        n_test = int(round(test_fraction * len(members)))
        split[dealt[:n_test]] = "test"
    return split


def identity_disjoint_split(clips: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    """People, not clips, are split: people are drawn in a seeded random order into the test side
    until the clips showing only test people reach ``test_fraction``. A clip showing only train
    people is ``train``; a clip mixing the sides (a face swap between a train and a test person)
    is ``excluded``, used by neither, since keeping it would put a person on both sides.
    tests/test_split.py checks that no person appears in both train and test."""
    people = [
        sorted({n for n in str(ids).split(";") if n} or {"?"}) for ids in clips["identities"].fillna("")
    ]
    clips_of: dict[str, list[int]] = {}
    for i, names in enumerate(people):
        for n in names:
            clips_of.setdefault(n, []).append(i)
    order = np.random.default_rng(seed).permutation(np.array(sorted(clips_of), dtype=object))
    in_test = np.zeros(len(people), int)  # how many of each clip's people are on the test side
    need = np.array([len(names) for names in people])
    target = test_fraction * len(people)
    for person in order:
        np.add.at(in_test, clips_of[person], 1)
        if (in_test == need).sum() >= target:
            break
    split = np.where(in_test == need, "test", np.where(in_test == 0, "train", "excluded"))
    out = pd.Series(split, index=clips.index, dtype=object)
    if not (out == "test").any() or not (out == "train").any():
        raise SplitError("identity_disjoint: the people cannot be divided into a train and a test side")
    return out


def official_split(clips: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    split = clips["official_split"].fillna("").astype(str)
    if (split == "").any() or not (split == "test").any():
        raise SplitError(
            "official: this dataset has no official test split (FakeAVCeleb and DefakeAVMiT have none); "
            "use split.protocol paper or identity_disjoint"
        )
    return split.where(split.isin(["train", "test"]), "dev")  # LAV-DF's dev: neither trained on nor tested


PROTOCOLS = {"paper": paper_split, "identity_disjoint": identity_disjoint_split, "official": official_split}


def carve_validation(
    clips: pd.DataFrame, split: pd.Series, protocol: str, fraction: float, seed: int
) -> pd.Series:
    """``split`` with ``fraction`` of its training clips moved to ``val``, drawn as the test side was
    (identity-disjoint under ``identity_disjoint``, where clips mixing the sides stay in training;
    stratified over categories and spread over identities otherwise). A dataset's own dev set
    (LAV-DF) is its validation split."""
    split = split.replace("dev", "val")
    train = split == "train"
    if fraction <= 0 or (split == "val").any() or train.sum() < 2:
        return split
    inner = None
    if protocol == "identity_disjoint":
        try:
            inner = identity_disjoint_split(clips[train], fraction, seed + 1).replace("excluded", "train")
        except SplitError:  # too few people to divide: stratified instead
            inner = None
    if inner is None:
        inner = paper_split(clips[train], fraction, seed + 1)
    split[train] = inner.replace("test", "val")
    return split


def make(
    clips: pd.DataFrame, protocol: str, test_fraction: float, seed: int, val_fraction: float = 0.0
) -> pd.Series:
    """The protocol's split of the labelled clips, with its validation split carved from training;
    clips without a label (label -1: a withheld test set) are ``unlabelled`` under every protocol,
    out of training and of every table."""
    if protocol not in PROTOCOLS:
        raise SplitError(f"unknown split protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    labelled = clips["label"].astype(int) >= 0 if "label" in clips else pd.Series(True, index=clips.index)
    split = pd.Series("unlabelled", index=clips.index, dtype=object)
    inner = PROTOCOLS[protocol](clips[labelled], test_fraction, seed)
    split[labelled] = carve_validation(clips[labelled], inner, protocol, val_fraction, seed)
    return split
