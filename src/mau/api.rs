//! The JSON shapes of `GET /api/mau` and `GET /api/mau/{YYYY-MM}/users`, as issue 22 writes them,
//! built from the ledger's pure results. Month parsing (a 400 naming the text) is `month::Month`.

use serde::Serialize;

use super::coverage::{Coverage, Reason};
use super::forecast::{Forecast, Method, ThreeMonthAverage};
use super::ledger::{KeyCount, MonthSummary, UserMonth};
use super::month::Month;

/// `{"client_id","name","mau"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationMau {
    /// The application.
    pub client_id: String,
    /// Its name, where known.
    pub name: Option<String>,
    /// Distinct active users.
    pub mau: u64,
}

/// `{"connection","mau"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionMau {
    /// The connection.
    pub connection: String,
    /// Distinct active users.
    pub mau: u64,
}

/// `{"org_id","name","mau"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganizationMau {
    /// The organization.
    pub org_id: String,
    /// Its name, where known.
    pub name: Option<String>,
    /// Distinct active users.
    pub mau: u64,
}

/// One month of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthJson {
    /// The tenant.
    pub tenant: String,
    /// `YYYY-MM`.
    pub month: Month,
    /// Distinct active users.
    pub mau: u64,
    /// Exact, or a lower bound.
    pub exact: bool,
    /// From when the count holds.
    pub counted_from: Option<String>,
    /// Up to when.
    pub counted_to: Option<String>,
    /// Why a lower bound (added beside the fields; `null` when exact).
    pub reason: Option<Reason>,
    /// Likely test accounts among `mau`.
    pub test_accounts: u64,
    /// By application.
    pub by_application: Vec<ApplicationMau>,
    /// By connection.
    pub by_connection: Vec<ConnectionMau>,
    /// By organization.
    pub by_organization: Vec<OrganizationMau>,
}

/// Names of applications and organizations, where the store knows them.
pub trait Names {
    /// An application's name.
    fn application(&self, client_id: &str) -> Option<String>;
    /// An organization's name.
    fn organization(&self, org_id: &str) -> Option<String>;
}

/// One month's JSON from its summary, coverage and test-account count.
pub fn month_json(
    tenant: &str,
    summary: &MonthSummary,
    coverage: &Coverage,
    test_accounts: u64,
    names: &impl Names,
) -> MonthJson {
    let each = |counts: &[KeyCount]| {
        counts
            .iter()
            .map(|k| (k.key.clone(), k.mau))
            .collect::<Vec<_>>()
    };
    MonthJson {
        tenant: tenant.to_string(),
        month: summary.month,
        mau: summary.mau,
        exact: coverage.exact,
        counted_from: coverage.counted_from.clone(),
        counted_to: coverage.counted_to.clone(),
        reason: coverage.reason,
        test_accounts,
        by_application: each(&summary.by_application)
            .into_iter()
            .map(|(client_id, mau)| ApplicationMau {
                name: names.application(&client_id),
                client_id,
                mau,
            })
            .collect(),
        by_connection: each(&summary.by_connection)
            .into_iter()
            .map(|(connection, mau)| ConnectionMau { connection, mau })
            .collect(),
        by_organization: each(&summary.by_organization)
            .into_iter()
            .map(|(org_id, mau)| OrganizationMau {
                name: names.organization(&org_id),
                org_id,
                mau,
            })
            .collect(),
    }
}

/// `{"tenant","month","so_far","projected","quota","ratio","method"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastJson {
    /// The tenant.
    pub tenant: String,
    /// `YYYY-MM`.
    pub month: Month,
    /// Distinct users so far.
    pub so_far: u64,
    /// Projected at the month's end.
    pub projected: u64,
    /// The plan's MAU.
    pub quota: Option<u64>,
    /// `projected ÷ quota`; `null` without a quota.
    pub ratio: Option<f64>,
    /// `day_of_month_curve` or `linear_run_rate`.
    pub method: Method,
}

impl ForecastJson {
    /// A tenant's forecast.
    pub fn new(tenant: &str, f: &Forecast) -> Self {
        Self {
            tenant: tenant.to_string(),
            month: f.month,
            so_far: f.so_far,
            projected: f.projected,
            quota: f.quota,
            ratio: f.ratio,
            method: f.method,
        }
    }
}

/// `{"active_users_30d","ledger_active_30d","checked_at"}`: Auth0's own rolling 30-day figure
/// beside the ledger's. `active_users_30d` is `null` without `read:stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Auth0Stats {
    /// `GET /api/v2/stats/active-users`.
    pub active_users_30d: Option<u64>,
    /// Distinct users active in the ledger over the same 30 days.
    pub ledger_active_30d: u64,
    /// When Auth0 was asked.
    pub checked_at: Option<String>,
}

/// `GET /api/mau`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MauResponse {
    /// Months, newest first.
    pub months: Vec<MonthJson>,
    /// The current month's forecast.
    pub forecast: Option<ForecastJson>,
    /// The last three complete months against the quota.
    pub three_month_average: Option<ThreeMonthAverage>,
    /// Auth0's own figures.
    pub auth0_stats: Option<Auth0Stats>,
}

/// One user of `/api/mau/{YYYY-MM}/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserJson {
    /// The tenant.
    pub tenant: String,
    /// The user.
    pub user_id: String,
    /// The email, where known.
    pub email: Option<String>,
    /// First activity in the month.
    pub first_active: String,
    /// Last activity in the month.
    pub last_active: String,
    /// Counted events.
    pub events: u64,
    /// Applications used in the month.
    pub applications: Vec<String>,
}

impl UserJson {
    /// A ledger row as listed.
    pub fn new(tenant: &str, row: &UserMonth) -> Self {
        Self {
            tenant: tenant.to_string(),
            user_id: row.user_id.clone(),
            email: row.email.clone(),
            first_active: row.first_active.clone(),
            last_active: row.last_active.clone(),
            events: row.events,
            applications: row.applications.iter().cloned().collect(),
        }
    }
}

/// `GET /api/mau/{YYYY-MM}/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsersResponse {
    /// One page of users, by user id.
    pub users: Vec<UserJson>,
    /// Where the next page starts; `null` on the last.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests;
