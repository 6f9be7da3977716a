"""A new table: Table 1's AUC over seeds, its mean and spread per dataset and method (recipe test)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from avdf.reporting.studies.paper import table1
from avdf.reporting.studies.registry import Study, register


def table(eval_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    runs = pd.DataFrame([json.loads(Path(p).read_text()) for p in eval_jsons])
    frame = runs.groupby(["train_dataset", "method"])["auc"].agg(["mean", "std", "count"]).reset_index()
    frame.assign(data=spec["data_label"]).to_csv(out_csv, index=False)
    return frame


register(Study("table_seed_spread", table1, "avdf.reporting.studies.table_seed_spread:table"))
