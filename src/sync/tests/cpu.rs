//! The native CPU cost of one Auth0 page of 100 users through the pure per-page work: parse the
//! answer, map the rows, plan the writes (issue 19's "native per-page figure"). A measurement,
//! not an assertion: `#[ignore]`d, run by `npm run bench` (its CPU section; `--skip-cpu` leaves
//! it out) or by hand: `cargo test --release --lib per_page_cpu -- --ignored --nocapture`.

use serde_json::{Value, json};

use crate::auth0::types::UsersPage;
use crate::store::{StoredUser, UserRow};
use crate::sync::{mapping, plan};

/// One page as Auth0 answers `include_totals=true` with the worker's `fields`.
fn page_body(page: usize) -> String {
    let users: Vec<Value> = (0..100)
        .map(|i| {
            let n = page * 100 + i;
            json!({
                "user_id": format!("auth0|{:024x}", n * 7919),
                "email": format!("person.{n}@example-company.com"),
                "email_verified": !n.is_multiple_of(3),
                "name": format!("Person Number {n}"),
                "created_at": crate::time::iso_from_ms(1_600_000_000_000 + n as u64 * 60_000),
                "updated_at": crate::time::iso_from_ms(1_700_000_000_000 + n as u64 * 60_000),
                "last_login": crate::time::iso_from_ms(1_710_000_000_000 + n as u64 * 60_000),
                "logins_count": n % 50,
                "blocked": n.is_multiple_of(97),
                "identities": [{
                    "connection": if n.is_multiple_of(4) { "google-oauth2" } else { "Username-Password-Authentication" },
                    "provider": "auth0",
                    "user_id": format!("{:024x}", n * 7919),
                    "isSocial": n.is_multiple_of(4),
                }],
            })
        })
        .collect();
    json!({"start": page * 100, "limit": 100, "length": 100, "users": users, "total": 1000})
        .to_string()
}

fn stored(rows: &[UserRow]) -> Vec<StoredUser> {
    rows.iter()
        .map(|r| StoredUser {
            user_id: r.user_id.clone(),
            fingerprint: r.fingerprint.clone(),
            removed_at: None,
            email: r.email.clone(),
            blocked: r.blocked,
            connection: r.connection.clone(),
            updated_at: r.updated_at.clone(),
            deleted_at: None,
        })
        .collect()
}

/// This thread's CPU time in nanoseconds (`/proc/thread-self/schedstat`, Linux): wall time
/// would charge the measurement for other processes on a shared machine.
fn thread_cpu_ns() -> u128 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Runs `f` over every item, consuming it, and returns its CPU nanoseconds per item.
fn per_item<T, R>(items: Vec<T>, f: impl FnMut(T) -> R) -> (f64, Vec<R>) {
    let n = items.len();
    let t = thread_cpu_ns();
    let out: Vec<R> = items.into_iter().map(f).collect();
    let ns = thread_cpu_ns() - t;
    (ns as f64 / n as f64, out)
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture, in release"]
fn per_page_cpu() {
    const PAGES: usize = 500;
    let bodies: Vec<String> = (0..PAGES).map(page_body).collect();
    // Each step over every page in turn, CPU time around the loop: no clock read inside it.
    let (parse, pages) = per_item(bodies.iter().collect(), |body: &String| {
        let value: Value = serde_json::from_str(body).unwrap();
        UsersPage::from_value(&value).unwrap()
    });
    let (map, rows) = per_item(pages, |page| {
        page.users
            .iter()
            .map(mapping::user_row)
            .collect::<Vec<UserRow>>()
    });
    // A re-sync: everything stored unchanged, nothing written (prepared outside the clock).
    let again_input: Vec<(Vec<UserRow>, Vec<StoredUser>)> =
        rows.iter().map(|r| (r.clone(), stored(r))).collect();
    // A first sync: nothing stored, every row written.
    let (first, plans) = per_item(rows, |rows| plan::plan_block(rows, &[]));
    let (again, replans) = per_item(again_input, |(rows, same)| plan::plan_block(rows, &same));
    assert!(plans.iter().all(|p| p.write.len() == 100));
    assert!(replans.iter().all(|p| p.write.is_empty()));
    let us = |ns: f64| ns / 1000.0;
    let bytes = bodies.iter().map(String::len).sum::<usize>() / PAGES;
    // One line the bench reads.
    println!(
        "per-page-cpu pages={PAGES} bytes={bytes} parse_us={:.1} map_us={:.1} plan_first_us={:.1} \
         plan_resync_us={:.1} total_first_us={:.1} total_resync_us={:.1}",
        us(parse),
        us(map),
        us(first),
        us(again),
        us(parse + map + first),
        us(parse + map + again)
    );
}
