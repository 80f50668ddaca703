//! The event form: a date, a start time, a duration and a zone instead of
//! typed timestamps, and repetition built from choices (every N days,
//! weeks on chosen weekdays, months or years; for ever, N times or until a
//! date) instead of a typed RRULE. Turned into the record an `add` request
//! carries, or the edits an `edit` request carries, exactly as the CLI
//! builds them from `--starts`, `--duration` and `--rrule`.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::Deserialize;
use serde_json::{json, Value};

use r2com_protocol::control::Edit;
use r2com_protocol::record::Event;

use super::practice_form::{merge_text, normalize_newlines, FieldErrors};

/// Weekday codes of RRULE, Monday first, and their form field names.
pub const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const LOCAL: &str = "%Y-%m-%dT%H:%M:%S";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventForm {
    pub title: String,
    pub description: String,
    /// `YYYY-MM-DD`, in `timezone`.
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    pub hours: String,
    pub minutes: String,
    pub timezone: String,
    pub format: String,
    pub organiser: String,
    pub language: String,
    /// Empty for unlimited.
    pub capacity: String,
    pub location: String,
    pub online_url: String,
    pub status: String,
    /// `""` (once), `DAILY`, `WEEKLY`, `MONTHLY`, `YEARLY`, or `KEEP` (the
    /// current rule, which the choices cannot express).
    pub freq: String,
    pub interval: String,
    pub mo: Option<String>,
    pub tu: Option<String>,
    pub we: Option<String>,
    pub th: Option<String>,
    pub fr: Option<String>,
    pub sa: Option<String>,
    pub su: Option<String>,
    /// `never`, `count` or `until`.
    pub ends: String,
    pub count: String,
    /// `YYYY-MM-DD`: the last day sessions may start on.
    pub until: String,
    /// The current rule, kept when `freq` is `KEEP`.
    pub rule: String,
    /// Take a time that happens twice (autumn) as the earlier one.
    pub fold_earlier: Option<String>,
    /// The description as it was when the form was opened.
    pub base_description: Option<String>,
}

impl EventForm {
    pub fn day(&self, i: usize) -> bool {
        [
            &self.mo, &self.tu, &self.we, &self.th, &self.fr, &self.sa, &self.su,
        ][i]
            .is_some()
    }

    fn set_day(&mut self, code: &str) {
        let on = Some("on".to_owned());
        match code {
            "MO" => self.mo = on,
            "TU" => self.tu = on,
            "WE" => self.we = on,
            "TH" => self.th = on,
            "FR" => self.fr = on,
            "SA" => self.sa = on,
            "SU" => self.su = on,
            _ => {}
        }
    }

    pub fn accept_ambiguous(&self) -> bool {
        self.fold_earlier.is_some()
    }

    /// The form showing an existing event.
    pub fn from_event(e: &Event) -> EventForm {
        let starts = NaiveDateTime::parse_from_str(&e.starts_at, LOCAL).ok();
        let ends = NaiveDateTime::parse_from_str(&e.ends_at, LOCAL).ok();
        let minutes = match (starts, ends) {
            (Some(s), Some(t)) => (t - s).num_minutes(),
            _ => 60,
        };
        let mut f = EventForm {
            title: e.title.clone(),
            description: e.description.clone(),
            date: starts.map(|s| s.date().to_string()).unwrap_or_default(),
            time: starts
                .map(|s| s.time().format("%H:%M").to_string())
                .unwrap_or_default(),
            hours: (minutes / 60).to_string(),
            minutes: (minutes % 60).to_string(),
            timezone: e.timezone.clone(),
            format: super::name_of(&e.format),
            organiser: e.organiser.clone(),
            language: e.language.clone(),
            capacity: e.capacity.map(|c| c.to_string()).unwrap_or_default(),
            location: e.location.clone().unwrap_or_default(),
            online_url: e.online_url.clone().unwrap_or_default(),
            status: super::name_of(&e.status),
            ends: "never".into(),
            interval: "1".into(),
            base_description: Some(e.description.clone()),
            ..Default::default()
        };
        if let Some(rule) = &e.recurrence {
            f.read_rule(rule);
        }
        f
    }

