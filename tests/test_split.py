"""The paper's split: stratified random 80:20, reproducible from a seed."""

import pandas as pd

from avdf.data.manifest import paper_split


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
