"""Peak memory of Stitch: the shots and the story in memory (how Stitch worked before: every shot read
into bytes, the story built in bytes) against files (`video_edit.stitch_to`: shots read from their
temporary files, the story written to one), side by side on the same shots.

Each way runs in its own fresh Python process, so its peak resident set size (`ru_maxrss`) is its own;
the table also gives the process's size once PyAV and Pillow are imported, before any work.

    python -m bench.stitch_memory --shots 4 --seconds 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from bot import video_edit
from tests.videos import sine_frames

MB = 1024 * 1024


def make_shot(path: Path, *, seconds: float, size: tuple[int, int], seed: int, tone: float | None) -> None:
    """A heavy MP4: noise pictures coded losslessly, every frame a keyframe (so its size stays close
    to the raw pictures'), with an AAC tone when `tone` is given."""
    width, height = size
    fps = 24
    pictures = [Image.frombytes("RGB", size, os.urandom(width * height * 3)) for _ in range(4 + seed % 3)]
    with av.open(str(path), mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 1
        stream.options = {"qp": "0", "preset": "ultrafast"}
        sound = output.add_stream("aac", rate=48_000, layout="stereo") if tone else None
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_image(pictures[index % len(pictures)])
            frame.pts, frame.time_base = index, Fraction(1, fps)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
        if sound is not None and tone:
            for chunk in sine_frames(tone, seconds, sample_rate=48_000, layout="stereo"):
                for packet in sound.encode(chunk):
                    output.mux(packet)
            for packet in sound.encode(None):
                output.mux(packet)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(way: str, shots: list[Path], out: Path) -> dict[str, float]:
    """One way of stitching, measured in this (fresh) process."""
    baseline = _peak_mb()
    started = time.perf_counter()
    if way == "memory":
        data = [shot.read_bytes() for shot in shots]  # what the cog did before
        joined = video_edit.stitch(data)
        out.write_bytes(joined)
    else:
        video_edit.stitch_to(shots, out)
    return {
        "baseline_mb": baseline,
        "peak_mb": _peak_mb(),
        "seconds": time.perf_counter() - started,
        "story_mb": out.stat().st_size / MB,
        "story_s": video_edit.duration_seconds(out),
    }


def run(ways: list[str], shots: list[Path], folder: Path) -> dict[str, dict[str, float]]:
    results = {}
    for way in ways:
        out = folder / f"story-{way}.mp4"
        args = [sys.executable, "-m", "bench.stitch_memory", "--child", way, str(out), *map(str, shots)]
        done = subprocess.run(args, check=True, capture_output=True, text=True)
        results[way] = json.loads(done.stdout.strip().splitlines()[-1])
        out.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        way, out, *shots = options.child
        print(json.dumps(child(way, [Path(s) for s in shots], Path(out))))
        return
    width, height = (int(n) for n in options.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="stitch-bench-") as name:
        folder = Path(name)
        cases = {
            "same sound (remux, sound copied)": [440.0] * options.shots,
            "every other shot silent (picture copied, sound re-encoded)": [
                440.0 if n % 2 == 0 else None for n in range(options.shots)
            ],
        }
        print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}")
        for title, tones in cases.items():
            shots = []
            for number, tone in enumerate(tones):
                shot = folder / f"shot-{number}.mp4"
                make_shot(shot, seconds=options.seconds, size=(width, height), seed=number, tone=tone)
                shots.append(shot)
            total = sum(shot.stat().st_size for shot in shots) / MB
            print(f"\n{title}: {len(shots)} shots of {options.seconds:g} s, {total:.1f} MB in all")
            print("| way | after imports | peak RSS | time | story |")
            print("|---|---|---|---|---|")
            for way, r in run(["memory", "files"], shots, folder).items():
                print(
                    f"| {way} | {r['baseline_mb']:.0f} MB | {r['peak_mb']:.0f} MB | {r['seconds']:.1f} s "
                    f"| {r['story_mb']:.1f} MB, {r['story_s']:.1f} s |"
                )
            for shot in shots:
                shot.unlink()
        print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
