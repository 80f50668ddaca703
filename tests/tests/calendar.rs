//! The training calendar on real nodes: the iCalendar export read back by an
//! independent parser (the `ical` crate), every session on the right UTC
//! instant across the March and October changes in several zones, text
//! escaping, the whole generated dataset, the live HTTP feed, and the
//! refusal of ambiguous local times.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use ical::parser::ical::component::{IcalCalendar, IcalEvent, IcalTimeZone};
use ical::property::Property;
use r2com_tests::{gen_dataset, wait_for, TestNode};
use serde_json::{json, Value};

fn event(id: &str, tz: &str, starts: &str, ends: &str, rule: Option<&str>) -> Value {
    let mut e = json!({
        "id": id, "title": format!("Session {id}"), "description": "",
        "starts_at": starts, "ends_at": ends, "timezone": tz, "format": "webinar",
        "organiser": "ips", "language": "en", "capacity": null, "location": null,
        "online_url": "https://meet.example.org/x", "status": "scheduled"
    });
    if let Some(r) = rule {
        e["recurrence"] = json!(r);
    }
    e
}

fn import(node: &TestNode, events: Vec<Value>) {
    let path = node.data_dir().join("events.json");
    let data = json!({"practices": [], "events": events});
    std::fs::write(&path, serde_json::to_vec(&data).unwrap()).unwrap();
    node.ok(&["import", path.to_str().unwrap()]);
}

fn parse(text: &str) -> IcalCalendar {
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    let cal = parser.next().expect("one calendar").expect("parses");
    assert!(parser.next().is_none(), "exactly one calendar");
    cal
}

fn prop<'a>(props: &'a [Property], name: &str) -> Option<&'a Property> {
    props.iter().find(|p| p.name == name)
}

fn value<'a>(props: &'a [Property], name: &str) -> &'a str {
    prop(props, name)
        .and_then(|p| p.value.as_deref())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn param<'a>(p: &'a Property, name: &str) -> Option<&'a str> {
    p.params
        .as_ref()?
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// RFC 5545 TEXT unescaping, written here independently of the node.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn offset_secs(s: &str) -> i64 {
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let d = &s[1..];
    let h: i64 = d[0..2].parse().unwrap();
    let m: i64 = d[2..4].parse().unwrap();
    let sec: i64 = if d.len() >= 6 {
        d[4..6].parse().unwrap()
    } else {
        0
    };
    sign * (h * 3600 + m * 60 + sec)
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S").unwrap()
}

/// A local time in a VTIMEZONE, as an instant: the observance in force is
/// the latest one whose onset is not after the time (earlier reading of a
/// repeated hour). Uses only what the file says.
fn resolve(tz: &IcalTimeZone, t: NaiveDateTime) -> DateTime<Utc> {
    let mut best: Option<(NaiveDateTime, i64)> = None;
    for o in &tz.transitions {
        let onset = local(value(&o.properties, "DTSTART"));
        let from = offset_secs(value(&o.properties, "TZOFFSETFROM"));
        let to = offset_secs(value(&o.properties, "TZOFFSETTO"));
        // Onset as an instant, then as the new local clock.
        let onset_utc = onset - chrono::Duration::seconds(from);
        let applies = t - chrono::Duration::seconds(to) >= onset_utc;
        if applies && best.is_none_or(|(b, _)| onset_utc > b) {
            best = Some((onset_utc, to));
        }
    }
    let (_, to) = best.expect("an observance covers the time");
    Utc.from_utc_datetime(&(t - chrono::Duration::seconds(to)))
}

