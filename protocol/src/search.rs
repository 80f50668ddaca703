//! Full-text search: case- and diacritic-insensitive, ranked.
//!
//! Text is folded (Unicode NFD, combining marks dropped, lower-cased) once
//! when a record is written, and the query is folded the same way, so
//! "reinsercao" finds "reinserção" and "ЗДРАВЕЙТЕ" finds "здравейте".
//! A record matches when every query word occurs in it; its score weighs a
//! hit in the title 10, in the summary 3 and in the body 1, plus a bonus
//! when the whole query occurs as a phrase.

use memchr::memmem::Finder;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Separates title, summary and body in an indexed text.
pub const FIELD_SEP: char = '\u{1f}';
/// Most words a query may have.
pub const MAX_QUERY_TERMS: usize = 16;

const WEIGHTS: [u32; 3] = [10, 3, 1];

/// Lower-case, strip diacritics.
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == FIELD_SEP { ' ' } else { c })
        .collect()
}

/// What the store keeps for a record: its folded title, summary and body.
pub fn index_text(title: &str, summary: &str, body: &str) -> String {
    let mut s = fold(title);
    s.push(FIELD_SEP);
    s.push_str(&fold(summary));
    s.push(FIELD_SEP);
    s.push_str(&fold(body));
    s
}

/// A folded query.
#[derive(Clone, Debug)]
pub struct Query {
    terms: Vec<String>,
    /// A searcher per term, then one for the phrase: a search scores every
    /// record's text, so each is built once (SIMD substring search).
    finders: Vec<Finder<'static>>,
}

/// Non-overlapping occurrences of `f`'s needle in `text` (what
/// `str::matches(..).count()` counts).
fn count(f: &Finder<'_>, text: &str) -> usize {
    f.find_iter(text.as_bytes()).count()
}

impl Query {
    /// `None` if the query has no words.
    pub fn parse(q: &str) -> Option<Query> {
        let folded = fold(q);
        let terms: Vec<String> = folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .take(MAX_QUERY_TERMS)
            .map(str::to_owned)
            .collect();
        if terms.is_empty() {
            return None;
        }
        let phrase = terms.join(" ");
        let finders = terms
            .iter()
            .chain([&phrase])
            .map(|t| Finder::new(t.as_bytes()).into_owned())
            .collect();
        Some(Query { terms, finders })
    }

    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The score of an indexed text, `None` if some word is missing.
    ///
    /// Records with more query words in their title rank first; then each
    /// word's hits count per field, saturating (the tenth repetition of a
    /// word adds little), weighted title 10, summary 3, body 1; a phrase
    /// match of the whole query adds a bonus.
    pub fn score(&self, indexed: &str) -> Option<u32> {
        let mut fields = indexed.splitn(3, FIELD_SEP);
        let parts = [
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
        ];
        let mut in_title = 0u32;
        let mut total = 0f64;
        let (terms, phrase) = self.finders.split_at(self.terms.len());
        for term in terms {
            let mut found = false;
            for (i, (part, weight)) in parts.iter().zip(WEIGHTS).enumerate() {
                let tf = count(term, part) as f64;
                if tf > 0.0 {
                    found = true;
                    if i == 0 {
                        in_title += 1;
                    }
                    total += f64::from(weight) * 100.0 * tf / (tf + 1.5);
                }
            }
            if !found {
                return None;
            }
        }
        if self.terms.len() > 1 {
            for (part, weight) in parts.iter().zip(WEIGHTS) {
                if phrase[0].find(part.as_bytes()).is_some() {
                    total += f64::from(weight) * 50.0;
                }
            }
        }
        Some(in_title * 10_000 + total.min(9_999.0) as u32)
    }

    /// The first sentence of `text` that contains a query word, cut to about
    /// `max_chars` characters.
    pub fn snippet(&self, text: &str, max_chars: usize) -> String {
        let sentence = text
            .split_inclusive(['.', '\n', '!', '?'])
            .find(|s| {
                let f = fold(s);
                self.terms.iter().any(|t| f.contains(t.as_str()))
            })
            .unwrap_or("")
            .trim();
        let mut out: String = sentence.chars().take(max_chars).collect();
        if sentence.chars().count() > max_chars {
            out.push('…');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_diacritics() {
        assert_eq!(fold("Reinserção"), "reinsercao");
        assert_eq!(fold("ÉDUCATEUR Qëndrueshmëri"), "educateur qendrueshmeri");
        assert_eq!(fold("Здравейте"), "здравеите");
        assert_eq!(fold("Здравейте"), fold("ЗДРАВЕЙТЕ"));
    }

    #[test]
    fn all_words_must_match_and_title_weighs_most() {
        let q = Query::parse("reinsercao  familia").unwrap();
        let in_title = index_text("Reinserção e família", "", "texto");
        let in_body = index_text("Outro", "", "reinserção da família");
        let one_word = index_text("Reinserção", "", "");
        assert!(q.score(&in_title).unwrap() > q.score(&in_body).unwrap());
        assert_eq!(q.score(&one_word), None);
        assert!(Query::parse(" ,; ").is_none());
    }

    #[test]
    fn counts_as_str_matches_does() {
        for (text, term) in [
            ("aaaa", "aa"),
            ("aaaaa", "aa"),
            ("reinsercao reinsercao", "reinser"),
            ("здравеите здр", "здр"),
            ("abcabcab", "abcab"),
            ("", "x"),
        ] {
            let f = Finder::new(term);
            assert_eq!(
                count(&f, text),
                text.matches(term).count(),
                "{term:?} in {text:?}"
            );
        }
    }

    #[test]
    fn snippet_comes_from_the_original_text() {
        let q = Query::parse("reinsercao").unwrap();
        let s = q.snippet("First sentence. Apoio à reinserção social. Last.", 100);
        assert_eq!(s, "Apoio à reinserção social.");
    }
}
