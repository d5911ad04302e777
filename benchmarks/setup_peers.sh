#!/usr/bin/env bash
# Install the peer frameworks for the benchmark harness. Safe to run again.
#
#   bash benchmarks/setup_peers.sh
#
# Creates benchmarks/.venv (kiln and the Python peers) and benchmarks/tfjs/node_modules
# (TensorFlow.js peers). Needs network access to PyPI and the npm registry only.
#
# Apache TVM (apache-tvm) is optional: if it does not install, the harness
# reports tvm as "not installed". Set SKIP_TVM=1 to leave it out.
#
# Not installed: @tensorflow/tfjs-node. Its install script downloads the
# libtensorflow binary from a host outside the npm registry, which this
# machine cannot reach; the TensorFlow.js peers are the pure-JS cpu backend
# and the wasm backend, both plain npm packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install --upgrade pip

# torch is pinned: 2.13.0 is the CPU wheel on this machine's disk; an unpinned
# torch would pull a multi-GB CUDA build.
"${pip[@]}" install "torch==2.13.0"
"${pip[@]}" install numpy tensorflow-cpu onnx onnxruntime threadpoolctl "torch==2.13.0"

# kiln itself, from this checkout (editable: benchmarks measure the working tree)
"${pip[@]}" install -e "$here/.."

if [ "${SKIP_TVM:-0}" != "1" ]; then
    "${pip[@]}" install apache-tvm || echo "apache-tvm did not install; the harness will skip tvm"
fi

(cd "$here/tfjs" && npm install --no-audit --no-fund)

"$venv/bin/python" - <<'PY'
import importlib
for name in ["kiln", "numpy", "tensorflow", "keras", "torch", "onnx", "onnxruntime", "tvm"]:
    try:
        module = importlib.import_module(name)
        print(f"{name:12s} {module.__version__}")
    except Exception as error:  # report, do not fail the setup
        print(f"{name:12s} NOT AVAILABLE: {error}")
PY
echo "peers installed in $venv and $here/tfjs/node_modules"
