//! Secret calendar feed addresses and the audit table.

use super::{key, random_token, same_secret, table, AuditEntry, LocalError, LocalStore, User};

impl LocalStore {
    /// Give `user` a new feed secret (the old address stops working).
    pub fn renew_feed(&self, name: &str) -> Result<String, LocalError> {
        let secret = random_token();
        let user = self
            .user(name)?
            .ok_or_else(|| LocalError::NoSuchUser(name.to_owned()))?;
        let mut batch = sled::Batch::default();
        if let Some(old) = &user.feed {
            batch.remove(key(table::FEED, old.as_bytes()));
        }
        batch.insert(key(table::FEED, secret.as_bytes()), name.as_bytes());
        let updated = User {
            feed: Some(secret.clone()),
            ..user
        };
        batch.insert(
            key(table::USER, name.as_bytes()),
            serde_json::to_vec(&updated).expect("users serialize"),
        );
        self.db.apply_batch(batch)?;
        self.flush()?;
        Ok(secret)
    }

    /// Revoke `user`'s feed address.
    pub fn revoke_feed(&self, name: &str) -> Result<(), LocalError> {
        let user = self
            .user(name)?
            .ok_or_else(|| LocalError::NoSuchUser(name.to_owned()))?;
        let mut batch = sled::Batch::default();
        if let Some(old) = &user.feed {
            batch.remove(key(table::FEED, old.as_bytes()));
        }
        let updated = User { feed: None, ..user };
        batch.insert(
            key(table::USER, name.as_bytes()),
            serde_json::to_vec(&updated).expect("users serialize"),
        );
        self.db.apply_batch(batch)?;
        self.flush()
    }

    /// The user a feed secret belongs to.
    pub fn feed_owner(&self, secret: &str) -> Result<Option<User>, LocalError> {
        let Some(name) = self.db.get(key(table::FEED, secret.as_bytes()))? else {
            return Ok(None);
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        Ok(self
            .user(&name)?
            .filter(|u| u.feed.as_deref().is_some_and(|f| same_secret(f, secret))))
    }

    // ---- audit ----

    /// Record who made changes (durably).
    pub fn audit(&self, entries: &[AuditEntry]) -> Result<(), LocalError> {
        let mut batch = sled::Batch::default();
        for e in entries {
            batch.insert(
                key(table::AUDIT, e.change.as_bytes()),
                serde_json::to_vec(e).expect("audit entries serialize"),
            );
            let mut k = key(table::AUDIT_BY_DOC, e.doc.as_bytes());
            k.push(0);
            k.extend_from_slice(e.change.as_bytes());
            batch.insert(k, &[][..]);
        }
        self.db.apply_batch(batch)?;
        self.flush()
    }

    /// Who made a change, if it was made here through the web app.
    pub fn audit_of_change(&self, change: &str) -> Result<Option<AuditEntry>, LocalError> {
        self.get(&key(table::AUDIT, change.as_bytes()))
    }

    /// The audit entries of a document, newest first.
    pub fn audit_of_doc(&self, doc: &str) -> Result<Vec<AuditEntry>, LocalError> {
        let mut prefix = key(table::AUDIT_BY_DOC, doc.as_bytes());
        prefix.push(0);
        let mut out = Vec::new();
        for e in self.db.scan_prefix(&prefix) {
            let (k, _) = e?;
            let change = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            if let Some(a) = self.audit_of_change(&change)? {
                out.push(a);
            }
        }
        out.sort_by_key(|a| std::cmp::Reverse(a.at_ms));
        Ok(out)
    }
}
