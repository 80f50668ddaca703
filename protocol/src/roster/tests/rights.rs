//! Record rights (`crate::rights`) judged against a roster: the record's
//! organisation or an admin for the privileged parts, anyone for the rest.

use super::*;

#[test]
fn record_rights_follow_the_records_organisation_and_admins() {
    use crate::record::{tests::sample_practice, Record};
    use crate::rights::{self, RightsError};
    use crate::{doc, ids::RecordKind::Practice};
    let mut w = World::new();
    let g = w.cid;
    let j1 = w.join(0, &[g], 1, Role::Member);
    w.join(0, &[j1], 2, Role::Member);
    let r = w.roster();
    let mut p = sample_practice("p-1");
    p.organisation = "o1".into();
    let rec: Record = p.clone().into();
    // o1 creates its own record; o2 may not create one of o1's.
    let (mut d, c) = doc::create(&key(1), &rec, 1).unwrap();
    assert_eq!(rights::check(&r, &d, Practice, &c), Ok(()));
    let (d2, c2) = doc::create(&key(2), &rec, 1).unwrap();
    assert!(matches!(
        rights::check(&r, &d2, Practice, &c2),
        Err(RightsError::Forbidden(_))
    ));
    let with = |p: &crate::record::Practice| -> Record { p.clone().into() };
    // o2 edits the title: fine. Moving or deleting it: o1 or an admin only.
    let mut title = p.clone();
    title.title = "New title".into();
    let mut x = d.fork();
    let e = doc::update(&mut x, &key(2), &rec, &with(&title), 2)
        .unwrap()
        .unwrap();
    assert_eq!(rights::check(&r, &x, Practice, &e), Ok(()));
    let mut moved = p.clone();
    moved.organisation = "o2".into();
    let mut x = d.fork();
    let m = doc::update(&mut x, &key(2), &rec, &with(&moved), 2)
        .unwrap()
        .unwrap();
    let err = rights::check(&r, &x, Practice, &m).unwrap_err();
    assert!(
        err.to_string()
            .contains("only o1 or an admin may change the organisation"),
        "{err}"
    );
    // Judged by the state the author saw: without it, not yet.
    assert_eq!(
        rights::check(&r, &automerge::AutoCommit::new(), Practice, &m),
        Err(RightsError::Early)
    );
    let mut x = d.fork();
    let del = doc::set_deleted(&mut x, &key(2), true, 2).unwrap().unwrap();
    assert!(rights::check(&r, &x, Practice, &del).is_err());
    let mut x = d.fork();
    let del = doc::set_deleted(&mut x, &key(0), true, 2).unwrap().unwrap();
    assert_eq!(rights::check(&r, &x, Practice, &del), Ok(()), "an admin");
    let mut x = d.fork();
    let m = doc::update(&mut x, &key(1), &rec, &with(&moved), 2)
        .unwrap()
        .unwrap();
    assert_eq!(
        rights::check(&r, &x, Practice, &m),
        Ok(()),
        "o1 hands it to o2"
    );
    let mut nobody = p.clone();
    nobody.organisation = "nobody".into();
    let mut x = d.fork();
    let m = doc::update(&mut x, &key(1), &rec, &with(&nobody), 2)
        .unwrap()
        .unwrap();
    let err = rights::check(&r, &x, Practice, &m).unwrap_err();
    assert!(
        err.to_string()
            .contains("not an organisation of the roster"),
        "{err}"
    );
}
