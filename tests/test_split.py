"""The paper's split: stratified random 80:20, reproducible from a seed."""

import pandas as pd

from avdf.data.splits import paper_split


def _clips(n_per_category=10, identities=4):
    return pd.DataFrame(
        [
            {"clip_id": f"{c}{i:03d}", "category": c, "identity": f"id{i % identities}"}
            for c in ("RVRA", "RVFA", "FVRA", "FVFA")
            for i in range(n_per_category)
        ]
    )


def test_each_category_keeps_the_ratio():
    clips = _clips()
    split = paper_split(clips, 0.2, seed=0)
    counts = pd.crosstab(clips["category"], split)
    assert (counts["test"] == 2).all() and (counts["train"] == 8).all()


def test_same_seed_same_split_and_row_order_does_not_matter():
    clips = _clips()
    a = paper_split(clips, 0.2, seed=3)
    shuffled = clips.sample(frac=1, random_state=1)
    b = paper_split(shuffled, 0.2, seed=3)
    assert a.equals(b.sort_index())
    assert not a.equals(paper_split(clips, 0.2, seed=4))


def test_test_parts_of_all_categories_hold_the_same_people():
    clips = _clips(n_per_category=10, identities=4)  # 10 clips, 4 people: 2 test clips per category
    split = paper_split(clips, 0.2, seed=5)
    test = clips[split == "test"]
    people = {c: sorted(g["identity"]) for c, g in test.groupby("category")}
    assert len({tuple(p) for p in people.values()}) == 1
    assert all(len(set(p)) == 2 for p in people.values())  # spread over people, not one twice


def _fakeavceleb_like(n_people=12, seed=0):
    """Fakes made from a source and a target person, as in FakeAVCeleb."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_people):
        src = f"id{i:02d}"
        rows.append({"clip_id": f"r{i}", "category": "RVRA", "identities": src})
        rows.append({"clip_id": f"b{i}", "category": "RVFA", "identities": src})
        for cat in ("FVRA", "FVFA"):
            tgt = f"id{int(rng.integers(n_people)):02d}"
            rows.append({"clip_id": f"{cat}{i}", "category": cat, "identities": f"{src};{tgt}"})
    return pd.DataFrame(rows)


def test_identity_disjoint_leaves_no_person_on_both_sides():
    from avdf.data.splits import identity_disjoint_split

    clips = _fakeavceleb_like(n_people=30)
    split = identity_disjoint_split(clips, 0.2, seed=1)
    people = clips["identities"].str.split(";")
    train = {p for ps in people[split == "train"] for p in ps}
    test = {p for ps in people[split == "test"] for p in ps}
    assert test and train and not (train & test)
    assert 0.15 < (split == "test").mean() < 0.35 and (split == "excluded").mean() < 0.5
    assert split.equals(identity_disjoint_split(clips, 0.2, seed=1))  # same seed, same file


def test_official_split_is_refused_where_there_is_none():
    import pytest

    from avdf.data.splits import SplitError, make

    clips = _clips().assign(official_split="")
    with pytest.raises(SplitError, match="no official test split"):
        make(clips, "official", 0.2, 0)


def test_validation_is_carved_from_training_and_keeps_the_ratio():
    from avdf.data.splits import make

    clips = _clips(n_per_category=20).assign(label=lambda d: (d["category"] != "RVRA").astype(int))
    without = make(clips, "paper", 0.2, seed=0)
    split = make(clips, "paper", 0.2, seed=0, val_fraction=0.25)
    assert split[without == "test"].eq("test").all()  # the test side does not move
    assert set(split[without == "train"]) == {"train", "val"}
    counts = pd.crosstab(clips["category"], split)
    assert (counts["val"] == 4).all() and (counts["train"] == 12).all()  # stratified: 25% of 16


def test_identity_disjoint_validation_shares_no_person_with_training():
    from avdf.data.splits import make

    clips = _fakeavceleb_like(n_people=40).assign(label=lambda d: (d["category"] != "RVRA").astype(int))
    split = make(clips, "identity_disjoint", 0.2, seed=1, val_fraction=0.2)
    people = clips["identities"].str.split(";")
    val = {p for ps in people[split == "val"] for p in ps}
    test = {p for ps in people[split == "test"] for p in ps}
    assert val and not (val & test) and 0.05 < (split == "val").mean() < 0.3
    # a validation person is in training only through a clip that mixes them with a training person
    for ps in people[split == "train"]:
        assert not (set(ps) & val) or set(ps) - val  # no validation person, or a mixed clip
