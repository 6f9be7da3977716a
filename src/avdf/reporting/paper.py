"""The numbers MACB-DF's paper reports (Xiong et al., ICMR 2025), transcribed from its tables and
text. They appear in avdf's tables only in columns whose names end in ``_paper``, next to avdf's
own measurements, never in their place.
"""

from __future__ import annotations

# Table 1: (ACC, AUC) per dataset, in percent; None where the paper prints "-".
TABLE1 = {
    "Multiple-Attention": (
        "visual",
        {"DefakeAVMiT": (85.1, 87.3), "FakeAVCeleb": (77.6, 79.3), "DFDC": (82.5, 84.8)},
    ),
    "SLADD": ("visual", {"DefakeAVMiT": (73.3, 77.5), "FakeAVCeleb": (70.5, 72.1), "DFDC": (73.6, 75.2)}),
    "ECAPA-TDNN": ("audio", {"DefakeAVMiT": (70.2, 72.6), "FakeAVCeleb": (59.8, 62.7), "DFDC": (67.3, 69.8)}),
    "AASIST": ("audio", {"DefakeAVMiT": (67.5, 69.8), "FakeAVCeleb": (53.4, 55.1), "DFDC": (64.8, 68.4)}),
    "AVFakeNet": (
        "audio-visual",
        {"DefakeAVMiT": (91.8, 93.7), "FakeAVCeleb": (78.4, 83.4), "DFDC": (82.8, 86.2)},
    ),
    "VFD": ("audio-visual", {"DefakeAVMiT": (93.4, 95.6), "FakeAVCeleb": (81.5, 86.1), "DFDC": (80.9, 85.1)}),
    "BA-TFD": (
        "audio-visual",
        {"DefakeAVMiT": (92.1, 94.9), "FakeAVCeleb": (80.8, 84.9), "DFDC": (79.1, 84.6)},
    ),
    "AVoiD-DF": (
        "audio-visual",
        {"DefakeAVMiT": (95.3, 97.6), "FakeAVCeleb": (83.7, 89.2), "DFDC": (91.4, 94.8)},
    ),
    "MCL": ("audio-visual", {"DefakeAVMiT": (None, None), "FakeAVCeleb": (85.9, 89.2), "DFDC": (97.5, 98.3)}),
    "MACB-DF": (
        "audio-visual",
        {"DefakeAVMiT": (96.8, 98.7), "FakeAVCeleb": (91.7, 93.2), "DFDC": (97.9, 98.8)},
    ),
}
TABLE1_AVG = {  # the paper's own Avg column
    "Multiple-Attention": (81.7, 83.8),
    "SLADD": (72.5, 74.9),
    "ECAPA-TDNN": (65.8, 68.4),
    "AASIST": (61.9, 64.4),
    "AVFakeNet": (84.3, 87.8),
    "VFD": (85.3, 88.9),
    "BA-TFD": (84.0, 88.1),
    "AVoiD-DF": (90.1, 93.9),
    "MCL": (91.7, 93.8),
    "MACB-DF": (95.5, 96.9),
}

# avdf method -> the paper's row it reimplements (None: a row the paper does not have)
PAPER_ROW = {
    "ecapa_tdnn": "ECAPA-TDNN",
    "aasist": "AASIST",
    "mcl": "MCL",
    "macbdf": "MACB-DF",
    "audio_only": None,
    "visual_only": None,
    "av_concat": None,
}
ROW_NAME = {
    "ecapa_tdnn": "ECAPA-TDNN",
    "aasist": "AASIST",
    "mcl": "MCL (avdf, in spirit)",
    "macbdf": "MACB-DF",
    "audio_only": "Audio-only Transformer (avdf)",
    "visual_only": "Visual-only spatiotemporal Transformer (avdf)",
    "av_concat": "Audio-visual concatenation (avdf)",
}
# rows shown with the paper's numbers only, and why avdf does not train them
REPORTED = {
    "Multiple-Attention": "image-level detector on a pretrained EfficientNet; weights cannot be fetched",
    "SLADD": "adversarial self-supervised augmentation on a pretrained Xception; weights cannot be fetched",
    "AVFakeNet": "sizes and training details needed for a faithful reimplementation are not published",
    "VFD": "needs voice-face identity matching pretrained on VoxCeleb, not available offline",
    "BA-TFD": "a temporal localisation model (boundary matching); its clip-level protocol is not described",
    "AVoiD-DF": "no public code, and the description leaves out sizes; its contrastive idea is the MCL row",
}

