#!/usr/bin/env bash
# The GPU check, in one go: the CUDA tests, then the whole benchmark (its gpu part included).
#
#   bash benchmarks/gpu.sh [DATA_DIR [BENCHMARK ARGS...]]   # from the repository root, with CUDA
#
# Uses the machine's own python3 and torch (any torch >= 2.2 with CUDA) and installs nothing
# globally: if .whl/ holds wheels (textual & co. for the TUI part), they go into a private folder
# on PYTHONPATH. DATA_DIR holds the four Fashion-MNIST IDX files (default .gpu-data, else the
# bundled sample). Logs and the JSON table go to $OUT (default benchmarks/out).
set -uo pipefail
OUT=${OUT:-benchmarks/out}
DATA_DIR=${1:-.gpu-data}
shift || true
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/dae-tui-site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/dae-tui-site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'device', torch.cuda.get_device_name(0), 'cpu threads', torch.get_num_threads())" | tee -a "$OUT/gpu.txt"

echo "== CUDA tests"
python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/unit/test_speed_paths.py tests/unit/test_engine.py \
    2>&1 | tee "$OUT/tests.log" | tail -6

echo "== benchmark"
args=(--json "$OUT/bench.json")
[ -d "$DATA_DIR" ] && args+=(--data-dir "$DATA_DIR")
python3 -m benchmarks.run "${args[@]}" "$@" 2>&1 | tee "$OUT/bench.log"

echo "== packed trials (issue 21): 16 trials as one stacked model against 16 one after another, one GPU"
pack_data=(--source bundled)
[ -d "$DATA_DIR" ] && pack_data=(--dataset fashion-mnist --source local --data-dir "$DATA_DIR")
for model in seed unet; do
    python3 -m benchmarks.pack --device cuda --members 16 --model "$model" --epochs 2 --rounds 3 \
        "${pack_data[@]}" --json "$OUT/pack-$model.json" 2>&1 | tee -a "$OUT/pack.log"
done
echo "== sweep --jobs 2 --pack 16 on one GPU (a space of per-member settings only, so packs form)"
printf 'lr = {log = [1e-4, 1e-2]}\nweight_decay = {log = [1e-6, 1e-3]}\n' >"$OUT/pack-space.toml"
python3 -m dae_tui sweep --device cuda --gpus 0 --jobs 2 --pack 16 --trials 32 --epochs 2 \
    --no-prune --space "$OUT/pack-space.toml" --runs-dir "$OUT/sweep-pack" "${pack_data[@]}" \
    2>&1 | tee "$OUT/sweep-pack.log" | tail -25
