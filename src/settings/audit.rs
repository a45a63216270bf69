//! The settings audit log entry and its JSON for `GET /api/settings/audit`. Changes are
//! recorded as field names only, so an entry cannot hold a secret's value by construction.

use serde::Serialize;

/// What an admin did to a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Add,
    Edit,
    RotateSecret,
    Test,
    Disable,
    Enable,
    Remove,
}

/// A changed field, by name only: there is no place for its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangedField {
    Label,
    Domain,
    ClientId,
    ClientSecret,
    Environment,
    MauQuota,
    Enabled,
}

/// One audit row: who, when (Unix milliseconds), action, tenant id, which fields changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub who: String,
    pub at_ms: i64,
    pub action: AuditAction,
    pub tenant: String,
    pub changed: Vec<ChangedField>,
}

#[cfg(test)]
mod tests;
