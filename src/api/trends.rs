//! `GET /api/trends` and the dashboard's charts: parameters, and reading the snapshots.

use super::ApiError;
use super::params::Params;
use crate::store::trends::TrendStore;
use crate::time::EpochMs;
use crate::trends::{self, By, MAX_DAYS, Trends};

/// `days` (1–1096, default 90) and `by` (`connection`, `organization`, `application`).
///
/// # Errors
/// A malformed or out-of-range parameter, by name.
fn trends_params(query: &str) -> Result<(u32, Option<By>), ApiError> {
    let p = Params::parse(query)?;
    let bad = |name: &'static str, problem: String| ApiError::BadParam { name, problem };
    let days = match p.get("days")? {
        None => 90,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|d| v.bytes().all(|c| c.is_ascii_digit()) && (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| {
                bad(
                    "days",
                    format!("must be a whole number from 1 to {MAX_DAYS}"),
                )
            })?,
    };
    let by = match p.get("by")? {
        None => None,
        Some(v) => Some(By::parse(v).ok_or_else(|| {
            bad(
                "by",
                "must be connection, organization or application".to_string(),
            )
        })?),
    };
    Ok((days, by))
}

/// The trends a request asks for.
///
/// # Errors
/// A bad parameter, or a storage failure.
pub async fn trends_json<S: TrendStore>(
    store: &S,
    query: &str,
    now: EpochMs,
) -> Result<Trends, ApiError> {
    let (days, by) = trends_params(query)?;
    trends::load(store, now, days, by)
        .await
        .map_err(ApiError::Store)
}

/// The dashboard's trends section: a year of the tenant with its organizations, and a quarter
/// with its applications (four reads of the snapshot table, none of the users table).
///
/// # Errors
/// A storage failure.
pub async fn dashboard_charts<S: TrendStore>(store: &S, now: EpochMs) -> Result<String, ApiError> {
    let year = trends::load(store, now, 365, Some(By::Organization))
        .await
        .map_err(ApiError::Store)?;
    let quarter = trends::load(store, now, 90, Some(By::Application))
        .await
        .map_err(ApiError::Store)?;
    Ok(crate::render::charts::dashboard_section(&year, &quarter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_by_are_validated_by_name() {
        assert_eq!(trends_params("").unwrap(), (90, None));
        assert_eq!(
            trends_params("days=365&by=organization").unwrap(),
            (365, Some(By::Organization))
        );
        assert_eq!(trends_params("days=1&by=application").unwrap().0, 1);
        assert_eq!(trends_params("days=1096&by=connection").unwrap().0, 1096);
        for (q, name) in [
            ("days=0", "`days`"),
            ("days=1097", "`days`"),
            ("days=-5", "`days`"),
            ("days=+5", "`days`"),
            ("days=9999999999999", "`days`"),
            ("days=1&days=2", "`days`"),
            ("by=user", "`by`"),
            ("by=Connection", "`by`"),
            ("days=%ff", "`query`"),
        ] {
            let e = trends_params(q).unwrap_err();
            assert_eq!(e.status(), 400, "{q}");
            assert!(e.to_string().contains(name), "{q}: {e}");
        }
    }
}
