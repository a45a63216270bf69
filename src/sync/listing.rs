//! The user listing, block by block, each block proven complete before the sync vouches for its
//! range; and the range types the sync persists in its cursor.
//!
//! A block pages up to the 1000-result cap through users sorted by `created_at`, from a lower
//! bound. A full block ends before its last `created_at`, which becomes the next block's inclusive
//! lower bound. A full block whose users all share one millisecond cannot be narrowed: that
//! millisecond is read from a bulk export, and the listing resumes just after it.
//!
//! Auth0 does not promise the order of equal sort keys from one request to the next, so a group
//! of users sharing a millisecond across a page boundary can be listed twice on one side and
//! missed on the other. A block is therefore only vouched for when the distinct users it read in
//! its range equal a count of that range. When they differ, each straddling millisecond is read
//! alone in one request, and failing that the range is read again. A range that still cannot be
//! proven is reported, and its absences count for nothing.
//!
//! # The proof by difference
//!
//! Every page of block `k` carries Auth0's `total` for its query, `created_at:[L_k TO *]`, and the
//! next block's first page carries it for `[L_{k+1} TO *]`, where `L_{k+1}` is the end of block
//! `k`'s range. Their difference `d` counts block `k`'s range, so a block whose reading is
//! *clean* and whose distinct users equal `d` is proven without a request of its own: the next
//! block's first page is read ahead ([`Block::carry`]) and not asked again. A reading is clean
//! when every page reported the same total and no user came twice within the range.
//!
//! Why that is sound. A user present throughout is missed only in two ways:
//! - a tie group reordered across a page boundary; while the set does not change, the pages
//!   then hold as many rows as the range has users, so a missed user means a repeated one, which
//!   a clean reading has not;
//! - a user who left the query's set between two page requests, at a position already read:
//!   every later position moves back by one and the user at the next boundary is skipped, while
//!   the one who left stays in what was read. Such a departure lowers the total of every later
//!   page, which a clean reading has not seen.
//!
//! Users joining (a signup lands at the end, in the next block's range; an update joins an
//! incremental listing anywhere) only move positions forward, which repeats a row and never
//! skips one. Changes after the block's last page cannot make it miss anyone: a departure from
//! its range leaves `d` equal to what was read (correct, the user was present when read); a
//! change after the range makes `d` disagree, and the block falls back to a count.
//!
//! So `d` can only be matched by a wrong reading when, between the same two page requests, a
//! user already read leaves and another joins, so that the totals stay equal: a creation and a
//! deletion within the same fraction of a second. No count can see that pair; the count this
//! proof replaces was fooled by the deletion alone (a count after the reading matches a reading
//! that holds the departed user in place of the skipped one). Hence the fallbacks:
//! - a reading whose totals dropped is never proven by a count taken after it: its straddles
//!   are read alone (to find a millisecond to export), then its range is read again, bounded,
//!   and proven by that reading's own first total, taken before any departure it could miss;
//! - a reading that is not clean otherwise (totals rose, or a user came twice) is proven by a
//!   count only after its straddling milliseconds were read alone;
//! - a clean reading whose `d` disagrees (or cannot be computed: a total absent or possibly
//!   capped) is proven by a count of its range, as before.
//!
//! A total of exactly 1,000 may be Auth0's cap and one of 10,000 a search engine's default
//! limit, so neither is taken as a count for `d`; a tenant whose totals are capped pays the
//! count per block, and a departure while it is paged stays unseen, as before this proof.

use std::collections::HashSet;
use std::ops::{Bound, RangeBounds};

use crate::auth0::types::{Auth0User, UsersPage};
use crate::auth0::users::{MAX_PAGES, PER_PAGE, RESULT_CAP, created_at_query, fetch_page};
use crate::auth0::{Auth0Client, Auth0Error};
use crate::clock::Clock;
use crate::http::HttpClient;
use crate::store::RunRecord;

/// Where a block starts on `created_at`. Stored in the cursor (`super::cursor` writes and reads
/// it as `{"kind": "inclusive", "at": …}`); the derive is the tests' record of the old format.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(test, serde(tag = "kind", content = "at", rename_all = "snake_case"))]
pub enum Lower {
    /// From the first user.
    Unbounded,
    /// At or after this instant.
    Inclusive(String),
    /// Strictly after this instant.
    Exclusive(String),
}

