"""One MTCNN for every tracking process of a faces job (issue 30, item 4).

With ``workers`` > 1 the faces stage tracks that many clips at once, one per process: decoding
at detection size, scene cuts, linking and interpolation, the CPU's share of the work. MTCNN runs
once, in a thread of the job's own process, on the GPU when there is one. A worker sends its
keyframes (already at ``detect_max_side``) with the smallest face to seek, and waits. The detector
takes every request waiting, joins the frames of the same size and smallest face, and runs them as
batches of up to ``batch_size`` frames; a batch runs while the next requests gather.

Separate processes each with their own MTCNN on one GPU hold a CUDA context and the weights
apiece and send the GPU many small batches in turn: on an H200 with 16 of them, face tracks took
83% of preprocessing (the issue's measurement). The boxes are MTCNN's either way, up to float
rounding from the batch they ran in (tests/test_shared_detector.py compares them).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from avdf.contracts.input_specs import FacesSpec
from avdf.media import ffmpeg
from avdf.media.faces import FaceTracker, MTCNNDetector


class Client:
    """A worker's detector (FaceTracker's ``detector``): sends frames to the shared MTCNN and waits
    for its answer, raising the detector's error if it failed."""

    def __init__(self, requests, reply, worker: int):
        self.requests, self.reply, self.worker = requests, reply, worker

    def __call__(self, frames: np.ndarray, min_face: int) -> list[tuple]:
        self.requests.put((self.worker, min_face, np.ascontiguousarray(frames)))
        answer = self.reply.get()
        if isinstance(answer, Exception):
            raise answer
        return answer


class SharedDetector:
    """MTCNN serving ``workers`` clients from a thread of this process, while in a ``with`` block."""

    def __init__(self, workers: int, device: str | None = None, batch_size: int = 256, context=None):
        context = context or multiprocessing.get_context("spawn")
        self.requests = context.Queue()
        self.replies = [context.Queue() for _ in range(workers)]
        self.detector = MTCNNDetector(device, batch_size)
        self.batches = self.frames = 0  # how many MTCNN calls, over how many frames
        self.busy_s = 0.0  # seconds spent answering: near the wall time, the detector bounds the stage
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="shared-mtcnn", daemon=True)

    def client(self, worker: int) -> Client:
        return Client(self.requests, self.replies[worker], worker)

    def __enter__(self) -> SharedDetector:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                waiting = [self.requests.get(timeout=0.1)]
            except queue.Empty:
                continue
            with contextlib.suppress(queue.Empty):
                while True:
                    waiting.append(self.requests.get_nowait())
            self.answer(waiting)

    def answer(self, waiting: list[tuple[int, int, np.ndarray]]) -> None:
        """Detect the frames of every waiting request, joined by frame size and smallest face, and
        send each worker its frames' detections (or the error that stopped them)."""
        started, groups = time.perf_counter(), defaultdict(list)
        for worker, min_face, frames in waiting:
            groups[min_face, frames.shape[1:]].append((worker, frames))
        for (min_face, _), requests in groups.items():
            try:
                found = self.detector(np.concatenate([frames for _, frames in requests]), min_face)
                self.batches += -(-len(found) // self.detector.batch_size)
                self.frames += len(found)
            except Exception as e:  # the workers wait for an answer: give them the error
                for worker, _ in requests:
                    self.replies[worker].put(e)
                continue
            at = 0
            for worker, frames in requests:
                self.replies[worker].put(found[at : at + len(frames)])
                at += len(frames)
        self.busy_s += time.perf_counter() - started


_tracker: FaceTracker | None = None  # a tracking worker's own, made by _start_worker


def _start_worker(spec: FacesSpec, requests, replies, ids) -> None:
    import torch

    global _tracker
    torch.set_num_threads(1)  # the worker decodes and links; its one torch op scales frames down
    ffmpeg.set_decode_threads(1)  # one of the job's several decoding processes
    worker = ids.get()
    _tracker = FaceTracker(spec, detector=Client(requests, replies[worker], worker))


def worker_tracker() -> FaceTracker:
    """The FaceTracker of this tracking worker (in a :func:`tracking_pool`'s process)."""
    if _tracker is None:
        raise RuntimeError("worker_tracker() is for the processes of a tracking_pool")
    return _tracker


@contextlib.contextmanager
def tracking_pool(spec: FacesSpec, workers: int, device: str | None = None, batch_size: int = 256):
    """``workers`` tracking processes (spawned: safe beside CUDA) whose FaceTrackers share one
    MTCNN in this process: yields (executor, detector). A task in the executor gets its process's
    tracker from :func:`worker_tracker`."""
    context = multiprocessing.get_context("spawn")
    with SharedDetector(workers, device, batch_size, context) as detector:
        ids = context.Queue()
        for worker in range(workers):
            ids.put(worker)
        initargs = (spec, detector.requests, detector.replies, ids)
        with ProcessPoolExecutor(workers, context, _start_worker, initargs) as executor:
            yield executor, detector
