//! The interface's languages: Fluent catalogues in `node/web/locales/<lang>/`
//! compiled into the binary. A partner adds a language by adding a folder
//! with a translated `main.ftl` (its `language-name` and its date formats
//! included); no code changes. Dates and times are formatted with the
//! patterns and the month and day names of the user's locale.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./web/locales",
        fallback_language: "en",
        // No invisible bidi isolation marks around arguments: every
        // language of the consortium is written left to right.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The fallback language.
pub const DEFAULT_LANG: &str = "en";

/// A negotiated interface language.
#[derive(Clone, Debug)]
pub struct Lang {
    id: LanguageIdentifier,
}

/// Every language there is a catalogue for: (code, its own name), by code.
pub fn available() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = LOCALES
        .locales()
        .map(|id| (id.to_string(), LOCALES.lookup(id, "language-name")))
        .collect();
    out.sort();
    out
}

impl Lang {
    /// The language for a request: the user's choice if it has a catalogue,
    /// else the first of the browser's `Accept-Language` that has one, else
    /// English.
    pub fn negotiate(choice: Option<&str>, accept_language: Option<&str>) -> Lang {
        let have: Vec<LanguageIdentifier> = LOCALES.locales().cloned().collect();
        let find = |tag: &str| -> Option<LanguageIdentifier> {
            let want: LanguageIdentifier = tag.trim().parse().ok()?;
            have.iter()
                .find(|h| **h == want)
                .or_else(|| have.iter().find(|h| h.language == want.language))
                .cloned()
        };
        if let Some(id) = choice.and_then(find) {
            return Lang { id };
        }
        let mut offered: Vec<(f32, &str)> = accept_language
            .unwrap_or("")
            .split(',')
            .take(32)
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty() && tag != "*").then_some((q, tag))
            })
            .collect();
        offered.sort_by(|a, b| b.0.total_cmp(&a.0));
        let id = offered
            .into_iter()
            .find_map(|(_, tag)| find(tag))
            .unwrap_or_else(|| DEFAULT_LANG.parse().expect("the default language"));
        Lang { id }
    }

    /// The language tag (`fr`), for `<html lang>`.
    pub fn code(&self) -> String {
        self.id.to_string()
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(&self.id, key)
    }

    /// The message `key` with arguments.
    pub fn ta(&self, key: &str, args: &[(&'static str, String)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.clone())))
            .collect();
        LOCALES.lookup_with_args(&self.id, key, &map)
    }

    /// The message `key` with a number (plural forms follow the language).
    pub fn tn(&self, key: &str, name: &'static str, n: usize) -> String {
        let mut map: HashMap<Cow<'static, str>, FluentValue> = HashMap::new();
        map.insert(Cow::Borrowed(name), FluentValue::from(n));
        LOCALES.lookup_with_args(&self.id, key, &map)
    }

    fn chrono_locale(&self) -> chrono::Locale {
        let name = self.t("chrono-locale");
        chrono::Locale::try_from(name.as_str()).unwrap_or(chrono::Locale::en_GB)
    }

    fn format(&self, pattern_key: &str, f: impl Fn(&str, chrono::Locale) -> String) -> String {
        f(&self.t(pattern_key), self.chrono_locale())
    }

    /// A date, long (`mardi 10 mars 2026`).
    pub fn date_long(&self, d: NaiveDate) -> String {
        self.format("format-date-long", |p, l| {
            d.format_localized(p, l).to_string()
        })
    }

    /// A month and year (`mars 2026`).
    pub fn month_year(&self, d: NaiveDate) -> String {
        self.format("format-month-year", |p, l| {
            d.format_localized(p, l).to_string()
        })
    }

    /// The short name of a weekday (0 = Monday).
    pub fn weekday_short(&self, monday_based: u32) -> String {
        // 2024-01-01 was a Monday.
        let d = NaiveDate::from_ymd_opt(2024, 1, 1 + monday_based).expect("a day");
        d.format_localized("%a", self.chrono_locale()).to_string()
    }

    /// A time of day (`14:30` or `2:30 PM`).
    pub fn time(&self, t: &DateTime<FixedOffset>) -> String {
        self.format("format-time", |p, l| t.format_localized(p, l).to_string())
    }

    /// A date and time (`10 mars 2026, 14:30`).
    pub fn date_time(&self, t: &DateTime<FixedOffset>) -> String {
        self.format("format-date-time", |p, l| {
            t.format_localized(p, l).to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_and_translates() {
        let fr = Lang::negotiate(None, Some("fr-CH, fr;q=0.9, en;q=0.8"));
        assert_eq!(fr.code(), "fr");
        let pt = Lang::negotiate(Some("pt"), Some("fr"));
        assert_eq!(pt.code(), "pt");
        let en = Lang::negotiate(Some("tlh"), Some("de-DE,*;q=0.1"));
        assert_eq!(en.code(), "en");
        let weighted = Lang::negotiate(None, Some("en;q=0.2, pt-BR;q=0.8"));
        assert_eq!(weighted.code(), "pt");
        assert_eq!(fr.t("nav-library"), "Bibliothèque");
        let d = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        assert_eq!(fr.date_long(d), "mardi 10 mars 2026");
        assert_eq!(pt.month_year(d), "março de 2026");
        assert_eq!(en.weekday_short(0), "Mon");
        let codes: Vec<String> = available().into_iter().map(|(c, _)| c).collect();
        for c in ["en", "fr", "pt"] {
            assert!(codes.contains(&c.to_owned()), "{codes:?}");
        }
    }

    #[test]
    fn every_language_has_every_message() {
        // A missing message falls back to English silently; catch it here.
        let source = |lang: &str| {
            std::fs::read_to_string(format!(
                "{}/web/locales/{lang}/main.ftl",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let ids = |text: &str| -> std::collections::BTreeSet<String> {
            text.lines()
                .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
                .filter_map(|l| l.split_once(" =").map(|(k, _)| k.trim().to_owned()))
                .collect()
        };
        let en = ids(&source("en"));
        for (code, _) in available() {
            let other = ids(&source(&code));
            let missing: Vec<_> = en.difference(&other).collect();
            assert!(missing.is_empty(), "{code} lacks {missing:?}");
        }
    }
}
