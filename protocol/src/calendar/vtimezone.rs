//! VTIMEZONE components generated from chrono-tz: one observance per
//! offset change in the years the calendar spans, found by sampling the
//! zone's offset daily and bisecting to the second. Clients that cannot
//! resolve TZIDs themselves (Outlook) need these.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// Most years one VTIMEZONE covers.
pub const MAX_YEARS: i32 = 30;

/// One observance: from `at` on, the zone's offset is `to` (it was `from`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The instant of the change.
    pub at: DateTime<Utc>,
    /// Offset before, in seconds east of UTC.
    pub from: i32,
    /// Offset after.
    pub to: i32,
    /// Whether the new offset is daylight-saving time.
    pub daylight: bool,
    /// Abbreviation after the change (`WEST`, `CET`), if the zone has one.
    pub name: Option<String>,
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> (i32, bool, Option<String>) {
    let o = tz.offset_from_utc_datetime(&t.naive_utc());
    (
        o.fix().local_minus_utc(),
        !o.dst_offset().is_zero(),
        o.abbreviation().map(str::to_owned),
    )
}

/// The offset changes of `tz` from the start of `first_year` to the end of
/// `last_year` (at most [`MAX_YEARS`] years).
pub fn transitions(tz: Tz, first_year: i32, last_year: i32) -> Vec<Transition> {
    let last_year = last_year.clamp(first_year, first_year + MAX_YEARS - 1);
    let day = |y: i32| {
        Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(y, 1, 1)
                .expect("valid year")
                .and_hms_opt(0, 0, 0)
                .expect("midnight"),
        )
    };
    let end = day(last_year + 1);
    let mut out = Vec::new();
    let mut t = day(first_year);
    let mut cur = offset_at(tz, t);
    while t < end {
        let next = t + Duration::days(1);
        let n = offset_at(tz, next);
        if (n.0, n.1) != (cur.0, cur.1) {
            // Bisect (t, next] to the first second with the new offset.
            let (mut lo, mut hi) = (t.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let m = offset_at(tz, Utc.timestamp_opt(mid, 0).single().expect("in range"));
                if (m.0, m.1) == (cur.0, cur.1) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(Transition {
                at: Utc.timestamp_opt(hi, 0).single().expect("in range"),
                from: cur.0,
                to: n.0,
                daylight: n.1,
                name: n.2.clone(),
            });
        }
        cur = n;
        t = next;
    }
    out
}

fn offset_text(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// The content lines (without line ends) of a VTIMEZONE for `tz` covering
/// `first_year..=last_year`: an observance for the offset in force at the
/// start, then one per change.
pub fn vtimezone_lines(tz: Tz, first_year: i32, last_year: i32) -> Vec<String> {
    let start = Utc
        .with_ymd_and_hms(first_year, 1, 1, 0, 0, 0)
        .single()
        .expect("valid year");
    let (off, dst, name) = offset_at(tz, start);
    let mut obs = vec![Transition {
        at: start,
        from: off,
        to: off,
        daylight: dst,
        name,
    }];
    obs.extend(transitions(tz, first_year, last_year));
    let mut lines = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{}", tz.name())];
    for o in obs {
        let kind = if o.daylight { "DAYLIGHT" } else { "STANDARD" };
        // DTSTART is the local time of the onset, in the offset before it.
        let local = (o.at + Duration::seconds(o.from.into())).naive_utc();
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{}", local.format("%Y%m%dT%H%M%S")));
        lines.push(format!("TZOFFSETFROM:{}", offset_text(o.from)));
        lines.push(format!("TZOFFSETTO:{}", offset_text(o.to)));
        if let Some(n) = o.name {
            lines.push(format!("TZNAME:{}", super::ics::escape_text(&n)));
        }
        lines.push(format!("END:{kind}"));
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines
}

/// The year of an instant in `tz`.
pub fn year_in(tz: Tz, t: DateTime<Utc>) -> i32 {
    t.with_timezone(&tz).year()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_2026_changes_on_the_last_sundays_of_march_and_october() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let t = transitions(paris, 2026, 2026);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].at, Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
        assert_eq!((t[0].from, t[0].to, t[0].daylight), (3600, 7200, true));
        assert_eq!(
            t[1].at,
            Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap()
        );
        assert_eq!(t[1].name.as_deref(), Some("CET"));
        let lines = vtimezone_lines(paris, 2026, 2026);
        assert!(lines.contains(&"DTSTART:20260329T020000".to_owned()));
        assert!(lines.contains(&"DTSTART:20261025T030000".to_owned()));
        assert!(lines.contains(&"TZOFFSETTO:+0200".to_owned()));
    }

    #[test]
    fn zones_without_dst_get_one_standard_observance() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let lines = vtimezone_lines(tokyo, 2026, 2027);
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:STANDARD").count(), 1);
        assert!(lines.contains(&"TZOFFSETTO:+0900".to_owned()));
        assert_eq!(offset_text(-12600), "-0330");
    }
}