impl Lower {
    fn bound(&self) -> Bound<&str> {
        match self {
            Self::Unbounded => Bound::Unbounded,
            Self::Inclusive(t) => Bound::Included(t),
            Self::Exclusive(t) => Bound::Excluded(t),
        }
    }
}

/// The `created_at` range a finished block vouches for: every user in it was listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covered {
    /// From `lower` up to, not including, `before` (or to the end).
    Range {
        /// The block's lower bound.
        lower: Lower,
        /// The exclusive upper bound; `None` for the last block.
        before: Option<String>,
    },
    /// Exactly one millisecond, read from an export.
    Exactly(String),
}

impl Covered {
    /// The range as bounds on `created_at`, for the store and for queries.
    pub fn bounds(&self) -> (Bound<&str>, Bound<&str>) {
        match self {
            Self::Range { lower, before } => (
                lower.bound(),
                before.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
            ),
            Self::Exactly(t) => (Bound::Included(t), Bound::Included(t)),
        }
    }

    /// Whether a user created at this instant falls in the range.
    pub fn contains(&self, created_at: &str) -> bool {
        RangeBounds::<&str>::contains(&self.bounds(), &created_at)
    }

    /// Whether no instant can fall in the range (a block that starts at its own last instant).
    fn is_empty(&self) -> bool {
        match self.bounds() {
            (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b)) => b <= a,
            _ => false,
        }
    }

    /// The range as people read it, e.g. `[2021-…, 2022-…)`.
    fn describe(&self) -> String {
        let (lower, upper) = self.bounds();
        let from = match lower {
            Bound::Unbounded => "[the first user".to_string(),
            Bound::Included(t) => format!("[{t}"),
            Bound::Excluded(t) => format!("({t}"),
        };
        let to = match upper {
            Bound::Unbounded => "the newest user]".to_string(),
            Bound::Included(t) => format!("{t}]"),
            Bound::Excluded(t) => format!("{t})"),
        };
        format!("{from}, {to}")
    }
}

/// What follows a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The listing is complete.
    Done,
    /// Another block starts here.
    From(Lower),
    /// More users share this millisecond than a listing can read reliably: export it.
    Export(String),
}

/// Decides, from a block's users, what it covered and what comes next.
///
/// `full` means the block reached the cap, so more users may follow.
pub fn end_of_block(lower: &Lower, users: &[Auth0User], full: bool) -> (Covered, Next) {
    if !full {
        let covered = Covered::Range {
            lower: lower.clone(),
            before: None,
        };
        return (covered, Next::Done);
    }
    let created = |u: &Auth0User| u.created_at.clone().unwrap_or_default();
    let min = users.iter().map(created).min().unwrap_or_default();
    let max = users.iter().map(created).max().unwrap_or_default();
    let covered = Covered::Range {
        lower: lower.clone(),
        before: Some(max.clone()),
    };
    if min == max {
        (covered, Next::Export(max))
    } else {
        (covered, Next::From(Lower::Inclusive(max)))
    }
}

/// Keeps the first of each `user_id` and only users inside `covered`.
pub fn dedupe_within(users: Vec<Auth0User>, covered: &Covered) -> Vec<Auth0User> {
    let mut seen = HashSet::with_capacity(users.len());
    users
        .into_iter()
        .filter(|u| covered.contains(u.created_at.as_deref().unwrap_or("")))
        .filter(|u| seen.insert(u.user_id.clone()))
        .collect()
}

/// Why `read` distinct users do not prove `covered` complete, given Auth0's `total` for it;
/// `None` when they do. A total at the cap may itself be capped, and an absent one proves nothing.
fn shortfall(covered: &Covered, read: usize, total: Option<u64>) -> Option<String> {
    let range = covered.describe();
    match total {
        Some(t) if t < u64::from(RESULT_CAP) && t == read as u64 => None,
        Some(t) if t >= u64::from(RESULT_CAP) => Some(format!(
            "range {range}: read {read} distinct users, Auth0 reports {t}, which is its cap, not \
             a count"
        )),
        Some(t) => Some(format!(
            "range {range}: read {read} distinct users, Auth0 reports {t}"
        )),
        None => Some(format!(
            "range {range}: read {read} distinct users, Auth0 reports no total"
        )),
    }
}

