//! The tenant form (issue 21): add, edit, rotate the secret, disable, enable and remove, parsed
//! from the Settings page (`application/x-www-form-urlencoded`) and from JSON
//! (`POST /api/tenants`, `PATCH /api/tenants/{id}`), and the stable slug ids added tenants get.

use std::fmt;

use serde::Deserialize;

use crate::config::Auth0Domain;
use crate::http::decode_form;

/// The id of the tenant configured in Worker secrets (unless `TENANT_ID` names another); never
/// given to an added tenant.
pub const DEFAULT_TENANT_ID: &str = "default";
/// Longest label, in characters.
pub const MAX_LABEL: usize = 200;
/// Longest generated tenant id: short enough for URLs and table cells.
const MAX_SLUG: usize = 48;
/// Auth0 client ids are 32 characters; this leaves room without admitting junk.
const MAX_CLIENT_ID: usize = 128;
/// Auth0 client secrets are 64 characters.
const MAX_SECRET: usize = 512;
/// Longest host name (RFC 1035).
const MAX_DOMAIN: usize = 253;
/// Longest disable reason, in characters.
const MAX_REASON: usize = 500;

/// A refused form: which field and what is wrong, for a 400. Never holds a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// The field's name as the form and the JSON spell it, or `body` for the whole request.
    pub field: &'static str,
    /// What is wrong and what to do, for a person.
    pub problem: String,
}

impl FormError {
    fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for FormError {}

/// What kind of Auth0 tenant this is; shown on the dashboard and used to group tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Production,
    Staging,
    Development,
    Other,
}

impl Environment {
    /// The stored and JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Staging => "staging",
            Self::Development => "development",
            Self::Other => "other",
        }
    }

    fn parse(raw: &str) -> Result<Self, FormError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "production" => Ok(Self::Production),
            "staging" => Ok(Self::Staging),
            "development" => Ok(Self::Development),
            "other" => Ok(Self::Other),
            _ => Err(FormError::new(
                "environment",
                "must be one of production, staging, development, other",
            )),
        }
    }
}

/// A valid new tenant (the add form, `POST /api/tenants`).
#[derive(Clone, PartialEq, Eq)]
pub struct NewTenant {
    pub domain: Auth0Domain,
    pub client_id: String,
    /// Sealed by `secret_box` before it is stored; `Debug` hides it.
    pub client_secret: String,
    /// The domain when the form left it empty.
    pub label: String,
    pub environment: Environment,
    /// Issue 22: the contract's monthly active users, if known.
    pub mau_quota: Option<u64>,
}

impl fmt::Debug for NewTenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewTenant")
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("label", &self.label)
            .field("environment", &self.environment)
            .field("mau_quota", &self.mau_quota)
            .finish()
    }
}

/// Changes to an existing tenant (edit, rotate, disable, enable; `PATCH /api/tenants/{id}`):
/// `None` leaves a field as it is.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TenantEdit {
    pub domain: Option<Auth0Domain>,
    pub client_id: Option<String>,
    /// A new secret (rotation); `Debug` hides it.
    pub client_secret: Option<String>,
    pub label: Option<String>,
    pub environment: Option<Environment>,
    /// `Some(None)` clears the quota.
    pub mau_quota: Option<Option<u64>>,
    pub enabled: Option<bool>,
    /// Why an admin disabled it; only with `enabled: false`.
    pub disabled_reason: Option<String>,
}

impl TenantEdit {
    /// Whether the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl fmt::Debug for TenantEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantEdit")
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("label", &self.label)
            .field("environment", &self.environment)
            .field("mau_quota", &self.mau_quota)
            .field("enabled", &self.enabled)
            .field("disabled_reason", &self.disabled_reason)
            .finish()
    }
}

/// What a Settings page form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantForm {
    Add(NewTenant),
    /// Edit, rotate the secret, disable or enable.
    Edit(TenantEdit),
    /// Remove, confirmed by typing the tenant's id.
    Remove,
}

/// A JSON value as sent, kept loose so a wrong type is refused naming its field rather than
/// as an anonymous serde error.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Loose {
    Text(String),
    Bool(bool),
    Whole(u64),
    Other(serde_json::Value),
}

