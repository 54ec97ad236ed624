#!/usr/bin/env bash
# Makes test/golden/moses/: inputs and what the REAL Moses perl scripts and wmt16/XLM python scripts output.
#
# Usage: tools/make-moses-golden.sh MOSES_SCRIPTS WMT16_SCRIPTS [XLM_TOOLS]
#   MOSES_SCRIPTS  mosesdecoder's scripts/ folder (holds tokenizer/ and share/nonbreaking_prefixes/);
#                  the goldens in git were made from commit 34452895f350bf097b21ee514a529a1dc542243c.
#   WMT16_SCRIPTS  rsennrich/wmt16-scripts checkout (holds preprocess/normalise-romanian.py, remove-diacritics.py).
#   XLM_TOOLS      facebookresearch/XLM's tools/ folder (holds lowercase_and_remove_accent.py); default: skip
#                  en.lower.tok. That script imports `six`, which PYTHON must have (no shim is used).
# Env: PYTHON (default python3), LOCALE_DIR (default /usr/share/locale), LANGS (default "en de fr ro es"),
#      N (gettext sentences per language, default 1200).
# Per language: <lang>.in = N deduplicated gettext strings (en: msgids, others: msgstrs; newlines flattened,
# at most 200 characters, picked by hash) + tools/golden-hard-cases.txt + a few generated lines with control
# and invisible characters; <lang>.tok = XLM's chain as get-data-nmt.sh runs it (Romanian steps for ro);
# <lang>.detok = detokenizer.perl -l <lang> on <lang>.tok.
set -euo pipefail

MOSES=${1:?usage: $0 MOSES_SCRIPTS WMT16_SCRIPTS [XLM_TOOLS]}
WMT16=${2:?usage: $0 MOSES_SCRIPTS WMT16_SCRIPTS [XLM_TOOLS]}
XLM_TOOLS=${3:-}
PYTHON=${PYTHON:-python3}
LOCALE_DIR=${LOCALE_DIR:-/usr/share/locale}
LANGS=${LANGS:-en de fr ro es}
N=${N:-1200}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/../test/golden/moses"
mkdir -p "$OUT"
T="$MOSES/tokenizer"

for lg in $LANGS; do
  # gettext strings: en takes the msgids of every catalog of the other languages.
  "$PYTHON" - "$LOCALE_DIR" "$lg" "$N" "$LANGS" > "$OUT/$lg.in" <<'PY'
import gettext, glob, hashlib, os, sys
locale_dir, lg, n, langs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
srcs = [l for l in langs if l != 'en'] if lg == 'en' else [lg]
seen = set()
for src in srcs:
    for mo in sorted(glob.glob(os.path.join(locale_dir, src, 'LC_MESSAGES', '*.mo'))):
        try:
            with open(mo, 'rb') as f:
                cat = gettext.GNUTranslations(f)._catalog
        except Exception:
            continue
        for k, v in cat.items():
            s = (k[0] if isinstance(k, tuple) else k) if lg == 'en' else v
            s = s.replace('\r\n', ' ').replace('\n', ' ').replace('\r', ' ')
            if s.strip() and len(s) <= 200 and not s.startswith('Project-Id-Version'):
                seen.add(s)
for s in sorted(seen, key=lambda s: hashlib.md5(s.encode()).hexdigest())[:n]:
    print(s)
PY
  cat "$HERE/golden-hard-cases.txt" >> "$OUT/$lg.in"
  # Control and invisible characters a text editor would hide: NBSP, soft hyphen, zero-width space, BOM, VT.
  printf 'NBSP: 50\xc2\xa0%% and 10\xc2\xa0km, n\xc2\xba\xc2\xa05, 20\xc2\xa0\xc2\xbaC, what\xc2\xa0? ok\xc2\xa0! a,\xc2\xa0b 1\xc2\xa0000\xc2\xa0000 \xc2\xab\xc2\xa0oui\xc2\xa0\xc2\xbb.\n' >> "$OUT/$lg.in"
  printf 'Soft\xc2\xadhyphen zero\xe2\x80\x8bwidth B\xef\xbb\xbfOM bidi\xe2\x80\x8emark nel\xc2\x85here.\n' >> "$OUT/$lg.in"
  printf 'Ctrl\x01chars\x02and\x1fbell\x07 vertical\x0btab form\x0cfeed end.\n' >> "$OUT/$lg.in"
  printf '\x01\x02\n' >> "$OUT/$lg.in"

  if [ "$lg" = ro ]; then
    romanian=("$PYTHON" "$WMT16/preprocess/normalise-romanian.py")
    diacritics=("$PYTHON" "$WMT16/preprocess/remove-diacritics.py")
  else
    romanian=(cat)
    diacritics=(cat)
  fi
  # get-data-nmt.sh's SRC_PREPROCESSING (-threads only splits the work; -q only silences stderr).
  perl "$T/replace-unicode-punctuation.perl" < "$OUT/$lg.in" \
    | perl "$T/normalize-punctuation.perl" -l "$lg" \
    | perl "$T/remove-non-printing-char.perl" \
    | "${romanian[@]}" | "${diacritics[@]}" \
    | perl "$T/tokenizer.perl" -l "$lg" -no-escape -q > "$OUT/$lg.tok"
  perl "$T/detokenizer.perl" -l "$lg" -q < "$OUT/$lg.tok" > "$OUT/$lg.detok"
  echo "$lg: $(wc -l < "$OUT/$lg.in") lines" >&2
done

if [ -n "$XLM_TOOLS" ] && [ -f "$OUT/en.tok" ]; then
  # get-data-para.sh / get-data-wiki.sh: tokenize.sh $lg | python lowercase_and_remove_accent.py
  "$PYTHON" "$XLM_TOOLS/lowercase_and_remove_accent.py" < "$OUT/en.tok" > "$OUT/en.lower.tok"
fi