/// Sessions of a `FREQ=WEEKLY;COUNT=n` event, in the exported file's terms.
fn weekly_instants(cal: &IcalCalendar, ev: &IcalEvent) -> Vec<DateTime<Utc>> {
    let start = prop(&ev.properties, "DTSTART").unwrap();
    let tzid = param(start, "TZID").expect("DTSTART has a TZID");
    let vtz = cal
        .timezones
        .iter()
        .find(|z| value(&z.properties, "TZID") == tzid)
        .unwrap_or_else(|| panic!("no VTIMEZONE for {tzid}"));
    let first = local(start.value.as_deref().unwrap());
    let count = match prop(&ev.properties, "RRULE") {
        None => 1,
        Some(r) => {
            let rule = r.value.as_deref().unwrap();
            assert!(rule.starts_with("FREQ=WEEKLY;COUNT="), "{rule}");
            rule["FREQ=WEEKLY;COUNT=".len()..].parse().unwrap()
        }
    };
    (0..count)
        .map(|i| resolve(vtz, first + chrono::Duration::weeks(i)))
        .collect()
}

/// The same sessions computed with chrono-tz directly.
fn expected(tz: &str, starts: &str, count: i64) -> Vec<DateTime<Utc>> {
    let tz: Tz = tz.parse().unwrap();
    let first = NaiveDateTime::parse_from_str(starts, "%Y-%m-%dT%H:%M:%S").unwrap();
    (0..count)
        .map(|i| {
            tz.from_local_datetime(&(first + chrono::Duration::weeks(i)))
                .single()
                .unwrap()
                .with_timezone(&Utc)
        })
        .collect()
}

fn export(node: &TestNode) -> String {
    let out = node.data_dir().join("calendar.ics");
    node.ok(&["calendar", "export", "--out", out.to_str().unwrap()]);
    std::fs::read_to_string(out).unwrap()
}

/// Physical lines: CRLF, at most 75 octets, continuations start with a space.
fn check_lines(text: &str) -> usize {
    assert!(text.ends_with("\r\n"));
    let mut logical = 0;
    for line in text[..text.len() - 2].split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        assert!(!line.contains('\n') && !line.contains('\r'));
        if !line.starts_with(' ') {
            logical += 1;
        }
    }
    logical
}

