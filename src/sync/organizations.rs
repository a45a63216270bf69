//! The organizations part of a run: organizations, then each one's members.
//!
//! It runs after a complete user listing. A missing scope skips what it guards and makes the
//! run `partial` with the grant to add; nothing already stored is marked removed then.

use std::collections::{HashMap, HashSet};

use super::Stop;
use super::budget::{Budget, Counted};
use super::lease::Lease;
use super::writes::{MAX_IDS, id_chunks};
use crate::auth0::error::GRANT_PATH;
use crate::auth0::organizations::{list_organizations, member_ids_page};
use crate::auth0::types::Auth0Organization;
use crate::auth0::{Auth0Client, Auth0Error};
use crate::clock::Clock;
use crate::http::HttpClient;
use crate::store::{OrgRow, RunRecord, StoredMember, StoredOrg, SyncStore};
use crate::time::iso_from_ms;

/// Ids per membership write (an organization read whole within one invocation).
const MEMBER_CHUNK: usize = 2000;

/// The partial-run message for a scope the token lacks.
pub fn missing_scope_message(scope: &str) -> String {
    let (what, adds) = match scope {
        "read:organizations" => (
            "organizations not synced",
            "the tenant's organizations and their members",
        ),
        _ => (
            "organization members not synced",
            "who belongs to each organization",
        ),
    };
    format!("{what}: grant {scope} to the M2M app in {GRANT_PATH}; it adds {adds}.")
}

/// Maps an organization to its row, fingerprinted.
pub fn org_row(o: &Auth0Organization) -> OrgRow {
    let fingerprint = crate::sync::mapping::digest_hex(&[
        Some(&o.id),
        o.name.as_deref(),
        o.display_name.as_deref(),
    ]);
    OrgRow {
        id: o.id.clone(),
        name: o.name.clone(),
        display_name: o.display_name.clone(),
        fingerprint,
    }
}

/// What to write for the organization list.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OrgPlan {
    /// New, changed or returning organizations.
    pub write: Vec<OrgRow>,
    /// Stored, not removed, and no longer listed.
    pub gone: Vec<String>,
}

/// Compares the complete organization list with the stored one.
pub fn plan_orgs(listed: &[Auth0Organization], stored: &[StoredOrg]) -> OrgPlan {
    let by_id: HashMap<&str, &StoredOrg> = stored.iter().map(|s| (s.id.as_str(), s)).collect();
    let listed_ids: HashSet<&str> = listed.iter().map(|o| o.id.as_str()).collect();
    let write = listed
        .iter()
        .map(org_row)
        .filter(|r| {
            by_id
                .get(r.id.as_str())
                .is_none_or(|s| s.fingerprint != r.fingerprint || s.removed_at.is_some())
        })
        .collect();
    let mut gone: Vec<String> = stored
        .iter()
        .filter(|s| s.removed_at.is_none() && !listed_ids.contains(s.id.as_str()))
        .map(|s| s.id.clone())
        .collect();
    gone.sort();
    OrgPlan { write, gone }
}

/// Members to add (new or returning) and to mark removed, for one organization.
pub fn plan_members(listed: &[String], stored: &[StoredMember]) -> (Vec<String>, Vec<String>) {
    let active: HashSet<&str> = stored
        .iter()
        .filter(|m| m.removed_at.is_none())
        .map(|m| m.user_id.as_str())
        .collect();
    let listed_set: HashSet<&str> = listed.iter().map(String::as_str).collect();
    let mut add: Vec<String> = listed_set
        .iter()
        .filter(|id| !active.contains(*id))
        .map(|id| (*id).to_string())
        .collect();
    let mut gone: Vec<String> = active
        .iter()
        .filter(|id| !listed_set.contains(*id))
        .map(|id| (*id).to_string())
        .collect();
    add.sort();
    gone.sort();
    (add, gone)
}

/// An organization whose members are read across invocations: saved in the cursor.
///
/// Only where the listing stands rides along: the members read so far are held in the store
/// (`sync_member_seen`, written in bounded chunks when an invocation pauses), so the cursor stays
/// a few hundred bytes whatever the organization's size. Its stored form is written and read by
/// `super::cursor`; the derive is the tests' record of the old format.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
pub struct MemberProgress {
    /// The organization's id.
    pub org: String,
    /// The checkpoint of the next page; `None` once every page is read (only the writes remain).
    pub from: Option<String>,
    /// Members read so far, as cursors saved before they were held in the store carried them.
    /// Never written; such a cursor's organization is read again from its start.
    #[cfg_attr(test, serde(default, skip_serializing))]
    pub ids: Vec<String>,
}

/// Where the organizations part stopped.
pub(super) enum OrgStep {
    /// Done; `Some(message)` when a scope is missing (the run becomes `partial`).
    Done(Option<String>),
    /// The budget is spent; continue from this organization next invocation, inside its member
    /// listing when that had begun.
    Paused(usize, Option<MemberProgress>),
}

/// Auth0 requests kept free to start the organizations part: at least one page.
const ORG_REQUESTS: u32 = 2;
/// D1 queries kept free per page of members: what applying an organization needs at least
/// (read, add, remove).
const ORG_QUERIES: u32 = 3;

