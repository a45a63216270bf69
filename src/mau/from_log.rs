//! A log event as the Auth0 client reads it, polled or pushed, mapped onto the ledger's
//! `ActivityEvent`: one mapping, so both paths count the same user the same way.

use crate::auth0::logs::LogEvent;
use crate::mau::ledger::ActivityEvent;

/// The ledger's view of a log event. `user_name` becomes the email only when it looks like one:
/// Auth0 also puts phone numbers and usernames there.
pub fn activity(e: &LogEvent) -> ActivityEvent {
    ActivityEvent {
        log_id: e.log_id.clone(),
        kind: e.kind.clone(),
        date: e.date.clone(),
        user_id: e.user_id.clone(),
        email: e
            .user_name
            .as_deref()
            .filter(|n| looks_like_email(n))
            .map(str::to_string),
        client_id: e.client_id.clone(),
        // The name is what the page shows; the id stands in when only it was sent.
        connection: e
            .connection
            .as_deref()
            .or(e.connection_id.as_deref())
            .map(str::to_string),
        organization_id: e.organization_id.as_deref().map(str::to_string),
    }
}

/// One `@` with text on both sides and a dot after it: enough to tell an address from a phone
/// number or a username, not a validation.
fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() > 1
                && domain.split('.').all(|p| !p.is_empty())
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
