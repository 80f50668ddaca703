use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

use super::*;

fn exposition(net: &NetMetrics, changes: &ChangeMetrics) -> String {
    let mut r = Registry::default();
    let (files, store) = (FileMetrics::default(), StoreMetrics::default());
    register(&mut r, net, changes, &files, &store);
    let mut out = String::new();
    encode(&mut out, &r).unwrap();
    out
}

#[test]
fn reasons_are_a_fixed_list() {
    let net = NetMetrics::default();
    for why in [
        "undecodable request: bad cbor",
        "request flood",
        "unexpected answer to a push: Roster",
        "file 0a1b2c: piece 3 does not verify",
        "change 1234 from peer 12D3KooW...: signature does not verify",
        "anything else a peer may say",
    ] {
        net.misbehaved(why);
    }
    let text = exposition(&net, &ChangeMetrics::default());
    let reasons: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("r2com_peers_misbehaved_total{"))
        .collect();
    assert_eq!(reasons.len(), 5, "{text}");
    assert!(text.contains("r2com_peers_misbehaved_total{reason=\"invalid_data\"} 2"));
    assert!(
        !text.contains("12D3KooW"),
        "free text became a label: {text}"
    );
}

#[test]
fn applies_are_counted_by_reason() {
    let changes = ChangeMetrics::default();
    changes.applied(7, 0, 0);
    changes.applied(0, 3, 2);
    let text = exposition(&NetMetrics::default(), &changes);
    assert!(text.contains("r2com_changes_applied_total 7"), "{text}");
    assert!(text.contains("r2com_changes_refused_total{reason=\"invalid\"} 3"));
    assert!(text.contains("r2com_changes_refused_total{reason=\"not_allowed\"} 2"));
    assert!(text.contains("r2com_build_info{version="), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
}

#[test]
fn strangers_get_no_series() {
    let net = NetMetrics::default();
    let view = MemberView {
        connected: true,
        relayed: false,
        state: None,
    };
    net.member(None, "ab", "12D3KooWStranger", view);
    let text = exposition(&net, &ChangeMetrics::default());
    assert!(!text.contains("12D3KooWStranger"), "{text}");
}

#[test]
fn every_reason_is_exported_at_zero_from_the_start() {
    let text = exposition(&NetMetrics::default(), &ChangeMetrics::default());
    for class in MISBEHAVIOUR_CLASSES {
        let line = format!("r2com_peers_misbehaved_total{{reason=\"{class}\"}} 0");
        assert!(text.contains(&line), "{line} missing: {text}");
    }
    for why in REFUSAL_REASONS {
        let line = format!("r2com_changes_refused_total{{reason=\"{why}\"}} 0");
        assert!(text.contains(&line), "{line} missing: {text}");
    }
}
