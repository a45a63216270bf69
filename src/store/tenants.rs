//! Tenants added on the Settings page and the Settings audit log (migration 0021, issue 21):
//! the SQL beside the row types. Not yet behind a store trait; the lead wires it after the seam.

use super::applications::Arg;
use super::row::FromRow;
use crate::fields::{FieldError, Fields};
use crate::settings::audit::{AuditAction, AuditEntry, ChangedField};

/// Every added tenant, oldest first (the page's order after the tenant in secrets).
pub const LIST_TENANTS: &str = "SELECT id, label, domain, client_id, secret_sealed, secret_last4, \
     environment, enabled, disabled_reason, mau_quota, log_stream_token_sealed, \
     events_token_sealed, last_test, last_tested_at, created_at, updated_at \
     FROM tenants ORDER BY created_at, id";

/// One tenant: `?1` id.
pub const GET_TENANT: &str = "SELECT id, label, domain, client_id, secret_sealed, secret_last4, \
     environment, enabled, disabled_reason, mau_quota, log_stream_token_sealed, \
     events_token_sealed, last_test, last_tested_at, created_at, updated_at \
     FROM tenants WHERE id = ?1";

/// Adds a tenant: the arguments are [`TenantRow::insert_args`].
pub const INSERT_TENANT: &str = "INSERT INTO tenants (id, label, domain, client_id, \
     secret_sealed, secret_last4, environment, enabled, disabled_reason, mau_quota, \
     log_stream_token_sealed, events_token_sealed, last_test, last_tested_at, created_at, \
     updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

/// Edits the plain fields: `?1` id, `?2` label, `?3` domain, `?4` client_id, `?5` environment,
/// `?6` mau_quota (or NULL), `?7` updated_at.
pub const UPDATE_TENANT: &str = "UPDATE tenants SET label = ?2, domain = ?3, client_id = ?4, \
     environment = ?5, mau_quota = ?6, updated_at = ?7 WHERE id = ?1";

/// Rotates the secret: `?1` id, `?2` sealed secret, `?3` its last four, `?4` updated_at.
pub const ROTATE_SECRET: &str = "UPDATE tenants SET secret_sealed = ?2, secret_last4 = ?3, \
     updated_at = ?4 WHERE id = ?1";

/// Enables (`?2` = 1, `?3` NULL) or disables (`?2` = 0, `?3` the reason): `?1` id, `?4` updated_at.
pub const SET_ENABLED: &str = "UPDATE tenants SET enabled = ?2, disabled_reason = ?3, \
     updated_at = ?4 WHERE id = ?1";

/// Sets the stream tokens, sealed (NULL clears one): `?1` id, `?2` Log Stream, `?3` Event
/// Streams, `?4` updated_at.
pub const SET_STREAM_TOKENS: &str = "UPDATE tenants SET log_stream_token_sealed = ?2, \
     events_token_sealed = ?3, updated_at = ?4 WHERE id = ?1";

/// Records a Test connection: `?1` id, `?2` the checklist JSON, `?3` when. Not an edit, so
/// `updated_at` stays.
pub const SET_LAST_TEST: &str =
    "UPDATE tenants SET last_test = ?2, last_tested_at = ?3 WHERE id = ?1";

/// Removes the tenant's settings row: `?1` id. Its synced data is the lead's to delete with it.
pub const DELETE_TENANT: &str = "DELETE FROM tenants WHERE id = ?1";

/// Appends an audit entry: the arguments are [`audit_args`].
pub const INSERT_AUDIT: &str =
    "INSERT INTO settings_audit (at_ms, who, action, tenant, changed) VALUES (?1, ?2, ?3, ?4, ?5)";

/// The newest `?1` audit entries, newest first.
pub const LIST_AUDIT: &str = "SELECT at_ms, who, action, tenant, changed FROM settings_audit \
     ORDER BY at_ms DESC, id DESC LIMIT ?1";

/// One row of `tenants`. Sealed values are as `settings::secret_box` stores them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    pub id: String,
    pub label: String,
    pub domain: String,
    pub client_id: String,
    pub secret_sealed: String,
    pub secret_last4: String,
    pub environment: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub mau_quota: Option<i64>,
    pub log_stream_token_sealed: Option<String>,
    pub events_token_sealed: Option<String>,
    /// The last Test connection checklist, as JSON text.
    pub last_test: Option<String>,
    pub last_tested_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn opt_text(v: Option<&str>) -> Arg {
    v.map_or(Arg::Null, Arg::text)
}