/// One block of the listing.
#[derive(Debug)]
pub struct Block {
    /// Users inside `covered`, once each.
    pub users: Vec<Auth0User>,
    /// The range this block listed.
    pub covered: Covered,
    /// What follows.
    pub next: Next,
    /// Auth0's total for the block's first query (possibly capped at 1000).
    pub total_hint: Option<u64>,
    /// Why `covered` could not be proven complete, with the numbers; `None` once proven.
    pub unproven: Option<String>,
    /// The next block's first page, read to prove this one: pass it to the next `fetch_block`
    /// so it is not asked again. `None` when it was not read or the next block changed.
    pub carry: Option<UsersPage>,
}

/// What consecutive pages of one query gave.
struct Pages {
    users: Vec<Auth0User>,
    /// Instants that end one page and start the next: groups a reordering can split.
    straddles: Vec<String>,
    /// Every page was full: more users may follow.
    full: bool,
    /// Page 0's total for the whole query.
    total: Option<u64>,
    /// Every page reported a total, the same as page 0's: no net change while paging.
    steady: bool,
    /// A page reported less than the page before it (or none after one): someone left the query's
    /// set while it was paged, which can skip a user (see the module's doc).
    dropped: bool,
}
/// The query for users created inside `(lower, upper)`, and with `since`, only those updated at or
/// after it (an incremental listing): the same blocks, counts and proofs over a narrower set.
pub fn block_query(lower: Bound<&str>, upper: Bound<&str>, since: Option<&str>) -> Option<String> {
    let created = created_at_query(lower, upper);
    let Some(since) = since else {
        return created;
    };
    let updated = format!("updated_at:[{since} TO *]");
    Some(match created {
        Some(created) => format!("{created} AND {updated}"),
        None => updated,
    })
}

/// Reads up to [`MAX_PAGES`] pages of `q`, page 0 being `first` when it was read ahead.
async fn read_pages<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    q: Option<&str>,
    mut first: Option<UsersPage>,
) -> Result<Pages, Auth0Error> {
    let mut out = Pages {
        users: Vec::new(),
        straddles: Vec::new(),
        full: true,
        total: None,
        steady: true,
        dropped: false,
    };
    let mut last_before: Option<String> = None;
    let mut last_total: Option<u64> = None;
    for page in 0..MAX_PAGES {
        let answer = match first.take() {
            Some(answer) => answer,
            None => fetch_page(client, q, page, PER_PAGE).await?,
        };
        if page == 0 {
            out.total = answer.total;
        }
        out.steady &= answer.total.is_some() && answer.total == out.total;
        if page > 0 {
            out.dropped |= match (last_total, answer.total) {
                (Some(before), Some(now)) => now < before,
                (Some(_), None) => true,
                (None, _) => false,
            };
        }
        last_total = answer.total;
        let first = answer.users.first().and_then(|u| u.created_at.clone());
        if let Some(first) = first
            && last_before.as_ref() == Some(&first)
        {
            out.straddles.push(first);
        }
        last_before = answer.users.last().and_then(|u| u.created_at.clone());
        let short = answer.users.len() < PER_PAGE as usize;
        out.users.extend(answer.users);
        if short {
            out.full = false;
            break;
        }
    }
    Ok(out)
}

/// A total that is surely a count: present, and not a value a cap could have produced.
fn a_count(total: Option<u64>) -> Option<u64> {
    total.filter(|t| *t != u64::from(RESULT_CAP) && *t != 10 * u64::from(RESULT_CAP))
}

/// Auth0's total for `covered`, from a one-user page of the range.
async fn count<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    covered: &Covered,
    since: Option<&str>,
) -> Result<Option<u64>, Auth0Error> {
    if covered.is_empty() {
        return Ok(Some(0));
    }
    let (lower, upper) = covered.bounds();
    let q = block_query(lower, upper, since);
    Ok(fetch_page(client, q.as_deref(), 0, 1).await?.total)
}

