// Romanian steps of XLM's get-data-nmt.sh, from rsennrich/wmt16-scripts: normalise-romanian.py (cedilla
// to comma-below) and remove-diacritics.py (which assumes that normalisation ran first).

const CEDILLA = /[\u015e\u015f\u0162\u0163]/g;
const CEDILLA_TO_COMMA: Readonly<Record<string, string>> = {
  '\u015e': '\u0218',
  '\u015f': '\u0219',
  '\u0162': '\u021a',
  '\u0163': '\u021b',
};
const DIACRITIC = /[\u0218\u0219\u021a\u021b\u0102\u0103\u00c2\u00e2\u00ce\u00ee]/g;
const WITHOUT_DIACRITIC: Readonly<Record<string, string>> = {
  '\u0218': 'S',
  '\u0219': 's',
  '\u021a': 'T',
  '\u021b': 't',
  '\u0102': 'A',
  '\u0103': 'a',
  '\u00c2': 'A',
  '\u00e2': 'a',
  '\u00ce': 'I',
  '\u00ee': 'i',
};

/** normalise-romanian.py: Ş ş Ţ ţ (cedilla) become Ș ș Ț ț (comma below). */
export function normalizeRomanian(s: string): string {
  return s.replace(CEDILLA, (c) => CEDILLA_TO_COMMA[c]);
}

/** remove-diacritics.py: Ș ș Ț ț Ă ă Â â Î î lose their diacritics (cedilla forms are left: normalise first). */
export function removeRomanianDiacritics(s: string): string {
  return s.replace(DIACRITIC, (c) => WITHOUT_DIACRITIC[c]);
}
