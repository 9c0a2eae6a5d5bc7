"""Frames in and out for ``gantransfer video``: video files through ffmpeg (the binary that ``imageio-ffmpeg``
ships), folders of frames through Pillow, GIFs out through Pillow.

* :func:`open_input` — a video file (mp4, webm, gif, mov, mkv, avi: whatever ffmpeg reads) or a folder of image
  files, probed before any work: its frame size, rate, frame count (an estimate for files) and whether it has a
  sound track. Not a video, an empty folder, frames of different sizes: one-line ``ValueError``.
* :meth:`VideoInput.frames` — the frames one at a time, ``[h, w, 3]`` float32 in [0, 1], resized to the size
  asked for (by ffmpeg's scaler for files, OpenCV's area filter for folders), never all in memory.
* :func:`encode` — PNG frames to a video file, with the input's sound track where it has one and the container
  takes sound (mp4: AAC, webm: Opus; a GIF has none).

Used by :mod:`gantransfer.tools.video`; taught in ``notebooks/07_applications.ipynb``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import os
import warnings
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image

#: Output suffixes written as video files, and the (video codec, audio codec) of each (``None``: by Pillow).
CONTAINERS = {".mp4": ("libx264", "aac"), ".mov": ("libx264", "aac"), ".mkv": ("libx264", "aac"),
              ".webm": ("libvpx-vp9", "libopus"), ".gif": (None, None)}
#: Image files a folder of frames may hold.
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Frames of a folder are shown at this rate unless told (``--fps``).
FOLDER_FPS = 24.0


class _AskedForThatSize(logging.Filter):
    """imageio-ffmpeg warns when the frames read differ in size from the file's: here they do because we ask ffmpeg
    to scale them (:meth:`VideoInput.frames`); that warning alone is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("The frame size for reading")


logging.getLogger("imageio_ffmpeg").addFilter(_AskedForThatSize())


@contextlib.contextmanager
def _quiet_ffmpeg():
    """Silence two harmless warnings around starting and stopping ffmpeg: JAX's warning that the process forks
    (``subprocess`` execs ffmpeg at once, so no lock is held in the child) and imageio-ffmpeg leaving the pipes
    of an ffmpeg that has already exited to the garbage collector."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()                     # the pipes are finalised here, inside the filter


def frame_name(index: int) -> str:
    """The file name of output frame ``index`` in a folder: ``frame_00000.png``."""
    return f"frame_{index:05d}.png"


def frame_shape(width: int, height: int, size: int, *, multiple: int = 8) -> tuple[int, int]:
    """``(h, w)`` of a ``width × height`` frame scaled so its longest side is about ``size``, both sides multiples
    of ``multiple`` (every method's crop, and the 4:2:0 chroma of video codecs)."""
    scale = size / max(width, height)
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    return h, w


@dataclasses.dataclass
class VideoInput:
    """A probed input: ``path``; ``files`` (the frames of a folder, sorted; ``()`` for a file); ``width``,
    ``height`` (px, as stored), ``fps``, ``count`` (frames; for a file, from its duration), ``audio`` (it has a
    sound track)."""

    path: Path
    files: tuple[Path, ...]
    width: int
    height: int
    fps: float
    count: int
    audio: bool

    @property
    def is_folder(self) -> bool:
        return bool(self.files)

    def frames(self, shape: tuple[int, int]) -> Iterator[np.ndarray]:
        """The frames, ``[h, w, 3]`` float32 in [0, 1], resized to ``shape = (h, w)``."""
        h, w = shape
        if self.is_folder:
            for path in self.files:
                rgb = np.asarray(read_image(path))
                if rgb.shape[:2] != (h, w):
                    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
                yield rgb.astype(np.float32) / 255.0
            return
        with _quiet_ffmpeg():                                   # ffmpeg starts, reads, stops in here
            reader = imageio_ffmpeg.read_frames(str(self.path), output_params=["-vf", f"scale={w}:{h}:flags=area"])
            reader.__next__()                                   # the metadata
            try:
                for raw in reader:
                    yield np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(np.float32) / 255.0
            finally:
                reader.close()
                del reader


def _probe_folder(folder: Path, fps: float | None) -> VideoInput:
    files = tuple(sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file()))
    if not files:
        raise ValueError(f"{folder} holds no frames (image files ending in {', '.join(FRAME_SUFFIXES)})")
    sizes = {}
    for path in files:
        try:
            with Image.open(path) as img:
                sizes.setdefault(img.size, path)
        except (OSError, Image.DecompressionBombError) as err:
            raise ValueError(f"{path} is not an image ({type(err).__name__})") from None
        if len(sizes) > 1:
            (a, pa), (b, pb) = list(sizes.items())[:2]
            raise ValueError(f"frames of different sizes: {pa.name} is {a[0]}×{a[1]} px, {pb.name} {b[0]}×{b[1]} px")
    (width, height), = sizes
    return VideoInput(folder, files, width, height, float(fps or FOLDER_FPS), len(files), False)