/// Syncs organizations, then the members of each from index `from` on (resuming inside that
/// organization's listing when `progress` names it). With `events_of_run`, each membership
/// change is recorded as that run's event, in the batch that makes it.
///
/// The organization list is read whole each invocation (cheap, and it must be complete to
/// decide removals); members are read page by page within the budget, so an organization of
/// any size spreads over as many invocations as it needs.
///
/// # Errors
/// Store failures, a lost lease, and Auth0 failures other than a missing scope.
#[allow(clippy::too_many_arguments)] // the invocation's parts, passed apart to keep borrows simple
pub(super) async fn sync_organizations<H: HttpClient, C: Clock, S: SyncStore>(
    client: &mut Auth0Client<'_, H, C>,
    clock: &C,
    store: &Counted<'_, S>,
    run: &mut RunRecord,
    from: usize,
    mut progress: Option<MemberProgress>,
    budget: &Budget,
    lease: &mut Lease,
    events_of_run: Option<i64>,
) -> Result<OrgStep, Stop> {
    // An old cursor's ids are not held in the store: that organization's listing starts over
    // rather than decide removals without them.
    progress = progress.filter(|p| p.ids.is_empty());
    let granted = client.granted_scopes().unwrap_or_default().to_vec();
    let lacks = |scope: &str| !granted.is_empty() && !granted.iter().any(|s| s == scope);
    if lacks("read:organizations") {
        return Ok(OrgStep::Done(Some(missing_scope_message(
            "read:organizations",
        ))));
    }
    if !budget.room(&client.stats, store.used(), ORG_REQUESTS, ORG_QUERIES) {
        return Ok(OrgStep::Paused(from, progress));
    }
    let orgs = match list_organizations(client).await {
        Err(Auth0Error::MissingScope { .. }) => {
            return Ok(OrgStep::Done(Some(missing_scope_message(
                "read:organizations",
            ))));
        }
        Err(Auth0Error::BudgetSpent) => return Ok(OrgStep::Paused(from, progress)),
        other => other?,
    };
    lease.keep(store, clock.now_ms()).await?;
    run.organizations_seen = orgs.len() as u64;
    let now = iso_from_ms(clock.now_ms());
    let plan = plan_orgs(&orgs, &store.organizations().await?);
    if !plan.write.is_empty() {
        run.rows_written += store.upsert_organizations(&plan.write, &now).await?;
    }
    if !plan.gone.is_empty() {
        run.rows_written += store.mark_organizations_removed(&plan.gone, &now).await?;
        // A removed organization has no members left.
        for org in &plan.gone {
            apply_members(store, run, org, &[], &now, events_of_run).await?;
        }
    }
    if lacks("read:organization_members") {
        return Ok(OrgStep::Done(Some(missing_scope_message(
            "read:organization_members",
        ))));
    }
    'orgs: for (i, org) in orgs.iter().enumerate().skip(from) {
        // Resume inside this organization's listing only if the saved one is about it. A resumed
        // listing has its earlier members held in the store (`held`); one read whole in this
        // invocation is compared in memory and writes nothing when unchanged.
        let (mut ids, mut next, mut started) = match progress.take() {
            Some(p) if p.org == org.id => (p.ids, p.from, true),
            Some(p) => {
                // The organization list moved under a paused run: that listing starts over.
                store.clear_seen_members(run.id, &p.org).await?;
                (Vec::new(), None, false)
            }
            None => (Vec::new(), None, false),
        };
        let mut held = started;
        while !started || next.is_some() {
            lease.keep(store, clock.now_ms()).await?;
            // Room for this page and to finish (or hold) with it.
            let finish = finish_queries(ids.len() + PAGE_ALLOWANCE, held);
            if !budget.room(&client.stats, store.used(), 1, finish) {
                return pause(store, run, i, org, ids, next, started).await;
            }
            let (page, after) = match member_ids_page(client, &org.id, next.as_deref()).await {
                Err(Auth0Error::MissingScope { .. }) => {
                    return Ok(OrgStep::Done(Some(missing_scope_message(
                        "read:organization_members",
                    ))));
                }
                Err(Auth0Error::BudgetSpent) => {
                    return pause(store, run, i, org, ids, next, started).await;
                }
                // Deleted between the two listings: the next run's organization list drops it.
                Err(Auth0Error::Rejected { status: 404, .. }) => {
                    if held {
                        store.clear_seen_members(run.id, &org.id).await?;
                    }
                    continue 'orgs;
                }
                // A saved checkpoint Auth0 no longer accepts: read this organization again.
                Err(Auth0Error::Rejected { status: 400, .. }) if next.is_some() => {
                    if held {
                        store.clear_seen_members(run.id, &org.id).await?;
                    }
                    (ids, next, started, held) = (Vec::new(), None, false, false);
                    continue;
                }
                other => other?,
            };
            run.memberships_seen += page.len() as u64;
            ids.extend(page);
            (next, started) = (after, true);
        }
        if !budget.room(
            &client.stats,
            store.used(),
            0,
            finish_queries(ids.len(), held),
        ) {
            return pause(store, run, i, org, ids, None, true).await;
        }
        lease.keep(store, clock.now_ms()).await?;
        let now = iso_from_ms(clock.now_ms());
        if held {
            // The listing is complete in this run: only now may the unseen be marked removed.
            hold(store, run, &org.id, &ids).await?;
            let (written, added, removed) = store
                .apply_seen_members(run.id, &org.id, &now, events_of_run.is_some())
                .await?;
            run.rows_written += written;
            run.memberships_added += added;
            run.memberships_removed += removed;
        } else {
            apply_members(store, run, &org.id, &ids, &now, events_of_run).await?;
        }
    }
    Ok(OrgStep::Done(None))
}

