/**
 * The words of a user's search text, for PostgreSQL's exact count index (see the `search-words` migration).
 *
 * A word is a maximal run of characters that are not ASCII punctuation, space or control characters: a–z, 0–9 and
 * every non-ASCII character. search_text is lower-cased, so no A–Z is left to split on. A search term made only of
 * word characters can occur in a text only inside one of its words, which is what makes counting through the
 * words exact.
 *
 * The same rule is written for PostgreSQL's regex engine in WORD_SEPARATORS_SQL (backfills and bulk loads split
 * there); test/store/search-words.test.ts checks the two split every kind of string alike.
 */
const SEPARATORS = /[\x00-\x2f\x3a-\x60\x7b-\x7f]+/u;

/** The PostgreSQL regex for the same separators (text cannot hold NUL there). */
export const WORD_SEPARATORS_SQL = '[\\x01-\\x2f\\x3a-\\x60\\x7b-\\x7f]+';

/** Distinct words of a text, sorted: writers insert them in one order, so two new users never deadlock. */
export function searchWords(text: string): string[] {
  return [...new Set(text.split(SEPARATORS).filter((w) => w !== ''))].sort();
}

/** Whether a term is one word (no separator inside), so that it matches a text exactly when it matches a word. */
export function isSingleWord(term: string): boolean {
  return term !== '' && !SEPARATORS.test(term);
}
