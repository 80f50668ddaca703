//! The practice form: what the browser sends, turned into the record an
//! `add` request carries or the field edits an `edit` request carries (the
//! library validates either exactly as for the CLI).
//!
//! Summary and body are collaborative text. The form carries the text as
//! it was when the page was opened (`base_*`); when someone else changed it
//! meanwhile (on this node or another), the edit is merged three ways, line
//! by line, before it is sent, so that two people editing different
//! paragraphs both keep their words. The library then writes the
//! difference to the current text, as `practice edit --text-file` does.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use r2com_protocol::control::{ApiError, Edit};
use r2com_protocol::record::Practice;

/// Problems to show next to their fields: field name -> message.
pub type FieldErrors = BTreeMap<String, String>;

/// Text fields whose edit conflicts with what others wrote meanwhile.
pub type Conflicts = Vec<&'static str>;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PracticeForm {
    pub title: String,
    pub summary: String,
    pub body: String,
    /// Comma-separated.
    pub themes: String,
    pub target_groups: String,
    pub countries: String,
    pub languages: String,
    pub organisation: String,
    pub evidence: String,
    pub contact: String,
    pub status: String,
    /// The summary and body as they were when the form was opened.
    pub base_summary: Option<String>,
    pub base_body: Option<String>,
}

/// Browsers send text areas with CRLF line ends.
pub fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Items of a comma-separated field, trimmed, without empties.
pub fn items(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// `mine`, made from `base`, applied to `current` (which others may have
/// changed since `base`): the merged text, or `None` when both changed the
/// same lines.
pub fn merge_text(base: &str, mine: &str, current: &str) -> Option<String> {
    if base == current {
        return Some(mine.to_owned());
    }
    if mine == base {
        return Some(current.to_owned());
    }
    diffy::merge(base, mine, current).ok()
}

/// The field a library error names, and its reason: validation messages
/// read "practice p-1: field `title`: reason" (see
/// `record::ValidationError`'s Display).
pub fn field_error(e: &ApiError) -> Option<(String, String)> {
    let (_, rest) = e.message.split_once("field `")?;
    let (field, reason) = rest.split_once("`: ")?;
    Some((field.to_owned(), reason.to_owned()))
}

/// A library refusal as form errors: on its field when it names one, with
/// a general message at the top; other failures as an error page.
pub fn refusal(
    page: &super::page::Page,
    e: ApiError,
) -> Result<(FieldErrors, Option<String>), super::page::Failure> {
    use r2com_protocol::control::ErrorCode;
    if e.code != ErrorCode::Invalid && e.code != ErrorCode::Exists {
        return Err(super::page::Failure::api(page, e));
    }
    let mut errors = FieldErrors::new();
    match field_error(&e) {
        Some((field, reason)) => {
            errors.insert(field, reason);
            Ok((errors, Some(page.t("form-has-errors"))))
        }
        None => Ok((errors, Some(e.message))),
    }
}

impl PracticeForm {
    pub fn from_practice(p: &Practice) -> PracticeForm {
        PracticeForm {
            title: p.title.clone(),
            summary: p.summary.clone(),
            body: p.body.clone(),
            themes: p.themes.join(", "),
            target_groups: p.target_groups.join(", "),
            countries: p.countries.join(", "),
            languages: p.languages.join(", "),
            organisation: p.organisation.clone(),
            evidence: super::name_of(&p.evidence),
            contact: p.contact.clone(),
            status: super::name_of(&p.status),
            base_summary: Some(p.summary.clone()),
            base_body: Some(p.body.clone()),
        }
    }

    /// The record to add (the library gives it its id and times).
    pub fn to_record(&self) -> Value {
        json!({
            "title": self.title.trim(),
            "summary": normalize_newlines(&self.summary),
            "body": normalize_newlines(&self.body),
            "themes": items(&self.themes),
            "target_groups": items(&self.target_groups),
            "countries": items(&self.countries).iter().map(|c| c.to_ascii_uppercase()).collect::<Vec<_>>(),
            "languages": items(&self.languages).iter().map(|c| c.to_ascii_lowercase()).collect::<Vec<_>>(),
            "organisation": self.organisation.trim(),
            "evidence": self.evidence,
            "contact": self.contact.trim(),
            "status": self.status,
        })
    }

    /// The edits that turn `current` into what the form says. Text fields
    /// are merged with what others wrote since the form was opened; a
    /// conflict is reported on its field.
    pub fn edits(&self, current: &Practice) -> Result<Vec<Edit>, Conflicts> {
        let mut edits = Vec::new();
        let mut conflicts = Conflicts::new();
        let mut set = |field: &str, value: String| {
            edits.push(Edit::Set {
                field: field.to_owned(),
                value,
            })
        };
        let texts = [
            (
                "summary",
                &self.summary,
                &self.base_summary,
                &current.summary,
            ),
            ("body", &self.body, &self.base_body, &current.body),
        ];
        let mut text_edits = Vec::new();
        for (field, mine, base, now) in texts {
            let mine = normalize_newlines(mine);
            let now_n = normalize_newlines(now);
            let base = base
                .as_deref()
                .map(normalize_newlines)
                .unwrap_or_else(|| now_n.clone());
            match merge_text(&base, &mine, &now_n) {
                Some(merged) if merged != now_n => text_edits.push((field, merged)),
                Some(_) => {}
                None => conflicts.push(field),
            }
        }
        if self.title.trim() != current.title {
            set("title", self.title.trim().to_owned());
        }
        for (field, form, now) in [
            ("themes", &self.themes, &current.themes),
            ("target_groups", &self.target_groups, &current.target_groups),
        ] {
            if sorted(items(form)) != *now {
                set(field, items(form).join(","));
            }
        }
        let upper: Vec<String> = items(&self.countries)
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if sorted(upper.clone()) != current.countries {
            set("countries", upper.join(","));
        }
        let lower: Vec<String> = items(&self.languages)
            .iter()
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if sorted(lower.clone()) != current.languages {
            set("languages", lower.join(","));
        }
        for (field, form, now) in [
            (
                "organisation",
                self.organisation.trim().to_owned(),
                current.organisation.clone(),
            ),
            (
                "evidence",
                self.evidence.clone(),
                super::name_of(&current.evidence),
            ),
            (
                "contact",
                self.contact.trim().to_owned(),
                current.contact.clone(),
            ),
            (
                "status",
                self.status.clone(),
                super::name_of(&current.status),
            ),
        ] {
            if form != now {
                set(field, form);
            }
        }
        for (field, merged) in text_edits {
            set(field, merged);
        }
        if conflicts.is_empty() {
            Ok(edits)
        } else {
            Err(conflicts)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2com_protocol::control::ErrorCode;
    use r2com_protocol::ids::RecordKind;
    use r2com_protocol::record::ValidationError;

    #[test]
    fn merges_edits_of_different_paragraphs() {
        let base = "Para one.\n\nPara two.\n\nPara three.\n";
        let mine = "Para one, edited here.\n\nPara two.\n\nPara three.\n";
        let theirs = "Para one.\n\nPara two.\n\nPara three, edited there.\n";
        let merged = merge_text(base, mine, theirs).unwrap();
        assert_eq!(
            merged,
            "Para one, edited here.\n\nPara two.\n\nPara three, edited there.\n"
        );
        assert!(merge_text(
            base,
            "Para one, A.\n\nPara two.\n\nPara three.\n",
            "Para one, B.\n\nPara two.\n\nPara three.\n"
        )
        .is_none());
        assert_eq!(merge_text(base, base, theirs).unwrap(), theirs);
    }

    #[test]
    fn finds_the_field_of_a_validation_error() {
        let v = ValidationError::new(
            RecordKind::Practice,
            "p-1",
            "contact",
            "not an e-mail".into(),
        );
        let e = ApiError::from(v);
        assert_eq!(
            field_error(&e),
            Some(("contact".to_owned(), "not an e-mail".to_owned()))
        );
        assert_eq!(
            field_error(&ApiError::new(ErrorCode::Invalid, "no words")),
            None
        );
    }

    #[test]
    fn edits_only_what_changed() {
        let p: Practice = serde_json::from_value(json!({
            "id": "p-1", "title": "T", "summary": "S", "body": "B\n",
            "themes": ["a", "b"], "target_groups": [], "countries": ["FR"], "languages": ["fr"],
            "organisation": "lmds", "evidence": "promising", "contact": "x@example.org",
            "status": "draft", "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-01T10:00:00Z"
        }))
        .unwrap();
        let mut f = PracticeForm::from_practice(&p);
        assert_eq!(f.edits(&p).unwrap(), vec![]);
        f.themes = "b, a".into();
        f.countries = "fr".into();
        f.body = "B\r\nmore\r\n".into();
        f.status = "published".into();
        let edits = f.edits(&p).unwrap();
        assert_eq!(
            edits,
            vec![
                Edit::Set {
                    field: "status".into(),
                    value: "published".into()
                },
                Edit::Set {
                    field: "body".into(),
                    value: "B\nmore\n".into()
                },
            ]
        );
    }
}
