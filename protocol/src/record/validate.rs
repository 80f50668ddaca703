//! Field rules shared by the record types. Each check returns the reason as
//! a sentence; the record types wrap it into a [`ValidationError`] that names
//! the record and the field.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::ids::{is_valid_record_id, RecordKind};

/// Longest title (DATA-MODEL.md: 1..=300 characters).
pub const MAX_TITLE_CHARS: usize = 300;
/// Longest summary, body or description, in bytes.
pub const MAX_LONG_TEXT: usize = 512 * 1024;
/// Longest theme or target-group label.
pub const MAX_LABEL_CHARS: usize = 100;
/// Most labels in one set.
pub const MAX_LABELS: usize = 64;
/// Longest RRULE.
pub const MAX_RRULE_LEN: usize = 1000;
/// Wall-clock time format of events.
pub const LOCAL_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// A record that breaks a rule: which record, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub kind: RecordKind,
    /// The record id, or `#N` (its position) when it has none.
    pub id: String,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = if self.id.is_empty() { "?" } else { &self.id };
        if self.field.is_empty() {
            write!(f, "{} {}: {}", self.kind, id, self.reason)
        } else {
            write!(
                f,
                "{} {}: field `{}`: {}",
                self.kind, id, self.field, self.reason
            )
        }
    }
}

impl ValidationError {
    pub fn new(kind: RecordKind, id: &str, field: &str, reason: String) -> Self {
        ValidationError {
            kind,
            id: id.to_owned(),
            field: field.to_owned(),
            reason,
        }
    }

    pub(crate) fn from_serde(
        kind: RecordKind,
        id: &str,
        e: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let reason = e.into_inner().to_string();
        // serde_json appends " at line L column C", meaningless for a value.
        let reason = match reason.find(" at line ") {
            Some(i) => reason[..i].to_owned(),
            None => reason,
        };
        ValidationError::new(kind, id, &field, reason)
    }
}

pub(crate) fn record_id(id: &str) -> Result<(), String> {
    if is_valid_record_id(id) {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a valid id (1..=128 characters from A-Z a-z 0-9 - . _ ~)"
        ))
    }
}

fn has_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
}

pub fn title(s: &str) -> Result<(), String> {
    let n = s.chars().count();
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if n > MAX_TITLE_CHARS {
        return Err(format!("{n} characters, at most {MAX_TITLE_CHARS} allowed"));
    }
    if s.chars().any(char::is_control) {
        return Err("must be one line without control characters".into());
    }
    Ok(())
}

pub(crate) fn text(s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!("{} bytes, at most {max} allowed", s.len()));
    }
    if has_control(s) {
        return Err("contains control characters".into());
    }
    Ok(())
}

pub(crate) fn labels(set: &[String]) -> Result<(), String> {
    if set.len() > MAX_LABELS {
        return Err(format!(
            "{} entries, at most {MAX_LABELS} allowed",
            set.len()
        ));
    }
    for l in set {
        if l.trim().is_empty()
            || l.chars().count() > MAX_LABEL_CHARS
            || l.chars().any(char::is_control)
        {
            return Err(format!(
                "{l:?} is not a label (1..={MAX_LABEL_CHARS} characters, one line)"
            ));
        }
    }
    Ok(())
}

/// ISO 3166-1 alpha-2 codes, plus `XK` (Kosovo, user-assigned but in common use).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK";

pub fn country(c: &str) -> Result<(), String> {
    if c.len() == 2 && COUNTRIES.split(' ').any(|k| k == c) {
        Ok(())
    } else {
        Err(format!(
            "{c:?} is not an ISO 3166 alpha-2 country code (upper case, XK for Kosovo)"
        ))
    }
}

pub(crate) fn language(l: &str) -> Result<(), String> {
    if l.len() == 2 && isolang::Language::from_639_1(l).is_some() {
        Ok(())
    } else {
        Err(format!(
            "{l:?} is not an ISO 639-1 language code (fr, pt, sq, ...)"
        ))
    }
}