# Table 2 (ACC, AUC) on FakeAVCeleb and DFDC
TABLE2 = {
    "no_contrastive": {"FakeAVCeleb": (88.5, 90.2), "DFDC": (93.2, 95.1)},
    "no_intra": {"FakeAVCeleb": (90.1, 92.2), "DFDC": (95.5, 96.8)},
    "no_cross": {"FakeAVCeleb": (90.9, 92.8), "DFDC": (96.9, 97.2)},
    "no_fusion_weights": {"FakeAVCeleb": (91.2, 92.8), "DFDC": (97.3, 98.4)},
    "default": {"FakeAVCeleb": (91.7, 93.2), "DFDC": (97.9, 98.8)},
}
TABLE2_NAME = {
    "no_contrastive": "MACB-DF w/o L_C",
    "no_intra": "MACB-DF w/o L_intra",
    "no_cross": "MACB-DF w/o L_cross",
    "no_fusion_weights": "MACB-DF w/o w",
    "default": "MACB-DF",
}

# Table 3: ACC when training on DFDC and testing on DefakeAVMiT and FakeAVCeleb
TABLE3 = {
    "CViT": {"DefakeAVMiT": 47.2, "FakeAVCeleb": 45.5},
    "MesoNet": {"DefakeAVMiT": 57.7, "FakeAVCeleb": 54.1},
    "MDS": {"DefakeAVMiT": 76.5, "FakeAVCeleb": 72.9},
    "AVoiD-DF": {"DefakeAVMiT": 84.4, "FakeAVCeleb": 82.8},
    "MACB-DF": {"DefakeAVMiT": 91.2, "FakeAVCeleb": 89.2},
}
TABLE3_REPORTED = {
    "CViT": "image-level ViT detector on pretrained weights that cannot be fetched",
    "MesoNet": "image-level detector; not part of avdf's Table 1 set",
    "MDS": "modality-dissonance score model; no public code",
    "AVoiD-DF": "no public code, and the description leaves out sizes",
}

# Fig. 5: the text gives only the peak, at depth 6 (ACC).
FIG5_TEXT = {"DFDC": {6: 97.9}, "FakeAVCeleb": {6: 91.7}}

# Temporal localisation on the real test sets, as published (not MACB-DF's paper: each source is
# named), percent; None where the source prints none. results/table_localisation.csv shows them in
# ``_paper`` columns, in rows whose ``data`` says "real test set, published".
LOCALISATION_PUBLISHED = [
    (
        "LAV-DF",
        "BA-TFD+",
        {"ap_0.5": 96.30, "ap_0.75": 84.96, "ap_0.95": 4.44, "ar_100": 81.62},
        "ControlNet/LAV-DF README",
    ),
    (
        "LAV-DF",
        "UMMAFormer",
        {"ap_0.5": 98.83, "ap_0.75": 95.54, "ap_0.95": 37.61, "ar_100": 92.48},
        "UMMAFormer README",
    ),
    (
        "LAV-DF",
        "AuViRe",
        {"ap_0.5": 98.91, "ap_0.75": 96.03, "ap_0.95": 46.50, "ar_100": 94.93},
        "AuViRe README",
    ),
    (
        "AV-Deepfake1M",
        "BA-TFD+",
        {"ap_0.5": 44.42, "ap_0.75": 13.64, "ap_0.95": 0.03, "ar_50": 48.86},
        "AV-Deepfake1M README",
    ),
    (
        "AV-Deepfake1M",
        "UMMAFormer",
        {"ap_0.5": 51.64, "ap_0.75": 28.07, "ap_0.95": 1.58, "ar_50": 44.07},
        "AV-Deepfake1M README",
    ),
    (
        "AV-Deepfake1M",
        "AuViRe",
        {"ap_0.5": 96.55, "ap_0.75": 89.28, "ap_0.95": 11.72, "ar_50": 85.98},
        "AuViRe published metrics",
    ),
]
PUBLISHED_DATA = "real test set, published"