#[test]
fn every_session_lands_on_the_right_instant_across_dst_changes() {
    let node = TestNode::init();
    let mut events = Vec::new();
    let mut cases = Vec::new();
    for (zi, tz) in ["Europe/Lisbon", "Europe/Paris", "Europe/Sofia"]
        .into_iter()
        .enumerate()
    {
        // Weekly sessions across the March and the October change, and
        // single sessions just before and after each.
        for (k, starts, ends, count) in [
            ("mar", "2026-03-17T10:00:00", "2026-03-17T12:00:00", 4),
            ("oct", "2026-10-13T16:00:00", "2026-10-13T17:30:00", 4),
            (
                "mar-before",
                "2026-03-28T09:00:00",
                "2026-03-28T10:00:00",
                1,
            ),
            ("mar-after", "2026-03-30T09:00:00", "2026-03-30T10:00:00", 1),
            (
                "oct-before",
                "2026-10-24T14:00:00",
                "2026-10-24T15:00:00",
                1,
            ),
            ("oct-after", "2026-10-26T14:00:00", "2026-10-26T15:00:00", 1),
        ] {
            let id = format!("e-{zi}-{k}");
            let rule = (count > 1).then(|| format!("FREQ=WEEKLY;COUNT={count}"));
            events.push(event(&id, tz, starts, ends, rule.as_deref()));
            cases.push((id, tz, starts, count));
        }
    }
    import(&node, events);
    let text = export(&node);
    let logical = check_lines(&text);
    let cal = parse(&text);
    assert_eq!(cal.events.len(), cases.len());
    assert_eq!(cal.timezones.len(), 3);
    assert!(logical > cases.len() * 10);

    let agenda = node.json(&[
        "calendar",
        "agenda",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--tz",
        "Europe/Paris",
    ]);
    let agenda = agenda.as_array().unwrap();
    for (id, tz, starts, count) in &cases {
        let ev = cal
            .events
            .iter()
            .find(|e| value(&e.properties, "UID") == format!("{id}@r2com"))
            .unwrap_or_else(|| panic!("no VEVENT for {id}"));
        let want = expected(tz, starts, *count);
        assert_eq!(weekly_instants(&cal, ev), want, "{id} in the .ics");
        let rows: Vec<DateTime<Utc>> = agenda
            .iter()
            .filter(|r| r["id"] == id.as_str())
            .map(|r| r["starts_utc"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(rows, want, "{id} in the agenda");
    }
    // A weekly 10:00 Lisbon session is 11:00 in Paris before and after March.
    let paris: Vec<&str> = agenda
        .iter()
        .filter(|r| r["id"] == "e-0-mar")
        .map(|r| r["starts"].as_str().unwrap())
        .collect();
    assert_eq!(
        paris,
        vec![
            "2026-03-17T11:00:00+01:00",
            "2026-03-24T11:00:00+01:00",
            "2026-03-31T11:00:00+02:00",
            "2026-04-07T11:00:00+02:00"
        ]
    );
}

#[test]
fn text_escaping_round_trips_through_an_independent_parser() {
    let node = TestNode::init();
    let description = "Bring: notes, pens; a laptop\\charger.\nЗдравейте, колеги! \
        Formação em reinserção; Ünïcödé — ça va, naïve café. \
        Long enough to be folded several times over the seventy-five octet limit, \
        Здравейте Здравейте Здравейте Здравейте Здравейте.";
    let mut e = event(
        "e-text",
        "Europe/Sofia",
        "2026-05-05T10:00:00",
        "2026-05-05T11:00:00",
        None,
    );
    e["title"] = json!("Обучение: risk, screening; ação");
    e["description"] = json!(description);
    e["location"] = json!("Rua da Liberdade, 12; Lisboa");
    e["online_url"] = json!(null);
    e["status"] = json!("postponed");
    import(&node, vec![e]);
    let text = export(&node);
    check_lines(&text);
    let cal = parse(&text);
    let ev = &cal.events[0];
    assert_eq!(unescape(value(&ev.properties, "DESCRIPTION")), description);
    assert_eq!(
        unescape(value(&ev.properties, "SUMMARY")),
        "Обучение: risk, screening; ação"
    );
    assert_eq!(
        unescape(value(&ev.properties, "LOCATION")),
        "Rua da Liberdade, 12; Lisboa"
    );
    assert_eq!(value(&ev.properties, "STATUS"), "TENTATIVE");
}

#[test]
fn the_whole_generated_calendar_exports_and_parses() {
    let node = TestNode::init();
    node.ok(&["import", gen_dataset(50, 2000, 1).to_str().unwrap()]);
    let text = export(&node);
    let logical = check_lines(&text);
    let cal = parse(&text);
    assert_eq!(cal.events.len(), 2000);
    let uids: std::collections::BTreeSet<&str> = cal
        .events
        .iter()
        .map(|e| value(&e.properties, "UID"))
        .collect();
    assert_eq!(uids.len(), 2000);
    // Every content line the parser saw is a line of the file, and back.
    let mut counted = 2 + cal.properties.len();
    for z in &cal.timezones {
        counted += 2 + z.properties.len();
        counted += z
            .transitions
            .iter()
            .map(|t| 2 + t.properties.len())
            .sum::<usize>();
    }
    counted += cal
        .events
        .iter()
        .map(|e| 2 + e.properties.len())
        .sum::<usize>();
    assert_eq!(logical, counted);
    let statuses: std::collections::BTreeSet<&str> = cal
        .events
        .iter()
        .map(|e| value(&e.properties, "STATUS"))
        .collect();
    assert!(statuses.contains("CONFIRMED"));
    for e in &cal.events {
        let start = prop(&e.properties, "DTSTART").unwrap();
        let tzid = param(start, "TZID").unwrap();
        assert!(cal
            .timezones
            .iter()
            .any(|z| value(&z.properties, "TZID") == tzid));
    }
}

fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the feed");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8(buf).expect("utf-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    (head.to_owned(), body.to_owned())
}

fn feed_event<'a>(cal: &'a IcalCalendar, uid: &str) -> &'a IcalEvent {
    cal.events
        .iter()
        .find(|e| value(&e.properties, "UID") == uid)
        .expect("the event is in the feed")
}