/// A member's short key (`lmds`, `ips`, ...): 1..=32 of `a-z 0-9 - _`.
pub fn member_key(k: &str) -> Result<(), String> {
    if !k.is_empty()
        && k.len() <= 32
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(format!(
            "{k:?} is not a member short key (1..=32 of a-z 0-9 - _)"
        ))
    }
}

pub(crate) fn email(s: &str) -> Result<(), String> {
    let ok = email_address::EmailAddress::from_str(s)
        .map(|a| a.domain().contains('.') && !s.contains(['<', '>', ' ']))
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not an e-mail address"))
    }
}

/// An RFC 3339 timestamp in UTC (`Z` or `+00:00`).
pub fn utc_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|_| format!("{s:?} is not an RFC 3339 timestamp like 2025-03-01T10:00:00Z"))?;
    if t.offset().local_minus_utc() != 0 {
        return Err(format!("{s:?} must be in UTC (end with Z)"));
    }
    Ok(t.with_timezone(&Utc))
}

pub(crate) fn timezone(s: &str) -> Result<Tz, String> {
    Tz::from_str(s).map_err(|_| format!("{s:?} is not an IANA time zone (Europe/Paris, ...)"))
}

/// Parse a wall-clock time `YYYY-MM-DDTHH:MM:SS`.
pub fn parse_local_time(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s, LOCAL_TIME_FORMAT)
        .map_err(|_| format!("{s:?} is not a local time like 2026-03-10T10:00:00"))
}

/// A wall-clock time in `tz`, as an instant. A time inside a daylight-saving
/// gap does not exist and is refused; an ambiguous one (the repeated hour in
/// autumn) is taken as its first occurrence.
pub(crate) fn local_time(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let naive = parse_local_time(s)?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{s} does not exist in {tz} (clocks skip that hour for daylight saving)"
        )),
    }
}

/// The two UTC offsets of a wall-clock time in `tz` that happens twice
/// (the repeated hour when clocks go back), or `None` if it happens once
/// or not at all.
pub fn ambiguous_offsets(s: &str, tz: Tz) -> Option<(String, String)> {
    let naive = parse_local_time(s).ok()?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Ambiguous(a, b) => {
            Some((a.offset().fix().to_string(), b.offset().fix().to_string()))
        }
        _ => None,
    }
}

pub(crate) fn https_url(s: &str) -> Result<(), String> {
    // The URL parser silently drops tabs and line breaks; a stored URL with
    // them would carry extra lines into every calendar that prints it.
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "{s:?} is not a URL (one word, no control characters)"
        ));
    }
    match url::Url::parse(s) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        Ok(_) => Err(format!("{s:?} must be an https:// URL")),
        Err(e) => Err(format!("{s:?} is not a URL ({e})")),
    }
}

/// An RFC 5545 RRULE value (without the `RRULE:` prefix), checked by the
/// rrule crate against the event's start.
pub(crate) fn rrule(rule: &str, starts_at: &str, tz: &str) -> Result<(), String> {
    if rule.len() > MAX_RRULE_LEN || rule.chars().any(char::is_control) || rule.is_empty() {
        return Err(format!(
            "not an RRULE (one line, 1..={MAX_RRULE_LEN} characters)"
        ));
    }
    if rule.to_ascii_uppercase().starts_with("RRULE:") {
        return Err("write the rule without the RRULE: prefix (FREQ=WEEKLY;COUNT=6)".into());
    }
    let start = parse_local_time(starts_at)?.format("%Y%m%dT%H%M%S");
    let text = format!("DTSTART;TZID={tz}:{start}\nRRULE:{rule}");
    rrule::RRuleSet::from_str(&text)
        .map(|_| ())
        .map_err(|e| format!("{rule:?} is not a valid RRULE: {e}"))
}
