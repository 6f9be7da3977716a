"""The shortcut audit finds a leading-silence shortcut planted in fakes, and trim_silence removes it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import demux_spec

from avdf.data import manifest
from avdf.evaluation import audit
from avdf.media.ffmpeg import encode_clip
from avdf.media.silence import leading_silence
from avdf.stages import demux
from avdf.synthetic import generator as synthetic


def test_leading_silence_is_measured():
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    audio = np.concatenate([np.zeros(int(0.4 * rate)), tone]).astype(np.float32)
    assert leading_silence(audio, rate) == pytest.approx(0.4, abs=0.021)
    assert leading_silence(tone.astype(np.float32), rate) == 0.0
    assert leading_silence(np.zeros(rate, np.float32), rate) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def planted(tmp_path_factory, tiny_synth_cfg):
    """Three real clips, and three fakes that start with 0.3 s of silence (and frozen frames)."""
    root = tmp_path_factory.mktemp("audit")
    people = synthetic.identities(0, "dfdc", 3)
    rows = []
    for i in range(6):
        frames, audio = synthetic.render_clip(
            tiny_synth_cfg, "dfdc", people[i % 3], people[(i + 1) % 3], "A", np.random.default_rng(i)
        )
        fake = i >= 3
        if fake:
            audio = np.concatenate([np.zeros(int(0.3 * 16000), audio.dtype), audio])
            frames = np.concatenate([np.repeat(frames[:1], 8, 0), frames])
        path = root / f"clip {i}.mp4"
        encode_clip(frames, audio, 16000, 25, path)
        rows.append(
            {c: "" for c in manifest.COLUMNS}
            | {
                "clip_id": f"c{i}",
                "path": str(path),
                "label": int(fake),
                "category": "FVFA" if fake else "RVRA",
                "identity": f"p{i % 3}",
                "identities": f"p{i % 3}",
                "split": "train",
            }
        )
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    return root


@pytest.mark.parametrize("trim", [False, True])
def test_planted_silence_is_flagged_and_trimming_removes_it(planted, trim, caplog):
    out = planted / f"trim{trim}"
    demux.run(str(planted / "m.csv"), str(out / "demux"), str(out / "demux.csv"), demux_spec(trim))
    table = audit.audit(
        "planted",
        str(planted / "m.csv"),
        str(out / "demux.csv"),
        str(out / "demux"),
        {"warn_auc": 0.8, "silence_db": -20.0},
        "synthetic",
        str(out / "a.csv"),
        str(out / "a.png"),
    ).set_index("predictor")
    silence = table.loc["leading_silence_s"]
    if not trim:
        assert silence["auc"] == 100.0 and silence["shortcut"]
        assert "SHORTCUT in planted: leading_silence_s" in caplog.text
    else:
        assert silence["fake_median"] < 0.05 and not silence["shortcut"]
    assert (out / "a.png").stat().st_size > 0
