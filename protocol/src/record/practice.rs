use serde::{Deserialize, Serialize};

use super::attachment::{self, Attachment};
use super::validate::{self as v, ValidationError};
use crate::ids::{DocId, RecordKind};

/// How well a practice is evidenced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    #[serde(rename = "promising")]
    Promising,
    #[serde(rename = "evaluated")]
    Evaluated,
    #[serde(rename = "peer-reviewed")]
    PeerReviewed,
    #[serde(rename = "anecdotal")]
    Anecdotal,
    #[serde(rename = "not yet evaluated")]
    NotYetEvaluated,
}

/// Publication state of a practice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PracticeStatus {
    Draft,
    Published,
    Archived,
}

/// A practice of the shared library (DATA-MODEL.md, "Practice").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Practice {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// Edited concurrently by several organisations: collaborative text.
    pub body: String,
    pub themes: Vec<String>,
    pub target_groups: Vec<String>,
    pub countries: Vec<String>,
    pub languages: Vec<String>,
    pub organisation: String,
    pub evidence: Evidence,
    pub contact: String,
    pub status: PracticeStatus,
    pub created_at: String,
    pub updated_at: String,
    /// Files attached (references; the bytes live in each node's file store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The practice this one translates (its id): the practices linked so
    /// are one practice in several languages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translation_of: Option<String>,
    /// ISO 639-1 language this practice is written in (required with
    /// `translation_of`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Practice {
    pub fn doc_id(&self) -> DocId {
        DocId::new(RecordKind::Practice, &self.id)
            .unwrap_or_else(|_| panic!("validated practice id {:?}", self.id))
    }

    pub(crate) fn normalize(&mut self) {
        for set in [
            &mut self.themes,
            &mut self.target_groups,
            &mut self.countries,
            &mut self.languages,
        ] {
            set.sort();
            set.dedup();
        }
        attachment::normalize(&mut self.attachments);
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        let e = |field, reason: String| {
            ValidationError::new(RecordKind::Practice, &self.id, field, reason)
        };
        v::record_id(&self.id).map_err(|r| e("id", r))?;
        v::title(&self.title).map_err(|r| e("title", r))?;
        v::text(&self.summary, v::MAX_LONG_TEXT).map_err(|r| e("summary", r))?;
        v::text(&self.body, v::MAX_LONG_TEXT).map_err(|r| e("body", r))?;
        v::labels(&self.themes).map_err(|r| e("themes", r))?;
        v::labels(&self.target_groups).map_err(|r| e("target_groups", r))?;
        for c in &self.countries {
            v::country(c).map_err(|r| e("countries", r))?;
        }
        for l in &self.languages {
            v::language(l).map_err(|r| e("languages", r))?;
        }
        v::member_key(&self.organisation).map_err(|r| e("organisation", r))?;
        v::email(&self.contact).map_err(|r| e("contact", r))?;
        let created = v::utc_timestamp(&self.created_at).map_err(|r| e("created_at", r))?;
        let updated = v::utc_timestamp(&self.updated_at).map_err(|r| e("updated_at", r))?;
        if updated < created {
            return Err(e("updated_at", "must not be before created_at".into()));
        }
        attachment::check_all(&self.attachments).map_err(|r| e("attachments", r))?;
        if let Some(l) = &self.language {
            v::language(l).map_err(|r| e("language", r))?;
        }
        if let Some(of) = &self.translation_of {
            v::record_id(of).map_err(|r| e("translation_of", r))?;
            if *of == self.id {
                return Err(e(
                    "translation_of",
                    "a practice cannot translate itself".into(),
                ));
            }
            if self.language.is_none() {
                return Err(e(
                    "language",
                    "a translation must say its language (language: fr, pt, ...)".into(),
                ));
            }
        }
        Ok(())
    }
}