/// Reads each straddling millisecond inside `covered` alone, in one request, and puts its users
/// in place of what the pages gave. Returns the first millisecond too full for one page: no
/// request can list it whole, so it is left to an export.
async fn settle<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    users: &mut Vec<Auth0User>,
    straddles: &[String],
    covered: &Covered,
    since: Option<&str>,
) -> Result<Option<String>, Auth0Error> {
    let mut done = HashSet::new();
    for t in straddles {
        if !covered.contains(t) || !done.insert(t) {
            continue;
        }
        let q = block_query(Bound::Included(t), Bound::Included(t), since);
        let answer = fetch_page(client, q.as_deref(), 0, PER_PAGE).await?;
        let at = Covered::Exactly(t.clone());
        let group = dedupe_within(answer.users, &at);
        match answer.total {
            Some(n) if n == group.len() as u64 => {
                users.retain(|u| u.created_at.as_deref() != Some(t.as_str()));
                users.extend(group);
            }
            Some(n) if n > u64::from(PER_PAGE) => return Ok(Some(t.clone())),
            // Not proven either way: keep both readings, the block's count decides.
            _ => users.extend(group),
        }
    }
    Ok(None)
}

/// Fetches one block from `lower` and proves its range complete, or says why it cannot.
///
/// `carry` is the block's first page when the previous block read it ahead. Costs the pages (at
/// most 10) and, for a full block, the next block's first page, which that block then does not
/// ask again. Only a block whose reading is not clean or whose difference disagrees costs more
/// (see the module's doc): a count, one request per straddling millisecond, then one more
/// reading of the range with its straddles.
///
/// # Errors
/// Any [`Auth0Error`] of a request. [`Auth0Error::BudgetSpent`] while proving the first block
/// of an invocation is not one: more budget would never come, so that block stays unproven.
pub async fn fetch_block<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    lower: &Lower,
    since: Option<&str>,
    carry: Option<UsersPage>,
) -> Result<Block, Auth0Error> {
    // Only the token (and retries) went before: this invocation's whole budget is for this block.
    let first_of_invocation = client.stats.requests.saturating_sub(client.stats.retries) <= 1;
    let q = block_query(lower.bound(), Bound::Unbounded, since);
    let first = read_pages(client, q.as_deref(), carry).await?;
    let (covered, next) = end_of_block(lower, &first.users, first.full);
    let rows = first
        .users
        .iter()
        .filter(|u| covered.contains(u.created_at.as_deref().unwrap_or("")))
        .count();
    let mut block = Block {
        users: dedupe_within(first.users, &covered),
        covered,
        next,
        total_hint: first.total,
        unproven: None,
        carry: None,
    };
    let reading = Reading {
        total: first.total,
        full: first.full,
        clean: first.steady && rows == block.users.len(),
        dropped: first.dropped,
    };
    block.unproven = match prove(client, &mut block, lower, &reading, &first.straddles, since).await
    {
        Ok(unproven) => unproven,
        Err(Auth0Error::BudgetSpent) if first_of_invocation => Some(format!(
            "range {}: this invocation's request budget ran out before the range could be \
             counted (raise SYNC_MAX_AUTH0_REQUESTS to 45 or more)",
            block.covered.describe()
        )),
        Err(e) => return Err(e),
    };
    // A read-ahead page is the next block's only while the next block still starts there.
    if !matches!(block.next, Next::From(_)) {
        block.carry = None;
    }
    Ok(block)
}

/// What a block's own pages say about how far they can be trusted.
struct Reading {
    /// Page 0's total, for `[lower TO *]`.
    total: Option<u64>,
    /// The block reached the cap.
    full: bool,
    /// Every page reported the same total and no user came twice in the range.
    clean: bool,
    /// A page's total dropped: someone left while the pages were read.
    dropped: bool,
}

