use std::collections::BTreeSet;

use r2com_protocol::record::{Dataset, EventStatus, Record};
use r2com_protocol::search::Query;

use super::phrases::{phrasebook, LANGUAGES};
use super::*;

#[test]
fn the_same_seed_gives_the_same_bytes_and_longer_runs_extend_shorter_ones() {
    let a = to_json(&generate(60, 40, 7));
    assert_eq!(a, to_json(&generate(60, 40, 7)));
    assert_ne!(a, to_json(&generate(60, 40, 8)));
    let long = generate(90, 70, 7);
    let short = generate(60, 40, 7);
    assert_eq!(long.practices[..60], short.practices[..]);
    assert_eq!(long.events[..40], short.events[..]);
}

#[test]
fn every_record_imports_unchanged() {
    let data = generate(400, 400, 3);
    let value = serde_json::from_slice(&to_json(&data)).unwrap();
    let records = Dataset::from_value(value).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Dataset::from_records(records), data);
}

#[test]
fn it_covers_the_data_model() {
    let data = generate(500, 500, 1);
    let langs: BTreeSet<&str> = data
        .practices
        .iter()
        .flat_map(|p| &p.languages)
        .map(String::as_str)
        .collect();
    assert_eq!(langs, LANGUAGES.into_iter().collect());
    let event_langs: BTreeSet<&str> = data.events.iter().map(|e| e.language.as_str()).collect();
    assert_eq!(event_langs, LANGUAGES.into_iter().collect());
    let orgs: BTreeSet<&str> = data
        .practices
        .iter()
        .map(|p| p.organisation.as_str())
        .collect();
    assert_eq!(orgs.len(), 8);
    let zones: BTreeSet<&str> = data.events.iter().map(|e| e.timezone.as_str()).collect();
    for zone in [
        "Europe/Paris",
        "Europe/Lisbon",
        "Europe/Rome",
        "Europe/Belgrade",
        "Europe/Tirane",
        "Europe/Stockholm",
        "Europe/Sofia",
        "Europe/Budapest",
        "Atlantic/Azores",
    ] {
        assert!(zones.contains(zone), "{zone} in {zones:?}");
    }
    let statuses: BTreeSet<String> = data
        .events
        .iter()
        .map(|e| format!("{:?}", e.status))
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    let rules: BTreeSet<&str> = data
        .events
        .iter()
        .filter_map(|e| e.recurrence.as_deref())
        .map(|r| r.split(';').next().unwrap())
        .collect();
    assert_eq!(rules, BTreeSet::from(["FREQ=MONTHLY", "FREQ=WEEKLY"]));
    let recurring = data
        .events
        .iter()
        .filter(|e| e.recurrence.is_some())
        .count();
    assert!((30..=100).contains(&recurring), "{recurring} recurring");
    let online = data
        .events
        .iter()
        .filter(|e| e.online_url.is_some())
        .count();
    assert!((150..=300).contains(&online), "{online} online");
    assert!(data
        .events
        .iter()
        .all(|e| e.online_url.is_some() != e.location.is_some()));
    assert!(data.events.iter().any(|e| e.capacity.is_none()));
    assert!(data
        .events
        .iter()
        .any(|e| e.status == EventStatus::Cancelled));
    let bodies: Vec<usize> = data.practices.iter().map(|p| p.body.len()).collect();
    let mean = bodies.iter().sum::<usize>() / bodies.len();
    assert!((1500..=3000).contains(&mean), "mean body {mean} bytes");
    assert!(
        bodies.iter().any(|b| *b > 4000),
        "some bodies of several KB"
    );
    assert!(data.practices.iter().all(|p| p.body.starts_with("## ")));
}

#[test]
fn the_documented_searches_find_something() {
    let data = generate(200, 80, 1);
    let records: Vec<Record> = data
        .practices
        .into_iter()
        .map(Record::from)
        .chain(data.events.into_iter().map(Record::from))
        .collect();
    for q in [
        "reinsercao familia",
        "REINSERCAO prisao",
        "ЗАТВОР",
        "risk screening",
        "famille communaute confiance",
    ] {
        let query = Query::parse(q).unwrap();
        let hits = records
            .iter()
            .filter(|r| query.score(&r.search_text()).is_some())
            .count();
        assert!(hits >= 2, "{q}: {hits} hits");
    }
}

#[test]
fn phrasebooks_are_well_formed() {
    for code in LANGUAGES {
        let b = phrasebook(code);
        for list in [
            b.methods,
            b.groups,
            b.subjects,
            b.predicates,
            b.endings,
            b.headings,
            b.formats,
            b.venues,
        ] {
            let items: Vec<&str> = list.split('|').collect();
            assert!(items.len() >= 3, "{code}: {list}");
            for item in items {
                assert!(
                    !item.is_empty() && item.trim() == item && !item.contains("  "),
                    "{code}: {item:?}"
                );
            }
        }
    }
}
