//! Events the store derives in SQL from the rows it is about to change, for changes whose
//! subjects are only in the store (users a run found gone, members held across invocations).
//!
//! Each statement runs in one batch before the write it describes, and selects only rows that
//! write will change, so the event and the change land together or not at all. Their sentences
//! and keys spell what [`super::who`], [`super::membership_detail`] and [`super::dedupe_key`]
//! spell in Rust (a test in `store::sql_tests` holds them equal).

/// The columns every statement here fills.
macro_rules! insert_into {
    () => {
        "INSERT INTO access_events \
         (at, run_id, type, user_id, email, client_id, org_id, detail, baseline, dedupe) "
    };
}

/// `dedupe_key` in SQL for a run's event of `$kind` about user `$user` (and org `$org`).
macro_rules! run_key {
    ($kind:literal, $user:literal, $org:literal) => {
        concat!(
            "json_array(json_array('run', CAST(?1 AS INTEGER)), '",
            $kind,
            "', ",
            $user,
            ", NULL, ",
            $org,
            ")"
        )
    };
}

/// `who` in SQL.
macro_rules! who {
    ($user:literal, $email:literal) => {
        concat!(
            "COALESCE(",
            $email,
            " || ' (' || ",
            $user,
            " || ')', ",
            $user,
            ")"
        )
    };
}

/// Users run `?1` holds as gone and not yet marked removed: one `user_removed` each, at `?2`.
/// Runs right before `store::users::APPLY_PENDING_REMOVALS`.
pub const REMOVAL_EVENTS: &str = concat!(
    insert_into!(),
    "SELECT ?2, CAST(?1 AS INTEGER), 'user_removed', u.user_id, u.email, NULL, NULL, ",
    "'removed: ' || ",
    who!("u.user_id", "u.email"),
    " || ': no longer listed in Auth0', 0, ",
    run_key!("user_removed", "u.user_id", "NULL"),
    " FROM users AS u WHERE u.removed_at IS NULL ",
    "AND u.user_id IN (SELECT p.user_id FROM sync_pending_removals AS p WHERE p.run_id = ?1) ",
    "AND NOT EXISTS (SELECT 1 FROM access_events AS e WHERE e.dedupe = ",
    run_key!("user_removed", "u.user_id", "NULL"),
    ") ORDER BY u.user_id ON CONFLICT (dedupe) DO NOTHING"
);

/// One membership event of run `?1` for organization `?2` at `?3`: `$kind`, worded `$verb`,
/// about the user `$user` of the rows `$from` selects.
macro_rules! membership_events {
    ($kind:literal, $verb:literal, $user:literal, $from:literal) => {
        concat!(
            insert_into!(),
            "SELECT ?3, CAST(?1 AS INTEGER), '",
            $kind,
            "', x.user_id, u.email, NULL, ?2, '",
            $verb,
            " organization ' || COALESCE(COALESCE(o.display_name, o.name) || ' (' || ?2 || ')', ?2) \
             || ': ' || ",
            who!("x.user_id", "u.email"),
            ", 0, ",
            run_key!($kind, "x.user_id", "?2"),
            " FROM (SELECT DISTINCT ",
            $user,
            " AS user_id ",
            $from,
            ") AS x LEFT JOIN users AS u ON u.user_id = x.user_id \
             LEFT JOIN organizations AS o ON o.id = ?2 \
             WHERE NOT EXISTS (SELECT 1 FROM access_events AS e WHERE e.dedupe = ",
            run_key!($kind, "x.user_id", "?2"),
            ") ORDER BY x.user_id ON CONFLICT (dedupe) DO NOTHING"
        )
    };
}

/// Members of the JSON array `?4` not active in organization `?2`: what
/// `store::organizations::ADD_MEMBERS` will add.
pub const MEMBERS_ADDED_EVENTS: &str = membership_events!(
    "membership_added",
    "joined",
    "j.value",
    "FROM json_each(?4) AS j WHERE NOT EXISTS (SELECT 1 FROM memberships AS m \
     WHERE m.org_id = ?2 AND m.user_id = j.value AND m.removed_at IS NULL)"
);

/// Members of the JSON array `?4` active in organization `?2`: what
/// `store::organizations::MARK_MEMBERS_REMOVED` will mark removed.
pub const MEMBERS_REMOVED_EVENTS: &str = membership_events!(
    "membership_removed",
    "left",
    "j.value",
    "FROM json_each(?4) AS j WHERE EXISTS (SELECT 1 FROM memberships AS m \
     WHERE m.org_id = ?2 AND m.user_id = j.value AND m.removed_at IS NULL)"
);

/// Members run `?1` holds for organization `?2` and not active there: what
/// `store::organizations::ADD_SEEN_MEMBERS` will add.
pub const HELD_ADDED_EVENTS: &str = membership_events!(
    "membership_added",
    "joined",
    "s.user_id",
    "FROM sync_member_seen AS s WHERE s.run_id = ?1 AND s.org_id = ?2 \
     AND NOT EXISTS (SELECT 1 FROM memberships AS m \
     WHERE m.org_id = ?2 AND m.user_id = s.user_id AND m.removed_at IS NULL)"
);

/// Active members of organization `?2` that run `?1` does not hold: what
/// `store::organizations::REMOVE_UNSEEN_MEMBERS` will mark removed.
pub const HELD_REMOVED_EVENTS: &str = membership_events!(
    "membership_removed",
    "left",
    "m.user_id",
    "FROM memberships AS m WHERE m.org_id = ?2 AND m.removed_at IS NULL AND m.user_id NOT IN \
     (SELECT h.user_id FROM sync_member_seen AS h WHERE h.run_id = ?1 AND h.org_id = ?2)"
);
