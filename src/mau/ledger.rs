//! The MAU ledger: log events folded into one row per (month, active user), from which the
//! month's distinct users and its breakdowns by application, connection and organization follow.
//!
//! Cost: a store keeps one row per active user and month ([`UserMonth`]), never one per event.
//! A batch folds to one item per counted event ([`Fold::items`], with its `log_id`); the store
//! adds only items whose `log_id` it has not seen (the log follower and Log Stream pushes share
//! that check, so each event counts once whichever way it arrived), merged into the row with
//! [`merge`]. [`Ledger`] is that store in memory: the SQL upsert must give what it gives.
//!
//! Order-independence: `merge` takes the min of first activity, the max of last activity, the
//! sum of event counts and the union of sets, and keeps the email of the newest event that
//! carried one; all commutative and associative, so any batching and order of the same events
//! (with duplicates) gives the same ledger.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::active::is_active;
use super::month::Month;
use crate::time::{iso_from_ms, ms_from_iso};

/// One log event, as far as the ledger reads it. Absent fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityEvent {
    /// The event's id: each id counts once.
    pub log_id: Option<String>,
    /// The event type code (`type`), e.g. `s`.
    pub kind: Option<String>,
    /// ISO-8601 UTC.
    pub date: Option<String>,
    /// The user.
    pub user_id: Option<String>,
    /// The user's email where the event carries one.
    pub email: Option<String>,
    /// The application.
    pub client_id: Option<String>,
    /// The connection's name.
    pub connection: Option<String>,
    /// The organization the user logged in to, where present.
    pub organization_id: Option<String>,
}

/// One active user in one month: the row a store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserMonth {
    /// The calendar month (UTC).
    pub month: Month,
    /// The user.
    pub user_id: String,
    /// The email of the newest event that carried one.
    pub email: Option<String>,
    /// That event's date: what makes the kept email independent of order.
    #[serde(skip)]
    pub email_at: Option<String>,
    /// The oldest counted event in the month (ISO-8601 UTC ms).
    pub first_active: String,
    /// The newest counted event in the month.
    pub last_active: String,
    /// Counted events (distinct `log_id`s).
    pub events: u64,
    /// Applications (`client_id`) used in the month.
    pub applications: BTreeSet<String>,
    /// Connections used in the month.
    pub connections: BTreeSet<String>,
    /// Organizations logged in to in the month.
    pub organizations: BTreeSet<String>,
}

/// Merges a row with another of the same (month, user) made only of events not yet counted.
/// This is the rule the store's upsert must follow: min first, max last, sum of counts, union
/// of sets, the email of the newest event carrying one (ties: the greater email).
pub fn merge(stored: &UserMonth, fresh: &UserMonth) -> UserMonth {
    let (email_at, email) = match (
        stored.email_at.clone().zip(stored.email.clone()),
        fresh.email_at.clone().zip(fresh.email.clone()),
    ) {
        (Some(a), Some(b)) => {
            let newest = a.max(b);
            (Some(newest.0), Some(newest.1))
        }
        (a, b) => a.or(b).unzip(),
    };
    UserMonth {
        month: stored.month,
        user_id: stored.user_id.clone(),
        email,
        email_at,
        first_active: stored.first_active.clone().min(fresh.first_active.clone()),
        last_active: stored.last_active.clone().max(fresh.last_active.clone()),
        events: stored.events + fresh.events,
        applications: stored
            .applications
            .union(&fresh.applications)
            .cloned()
            .collect(),
        connections: stored
            .connections
            .union(&fresh.connections)
            .cloned()
            .collect(),
        organizations: stored
            .organizations
            .union(&fresh.organizations)
            .cloned()
            .collect(),
    }
}

/// Events of an active type that could not be counted, by cause: counted, never a panic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Without a `log_id`: could not be counted once.
    pub no_id: u64,
    /// Without a user.
    pub no_user: u64,
    /// Without a readable date.
    pub bad_date: u64,
}

/// A batch folded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fold {
    /// Per counted event: its `log_id` and its one-event row, ordered by (month, user, log_id).
    pub items: Vec<(String, UserMonth)>,
    /// Events of other types (failures, `seccft`, …): not activity, not an error.
    pub ignored: u64,
    /// Events of an active type that could not be counted.
    pub skipped: Skipped,
}

