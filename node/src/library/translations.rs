//! Practices linked across languages: a practice names the one it
//! translates (`translation_of`) and its `language`; the practices linked
//! so, directly or through each other, are one practice in several
//! languages. List and show name the other languages; search finds a
//! practice through any of them.

use std::collections::{BTreeMap, HashMap};

use r2com_protocol::control::Translation;
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Practice;

use super::{Library, LibraryError};

/// Longest chain of `translation_of` links followed (a translation of a
/// translation ...); a longer one, or a cycle, ends there.
const MAX_HOPS: usize = 8;

/// Every practice's group of translations.
#[derive(Default)]
pub struct Groups {
    /// Practice id -> the id its chain of links ends at.
    root: HashMap<String, String>,
    /// Root id -> the group's practices (id order).
    members: BTreeMap<String, Vec<Translation>>,
}

/// What grouping reads of a practice.
pub struct Link {
    id: String,
    translation_of: Option<String>,
    language: Option<String>,
}

impl Link {
    pub fn of(p: Practice) -> Link {
        Link {
            id: p.id,
            translation_of: p.translation_of,
            language: p.language,
        }
    }
}

impl Groups {
    pub fn of(practices: Vec<Link>) -> Groups {
        let link: HashMap<&str, &str> = practices
            .iter()
            .filter_map(|p| Some((p.id.as_str(), p.translation_of.as_deref()?)))
            .collect();
        let mut g = Groups::default();
        for p in &practices {
            let mut at = p.id.as_str();
            for _ in 0..MAX_HOPS {
                match link.get(at) {
                    Some(next) if *next != p.id => at = next,
                    _ => break,
                }
            }
            g.root.insert(p.id.clone(), at.to_owned());
            g.members
                .entry(at.to_owned())
                .or_default()
                .push(Translation {
                    id: p.id.clone(),
                    language: p.language.clone(),
                });
        }
        for m in g.members.values_mut() {
            m.sort();
        }
        g
    }

    /// The other practices of `id`'s group.
    pub fn others(&self, id: &str) -> Vec<Translation> {
        self.root
            .get(id)
            .and_then(|r| self.members.get(r))
            .map(|m| m.iter().filter(|t| t.id != id).cloned().collect())
            .unwrap_or_default()
    }
}

impl Library {
    /// Practice `id` in the other languages.
    pub fn translations(&self, id: &str) -> Result<Vec<Translation>, LibraryError> {
        self.show(RecordKind::Practice, id)?;
        self.catalog.read(&*self.store, |c| c.groups().others(id))
    }
}
