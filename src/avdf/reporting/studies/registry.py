"""The study registry: every table and figure, as one entry that says what it needs and makes.

A study's module (``avdf/reporting/studies/<name>.py``) defines which evaluations it reads and
calls :func:`register` with a :class:`Study`; the package's imports are the registry's one line
per module. The command line (``avdf table NAME``), the workflow's rules and targets and
``results/metrics.json`` all iterate over the registry. The functions that build a study's files
are named as ``"module:function"`` and imported only when they run (the code fingerprints follow
such names, avdf.contracts.fingerprints), so the workflow plans without importing them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from avdf.contracts.named import add_once
from avdf.contracts.variants import Eval


@dataclasses.dataclass(frozen=True)
class Study:
    name: str  # ``avdf table NAME``
    evals: Callable[[dict], list[Eval]]  # params -> the evaluations it reads (each implies its run)
    table: str  # "module:function" writing its CSV: f(input files, spec, out_csv)
    output: str = ""  # results/<output>.csv ("" = its name)
    section: str = ""  # the params.yaml ``studies`` entry it reads ("" = its name)
    figure: str = ""  # "module:function" drawing its figures from the CSV: f(csv, *pngs)
    figures: tuple[str, ...] = ()  # results/<figure>.png, in the order ``figure`` takes them
    metrics: bool = False  # its numbers go into results/metrics.json
    rule: str = "table"  # the rule that builds it: the generic ``table``, or a rule of its own
    spec_sections: tuple[str, ...] = ()  # params.yaml sections its table function reads besides the study
    optional: bool = False  # left out of ``all`` when it has no evaluations (no dataset for it)

    @property
    def csv(self) -> str:
        return f"results/{self.output or self.name}.csv"

    @property
    def pngs(self) -> list[str]:
        return [f"results/{f}.png" for f in self.figures]

    @property
    def params_section(self) -> str:
        return self.section or self.name


STUDIES: dict[str, Study] = {}


def register(study: Study) -> Study:
    return add_once(STUDIES, study.name, study, "study")
