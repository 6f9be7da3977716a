"""The preprocessing stages, one module each, each over one dataset (or one shard of it).

Data flow (each stage reads the previous stage's index and writes its own)::

    manifest -> demux (WAV + how to read the video) -> face_tracks -> face_crops (JPEG .npz)
                                                   \\-> log_mel (float16 .npy)

Each stage applies one piece of the clip pipeline (avdf.data.clip_pipeline) to every clip through the
resumable runner (avdf.contracts.stage_runner). A module per stage gives each its own code fingerprint
(avdf.contracts.fingerprints): editing the face tracker reruns face tracks and what follows, not demux.
"""
