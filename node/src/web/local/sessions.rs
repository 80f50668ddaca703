//! Sessions of signed-in staff and one-time links (sign-in, password set-up).

use chrono::{DateTime, Utc};

use super::{
    digest, key, random_token, table, LocalError, LocalStore, OneTime, Purpose, Session,
    SEEN_GRANULARITY_MS, SESSION_IDLE_MS, SESSION_MAX_MS,
};

impl LocalStore {
    /// Start a session for `user`; the token for its cookie.
    pub fn create_session(&self, user: &str, now: DateTime<Utc>) -> Result<String, LocalError> {
        self.purge_expired(now)?;
        let token = random_token();
        let session = Session {
            user: user.to_owned(),
            csrf: random_token(),
            created_ms: now.timestamp_millis(),
            seen_ms: now.timestamp_millis(),
        };
        self.put(key(table::SESSION, &digest(&token)), &session)?;
        self.flush()?;
        Ok(token)
    }

    /// The live session of a cookie token (refreshing its last-seen time).
    pub fn session(&self, token: &str, now: DateTime<Utc>) -> Result<Option<Session>, LocalError> {
        let k = key(table::SESSION, &digest(token));
        let Some(mut s) = self.get::<Session>(&k)? else {
            return Ok(None);
        };
        let now_ms = now.timestamp_millis();
        if now_ms - s.seen_ms > SESSION_IDLE_MS || now_ms - s.created_ms > SESSION_MAX_MS {
            self.db.remove(k)?;
            return Ok(None);
        }
        if now_ms - s.seen_ms > SEEN_GRANULARITY_MS {
            s.seen_ms = now_ms;
            self.put(k, &s)?;
        }
        Ok(Some(s))
    }

    /// End a session (logout).
    pub fn end_session(&self, token: &str) -> Result<(), LocalError> {
        self.db.remove(key(table::SESSION, &digest(token)))?;
        self.flush()
    }

    /// Drop expired sessions and one-time links.
    fn purge_expired(&self, now: DateTime<Utc>) -> Result<(), LocalError> {
        let now_ms = now.timestamp_millis();
        let mut batch = sled::Batch::default();
        for e in self.db.scan_prefix([table::SESSION, 0]) {
            let (k, v) = e?;
            match serde_json::from_slice::<Session>(&v) {
                Ok(s)
                    if now_ms - s.seen_ms <= SESSION_IDLE_MS
                        && now_ms - s.created_ms <= SESSION_MAX_MS => {}
                _ => batch.remove(k),
            }
        }
        for e in self.db.scan_prefix([table::ONE_TIME, 0]) {
            let (k, v) = e?;
            match serde_json::from_slice::<OneTime>(&v) {
                Ok(t) if t.expires_ms > now_ms => {}
                _ => batch.remove(k),
            }
        }
        self.db.apply_batch(batch)?;
        Ok(())
    }

    // ---- one-time links ----

    /// Make a one-time token for `user`, valid for `valid`.
    pub fn create_one_time(
        &self,
        user: &str,
        purpose: Purpose,
        valid: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<String, LocalError> {
        if self.user(user)?.is_none() {
            return Err(LocalError::NoSuchUser(user.to_owned()));
        }
        self.purge_expired(now)?;
        let token = random_token();
        let t = OneTime {
            user: user.to_owned(),
            purpose,
            expires_ms: (now + valid).timestamp_millis(),
        };
        self.put(key(table::ONE_TIME, &digest(&token)), &t)?;
        self.flush()?;
        Ok(token)
    }

    /// A valid one-time token, without using it up.
    pub fn peek_one_time(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OneTime>, LocalError> {
        Ok(self
            .get::<OneTime>(&key(table::ONE_TIME, &digest(token)))?
            .filter(|t| t.expires_ms > now.timestamp_millis()))
    }

    /// Use up a one-time token: it is deleted (durably) whether valid or not.
    pub fn take_one_time(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OneTime>, LocalError> {
        let k = key(table::ONE_TIME, &digest(token));
        let Some(v) = self.db.remove(k)? else {
            return Ok(None);
        };
        self.flush()?;
        let t: OneTime =
            serde_json::from_slice(&v).map_err(|e| LocalError::Corrupt(e.to_string()))?;
        Ok((t.expires_ms > now.timestamp_millis()).then_some(t))
    }
}