/// The fields of every tenant form; which are required depends on the action.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Raw {
    #[serde(deserialize_with = "present")]
    action: Option<Loose>,
    #[serde(deserialize_with = "present")]
    domain: Option<Loose>,
    #[serde(deserialize_with = "present")]
    client_id: Option<Loose>,
    #[serde(deserialize_with = "present")]
    client_secret: Option<Loose>,
    #[serde(deserialize_with = "present")]
    label: Option<Loose>,
    #[serde(deserialize_with = "present")]
    environment: Option<Loose>,
    #[serde(deserialize_with = "present")]
    mau_quota: Option<Loose>,
    #[serde(deserialize_with = "present")]
    enabled: Option<Loose>,
    #[serde(deserialize_with = "present")]
    disabled_reason: Option<Loose>,
    #[serde(deserialize_with = "present")]
    confirm: Option<Loose>,
}

/// A field that is in the JSON, even as `null` (serde's `Option` would read `null` as absent,
/// and `mau_quota: null` means "clear it").
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Loose>, D::Error> {
    Loose::deserialize(d).map(Some)
}

impl Raw {
    fn from_json(body: &str) -> Result<Self, FormError> {
        // serde's derived structs also accept a JSON array of fields in order; only an object
        // is a form.
        let not_object = !body.trim_start().starts_with('{');
        serde_json::from_str(if not_object { "" } else { body }).map_err(|_| {
            FormError::new(
                "body",
                "must be a JSON object with fields such as domain, client_id, client_secret, \
                 label, environment, mau_quota (each at most once)",
            )
        })
    }

    fn from_form(body: &str) -> Result<Self, FormError> {
        let pairs = decode_form(body)
            .map_err(|_| FormError::new("body", "is not valid UTF-8 form data"))?;
        let mut raw = Self::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "action" => (&mut raw.action, "action"),
                "domain" => (&mut raw.domain, "domain"),
                "client_id" => (&mut raw.client_id, "client_id"),
                "client_secret" => (&mut raw.client_secret, "client_secret"),
                "label" => (&mut raw.label, "label"),
                "environment" => (&mut raw.environment, "environment"),
                "mau_quota" => (&mut raw.mau_quota, "mau_quota"),
                "enabled" => (&mut raw.enabled, "enabled"),
                "disabled_reason" => (&mut raw.disabled_reason, "disabled_reason"),
                "confirm" => (&mut raw.confirm, "confirm"),
                // Other fields (the page's own, future ones) are not the tenant's.
                _ => continue,
            };
            if slot.0.is_some() {
                return Err(FormError::new(slot.1, "is given more than once"));
            }
            *slot.0 = Some(Loose::Text(value));
        }
        Ok(raw)
    }
}

/// A text field, trimmed; `None` when absent or JSON `null`.
fn text(field: &'static str, value: Option<Loose>) -> Result<Option<String>, FormError> {
    match value {
        None | Some(Loose::Other(serde_json::Value::Null)) => Ok(None),
        Some(Loose::Text(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(FormError::new(field, "must be a string")),
    }
}

/// A text field that must be present and non-empty.
fn required(field: &'static str, value: Option<Loose>, what: &str) -> Result<String, FormError> {
    text(field, value)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| FormError::new(field, format!("is required: {what}")))
}

fn domain(raw: &str) -> Result<Auth0Domain, FormError> {
    let lower = raw.trim().to_ascii_lowercase();
    let host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower)
        .trim_end_matches('/');
    if host.is_empty() {
        return Err(FormError::new(
            "domain",
            "is required: the tenant's domain, like tenant.us.auth0.com (no https://)",
        ));
    }
    if host.len() > MAX_DOMAIN {
        return Err(FormError::new(
            "domain",
            format!("is longer than {MAX_DOMAIN} characters"),
        ));
    }
    Auth0Domain::parse(host).map_err(|e| FormError::new("domain", e.problem))
}

fn client_id(value: String) -> Result<String, FormError> {
    if value.chars().count() > MAX_CLIENT_ID || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FormError::new(
            "client_id",
            "must be the application's Client ID from the Auth0 Dashboard (letters and digits, \
             no spaces)",
        ));
    }
    Ok(value)
}

fn client_secret(value: String) -> Result<String, FormError> {
    // The problem text never repeats the value.
    if value.chars().count() > MAX_SECRET || value.chars().any(char::is_control) {
        return Err(FormError::new(
            "client_secret",
            "must be the application's Client Secret from the Auth0 Dashboard, pasted whole",
        ));
    }
    Ok(value)
}