    /// Fill the repetition choices from a rule, or keep it as it is when
    /// the choices cannot express it.
    fn read_rule(&mut self, rule: &str) {
        let keep = |f: &mut EventForm| {
            f.freq = "KEEP".into();
            f.rule = rule.to_owned();
        };
        let tz: Option<chrono_tz::Tz> = self.timezone.parse().ok();
        for part in rule.split(';') {
            let Some((k, v)) = part.split_once('=') else {
                return keep(self);
            };
            match k.to_ascii_uppercase().as_str() {
                "FREQ" if ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"].contains(&v) => {
                    self.freq = v.to_owned()
                }
                "INTERVAL" if v.parse::<u32>().is_ok() => self.interval = v.to_owned(),
                "COUNT" if v.parse::<u32>().is_ok() => {
                    self.ends = "count".into();
                    self.count = v.to_owned();
                }
                "UNTIL" => {
                    let utc = chrono::NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%SZ");
                    match (utc, tz) {
                        (Ok(t), Some(tz)) => {
                            self.ends = "until".into();
                            self.until = chrono::Utc
                                .from_utc_datetime(&t)
                                .with_timezone(&tz)
                                .date_naive()
                                .to_string();
                        }
                        _ => return keep(self),
                    }
                }
                "BYDAY" if v.split(',').all(|d| WEEKDAYS.contains(&d)) => {
                    for d in v.split(',') {
                        self.set_day(d);
                    }
                }
                _ => return keep(self),
            }
        }
        if self.freq.is_empty() || (self.freq != "WEEKLY" && self.day_codes().next().is_some()) {
            keep(self);
        }
    }

    fn day_codes(&self) -> impl Iterator<Item = &'static str> + '_ {
        WEEKDAYS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.day(*i))
            .map(|(_, d)| *d)
    }

    /// The RRULE the choices make (`None`: a single session).
    pub fn rule_text(
        &self,
        errors: &mut FieldErrors,
        msg: &dyn Fn(&str) -> String,
    ) -> Option<String> {
        let freq = self.freq.trim();
        match freq {
            "" => return None,
            "KEEP" => return Some(self.rule.clone()),
            "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY" => {}
            _ => {
                errors.insert("recurrence".into(), msg("event-bad-repeat"));
                return None;
            }
        }
        let mut rule = format!("FREQ={freq}");
        let interval = self.interval.trim();
        if !interval.is_empty() {
            match interval.parse::<u32>() {
                Ok(1) => {}
                Ok(n) if n > 1 => rule.push_str(&format!(";INTERVAL={n}")),
                _ => {
                    errors.insert("interval".into(), msg("event-bad-number"));
                }
            }
        }
        if freq == "WEEKLY" {
            let days: Vec<&str> = self.day_codes().collect();
            if !days.is_empty() {
                rule.push_str(&format!(";BYDAY={}", days.join(",")));
            }
        }
        match self.ends.as_str() {
            "count" => match self.count.trim().parse::<u32>() {
                Ok(n) if n >= 1 => rule.push_str(&format!(";COUNT={n}")),
                _ => {
                    errors.insert("count".into(), msg("event-bad-number"));
                }
            },
            "until" => {
                let day = NaiveDate::parse_from_str(self.until.trim(), "%Y-%m-%d");
                let tz = self.timezone.parse::<chrono_tz::Tz>();
                match (day, tz) {
                    (Ok(d), Ok(tz)) => {
                        // Sessions starting on that day still count.
                        let last = r2com_protocol::calendar::agenda::start_of_day(
                            d.succ_opt().unwrap_or(d),
                            tz,
                        ) - Duration::seconds(1);
                        rule.push_str(&format!(";UNTIL={}", last.format("%Y%m%dT%H%M%SZ")));
                    }
                    _ => {
                        errors.insert("until".into(), msg("event-bad-date"));
                    }
                }
            }
            _ => {}
        }
        Some(rule)
    }

    /// Start and end as the organiser's wall clock (`YYYY-MM-DDTHH:MM:SS`).
    fn times(
        &self,
        errors: &mut FieldErrors,
        msg: &dyn Fn(&str) -> String,
    ) -> Option<(String, String)> {
        let date = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d");
        let time = NaiveTime::parse_from_str(self.time.trim(), "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(self.time.trim(), "%H:%M:%S"));
        let num = |s: &str| {
            let s = s.trim();
            if s.is_empty() {
                Some(0)
            } else {
                s.parse::<i64>().ok().filter(|n| (0..=10_000).contains(n))
            }
        };
        let minutes = match (num(&self.hours), num(&self.minutes)) {
            (Some(h), Some(m)) if h * 60 + m > 0 => Some(h * 60 + m),
            _ => {
                errors.insert("duration".into(), msg("event-bad-duration"));
                None
            }
        };
        let (date, time) = match (date, time) {
            (Ok(d), Ok(t)) => (d, t),
            (Err(_), _) => {
                errors.insert("starts_at".into(), msg("event-bad-date"));
                return None;
            }
            (_, Err(_)) => {
                errors.insert("starts_at".into(), msg("event-bad-time"));
                return None;
            }
        };
        let starts = date.and_time(time);
        let ends = starts + Duration::minutes(minutes?);
        Some((
            starts.format(LOCAL).to_string(),
            ends.format(LOCAL).to_string(),
        ))
    }

    fn capacity(&self, errors: &mut FieldErrors, msg: &dyn Fn(&str) -> String) -> Value {
        match self.capacity.trim() {
            "" => Value::Null,
            n => match n.parse::<u32>() {
                Ok(n) => json!(n),
                Err(_) => {
                    errors.insert("capacity".into(), msg("event-bad-number"));
                    Value::Null
                }
            },
        }
    }

    /// The record to add; `msg` translates the form's own complaints.
    pub fn to_record(&self, msg: &dyn Fn(&str) -> String) -> Result<Value, FieldErrors> {
        let mut errors = FieldErrors::new();
        let times = self.times(&mut errors, msg);
        let capacity = self.capacity(&mut errors, msg);
        let rule = self.rule_text(&mut errors, msg);
        let Some((starts, ends)) = times.filter(|_| errors.is_empty()) else {
            return Err(errors);
        };
        let opt = |s: &str| {
            let s = s.trim();
            if s.is_empty() {
                Value::Null
            } else {
                json!(s)
            }
        };
        let mut v = json!({
            "title": self.title.trim(),
            "description": normalize_newlines(&self.description),
            "starts_at": starts,
            "ends_at": ends,
            "timezone": self.timezone.trim(),
            "format": self.format,
            "organiser": self.organiser.trim(),
            "language": self.language.trim().to_ascii_lowercase(),
            "capacity": capacity,
            "location": opt(&self.location),
            "online_url": opt(&self.online_url),
            "status": self.status,
        });
        if let Some(r) = rule {
            v["recurrence"] = json!(r);
        }
        Ok(v)
    }

    /// The edits that turn `current` into what the form says (the
    /// description merged with what others wrote meanwhile).
    pub fn edits(
        &self,
        current: &Event,
        msg: &dyn Fn(&str) -> String,
    ) -> Result<Vec<Edit>, FieldErrors> {
        let new = self.to_record(msg)?;
        let mut edits = Vec::new();
        let old = serde_json::to_value(current).expect("events serialize");
        let text = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        for field in [
            "title",
            "timezone",
            "starts_at",
            "ends_at",
            "format",
            "organiser",
            "language",
            "capacity",
            "location",
            "online_url",
            "status",
            "recurrence",
        ] {
            let (was, now) = (text(&old[field]), text(&new[field]));
            if was != now {
                edits.push(Edit::Set {
                    field: field.to_owned(),
                    value: now,
                });
            }
        }
        let mine = normalize_newlines(&self.description);
        let now = normalize_newlines(&current.description);
        let base = self
            .base_description
            .as_deref()
            .map(normalize_newlines)
            .unwrap_or_else(|| now.clone());
        match merge_text(&base, &mine, &now) {
            Some(merged) if merged != now => edits.push(Edit::Set {
                field: "description".into(),
                value: merged,
            }),
            Some(_) => {}
            None => {
                let mut errors = FieldErrors::new();
                errors.insert("description".into(), msg("form-conflict"));
                return Err(errors);
            }
        }
        Ok(edits)
    }
}

#[cfg(test)]
#[path = "event_form_tests.rs"]
mod tests;