/// Members a page may add to the in-memory list, for the budget check before reading it (Auth0
/// pages hold up to 100; more only costs an extra held chunk, inside the reserve).
const PAGE_ALLOWANCE: usize = 100;

/// D1 queries to finish an organization with `n` members read in this invocation: held in
/// chunks then applied by three statements, or read, added and removed in memory.
fn finish_queries(n: usize, held: bool) -> u32 {
    if held {
        n.div_ceil(MAX_IDS) as u32 + 3
    } else {
        2 + n.div_ceil(MEMBER_CHUNK) as u32
    }
}

/// Writes the members read in this invocation to the store, in bounded chunks.
async fn hold<S: SyncStore>(
    store: &S,
    run: &mut RunRecord,
    org_id: &str,
    ids: &[String],
) -> Result<(), Stop> {
    for chunk in id_chunks(ids) {
        run.rows_written += store.hold_seen_members(run.id, org_id, chunk).await?;
    }
    Ok(())
}

/// Pauses inside an organization's listing: the members read in this invocation are held in
/// the store, and only where the listing stands goes into the cursor.
async fn pause<S: SyncStore>(
    store: &S,
    run: &mut RunRecord,
    i: usize,
    org: &Auth0Organization,
    ids: Vec<String>,
    next: Option<String>,
    started: bool,
) -> Result<OrgStep, Stop> {
    if started {
        hold(store, run, &org.id, &ids).await?;
    }
    let saved = started.then(|| MemberProgress {
        org: org.id.clone(),
        from: next,
        ids: Vec::new(),
    });
    Ok(OrgStep::Paused(i, saved))
}

async fn apply_members<S: SyncStore>(
    store: &S,
    run: &mut RunRecord,
    org_id: &str,
    listed: &[String],
    now: &str,
    events_of_run: Option<i64>,
) -> Result<(), Stop> {
    let (add, gone) = plan_members(listed, &store.members(org_id).await?);
    for chunk in add.chunks(MEMBER_CHUNK) {
        run.rows_written += store.add_members(org_id, chunk, now, events_of_run).await?;
    }
    for chunk in gone.chunks(MEMBER_CHUNK) {
        run.rows_written += store
            .mark_members_removed(org_id, chunk, now, events_of_run)
            .await?;
    }
    run.memberships_added += add.len() as u64;
    run.memberships_removed += gone.len() as u64;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str, name: &str) -> Auth0Organization {
        Auth0Organization {
            id: id.into(),
            name: Some(name.into()),
            display_name: None,
        }
    }

    #[test]
    fn org_plan_writes_only_changes_and_finds_the_gone() {
        let a = org_row(&org("a", "A"));
        let stored = vec![
            StoredOrg {
                id: "a".into(),
                fingerprint: a.fingerprint.clone(),
                removed_at: None,
            },
            StoredOrg {
                id: "b".into(),
                fingerprint: "x".into(),
                removed_at: None,
            },
            StoredOrg {
                id: "c".into(),
                fingerprint: "x".into(),
                removed_at: None,
            },
        ];
        let plan = plan_orgs(&[org("a", "A"), org("b", "B"), org("d", "D")], &stored);
        let ids: Vec<_> = plan.write.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b", "d"]);
        assert_eq!(plan.gone, ["c"]);
    }

    #[test]
    fn member_plan_adds_returns_and_removes() {
        let stored = vec![
            StoredMember {
                user_id: "kept".into(),
                removed_at: None,
            },
            StoredMember {
                user_id: "left".into(),
                removed_at: None,
            },
            StoredMember {
                user_id: "back".into(),
                removed_at: Some("t".into()),
            },
        ];
        let listed = ["kept", "back", "new", "new"].map(String::from);
        let (add, gone) = plan_members(&listed, &stored);
        assert_eq!(add, ["back", "new"]);
        assert_eq!(gone, ["left"]);
        assert_eq!(
            plan_members(&["kept".into()], &stored[..1]),
            (vec![], vec![])
        );
    }

    #[test]
    fn missing_scope_messages_name_the_scope_and_the_fix() {
        let m = missing_scope_message("read:organization_members");
        assert!(
            m.starts_with("organization members not synced: grant read:organization_members"),
            "{m}"
        );
        assert!(m.contains("Applications → APIs"));
        assert!(
            missing_scope_message("read:organizations").starts_with("organizations not synced")
        );
    }
}