def open_input(path: str | os.PathLike, *, fps: float | None = None) -> VideoInput:
    """Probe a video file or a folder of frames (nothing is decoded but the file's header).

    Raises:
      FileNotFoundError: no such file or folder. ValueError: one line: not a video, an empty folder, frames of
      different sizes.
    """
    path = Path(path)
    if fps is not None and not (0 < fps <= 240):
        raise ValueError(f"fps must be in (0, 240]; got {fps}")
    if path.is_dir():
        return _probe_folder(path, fps)
    if not path.is_file():
        raise FileNotFoundError(f"no video or folder of frames at {path}")
    meta = None
    with _quiet_ffmpeg():
        reader = imageio_ffmpeg.read_frames(str(path))
        try:
            meta = reader.__next__()
        except (OSError, RuntimeError, StopIteration):
            pass                             # raised below, once the failed ffmpeg is gone
        finally:
            reader.close()
            del reader
    if meta is None:
        raise ValueError(f"{path} is not a video that ffmpeg can read")
    width, height = meta.get("size") or (0, 0)
    if not width or not height or not meta.get("fps"):
        raise ValueError(f"{path} has no video stream")
    rate = float(fps or meta["fps"])
    count = max(1, int(round(float(meta.get("duration") or 0) * float(meta["fps"]))))
    return VideoInput(path, (), int(width), int(height), rate, count, bool(meta.get("audio_codec")))


def write_frame(folder: Path, index: int, frame: np.ndarray) -> Path:
    """Write ``frame`` ``[h, w, 3]`` in [0, 1] as ``folder/frame_NNNNN.png`` (through a temporary name: an
    interruption leaves no half-written frame)."""
    path = folder / frame_name(index)
    tmp = folder / f".{path.name}.tmp"
    Image.fromarray(np.clip(np.rint(frame * 255), 0, 255).astype(np.uint8)).save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)
    return path


def read_image(path: Path) -> Image.Image:
    """An image file as an RGB PIL image, the file closed."""
    with Image.open(path) as img:
        return img.convert("RGB")


def read_frame(path: Path) -> np.ndarray:
    """A PNG frame written by :func:`write_frame`, ``[h, w, 3]`` float32 in [0, 1]."""
    return np.asarray(read_image(path), np.float32) / 255.0


def encode(frames: Sequence[Path], output: Path, *, fps: float, audio_from: Path | None = None) -> Path:
    """Encode PNG frames into the video file ``output`` (its suffix picks the container, :data:`CONTAINERS`),
    with the sound track of ``audio_from`` (a video file) where given and the container has sound."""
    video_codec, audio_codec = CONTAINERS[output.suffix.lower()]
    if not frames:
        raise ValueError("no frames to encode")
    if video_codec is None:                                    # GIF: Pillow, a palette per frame
        images = [read_image(p) for p in frames]
        images[0].save(output, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(20, int(round(1000 / fps))), loop=0)
        return output
    first = read_image(frames[0])
    writer = imageio_ffmpeg.write_frames(
        str(output), first.size, fps=fps, codec=video_codec, quality=8, macro_block_size=2, ffmpeg_log_level="error",
        audio_path=str(audio_from) if audio_from is not None else None,
        audio_codec=audio_codec if audio_from is not None else None,
        output_params=["-f", {".mkv": "matroska"}.get(output.suffix.lower(), output.suffix.lower()[1:])]
        + ["-t", f"{len(frames) / fps:.6f}"])       # the sound cut to the pictures (-shortest breaks the pipe)
    with _quiet_ffmpeg():
        writer.send(None)
    try:
        for path in frames:
            writer.send(np.asarray(read_image(path)).tobytes())
    finally:
        with _quiet_ffmpeg():
            writer.close()
    return output