impl TenantRow {
    /// [`INSERT_TENANT`]'s arguments, in its order.
    pub fn insert_args(&self) -> Vec<Arg> {
        vec![
            Arg::text(&self.id),
            Arg::text(&self.label),
            Arg::text(&self.domain),
            Arg::text(&self.client_id),
            Arg::text(&self.secret_sealed),
            Arg::text(&self.secret_last4),
            Arg::text(&self.environment),
            Arg::Int(i64::from(self.enabled)),
            opt_text(self.disabled_reason.as_deref()),
            self.mau_quota.map_or(Arg::Null, Arg::Int),
            opt_text(self.log_stream_token_sealed.as_deref()),
            opt_text(self.events_token_sealed.as_deref()),
            opt_text(self.last_test.as_deref()),
            opt_text(self.last_tested_at.as_deref()),
            Arg::text(&self.created_at),
            Arg::text(&self.updated_at),
        ]
    }
}

impl FromRow for TenantRow {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            id: row.string("id")?,
            label: row.string("label")?,
            domain: row.string("domain")?,
            client_id: row.string("client_id")?,
            secret_sealed: row.string("secret_sealed")?,
            secret_last4: row.string("secret_last4")?,
            environment: row.string("environment")?,
            enabled: row.flag("enabled")?,
            disabled_reason: row.opt_string("disabled_reason")?,
            mau_quota: row.opt_i64("mau_quota")?,
            log_stream_token_sealed: row.opt_string("log_stream_token_sealed")?,
            events_token_sealed: row.opt_string("events_token_sealed")?,
            last_test: row.opt_string("last_test")?,
            last_tested_at: row.opt_string("last_tested_at")?,
            created_at: row.string("created_at")?,
            updated_at: row.string("updated_at")?,
        })
    }
}

/// Every action, for reading the stored names back (the names themselves are audit.rs's).
const ACTIONS: [AuditAction; 7] = [
    AuditAction::Add,
    AuditAction::Edit,
    AuditAction::RotateSecret,
    AuditAction::Test,
    AuditAction::Disable,
    AuditAction::Enable,
    AuditAction::Remove,
];

/// Every field an entry may name.
const FIELDS: [ChangedField; 7] = [
    ChangedField::Label,
    ChangedField::Domain,
    ChangedField::ClientId,
    ChangedField::ClientSecret,
    ChangedField::Environment,
    ChangedField::MauQuota,
    ChangedField::Enabled,
];

/// The JSON name of an audit enum value, the one spelling stored and returned.
fn name(v: impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// [`INSERT_AUDIT`]'s arguments, in its order. `changed` is stored as a JSON array of names.
pub fn audit_args(e: &AuditEntry) -> Vec<Arg> {
    let changed: Vec<String> = e.changed.iter().map(|c| name(*c)).collect();
    vec![
        Arg::Int(e.at_ms),
        Arg::text(&e.who),
        Arg::text(&name(e.action)),
        Arg::text(&e.tenant),
        Arg::json(&changed),
    ]
}

impl FromRow for AuditEntry {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        let stored = row.str("action")?;
        let action = ACTIONS
            .into_iter()
            .find(|a| name(*a) == stored)
            .ok_or_else(|| FieldError::new("action", "an audit action"))?;
        let names: Vec<String> = serde_json::from_str(row.str("changed")?)
            .map_err(|_| FieldError::new("changed", "a JSON array of field names"))?;
        let mut changed = Vec::with_capacity(names.len());
        for n in &names {
            let field = FIELDS
                .into_iter()
                .find(|f| name(*f) == *n)
                .ok_or_else(|| FieldError::new("changed", "a JSON array of field names"))?;
            changed.push(field);
        }
        Ok(Self {
            who: row.string("who")?,
            at_ms: row.i64("at_ms")?,
            action,
            tenant: row.string("tenant")?,
            changed,
        })
    }
}

#[cfg(test)]
mod tests;