fn text(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Folds a batch: one item per distinct `log_id` of an active type with a user and a readable
/// date (of two events with one id, the first given is kept).
pub fn fold(events: &[ActivityEvent]) -> Fold {
    let mut out = Fold::default();
    let mut ids = BTreeSet::new();
    for e in events {
        if !is_active(e.kind.as_deref().unwrap_or_default()) {
            out.ignored += 1;
            continue;
        }
        let Some(id) = text(e.log_id.as_deref()) else {
            out.skipped.no_id += 1;
            continue;
        };
        if !ids.insert(id) {
            continue;
        }
        let Some(user) = text(e.user_id.as_deref()) else {
            out.skipped.no_user += 1;
            continue;
        };
        let Some(ms) = e.date.as_deref().and_then(ms_from_iso) else {
            out.skipped.bad_date += 1;
            continue;
        };
        let Some(month) = Month::of_ms(ms) else {
            out.skipped.bad_date += 1;
            continue;
        };
        let date = iso_from_ms(ms);
        let email = text(e.email.as_deref()).map(str::to_string);
        let set = |v: Option<&str>| text(v).map(str::to_string).into_iter().collect();
        out.items.push((
            id.to_string(),
            UserMonth {
                month,
                user_id: user.to_string(),
                email_at: email.as_ref().map(|_| date.clone()),
                email,
                first_active: date.clone(),
                last_active: date,
                events: 1,
                applications: set(e.client_id.as_deref()),
                connections: set(e.connection.as_deref()),
                organizations: set(e.organization_id.as_deref()),
            },
        ));
    }
    out.items
        .sort_by(|a, b| (a.1.month, &a.1.user_id, &a.0).cmp(&(b.1.month, &b.1.user_id, &b.0)));
    out
}

/// The ledger in memory: rows by (month, user) and the ids already counted. A store holds the
/// same rows and its `log_seen`; this is the reference its SQL is tested against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    rows: BTreeMap<(Month, String), UserMonth>,
    seen: BTreeSet<String>,
}

impl Ledger {
    /// Adds a folded batch; items whose `log_id` was counted before are left out. Returns how
    /// many events counted.
    pub fn apply(&mut self, fold: &Fold) -> u64 {
        let mut counted = 0;
        for (id, item) in &fold.items {
            if !self.seen.insert(id.clone()) {
                continue;
            }
            counted += 1;
            let key = (item.month, item.user_id.clone());
            let row = match self.rows.remove(&key) {
                Some(stored) => merge(&stored, item),
                None => item.clone(),
            };
            self.rows.insert(key, row);
        }
        counted
    }

    /// Every row, by (month, user).
    pub fn rows(&self) -> impl Iterator<Item = &UserMonth> {
        self.rows.values()
    }

    /// One month's rows, by user.
    pub fn month(&self, month: Month) -> impl Iterator<Item = &UserMonth> {
        self.rows
            .range((month, String::new())..(month.next(), String::new()))
            .map(|(_, row)| row)
            .filter(move |row| row.month == month)
    }
}

/// Distinct users under one key (an application, connection or organization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyCount {
    /// The application's `client_id`, the connection or the organization id.
    pub key: String,
    /// Distinct active users with it in the month.
    pub mau: u64,
}

/// A month's aggregates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthSummary {
    /// The month.
    pub month: Month,
    /// Distinct active users.
    pub mau: u64,
    /// By application, most users first (ties by key).
    pub by_application: Vec<KeyCount>,
    /// By connection.
    pub by_connection: Vec<KeyCount>,
    /// By organization.
    pub by_organization: Vec<KeyCount>,
}

fn counts<'a>(sets: impl Iterator<Item = &'a BTreeSet<String>>) -> Vec<KeyCount> {
    let mut by: BTreeMap<&str, u64> = BTreeMap::new();
    for set in sets {
        for key in set {
            *by.entry(key).or_default() += 1;
        }
    }
    let mut out: Vec<KeyCount> = by
        .into_iter()
        .map(|(key, mau)| KeyCount {
            key: key.to_string(),
            mau,
        })
        .collect();
    out.sort_by(|a, b| b.mau.cmp(&a.mau).then_with(|| a.key.cmp(&b.key)));
    out
}

/// Aggregates one month's rows (rows of other months are left out). Each row is one user, so
/// the breakdowns count distinct users: a user of two applications counts once in each.
pub fn summarize<'a>(month: Month, rows: impl IntoIterator<Item = &'a UserMonth>) -> MonthSummary {
    let rows: Vec<&UserMonth> = rows.into_iter().filter(|r| r.month == month).collect();
    MonthSummary {
        month,
        mau: rows.len() as u64,
        by_application: counts(rows.iter().map(|r| &r.applications)),
        by_connection: counts(rows.iter().map(|r| &r.connections)),
        by_organization: counts(rows.iter().map(|r| &r.organizations)),
    }
}

/// New distinct users by day of the month: entry `d` counts users first active on day `d + 1`.
/// The forecast's curve.
pub fn new_users_by_day<'a>(
    month: Month,
    rows: impl IntoIterator<Item = &'a UserMonth>,
) -> Vec<u64> {
    let mut by_day = vec![0; month.days() as usize];
    for row in rows.into_iter().filter(|r| r.month == month) {
        let day = row
            .first_active
            .get(8..10)
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|d| (1..=by_day.len()).contains(d));
        if let Some(day) = day {
            by_day[day - 1] += 1;
        }
    }
    by_day
}

#[cfg(test)]
mod tests;