/// Proves the block by difference when its reading is clean, or else compares it with a count
/// of its range, reads the straddling milliseconds, then the range, again (see the module's doc
/// for which evidence each reading may use). Returns why the range cannot be proven, if it
/// cannot; `block` keeps every user read, in a consistent state at each request.
async fn prove<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    block: &mut Block,
    lower: &Lower,
    reading: &Reading,
    straddles: &[String],
    since: Option<&str>,
) -> Result<Option<String>, Auth0Error> {
    let read = block.users.len() as u64;
    if let Next::From(next) = &block.next
        && reading.clean
        && let Some(before) = a_count(reading.total)
    {
        // The next block's first page, read now: its total closes this block's difference.
        let q = block_query(next.bound(), Bound::Unbounded, since);
        let ahead = fetch_page(client, q.as_deref(), 0, PER_PAGE).await?;
        let after = a_count(ahead.total);
        block.carry = Some(ahead);
        if after.and_then(|after| before.checked_sub(after)) == Some(read)
            && read < u64::from(RESULT_CAP)
        {
            return Ok(None);
        }
    }
    // The last block's first page counted exactly its range; a full block's range needs a count,
    // which a reading whose totals dropped cannot use (it may hold a departed user in place of a
    // skipped one).
    let mut total = match (reading.full, reading.dropped) {
        (false, _) => reading.total,
        (true, false) => count(client, &block.covered, since).await?,
        (true, true) => None,
    };
    if reading.clean && shortfall(&block.covered, block.users.len(), total).is_none() {
        return Ok(None);
    }
    if let Some(t) = settle(client, &mut block.users, straddles, &block.covered, since).await? {
        block.covered = Covered::Range {
            lower: lower.clone(),
            before: Some(t.clone()),
        };
        block.next = Next::Export(t);
        block.users = dedupe_within(std::mem::take(&mut block.users), &block.covered);
        if !reading.dropped {
            total = count(client, &block.covered, since).await?;
        }
    }
    block.users = dedupe_within(std::mem::take(&mut block.users), &block.covered);
    if !reading.dropped && shortfall(&block.covered, block.users.len(), total).is_none() {
        return Ok(None);
    }
    // Still not equal, or not to be trusted: the tenant changed under the listing, or a count is
    // off. Read the range once more, bounded now, so that its own page 0 counts it before anyone
    // it could miss leaves.
    let covered = &block.covered;
    let (from, to) = covered.bounds();
    let again = read_pages(client, block_query(from, to, since).as_deref(), None).await?;
    let mut reread = dedupe_within(again.users, covered);
    let too_full = settle(client, &mut reread, &again.straddles, covered, since).await?;
    reread = dedupe_within(reread, covered);
    let range = covered.describe();
    let why = match (shortfall(covered, reread.len(), again.total), too_full) {
        (Some(why), _) => why,
        (None, Some(t)) => format!(
            "range {range}: more than {PER_PAGE} users share the millisecond {t}, which one \
             request cannot list"
        ),
        (None, None) if again.full => {
            format!("range {range}: reading it again reached the {RESULT_CAP}-result cap")
        }
        (None, None) if again.dropped => format!(
            "range {range}: users were deleted while it was read again; the next run lists it \
             again"
        ),
        (None, None) => {
            block.users = reread;
            return Ok(None);
        }
    };
    // Unproven: keep every user either reading found, and say why.
    block.users.extend(reread);
    block.users = dedupe_within(std::mem::take(&mut block.users), &block.covered);
    Ok(Some(why))
}

/// Starts a run's message when part of its listing could not be proven complete.
pub const UNPROVEN: &str = "The user listing could not be proven complete, so no one was \
     marked removed (the users read were saved; the next run tries again): ";
/// Room for the reasons in a run's message; more are summarised.
const NOTE_MAX: usize = 1500;

/// Records on the run (its message) that a range could not be proven complete.
pub fn note_unproven(run: &mut RunRecord, why: &str) {
    match &mut run.error {
        Some(note) if note.starts_with(UNPROVEN) => {
            if note.len() < NOTE_MAX {
                note.push_str("; ");
                note.push_str(why);
            } else if !note.ends_with("and more") {
                note.push_str("; and more");
            }
        }
        _ => run.error = Some(format!("{UNPROVEN}{why}")),
    }
}

/// Whether part of this run's listing could not be proven complete.
pub fn is_unproven(run: &RunRecord) -> bool {
    run.error
        .as_deref()
        .is_some_and(|e| e.starts_with(UNPROVEN))
}

