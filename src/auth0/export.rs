//! The bulk export job: the way to read a millisecond that holds more users than a listing can.

use super::client::Auth0Client;
use super::error::Auth0Error;
use super::types::{Auth0User, ExportJob};
use crate::clock::Clock;
use crate::http::HttpClient;

/// Waits between polls: short at first, since small exports finish in seconds.
const POLL_WAITS_MS: [u64; 6] = [500, 1000, 2000, 4000, 8000, 10_000];
/// Give up after this long: the Worker's wall-clock limit is near.
const MAX_WAIT_MS: u64 = 10 * 60 * 1000;
/// Fresh download links to ask for when one has expired (they live about 60 s).
const LINK_RETRIES: u32 = 2;

/// Runs an export and returns the users created at exactly `at`.
///
/// The export holds the whole tenant: only the wanted millisecond is kept, line by line.
///
/// # Errors
/// A job that fails or outlasts [`MAX_WAIT_MS`], an unreadable file, or any API error.
pub async fn users_created_at<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    at: &str,
) -> Result<Vec<Auth0User>, Auth0Error> {
    let fields: Vec<_> = super::users::USER_FIELDS
        .split(',')
        .map(|name| serde_json::json!({ "name": name }))
        .collect();
    let job: ExportJob = client
        .post(
            "/api/v2/jobs/users-exports",
            &serde_json::json!({ "format": "json", "fields": fields }),
        )
        .await?;
    let mut text = None;
    for _ in 0..=LINK_RETRIES {
        let location = wait_for_location(client, &job.id).await?;
        match client.download_gzip(&location).await {
            Ok(body) => {
                text = Some(body);
                break;
            }
            // An expired signed link: the job hands out a fresh one.
            Err(Auth0Error::Rejected { status: 403, .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    let text = text.ok_or_else(|| Auth0Error::Export {
        detail: "the download link kept expiring before it could be read".into(),
    })?;
    parse_lines(&text, at)
}

async fn wait_for_location<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    id: &str,
) -> Result<String, Auth0Error> {
    let mut waited = 0;
    let mut polls = 0usize;
    loop {
        let job: ExportJob = client.get(&format!("/api/v2/jobs/{id}")).await?;
        match (job.status.as_deref(), job.location) {
            (Some("completed"), Some(location)) => return Ok(location),
            (Some("failed" | "cancelled" | "expired"), _) | (Some("completed"), None) => {
                return Err(Auth0Error::Export {
                    detail: format!(
                        "job {id} ended as {}",
                        job.status.as_deref().unwrap_or("unknown")
                    ),
                });
            }
            _ => {}
        }
        if waited >= MAX_WAIT_MS {
            return Err(Auth0Error::Export {
                detail: format!("job {id} was not done after {} s", waited / 1000),
            });
        }
        let wait = POLL_WAITS_MS[polls.min(POLL_WAITS_MS.len() - 1)];
        polls += 1;
        waited += wait;
        client.wait(wait).await;
    }
}

/// Parses NDJSON, keeping users created at `at`.
fn parse_lines(text: &str, at: &str) -> Result<Vec<Auth0User>, Auth0Error> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let user: Auth0User = serde_json::from_str(line).map_err(|_| Auth0Error::Export {
            detail: format!("line {} of the export file is not a user", n + 1),
        })?;
        if user.created_at.as_deref() == Some(at) {
            out.push(user);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_wanted_millisecond_and_reads_wrapped_dates() {
        let text = "{\"user_id\":\"a\",\"created_at\":\"t1\"}\n\n{\"user_id\":\"b\",\"created_at\":{\"$date\":\"t2\"}}\n{\"user_id\":\"c\",\"created_at\":\"t2\"}\n";
        let ids: Vec<_> = parse_lines(text, "t2")
            .unwrap()
            .into_iter()
            .map(|u| u.user_id)
            .collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[test]
    fn a_broken_line_fails_with_its_number() {
        let e = parse_lines("{\"user_id\":\"a\"}\n{\"user_", "t").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
