//! Sentences, titles and Markdown bodies composed from a phrasebook.

use super::phrases::{phrasebook, LANGUAGES};
use super::Rng;

/// One language's phrasebook, split into lists once.
pub(super) struct Text {
    methods: Vec<&'static str>,
    groups: Vec<&'static str>,
    subjects: Vec<&'static str>,
    predicates: Vec<&'static str>,
    endings: Vec<&'static str>,
    headings: Vec<&'static str>,
    formats: Vec<&'static str>,
    venues: Vec<&'static str>,
    colon: &'static str,
}

/// Every language's [`Text`].
pub(super) struct Texts(Vec<(&'static str, Text)>);

impl Texts {
    pub fn new() -> Texts {
        Texts(
            LANGUAGES
                .iter()
                .map(|code| (*code, Text::new(code)))
                .collect(),
        )
    }

    pub fn get(&self, code: &str) -> &Text {
        &self
            .0
            .iter()
            .find(|(c, _)| *c == code)
            .unwrap_or_else(|| panic!("no text for {code:?}"))
            .1
    }
}

fn split(list: &'static str) -> Vec<&'static str> {
    list.split('|').collect()
}

/// The first letter upper-cased.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Text {
    fn new(code: &str) -> Text {
        let b = phrasebook(code);
        let text = Text {
            methods: split(b.methods),
            groups: split(b.groups),
            subjects: split(b.subjects),
            predicates: split(b.predicates),
            endings: split(b.endings),
            headings: split(b.headings),
            formats: split(b.formats),
            venues: split(b.venues),
            colon: b.colon,
        };
        assert_eq!(text.headings.len(), 6, "{code}: six headings");
        assert_eq!(text.formats.len(), 6, "{code}: six event formats");
        text
    }

    /// What a practice or session is about: a method and its group.
    pub fn topic(&self, rng: &mut Rng) -> String {
        format!("{} {}", rng.word(&self.methods), rng.word(&self.groups))
    }

    /// An event title: its format in this language, then the topic.
    pub fn event_title(&self, rng: &mut Rng, format: usize) -> String {
        format!("{}{}{}", self.formats[format], self.colon, self.topic(rng))
    }

    pub fn venue(&self, rng: &mut Rng) -> &'static str {
        rng.word(&self.venues)
    }

    fn push_sentence(&self, rng: &mut Rng, out: &mut String) {
        out.push_str(rng.word(&self.subjects));
        out.push(' ');
        out.push_str(rng.word(&self.predicates));
        out.push(' ');
        out.push_str(rng.word(&self.endings));
        out.push('.');
    }

    /// `sentences` sentences on one line.
    pub fn paragraph(&self, rng: &mut Rng, sentences: usize) -> String {
        let mut s = String::new();
        for i in 0..sentences {
            if i > 0 {
                s.push(' ');
            }
            self.push_sentence(rng, &mut s);
        }
        s
    }

    fn push_heading(&self, out: &mut String, which: usize) {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str("## ");
        out.push_str(self.headings[which]);
        out.push_str("\n\n");
    }

    fn push_paragraphs(&self, rng: &mut Rng, out: &mut String, max: usize) {
        for i in 0..rng.range(1, max) {
            if i > 0 {
                out.push_str("\n\n");
            }
            let n = rng.range(3, 6);
            out.push_str(&self.paragraph(rng, n));
        }
    }

    /// A Markdown body of 0.5 to 5 KB (2 KB on average): context and
    /// approach always, then some of steps (numbered), results (with a
    /// quote), lessons (bullets) and resources (links under `url`).
    pub fn body(&self, rng: &mut Rng, url: &str) -> String {
        let mut s = String::new();
        self.push_heading(&mut s, 0);
        self.push_paragraphs(rng, &mut s, 2);
        self.push_heading(&mut s, 1);
        s.push_str("**");
        s.push_str(&capitalized(&self.topic(rng)));
        s.push_str("**. ");
        self.push_paragraphs(rng, &mut s, 2);
        if rng.chance(70) {
            self.push_heading(&mut s, 2);
            for i in 1..=rng.range(3, 6) {
                s.push_str(&format!("{i}. "));
                self.push_sentence(rng, &mut s);
                s.push('\n');
            }
            s.pop();
        }
        if rng.chance(70) {
            self.push_heading(&mut s, 3);
            self.push_paragraphs(rng, &mut s, 1);
            if rng.chance(40) {
                s.push_str("\n\n> ");
                self.push_sentence(rng, &mut s);
            }
        }
        if rng.chance(50) {
            self.push_heading(&mut s, 4);
            for _ in 0..rng.range(2, 4) {
                s.push_str("- ");
                self.push_sentence(rng, &mut s);
                s.push('\n');
            }
            s.pop();
        }
        if rng.chance(40) {
            self.push_heading(&mut s, 5);
            for i in 1..=rng.range(1, 3) {
                let topic = capitalized(&self.topic(rng));
                s.push_str(&format!("- [{topic}]({url}/{i}.pdf)\n"));
            }
            s.pop();
        }
        s
    }
}