#[test]
fn the_feed_serves_the_calendar_and_follows_edits() {
    let mut node = TestNode::init();
    node.start_with(&["--feed-listen", "127.0.0.1:0"]);
    node.ok(&[
        "event",
        "add",
        "--id",
        "e-feed",
        "--title",
        "Peer exchange",
        "--starts",
        "2026-03-10 10:00",
        "--duration",
        "2h",
        "--tz",
        "Europe/Lisbon",
        "--org",
        "ips",
        "--rrule",
        "FREQ=WEEKLY;COUNT=6",
    ]);
    let addr_file = node.data_dir().join("feed.addr");
    assert!(wait_for(Duration::from_secs(10), || addr_file.exists()));
    let addr = std::fs::read_to_string(&addr_file)
        .unwrap()
        .trim()
        .to_owned();

    let (head, body) = http_get(&addr, "/calendar.ics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("Content-Type: text/calendar; charset=utf-8"),
        "{head}"
    );
    let cal = parse(&body);
    let ev = feed_event(&cal, "e-feed@r2com");
    assert_eq!(value(&ev.properties, "SUMMARY"), "Peer exchange");
    let seq1: u32 = value(&ev.properties, "SEQUENCE").parse().unwrap();
    let modified1 = value(&ev.properties, "LAST-MODIFIED").to_owned();

    node.ok(&[
        "event",
        "edit",
        "e-feed",
        "--set",
        "title=Peer exchange, moved",
    ]);
    let (_, body) = http_get(&addr, "/calendar.ics?x=1");
    let cal = parse(&body);
    let ev = feed_event(&cal, "e-feed@r2com");
    assert_eq!(
        unescape(value(&ev.properties, "SUMMARY")),
        "Peer exchange, moved"
    );
    let seq2: u32 = value(&ev.properties, "SEQUENCE").parse().unwrap();
    assert!(seq2 > seq1, "SEQUENCE {seq1} -> {seq2}");
    assert!(value(&ev.properties, "LAST-MODIFIED") >= modified1.as_str());

    let (head, _) = http_get(&addr, "/other");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    node.stop();
    assert!(!addr_file.exists(), "feed.addr is removed on shutdown");
}

#[test]
fn ambiguous_autumn_times_are_refused_unless_chosen() {
    let node = TestNode::init();
    let add = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut a = vec![
            "event",
            "add",
            "--id",
            "e-amb",
            "--title",
            "Night shift",
            "--starts",
            "2026-10-25 01:30",
            "--duration",
            "2h",
            "--tz",
            "Europe/Lisbon",
            "--org",
            "ips",
        ];
        a.extend_from_slice(extra);
        a
    };
    let err = node.fails(&add(&[]), 3);
    assert!(err.contains("happens twice"), "{err}");
    assert!(err.contains("+01:00") && err.contains("+00:00"), "{err}");
    let err = node.fails(&add(&["--fold", "later"]), 2);
    assert!(err.contains("--fold later"), "{err}");
    node.ok(&add(&["--fold", "earlier"]));

    // Edits that move a time into the repeated hour are refused too; other
    // edits of such an event are not.
    node.ok(&["event", "edit", "e-amb", "--set", "title=Night shift 2"]);
    import(
        &node,
        vec![event(
            "e-2",
            "Europe/Paris",
            "2026-10-20T10:00:00",
            "2026-10-20T11:00:00",
            None,
        )],
    );
    let err = node.fails(
        &[
            "event",
            "edit",
            "e-2",
            "--set",
            "starts_at=2026-10-25T02:30:00",
            "--set",
            "ends_at=2026-10-25T04:00:00",
        ],
        3,
    );
    assert!(err.contains("+02:00") && err.contains("+01:00"), "{err}");
    // A nonexistent (spring gap) time stays refused.
    node.fails(
        &[
            "event",
            "edit",
            "e-2",
            "--set",
            "starts_at=2026-03-29T02:30:00",
            "--set",
            "ends_at=2026-03-29T04:00:00",
        ],
        3,
    );
}
