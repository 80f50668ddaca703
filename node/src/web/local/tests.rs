use chrono::{Duration, TimeZone, Utc};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn name(s: &str) -> UserName {
    UserName::parse(s).unwrap()
}

#[test]
fn accounts_persist_and_names_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = LocalStore::open(dir.path()).unwrap();
        s.add_user(&name("ana"), StaffRole::Editor, t0()).unwrap();
        assert!(matches!(
            s.add_user(&name("ana"), StaffRole::Reader, t0()),
            Err(LocalError::UserExists(_))
        ));
        s.update_user("ana", |u| u.zone = Some("Europe/Lisbon".into()))
            .unwrap();
    }
    let s = LocalStore::open(dir.path()).unwrap();
    let ana = s.user("ana").unwrap().unwrap();
    assert_eq!(ana.role, StaffRole::Editor);
    assert_eq!(ana.zone.as_deref(), Some("Europe/Lisbon"));
    assert!(ana.password.is_none());
    assert_eq!(s.users().unwrap().len(), 1);
}

#[test]
fn sessions_expire_when_idle_or_old() {
    let s = LocalStore::temporary();
    s.add_user(&name("ana"), StaffRole::Reader, t0()).unwrap();
    let tok = s.create_session("ana", t0()).unwrap();
    assert_eq!(s.session(&tok, t0()).unwrap().unwrap().user, "ana");
    assert!(s.session("forged", t0()).unwrap().is_none());
    // Used every 11 hours: alive for 14 days, not longer.
    let mut at = t0();
    for _ in 0..40 {
        at += Duration::hours(11);
        if s.session(&tok, at).unwrap().is_none() {
            break;
        }
    }
    assert!(at - t0() >= Duration::days(14) && at - t0() < Duration::days(15));
    let tok = s.create_session("ana", t0()).unwrap();
    assert!(s
        .session(&tok, t0() + Duration::hours(13))
        .unwrap()
        .is_none());
    let tok = s.create_session("ana", t0()).unwrap();
    s.end_session(&tok).unwrap();
    assert!(s.session(&tok, t0()).unwrap().is_none());
}

#[test]
fn one_time_tokens_work_once_and_expire() {
    let s = LocalStore::temporary();
    assert!(s
        .create_one_time("nobody", Purpose::Login, Duration::minutes(5), t0())
        .is_err());
    s.add_user(&name("ana"), StaffRole::Admin, t0()).unwrap();
    let tok = s
        .create_one_time("ana", Purpose::Login, Duration::minutes(15), t0())
        .unwrap();
    assert!(s.peek_one_time(&tok, t0()).unwrap().is_some());
    assert_eq!(s.take_one_time(&tok, t0()).unwrap().unwrap().user, "ana");
    assert!(s.take_one_time(&tok, t0()).unwrap().is_none());
    let tok = s
        .create_one_time("ana", Purpose::SetPassword, Duration::minutes(15), t0())
        .unwrap();
    let late = t0() + Duration::minutes(16);
    assert!(s.peek_one_time(&tok, late).unwrap().is_none());
    assert!(s.take_one_time(&tok, late).unwrap().is_none());
}

#[test]
fn feeds_are_revocable_and_accounts_removable() {
    let s = LocalStore::temporary();
    s.add_user(&name("ana"), StaffRole::Reader, t0()).unwrap();
    let first = s.renew_feed("ana").unwrap();
    assert_eq!(s.feed_owner(&first).unwrap().unwrap().name, "ana");
    let second = s.renew_feed("ana").unwrap();
    assert!(s.feed_owner(&first).unwrap().is_none(), "renewal revokes");
    assert!(s.feed_owner(&second).unwrap().is_some());
    s.revoke_feed("ana").unwrap();
    assert!(s.feed_owner(&second).unwrap().is_none());
    let third = s.renew_feed("ana").unwrap();
    let session = s.create_session("ana", t0()).unwrap();
    s.remove_user("ana").unwrap();
    assert!(s.feed_owner(&third).unwrap().is_none());
    assert!(s.session(&session, t0()).unwrap().is_none());
    assert!(s.user("ana").unwrap().is_none());
}

#[test]
fn audit_entries_by_change_and_document() {
    let s = LocalStore::temporary();
    let entry = |change: &str, at_ms| AuditEntry {
        change: change.into(),
        user: "ana".into(),
        doc: "practice/p-1".into(),
        action: "edit".into(),
        at_ms,
    };
    s.audit(&[entry("aa", 1), entry("bb", 2)]).unwrap();
    s.audit(&[AuditEntry {
        doc: "practice/p-10".into(),
        ..entry("cc", 3)
    }])
    .unwrap();
    let of_doc = s.audit_of_doc("practice/p-1").unwrap();
    assert_eq!(
        of_doc.iter().map(|a| a.change.as_str()).collect::<Vec<_>>(),
        ["bb", "aa"]
    );
    assert_eq!(
        s.audit_of_change("cc").unwrap().unwrap().doc,
        "practice/p-10"
    );
}

#[test]
fn secrets_compare() {
    assert!(same_secret("abc", "abc"));
    assert!(!same_secret("abc", "abd"));
    assert!(!same_secret("abc", "ab"));
    assert_ne!(random_token(), random_token());
    assert_eq!(random_token().len(), 43);
}
