//! The bulk export job: the way to read a millisecond that holds more users than a listing can.
//!
//! The steps are separate calls (start, poll, download) so that the sync can keep its lock and
//! budget between them, and save the job id to resume it in a later invocation. The file holds
//! the whole tenant: it is streamed through [`MillisecondFilter`], which keeps only the users of
//! the wanted millisecond, so memory follows that millisecond, not the tenant.

use super::client::Auth0Client;
use super::error::Auth0Error;
use super::types::{Auth0User, ExportJob};
use crate::clock::Clock;
use crate::http::{BodySink, HttpClient, encode_component};

/// Waits between polls: short at first, since small exports finish in seconds.
const POLL_WAITS_MS: [u64; 6] = [500, 1000, 2000, 4000, 8000, 10_000];
/// A line longer than this without a newline is not an export file's (users are ~1 KB).
const MAX_LINE_BYTES: usize = 1 << 20;

/// How long to wait before poll number `polls` (0-based) of a job.
pub fn poll_wait(polls: usize) -> u64 {
    POLL_WAITS_MS[polls.min(POLL_WAITS_MS.len() - 1)] // ok: index clamped to the array
}

/// Starts an export of every user, with the fields the store keeps; returns the job id.
///
/// # Errors
/// Any API error.
pub async fn start_job<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
) -> Result<String, Auth0Error> {
    let fields: Vec<_> = super::users::USER_FIELDS
        .split(',')
        .map(|name| serde_json::json!({ "name": name }))
        .collect();
    let job = client
        .post(
            "/api/v2/jobs/users-exports",
            &serde_json::json!({ "format": "json", "fields": fields }),
            ExportJob::from_value,
        )
        .await?;
    Ok(job.id)
}

/// What one poll of a job found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Still working.
    Running,
    /// Done: the file is at this signed URL (valid about a minute).
    Ready(String),
    /// Auth0 no longer knows the job (expired since it was saved): start another.
    Gone,
}

/// Polls a job once.
///
/// # Errors
/// A job that failed or was cancelled, or any API error.
pub async fn poll_job<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    id: &str,
) -> Result<JobState, Auth0Error> {
    let job = match client
        .get(
            &format!("/api/v2/jobs/{}", encode_component(id)),
            ExportJob::from_value,
        )
        .await
    {
        Err(Auth0Error::Rejected { status: 404, .. }) => return Ok(JobState::Gone),
        other => other?,
    };
    match (job.status.as_deref(), job.location) {
        (Some("completed"), Some(location)) => Ok(JobState::Ready(location)),
        (Some("expired"), _) => Ok(JobState::Gone),
        (Some("failed" | "cancelled"), _) | (Some("completed"), None) => Err(Auth0Error::Export {
            detail: format!(
                "job {id} ended as {}",
                job.status.as_deref().unwrap_or("unknown")
            ),
        }),
        _ => Ok(JobState::Running),
    }
}

/// Downloads a finished job's file, keeping the users created at exactly `at`. `None` when the
/// signed link has expired (poll the job again for a fresh one).
///
/// # Errors
/// An unreadable file, or the download failing past its retries.
pub async fn download_millisecond<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    location: &str,
    at: &str,
) -> Result<Option<Vec<Auth0User>>, Auth0Error> {
    let mut filter = MillisecondFilter::new(at);
    match client.download_gzip_into(location, &mut filter).await {
        // An expired signed link: the job hands out a fresh one.
        Err(Auth0Error::Rejected { status: 403, .. }) => Ok(None),
        Err(e) => Err(e),
        Ok(()) => filter.finish().map(Some),
    }
}

/// Picks the users of one `created_at` millisecond out of an NDJSON export as it streams in.
///
/// Lines may be split anywhere between chunks and may end in CRLF. Only lines that contain the
/// millisecond's text are parsed (a user created then carries it verbatim, plain or as
/// `{"$date": …}`), so a huge file with few wanted users costs a byte scan, not a parse per user.
/// Every line must still look like one JSON object, so a truncated or garbled file fails rather
/// than silently dropping users.
#[derive(Debug)]
pub struct MillisecondFilter {
    at: String,
    partial: Vec<u8>,
    lines: usize,
    kept: Vec<Auth0User>,
    error: Option<String>,
}

impl MillisecondFilter {
    /// A filter for users created at `at`.
    pub fn new(at: &str) -> Self {
        Self {
            at: at.to_string(),
            partial: Vec::new(),
            lines: 0,
            kept: Vec::new(),
            error: None,
        }
    }

    /// The wanted users, once the whole file went through.
    ///
    /// # Errors
    /// A line that is not a user, with its number.
    pub fn finish(mut self) -> Result<Vec<Auth0User>, Auth0Error> {
        if self.error.is_none() && !self.partial.is_empty() {
            // The last line may lack its newline.
            let last = std::mem::take(&mut self.partial);
            self.line(&last);
        }
        match self.error {
            Some(detail) => Err(Auth0Error::Export { detail }),
            None => Ok(self.kept),
        }
    }

    fn fail(&mut self, why: &str) {
        self.error = Some(format!(
            "line {} of the export file {why}",
            self.lines.saturating_add(1)
        ));
    }