fn label(value: String) -> Result<String, FormError> {
    if value.chars().count() > MAX_LABEL {
        return Err(FormError::new(
            "label",
            format!("is longer than {MAX_LABEL} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FormError::new("label", "must be one line of text"));
    }
    Ok(value)
}

fn mau_quota(value: Option<Loose>) -> Result<Option<Option<u64>>, FormError> {
    let bad = || FormError::new("mau_quota", "must be a whole number of users, 0 or more");
    match value {
        None => Ok(None),
        Some(Loose::Other(serde_json::Value::Null)) => Ok(Some(None)),
        Some(Loose::Whole(n)) => Ok(Some(Some(n))),
        Some(Loose::Text(s)) => {
            // The page's number input may send digit groups as typed; keep only digits then.
            let s = s.trim().replace([',', '_', ' '], "");
            if s.is_empty() {
                return Ok(Some(None));
            }
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map(|n| Some(Some(n))).map_err(|_| bad())
        }
        Some(_) => Err(bad()),
    }
}

fn enabled(value: Option<Loose>) -> Result<Option<bool>, FormError> {
    match value {
        None | Some(Loose::Other(serde_json::Value::Null)) => Ok(None),
        Some(Loose::Bool(b)) => Ok(Some(b)),
        Some(Loose::Text(s)) => match s.trim() {
            "true" | "on" | "1" => Ok(Some(true)),
            "false" | "off" | "0" => Ok(Some(false)),
            _ => Err(FormError::new("enabled", "must be true or false")),
        },
        Some(_) => Err(FormError::new("enabled", "must be true or false")),
    }
}

fn reason(value: Option<Loose>) -> Result<Option<String>, FormError> {
    let Some(r) = text("disabled_reason", value)?.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if r.chars().count() > MAX_REASON || r.chars().any(char::is_control) {
        return Err(FormError::new(
            "disabled_reason",
            format!("must be one line of at most {MAX_REASON} characters"),
        ));
    }
    Ok(Some(r))
}

fn new_tenant(raw: Raw) -> Result<NewTenant, FormError> {
    let domain = domain(&text("domain", raw.domain)?.unwrap_or_default())?;
    let client_id = client_id(required(
        "client_id",
        raw.client_id,
        "the application's Client ID from the Auth0 Dashboard",
    )?)?;
    let client_secret = client_secret(required(
        "client_secret",
        raw.client_secret,
        "the application's Client Secret from the Auth0 Dashboard",
    )?)?;
    let label = match text("label", raw.label)?.filter(|l| !l.is_empty()) {
        Some(l) => label(l)?,
        None => domain.as_str().to_string(),
    };
    let environment = Environment::parse(&required(
        "environment",
        raw.environment,
        "one of production, staging, development, other",
    )?)?;
    let mau_quota = mau_quota(raw.mau_quota)?.flatten();
    Ok(NewTenant {
        domain,
        client_id,
        client_secret,
        label,
        environment,
        mau_quota,
    })
}

fn tenant_edit(raw: Raw) -> Result<TenantEdit, FormError> {
    let domain = text("domain", raw.domain)?
        .map(|d| domain(&d))
        .transpose()?;
    let client_id = match text("client_id", raw.client_id)? {
        Some(c) if c.is_empty() => return Err(FormError::new("client_id", "cannot be empty")),
        c => c.map(client_id).transpose()?,
    };
    let client_secret = match text("client_secret", raw.client_secret)? {
        Some(s) if s.is_empty() => {
            return Err(FormError::new(
                "client_secret",
                "cannot be empty; paste the new Client Secret to rotate it",
            ));
        }
        s => s.map(client_secret).transpose()?,
    };
    let label = match text("label", raw.label)? {
        Some(l) if l.is_empty() => {
            return Err(FormError::new(
                "label",
                "cannot be empty; it names the tenant on the dashboard",
            ));
        }
        l => l.map(label).transpose()?,
    };
    let environment = text("environment", raw.environment)?
        .map(|e| Environment::parse(&e))
        .transpose()?;
    let mau_quota = mau_quota(raw.mau_quota)?;
    let enabled = enabled(raw.enabled)?;
    let disabled_reason = reason(raw.disabled_reason)?;
    if disabled_reason.is_some() && enabled != Some(false) {
        return Err(FormError::new(
            "disabled_reason",
            "only goes with enabled: false",
        ));
    }
    let edit = TenantEdit {
        domain,
        client_id,
        client_secret,
        label,
        environment,
        mau_quota,
        enabled,
        disabled_reason,
    };
    if edit.is_empty() {
        return Err(FormError::new("body", "changes nothing"));
    }
    Ok(edit)
}

/// Parses `POST /api/tenants`.
///
/// # Errors
/// The first invalid or missing field, named.
pub fn parse_add_json(body: &str) -> Result<NewTenant, FormError> {
    new_tenant(Raw::from_json(body)?)
}

/// Parses `PATCH /api/tenants/{id}`: only the fields present change; `mau_quota: null` clears
/// the quota.
///
/// # Errors
/// The first invalid field, named; `body` when nothing would change.
pub fn parse_patch_json(body: &str) -> Result<TenantEdit, FormError> {
    tenant_edit(Raw::from_json(body)?)
}

/// Parses a Settings page form by its `action` (`add`, `edit`, `rotate`, `disable`, `enable`,
/// `remove`). `tenant_id` is the tenant the form is about (none for `add`); `remove` needs
/// `confirm` to repeat it, because removing deletes the tenant's synced data.
///
/// # Errors
/// The first invalid or missing field, named.
pub fn parse_page_form(body: &str, tenant_id: Option<&str>) -> Result<TenantForm, FormError> {
    let mut raw = Raw::from_form(body)?;
    let action = text("action", raw.action.take())?.unwrap_or_default();
    let need_tenant =
        || tenant_id.ok_or_else(|| FormError::new("action", "needs a tenant to act on"));
    match action.as_str() {
        "add" => new_tenant(raw).map(TenantForm::Add),
        "edit" => {
            need_tenant()?;
            // Rotation and enabling have their own buttons.
            raw.client_secret = None;
            raw.enabled = None;
            raw.disabled_reason = None;
            tenant_edit(raw).map(TenantForm::Edit)
        }
        "rotate" => {
            need_tenant()?;
            let secret = client_secret(required(
                "client_secret",
                raw.client_secret,
                "paste the new Client Secret to rotate it",
            )?)?;
            Ok(TenantForm::Edit(TenantEdit {
                client_secret: Some(secret),
                ..TenantEdit::default()
            }))
        }
        "disable" => {
            need_tenant()?;
            Ok(TenantForm::Edit(TenantEdit {
                enabled: Some(false),
                disabled_reason: reason(raw.disabled_reason)?,
                ..TenantEdit::default()
            }))
        }
        "enable" => {
            need_tenant()?;
            Ok(TenantForm::Edit(TenantEdit {
                enabled: Some(true),
                ..TenantEdit::default()
            }))
        }
        "remove" => {
            let id = need_tenant()?;
            let confirm = text("confirm", raw.confirm)?.unwrap_or_default();
            if confirm == id {
                Ok(TenantForm::Remove)
            } else {
                Err(FormError::new(
                    "confirm",
                    format!(
                        "type the tenant id `{id}` to confirm: removing it deletes its synced data"
                    ),
                ))
            }
        }
        _ => Err(FormError::new(
            "action",
            "must be one of add, edit, rotate, disable, enable, remove",
        )),
    }
}

/// Whether `id` can be an added tenant's id: 1 to 48 of `[a-z0-9-]`, no leading, trailing or
/// doubled `-`, and not `default`. Routes check `{id}` with it before any lookup.
pub fn is_tenant_slug(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SLUG
        && id != DEFAULT_TENANT_ID
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Lowercases, turns every run of other characters into one `-`, trims `-`, caps the length.
fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(MAX_SLUG).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A stable id for a new tenant: from the label, else the domain's first part, else `tenant`;
/// never `default` and unique against `existing` (which holds every id in use, including the
/// tenant from secrets, whose id may be `TENANT_ID`) by a `-2`, `-3`, … suffix. The id never
/// changes after the tenant is added, even when its label does.
pub fn tenant_slug(label: &str, domain: &Auth0Domain, existing: &[&str]) -> String {
    let from_domain = || slugify(domain.as_str().split('.').next().unwrap_or(""));
    let base = [slugify(label), from_domain()]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "tenant".to_string());
    let taken = |id: &str| id == DEFAULT_TENANT_ID || existing.contains(&id);
    if !taken(&base) {
        return base;
    }
    (2u64..)
        .map(|n| {
            let suffix = format!("-{n}");
            let mut stem: String = base.chars().take(MAX_SLUG - suffix.len()).collect();
            while stem.ends_with('-') {
                stem.pop();
            }
            format!("{stem}{suffix}")
        })
        .find(|id| !taken(id))
        // ok: `existing` is finite, so some suffix is free before the range ends.
        .unwrap_or_else(|| "tenant".to_string())
}

#[cfg(test)]
mod tests;
