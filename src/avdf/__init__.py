"""avdf: reproducible audio-visual deepfake detection, from raw video to tables."""

__version__ = "0.1.0"
