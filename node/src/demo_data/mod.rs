//! Deterministic demo data: a practice library and a training calendar as
//! the consortium's eight organisations would fill them, as the import
//! file ([`Dataset`]).
//!
//! Practices and events are written in the organisations' languages (fr,
//! pt, it, sq, sv, bg, hu) or in English, with Markdown bodies of half a
//! KB to five KB; events are online or in a partner's city, in that
//! city's IANA zone, some recurring (RRULEs), some cancelled or postponed.
//! Every record passes validation as generated (importing changes
//! nothing).
//!
//! The same arguments give the same bytes on every machine: each record
//! draws from its own ChaCha8 stream of the seed, so the first N records do
//! not depend on how many follow.
//!
//! ```
//! let data = r2com_node::demo_data::generate(20, 5, 1);
//! assert_eq!((data.practices.len(), data.events.len()), (20, 5));
//! let json = r2com_node::demo_data::to_json(&data);
//! assert_eq!(json, r2com_node::demo_data::to_json(&r2com_node::demo_data::generate(20, 5, 1)));
//! ```

mod event;
mod orgs;
mod phrases;
mod text;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use r2com_protocol::record::{Dataset, Evidence, Practice, PracticeStatus};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use orgs::{MAILBOXES, ORGS, TARGET_GROUPS, THEMES};
use text::Texts;

/// `practices` practices (`p-000000`, ...) and `events` events
/// (`e-000000`, ...) drawn from `seed`.
pub fn generate(practices: u32, events: u32, seed: u64) -> Dataset {
    let texts = Texts::new();
    Dataset {
        practices: (0..practices)
            .map(|i| practice(&mut Rng::new(seed, u64::from(i)), &texts, i))
            .collect(),
        events: (0..events)
            .map(|i| event::event(&mut Rng::new(seed, EVENT_STREAMS | u64::from(i)), &texts, i))
            .collect(),
    }
}

/// The dataset as the import file: pretty JSON, a newline at the end.
pub fn to_json(data: &Dataset) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(data).expect("datasets serialize");
    out.push(b'\n');
    out
}

/// Events draw from streams 2^32 + i, practices from streams i.
const EVENT_STREAMS: u64 = 1 << 32;

/// A seeded random source with the few draws the generator needs, built on
/// `next_u64` only (ChaCha's output is fixed; no distribution code whose
/// values could change between crate versions).
struct Rng(ChaCha8Rng);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Rng(rng)
    }

    /// Uniform in `0..n` (the modulo bias is below 2^-50 for our sizes).
    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "drawing from nothing");
        (self.0.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.0.next_u64() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }

    /// `k` distinct items, sorted.
    fn sample<T: Copy + Ord>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut pool = items.to_vec();
        let mut out: Vec<T> = (0..k.min(pool.len()))
            .map(|_| {
                let i = self.below(pool.len());
                pool.swap_remove(i)
            })
            .collect();
        out.sort();
        out
    }
}

/// Practices were written from here on, over about two and a half years.
fn practices_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date")
}

fn utc(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn practice(rng: &mut Rng, texts: &Texts, i: u32) -> Practice {
    let org = rng.pick(&ORGS);
    let language = if rng.chance(60) { org.language } else { "en" };
    let text = texts.get(language);
    let id = format!("p-{i:06}");
    let title = text.topic(rng);
    let summary = {
        let n = rng.range(2, 3);
        text.paragraph(rng, n)
    };
    let body = text.body(
        rng,
        &format!("https://{}.example.org/library/{id}", org.key),
    );
    let themes = {
        let n = rng.range(1, 3);
        rng.sample(&THEMES, n)
    };
    let target_groups = {
        let n = rng.range(1, 3);
        rng.sample(&TARGET_GROUPS, n)
    };
    let mut countries = vec![org.country];
    if rng.chance(30) {
        countries.push(rng.pick(&ORGS).country);
    }
    let mut languages = vec![language];
    if language == "en" && rng.chance(30) {
        languages.push(org.language);
    } else if language != "en" && rng.chance(40) {
        languages.push("en");
    }
    let evidence = *rng.pick(&[
        Evidence::Promising,
        Evidence::Evaluated,
        Evidence::PeerReviewed,
        Evidence::Anecdotal,
        Evidence::NotYetEvaluated,
    ]);
    let contact = format!("{}@{}.example.org", rng.pick(&MAILBOXES), org.key);
    let status = match rng.below(20) {
        0..=2 => PracticeStatus::Draft,
        3..=16 => PracticeStatus::Published,
        _ => PracticeStatus::Archived,
    };
    let created = practices_epoch()
        + Duration::days(rng.below(900) as i64)
        + Duration::seconds(rng.below(86_400) as i64);
    let updated = created
        + Duration::days(rng.below(200) as i64)
        + Duration::seconds(rng.below(86_400) as i64);
    Practice {
        id,
        title,
        summary,
        body,
        themes: owned(themes),
        target_groups: owned(target_groups),
        countries: owned(sorted(countries)),
        languages: owned(sorted(languages)),
        organisation: org.key.to_owned(),
        evidence,
        contact,
        status,
        created_at: utc(created),
        updated_at: utc(updated),
        attachments: Vec::new(),
        translation_of: None,
        language: None,
    }
}

fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
    v.sort_unstable();
    v.dedup();
    v
}

fn owned(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests;
