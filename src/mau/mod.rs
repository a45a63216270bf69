//! Monthly active users (MAU), as Auth0 bills them: the pure core of the ledger (issue 22).
//!
//! Which events make a user active (`active`), the calendar month in UTC (`month`), the fold of
//! log events into one row per active user and month (`ledger`), whether a month's count is
//! exact (`coverage`), the forecast against the plan (`forecast`), likely test accounts
//! (`test_accounts`), which alerts are due (`alerts`) and the JSON shapes (`api`); a log event,
//! polled or pushed, as the ledger's event (`from_log`), and Auth0's 30-day figure beside the
//! ledger's (`compare`). The only IO is one alert POST (`deliver`), behind `HttpClient`: the
//! store, the sync and the routes feed the rest facts and keep what it returns.

pub mod active;
pub mod alerts;
pub mod api;
pub mod compare;
pub mod coverage;
pub mod deliver;
pub mod forecast;
pub mod from_log;
pub mod ledger;
pub mod month;
pub mod test_accounts;
