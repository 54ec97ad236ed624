#!/usr/bin/env bash
# Makes test/golden/fast-bpe/: BPE codes and vocab learnt by the REAL fastBPE on the demo corpus, and
# tokenized sentences with fastBPE's applybpe output, which test/fast-bpe.test.ts compares FastBpe to.
#
#   tools/make-bpe-golden.sh DATA_DIR FASTBPE_DIR MOSES_DIR [OUT_DIR] [N_CODES]
#
#   DATA_DIR     the demo corpus: `node dist/lib/cli/index.js data --out DATA_DIR` (gettext en -> de;
#                train/valid/test .src = en, .tgt = de). It depends on this machine's gettext catalogs.
#   FASTBPE_DIR  a checkout of github.com/glample/fastBPE (fastBPE/main.cc); `fast` is compiled from it
#                with g++ into a temporary folder.
#   MOSES_DIR    a checkout of github.com/moses-smt/mosesdecoder, or at least its scripts/tokenizer and
#                scripts/share/nonbreaking_prefixes (tokenizer.perl finds the prefixes relative to itself).
#   OUT_DIR      default test/golden/fast-bpe;  N_CODES  default 2000.
#
# What it does, as XLM's get-data-nmt.sh does it:
#   1. tokenizes every split per language with XLM's Moses chain: replace-unicode-punctuation.perl |
#      normalize-punctuation.perl -l L | remove-non-printing-char.perl | tokenizer.perl -l L -no-escape;
#   2. `fast learnbpe N_CODES train.tok.en train.tok.de > codes`;
#   3. `fast applybpe` on both train sides, `fast getvocab train.bpe.en train.bpe.de > vocab` (XLM's
#      FULL_VOCAB);
#   4. picks the golden sentences: every valid and test pair plus every 100th train pair, keeping pairs
#      whose two tokenized sides are non-empty with at most 30 tokens (so valid/test words unseen in
#      train occur), and writes <lang>.tok, <lang>.bpe (`fast applybpe OUT IN codes vocab`) and
#      <lang>.bpe-novocab (`fast applybpe OUT IN codes`) for en and de, line N of each file aligned;
#   5. vocab-small: the first 600 lines of vocab (the most frequent subwords), and <lang>.bpe-small
#      (`fast applybpe OUT IN codes vocab-small`), where fastBPE's vocab limit splits many subwords again;
#   6. edge.tok: hand-written lines (empty, double and leading spaces, tabs, CJK, emoji, combining marks,
#      literal `@@` and `</w>`, long compounds), not Moses-tokenized, with edge.bpe and edge.bpe-novocab.
set -euo pipefail

if [[ $# -lt 3 ]]; then
  sed -n '2,14p' "$0" >&2
  exit 2
fi
DATA=$(realpath "$1")
FASTBPE_DIR=$(realpath "$2")
MOSES=$(realpath "$3")
OUT=$(realpath -m "${4:-test/golden/fast-bpe}")
N_CODES=${5:-2000}
TOK=$MOSES/scripts/tokenizer

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
g++ -std=c++11 -pthread -O3 "$FASTBPE_DIR/fastBPE/main.cc" -I"$FASTBPE_DIR/fastBPE" -o "$WORK/fast"
FAST=$WORK/fast

moses() { # moses LANG < raw > tok
  perl "$TOK/replace-unicode-punctuation.perl" | perl "$TOK/normalize-punctuation.perl" -l "$1" |
    perl "$TOK/remove-non-printing-char.perl" | perl "$TOK/tokenizer.perl" -l "$1" -no-escape -q
}

for split in train valid test; do
  moses en < "$DATA/$split.src" > "$WORK/$split.tok.en"
  moses de < "$DATA/$split.tgt" > "$WORK/$split.tok.de"
done

mkdir -p "$OUT"
"$FAST" learnbpe "$N_CODES" "$WORK/train.tok.en" "$WORK/train.tok.de" > "$OUT/codes"
for l in en de; do
  "$FAST" applybpe "$WORK/train.bpe.$l" "$WORK/train.tok.$l" "$OUT/codes" 2> /dev/null
done
"$FAST" getvocab "$WORK/train.bpe.en" "$WORK/train.bpe.de" > "$OUT/vocab" 2> /dev/null

# Golden pairs: valid, test, every 100th train pair; both sides 1..30 tokens.
for l in en de; do
  cat "$WORK/valid.tok.$l" "$WORK/test.tok.$l" <(awk 'NR % 100 == 0' "$WORK/train.tok.$l") > "$WORK/pick.$l"
done
paste -d '\t' "$WORK/pick.en" "$WORK/pick.de" |
  awk -F '\t' 'NF == 2 { a = split($1, x, " "); b = split($2, y, " "); if (a >= 1 && a <= 30 && b >= 1 && b <= 30) print }' \
    > "$WORK/pairs"
cut -f 1 "$WORK/pairs" > "$OUT/en.tok"
cut -f 2 "$WORK/pairs" > "$OUT/de.tok"

printf '%s\n' '' 'a  b' ' leading and trailing ' 'Ünïcödé naïve façade' '日本語 テキスト' 'emoji 😀👍 test' \
  'word@@ @@ @@@ a@@b' 'café cafe'$'\xcc\x81' 'Internationalisierungsfähigkeitsüberprüfung' 'the the the' \
  'a b c d e' '</w> x</w> </w>y' $'tab\there' 'ßßß ÄÖÜ äöü' 'Übersetzungen übersetzen Übersetzung' \
  '12345 3.14 100%' 'zzzzzzzz qqqq xxxxxxxxxxxxxxxx' > "$OUT/edge.tok"

head -n 600 "$OUT/vocab" > "$OUT/vocab-small"
for l in en de edge; do
  "$FAST" applybpe "$OUT/$l.bpe" "$OUT/$l.tok" "$OUT/codes" "$OUT/vocab" 2> /dev/null
  "$FAST" applybpe "$OUT/$l.bpe-small" "$OUT/$l.tok" "$OUT/codes" "$OUT/vocab-small" 2> /dev/null
  "$FAST" applybpe "$OUT/$l.bpe-novocab" "$OUT/$l.tok" "$OUT/codes" 2> /dev/null
done
wc -l "$OUT"/* >&2
du -sh "$OUT" >&2