    fn line(&mut self, raw: &[u8]) {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw).trim_ascii();
        if !line.is_empty() {
            if !(line.starts_with(b"{") && line.ends_with(b"}")) {
                self.fail("is not a user");
                return;
            }
            let needle = self.at.as_bytes();
            if !needle.is_empty() && line.windows(needle.len()).any(|w| w == needle) {
                // Through `str` into a `Value`: the same parser the API's answers use (one copy
                // in the wasm).
                let user = std::str::from_utf8(line)
                    .ok()
                    .and_then(|text| crate::fields::parse(text).ok())
                    .and_then(|v| Auth0User::from_value(&v).ok());
                match user {
                    Some(user) if user.created_at.as_deref() == Some(self.at.as_str()) => {
                        self.kept.push(user);
                    }
                    Some(_) => {}
                    None => {
                        self.fail("is not a user");
                        return;
                    }
                }
            }
        }
        self.lines += 1;
    }
}

impl BodySink for MillisecondFilter {
    fn restart(&mut self) {
        self.partial.clear();
        self.lines = 0;
        self.kept.clear();
        self.error = None;
    }

    fn chunk(&mut self, mut bytes: &[u8]) -> bool {
        while self.error.is_none() {
            let Some(end) = bytes.iter().position(|b| *b == b'\n') else {
                self.partial.extend_from_slice(bytes);
                if self.partial.len() > MAX_LINE_BYTES {
                    self.fail("is too long to be a user");
                }
                break;
            };
            let (head, rest) = bytes.split_at(end); // ok: end < len
            if self.partial.is_empty() {
                self.line(head);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(head);
                self.line(&whole);
            }
            bytes = rest.get(1..).unwrap_or_default();
        }
        self.error.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(chunks: &[&[u8]], at: &str) -> Result<Vec<String>, Auth0Error> {
        let mut f = MillisecondFilter::new(at);
        for c in chunks {
            if !f.chunk(c) {
                break;
            }
        }
        Ok(f.finish()?.into_iter().map(|u| u.user_id).collect())
    }

    const FILE: &str = "{\"user_id\":\"a\",\"created_at\":\"t1\"}\n\n{\"user_id\":\"b\",\"created_at\":{\"$date\":\"t2\"}}\r\n{\"user_id\":\"c\",\"created_at\":\"t2\",\"name\":\"ü\"}\r\n{\"user_id\":\"d\",\"name\":\"t2\",\"created_at\":\"t3\"}";

    #[test]
    fn keeps_only_the_wanted_millisecond_and_reads_wrapped_dates() {
        assert_eq!(filter(&[FILE.as_bytes()], "t2").unwrap(), ["b", "c"]);
        assert_eq!(
            filter(&[FILE.as_bytes()], "t9").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn lines_split_anywhere_between_chunks_read_the_same() {
        let bytes = FILE.as_bytes();
        for cut in 0..=bytes.len() {
            for cut2 in [cut, (cut + 7).min(bytes.len())] {
                let parts: [&[u8]; 3] = [&bytes[..cut], &bytes[cut..cut2], &bytes[cut2..]];
                assert_eq!(filter(&parts, "t2").unwrap(), ["b", "c"], "cut at {cut}");
            }
        }
        // One byte at a time, CRLF and a multi-byte character split included.
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(filter(&singles, "t2").unwrap(), ["b", "c"]);
    }

    #[test]
    fn a_bad_line_fails_with_its_number_wanted_or_not() {
        let e = filter(
            &[b"{\"user_id\":\"a\"}\n{\"user_id\":\"b\",\"created_at\":\"t\""],
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = filter(&[b"{\"user_id\":\"a\"}\r\n\r\n<html>t</html>\n"], "zz").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = filter(&[b"{\"user_id\": t}\n"], "t").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let mut f = MillisecondFilter::new("t");
        assert!(!f.chunk(&vec![b'{'; MAX_LINE_BYTES + 1]));
        assert!(f.finish().is_err());
    }

    #[test]
    fn a_restart_forgets_the_broken_attempt() {
        let mut f = MillisecondFilter::new("t2");
        f.chunk(b"{\"user_id\":\"x\",\"created_at\":\"t2\"}\n{\"user_id\":\"hal");
        f.restart();
        f.chunk(FILE.as_bytes());
        let ids: Vec<_> = f.finish().unwrap().into_iter().map(|u| u.user_id).collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[test]
    fn a_huge_file_with_few_wanted_users_keeps_only_those() {
        let at = "2022-06-01T00:00:00.000Z";
        let mut f = MillisecondFilter::new(at);
        let mut chunk = Vec::new();
        for i in 0..300_000u32 {
            let created = if i % 50_000 == 7 {
                at.to_string()
            } else {
                crate::time::iso_from_ms(1_600_000_000_000 + u64::from(i))
            };
            chunk.extend_from_slice(
                format!("{{\"user_id\":\"auth0|{i:024}\",\"email\":\"u{i}@example.com\",\"created_at\":\"{created}\"}}\n")
                    .as_bytes(),
            );
            if chunk.len() > 64 * 1024 - 200 {
                assert!(f.chunk(&chunk));
                // Never more than a line held between chunks.
                assert!(f.partial.len() < 200);
                chunk.clear();
            }
        }
        f.chunk(&chunk);
        let kept = f.finish().unwrap();
        assert_eq!(kept.len(), 6);
        assert!(kept.iter().all(|u| u.created_at.as_deref() == Some(at)));
    }
}
