//! Sessions of the training calendar: when, where (online, or a city and
//! its zone), how often, and whether they still take place.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use r2com_protocol::record::{Event, EventFormat, EventStatus};

use super::orgs::ORGS;
use super::text::Texts;
use super::Rng;

/// In phrasebook order.
const FORMATS: [EventFormat; 6] = [
    EventFormat::Workshop,
    EventFormat::Webinar,
    EventFormat::Course,
    EventFormat::StudyVisit,
    EventFormat::Conference,
    EventFormat::PeerExchange,
];

/// Sessions take place over two years from this Monday.
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 5).expect("a valid date")
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid time"))
}

fn wall_clock(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

pub(super) fn event(rng: &mut Rng, texts: &Texts, i: u32) -> Event {
    let org = rng.pick(&ORGS);
    let f = rng.below(FORMATS.len());
    let format = FORMATS[f];
    let language = if rng.chance(60) { org.language } else { "en" };
    let text = texts.get(language);
    let id = format!("e-{i:06}");
    let title = text.event_title(rng, f);
    let description = {
        let n = rng.range(2, 4);
        let mut d = text.paragraph(rng, n);
        if rng.chance(40) {
            let n = rng.range(2, 4);
            d.push_str("\n\n");
            d.push_str(&text.paragraph(rng, n));
        }
        d
    };
    let online = match format {
        EventFormat::Webinar => true,
        EventFormat::StudyVisit | EventFormat::Conference => false,
        _ => rng.chance(40),
    };
    // A study visit may take the group to a partner's city.
    let host = if format == EventFormat::StudyVisit && rng.chance(50) {
        rng.pick(&ORGS)
    } else {
        org
    };
    let (city, timezone) = if online {
        (None, org.zone())
    } else {
        let (city, zone) = rng.pick(host.cities);
        (Some(*city), *zone)
    };

    let mut day = epoch() + Duration::days(rng.below(730) as i64);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day = day.succ_opt().expect("a later day");
    }
    let (starts, ends) = match format {
        EventFormat::Webinar => {
            let s = at(day, *rng.pick(&[9, 10, 11, 14, 16]), *rng.pick(&[0, 0, 30]));
            (s, s + Duration::minutes(*rng.pick(&[60, 90, 120])))
        }
        EventFormat::Workshop | EventFormat::PeerExchange => {
            let s = at(day, *rng.pick(&[9, 10, 13, 14]), *rng.pick(&[0, 0, 30]));
            (
                s,
                s + Duration::minutes(*rng.pick(&[90, 120, 180, 240, 360])),
            )
        }
        EventFormat::Course | EventFormat::StudyVisit | EventFormat::Conference => {
            let days = rng.range(1, 3) as i64;
            (at(day, 9, 0), at(day + Duration::days(days - 1), 17, 30))
        }
    };
    let one_day = starts.date() == ends.date();
    let recurrence = (one_day
        && !matches!(format, EventFormat::StudyVisit | EventFormat::Conference)
        && rng.chance(20))
    .then(|| recurrence(rng, day));
    let status = match rng.below(10) {
        0 => EventStatus::Cancelled,
        1 => EventStatus::Postponed,
        _ => EventStatus::Scheduled,
    };
    let capacity = match format {
        EventFormat::Webinar => *rng.pick(&[None, Some(50), Some(100), Some(250)]),
        EventFormat::Conference => *rng.pick(&[None, Some(80), Some(150), Some(300)]),
        _ => *rng.pick(&[
            None,
            Some(12),
            Some(15),
            Some(20),
            Some(25),
            Some(30),
            Some(40),
        ]),
    };
    let location = city.map(|city| format!("{}, {}, {city}", text.venue(rng), host.name));
    let online_url = online.then(|| format!("https://meet.example.org/{}/{id}", org.key));
    Event {
        id,
        title,
        description,
        starts_at: wall_clock(starts),
        ends_at: wall_clock(ends),
        timezone: timezone.to_owned(),
        format,
        organiser: org.key.to_owned(),
        language: language.to_owned(),
        capacity,
        location,
        online_url,
        status,
        recurrence,
        attachments: Vec::new(),
    }
}

/// An RFC 5545 rule whose first occurrence is `day` itself.
fn recurrence(rng: &mut Rng, day: NaiveDate) -> String {
    let weekday =
        ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][day.weekday().num_days_from_monday() as usize];
    match rng.below(5) {
        0 => format!("FREQ=WEEKLY;COUNT={}", rng.range(4, 10)),
        1 => format!("FREQ=WEEKLY;BYDAY={weekday};COUNT={}", rng.range(6, 12)),
        2 => format!(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday};COUNT={}",
            rng.range(3, 8)
        ),
        3 if day.day() <= 28 => format!(
            "FREQ=MONTHLY;BYMONTHDAY={};COUNT={}",
            day.day(),
            rng.range(3, 6)
        ),
        _ => {
            // The nth such weekday of the month; the fifth is the last.
            let nth = match (day.day() - 1) / 7 + 1 {
                5 => -1,
                n => n as i32,
            };
            format!(
                "FREQ=MONTHLY;BYDAY={nth}{weekday};COUNT={}",
                rng.range(3, 10)
            )
        }
    }
}
