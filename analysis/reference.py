"""The published results the study compares with: the ACAT 2019 slides of Domine & Terao.

Values are copied from the slides (docs/study.md §5 and §6), in percent.
"""

from __future__ import annotations

from lartpc_seg.labels import Label

#: Non-zero accuracy per class in percent, from the ACAT 2019 slides of Domine & Terao
#: (docs/study.md §5), by column key and class.
PAPER_ACCURACY_PCT: dict[str, dict[Label, float]] = {
    "regular_regular": dict(zip(Label, (98.0, 99.4, 99.4, 85.7, 56.6), strict=True)),
    "regular_relabeled": dict(zip(Label, (98.1, 99.2, 97.9, 94.8, 94.4), strict=True)),
    "relabeled_relabeled": dict(zip(Label, (98.1, 99.4, 99.2, 96.0, 94.7), strict=True)),
    "weighted_relabeled": dict(zip(Label, (99.3, 98.1, 99.2, 97.2, 95.7), strict=True)),
}


#: The ACAT 2019 slide's results, percent (docs/study.md §6).
PAPER_ROW = {
    "variant": "paper (ACAT 2019)",
    "sample": 7105,
    "id_purity": 98.8,
    "id_efficiency": 93.9,
    "cluster_purity": 97.3,
    "cluster_efficiency": 96.1,
}