/// The message a finishing run ends with: the listing's note, if any, then `other`. A run with
/// either ends `partial`.
pub fn closing_message(run: &mut RunRecord, other: Option<String>) -> Option<String> {
    let note = run.error.take().filter(|e| e.starts_with(UNPROVEN));
    match (note, other) {
        (Some(note), Some(other)) => Some(format!("{note}. Also: {other}")),
        (note, other) => note.or(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, created: &str) -> Auth0User {
        serde_json::from_value(serde_json::json!({"user_id": id, "created_at": created})).unwrap()
    }

    #[test]
    fn a_short_block_is_the_last_and_covers_everything_after_its_bound() {
        let lower = Lower::Inclusive("2021".into());
        let (covered, next) = end_of_block(&lower, &[user("a", "2022")], false);
        assert_eq!(next, Next::Done);
        assert!(covered.contains("2021") && covered.contains("2999"));
        assert!(!covered.contains("2020"));
        assert_eq!(covered.describe(), "[2021, the newest user]");
    }

    #[test]
    fn a_full_block_continues_from_its_last_instant_inclusively() {
        let users = vec![
            user("a", "2020-01"),
            user("b", "2020-02"),
            user("c", "2020-03"),
        ];
        let (covered, next) = end_of_block(&Lower::Unbounded, &users, true);
        assert_eq!(next, Next::From(Lower::Inclusive("2020-03".into())));
        // The boundary instant is left to the next block, which lists all of it.
        assert!(covered.contains("2020-02") && !covered.contains("2020-03"));
        assert_eq!(dedupe_within(users, &covered).len(), 2);
        assert_eq!(covered.describe(), "[the first user, 2020-03)");
        assert!(!covered.is_empty());
    }

    #[test]
    fn a_full_block_of_one_millisecond_asks_for_an_export() {
        let users = vec![user("a", "t"), user("b", "t")];
        let lower = Lower::Inclusive("t".into());
        let (covered, next) = end_of_block(&lower, &users, true);
        assert_eq!(next, Next::Export("t".into()));
        assert!(!covered.contains("t") && covered.is_empty());
        let exact = Covered::Exactly("t".into());
        assert!(exact.contains("t") && !exact.contains("u") && !exact.is_empty());
        let after = Covered::Range {
            lower: Lower::Exclusive("t".into()),
            before: None,
        };
        assert!(after.contains("u") && !after.contains("t"));
        assert_eq!(after.describe(), "(t, the newest user]");
    }

    #[test]
    fn dedupe_keeps_first_of_each_id() {
        let users = vec![user("a", "1"), user("b", "1"), user("a", "1")];
        let out = dedupe_within(
            users,
            &Covered::Range {
                lower: Lower::Unbounded,
                before: None,
            },
        );
        let ids: Vec<_> = out.iter().map(|u| u.user_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn only_an_exact_total_below_the_cap_proves_a_range() {
        let r = Covered::Range {
            lower: Lower::Inclusive("a".into()),
            before: Some("b".into()),
        };
        assert_eq!(shortfall(&r, 998, Some(998)), None);
        assert_eq!(
            shortfall(&r, 998, Some(1000)).unwrap(),
            "range [a, b): read 998 distinct users, Auth0 reports 1000, which is its cap, not a count"
        );
        assert_eq!(
            shortfall(&r, 997, Some(998)).unwrap(),
            "range [a, b): read 997 distinct users, Auth0 reports 998"
        );
        assert!(shortfall(&r, 0, None).unwrap().contains("no total"));
        assert!(shortfall(&r, 1000, Some(1000)).is_some(), "a capped total");
    }

    #[test]
    fn the_run_message_collects_reasons_and_ends_with_other_problems() {
        let mut run = RunRecord::started(1, "t".into(), "cron");
        assert!(!is_unproven(&run));
        note_unproven(&mut run, "range A");
        note_unproven(&mut run, "range B");
        assert!(is_unproven(&run));
        for _ in 0..100 {
            note_unproven(&mut run, "range C, a long reason that repeats");
        }
        let note = run.error.clone().unwrap();
        assert!(note.starts_with(UNPROVEN) && note.contains("range A; range B"));
        assert!(
            note.len() < NOTE_MAX + 100 && note.ends_with("; and more"),
            "{note}"
        );
        let msg = closing_message(&mut run, Some("organizations not synced".into())).unwrap();
        assert!(msg.ends_with("Also: organizations not synced"), "{msg}");
        assert_eq!(run.error, None);
        assert_eq!(closing_message(&mut run, None), None);
    }

    #[test]
    fn cursor_bounds_round_trip_as_json_with_their_stored_tags() {
        for l in [
            Lower::Unbounded,
            Lower::Inclusive("a".into()),
            Lower::Exclusive("b".into()),
        ] {
            let s = serde_json::to_string(&l).unwrap();
            assert_eq!(serde_json::from_str::<Lower>(&s).unwrap(), l);
        }
        assert_eq!(
            serde_json::to_string(&Lower::Inclusive("a".into())).unwrap(),
            r#"{"kind":"inclusive","at":"a"}"#
        );
    }
}
