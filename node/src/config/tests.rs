//! The settings read from `config.toml`: defaults, values, refusals.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::data_dir::CONFIG_FILE;

#[test]
fn reads_the_feed_address() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert!(matches!(
        c.feed_listen(dir.path(), None).unwrap(),
        FeedListen::Default(_)
    ));
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "[feed]\nlisten = \"127.0.0.1:9999\"\n",
    )
    .unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(
        c.feed_listen(dir.path(), None).unwrap(),
        FeedListen::Explicit("127.0.0.1:9999".parse().unwrap())
    );
    assert_eq!(
        c.feed_listen(dir.path(), Some("off")).unwrap(),
        FeedListen::Off
    );
    assert!(c.feed_listen(dir.path(), Some("nowhere")).is_err());
    std::fs::write(dir.path().join(CONFIG_FILE), "[feed]\nport = 1\n").unwrap();
    assert!(Config::load(dir.path()).is_err());
}

#[test]
fn reads_the_sync_interval() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(c.sync_interval(dir.path()).unwrap(), DEFAULT_SYNC_INTERVAL);
    std::fs::write(dir.path().join(CONFIG_FILE), "[sync]\ninterval_secs = 5\n").unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(c.sync_interval(dir.path()).unwrap(), Duration::from_secs(5));
    std::fs::write(dir.path().join(CONFIG_FILE), "[sync]\ninterval_secs = 0\n").unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert!(c.sync_interval(dir.path()).is_err());
}

#[test]
fn reads_the_web_settings() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(
        c.web_listen(dir.path(), None).unwrap(),
        FeedListen::Default(DEFAULT_WEB_LISTEN.parse().unwrap())
    );
    assert_eq!(
        c.web_listen(dir.path(), Some("OFF")).unwrap(),
        FeedListen::Off
    );
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "[web]\nlisten = \"0.0.0.0:80\"\npublic_url = \"https://r2com.example.org/\"\n",
    )
    .unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(
        c.web_listen(dir.path(), None).unwrap(),
        FeedListen::Explicit("0.0.0.0:80".parse().unwrap())
    );
    let u = c.web_public_url(dir.path()).unwrap().unwrap();
    assert_eq!(u.host_str(), Some("r2com.example.org"));
    for bad in ["ftp://x", "https://x.org/app", "not a url"] {
        let c = Config {
            web: WebSection {
                public_url: Some(bad.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(c.web_public_url(dir.path()).is_err(), "{bad}");
    }
}

#[test]
fn reads_the_metrics_address() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(c.metrics_listen(dir.path(), None).unwrap(), None);
    let local: SocketAddr = "127.0.0.1:9464".parse().unwrap();
    assert_eq!(
        c.metrics_listen(dir.path(), Some("127.0.0.1:9464"))
            .unwrap(),
        Some(local)
    );
    assert_eq!(c.metrics_listen(dir.path(), Some("off")).unwrap(), None);
    assert!(c.metrics_listen(dir.path(), Some("9464")).is_err());
    let e = c
        .metrics_listen(dir.path(), Some("0.0.0.0:9464"))
        .unwrap_err();
    assert!(e.to_string().contains("allow_remote"), "{e}");
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "[metrics]\nlisten = \"0.0.0.0:9464\"\nallow_remote = true\n",
    )
    .unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(
        c.metrics_listen(dir.path(), None).unwrap(),
        Some("0.0.0.0:9464".parse().unwrap())
    );
}

#[test]
fn reads_the_size_past_which_the_store_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(c.store.compact_above(), None);
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "[store]\ncompact_above_mb = 40\n",
    )
    .unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(c.store.compact_above(), Some(40_000_000));
    std::fs::write(dir.path().join(CONFIG_FILE), "[store]\ncompact_above = 1\n").unwrap();
    assert!(Config::load(dir.path()).is_err());
}
