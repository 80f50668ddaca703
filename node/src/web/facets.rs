//! The choices the library's filters offer: every organisation, theme,
//! target group, country and language the practices use. Computed from the
//! library's catalog on the library thread and kept for [`MAX_AGE`]; a stale set is
//! served while a fresh one is computed in the background, so no page waits
//! for it except the very first.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use r2com_protocol::record::Practice;

use super::api::Api;

/// How long a computed set of choices is used before it is recomputed.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// The values in use, each sorted.
#[derive(Debug, Default)]
pub struct Facets {
    pub organisations: Vec<String>,
    pub themes: Vec<String>,
    pub target_groups: Vec<String>,
    pub countries: Vec<String>,
    pub languages: Vec<String>,
}

impl Facets {
    fn of<P: std::borrow::Borrow<Practice>>(practices: impl IntoIterator<Item = P>) -> Facets {
        let mut sets: [BTreeSet<String>; 5] = Default::default();
        for p in practices {
            let p = p.borrow();
            sets[0].insert(p.organisation.clone());
            for (set, values) in
                sets[1..]
                    .iter_mut()
                    .zip([&p.themes, &p.target_groups, &p.countries, &p.languages])
            {
                set.extend(values.iter().cloned());
            }
        }
        let [organisations, themes, target_groups, countries, languages] =
            sets.map(|s| s.into_iter().collect());
        Facets {
            organisations,
            themes,
            target_groups,
            countries,
            languages,
        }
    }
}

/// The cached choices.
#[derive(Default)]
pub struct FacetCache {
    current: Mutex<Option<(Instant, Arc<Facets>)>>,
    refreshing: Arc<AtomicBool>,
}

async fn compute(api: &Api) -> Option<Arc<Facets>> {
    let facets = api
        .handle()
        .with(|lib| lib.with_practice_outlines(|practices| Facets::of(practices)))
        .await
        .ok()?
        .ok()?;
    Some(Arc::new(facets))
}

impl FacetCache {
    /// The choices: cached, or computed now if there are none yet.
    pub async fn get(self: &Arc<Self>, api: &Api) -> Arc<Facets> {
        let cached = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match cached {
            Some((at, f)) if at.elapsed() < MAX_AGE => f,
            Some((_, stale)) => {
                if !self.refreshing.swap(true, Ordering::AcqRel) {
                    let (me, api) = (self.clone(), api.clone());
                    tokio::spawn(async move {
                        if let Some(f) = compute(&api).await {
                            me.store(f);
                        }
                        me.refreshing.store(false, Ordering::Release);
                    });
                }
                stale
            }
            None => {
                let f = compute(api).await.unwrap_or_default();
                self.store(f.clone());
                f
            }
        }
    }

    fn store(&self, f: Arc<Facets>) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), f));
    }

    /// Forget the choices (after a local change), so the next page has them fresh.
    pub fn invalidate(&self) {
        if let Some((at, _)) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            *at = Instant::now() - MAX_AGE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2com_protocol::record::{Evidence, PracticeStatus};

    #[test]
    fn collects_sorted_distinct_values() {
        let practice =
            |org: &str, themes: &[&str], groups: &[&str], countries: &[&str], langs: &[&str]| {
                let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect();
                Practice {
                    id: format!("p-{org}"),
                    title: "T".into(),
                    summary: "s".into(),
                    body: "b".into(),
                    themes: v(themes),
                    target_groups: v(groups),
                    countries: v(countries),
                    languages: v(langs),
                    organisation: org.into(),
                    evidence: Evidence::Promising,
                    contact: String::new(),
                    status: PracticeStatus::Published,
                    created_at: String::new(),
                    updated_at: String::new(),
                    attachments: Vec::new(),
                    translation_of: None,
                    language: None,
                }
            };
        let a = practice("ips", &["b", "a"], &["families"], &["PT"], &["pt", "en"]);
        let b = practice("lmds", &["a"], &[], &["FR"], &["fr"]);
        let f = Facets::of([&a, &b]);
        assert_eq!(f.organisations, ["ips", "lmds"]);
        assert_eq!(f.themes, ["a", "b"]);
        assert_eq!(f.languages, ["en", "fr", "pt"]);
        assert_eq!(f.target_groups, ["families"]);
    }
}
