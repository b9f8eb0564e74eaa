#!/usr/bin/env bash
# bench-sdks.sh: issue #9's per-language benchmark. The same tag-and-drop
# module and the reference normalization (CloudTrail -> ECS) in Go,
# AssemblyScript, Rust and C, each family in one interleaved
# `weir bench --compare` run (A = AssemblyScript, the baseline): events/s
# per core with each module's ratio to A, module size, cold start with an
# empty and a warm compilation cache.
#
# Usage (from `make bench-sdks`, which builds the modules and bin/weir):
#   scripts/bench-sdks.sh [extra weir bench flags]
# ROUNDS (12), DURATION (48s: per module, split over the rounds) and
# COLD_STARTS (3) override the defaults; other flags (--json, --html F)
# pass through. The Go and AssemblyScript tag-and-drop modules are what
# `weir new go|assemblyscript` writes, built in bin/bench-sdks (npm
# install fetches asc for the AssemblyScript one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WEIR=$ROOT/bin/weir
WORK=$ROOT/bin/bench-sdks
DATA=(examples/cloudtrail-ecs/data/stratus-red-team/*.json)
FLAGS=(--rounds "${ROUNDS:-12}" --duration "${DURATION:-48s}" --cold-starts "${COLD_STARTS:-3}" --progress never "$@")

mkdir -p "$WORK"
for lang in go assemblyscript; do
	dir=$WORK/tag-$lang
	if [ ! -f "$dir/tag-$lang.wasm" ]; then
		rm -rf "$dir"
		(cd "$WORK" && "$WEIR" new "$lang" "tag-$lang" --sdk "$ROOT" >/dev/null)
		if [ "$lang" = assemblyscript ]; then
			(cd "$dir" && npm install --no-audit --no-fund --silent)
		fi
		(cd "$dir" && "$WEIR" build >/dev/null)
	fi
done

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== tag-and-drop: A = AssemblyScript, B = Rust, C = C, D = Go"
"$WEIR" bench --compare "$WORK/tag-assemblyscript/tag-assemblyscript.wasm" sdk/rust/example/tag_drop.wasm \
	sdk/c/example/tag_drop.wasm "$WORK/tag-go/tag-go.wasm" "${DATA[@]}" "${FLAGS[@]}"
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== reference normalization: A = AssemblyScript, B = Rust, C = C, D = Go"
"$WEIR" bench --compare modules/cloudtrail-ecs-as/cloudtrail-ecs-as.wasm modules/cloudtrail-ecs-rs/cloudtrail-ecs-rs.wasm \
	modules/cloudtrail-ecs-c/cloudtrail-ecs-c.wasm modules/cloudtrail-ecs/cloudtrail-ecs.wasm "${DATA[@]}" "${FLAGS[@]}"
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
