//! The stored cursor's format, pinned: literal JSON as the serde derives wrote and read it before
//! the hand-written conversion, so a run paused by one version resumes after a deploy.

use serde_json::{Value, json};

use super::super::applications::{AppProgress, AppState};
use super::super::cursor::{Cursor, Saved};
use super::super::listing::Lower;
use super::super::logs::LogProgress;
use super::super::organizations::MemberProgress;

fn app(progress: AppProgress, partial: Option<&str>, notes: &[&str], flags: bool) -> Cursor {
    Cursor::Applications {
        state: AppState {
            progress,
            partial: partial.map(str::to_string),
            notes: notes.iter().map(|n| (*n).to_string()).collect(),
            changed: flags,
            baseline: flags,
        },
    }
}

/// Every variant and optional part, with the JSON the derives wrote for it (as stored text).
pub(super) fn fixtures() -> Vec<(Cursor, &'static str)> {
    let some = |s: &str| Some(s.to_string());
    vec![
        (
            Cursor::start(),
            r#"{"phase":"users","lower":{"kind":"unbounded"}}"#,
        ),
        (
            Cursor::Users {
                lower: Lower::Inclusive("2024-01-01T00:00:00.000Z".into()),
            },
            r#"{"phase":"users","lower":{"kind":"inclusive","at":"2024-01-01T00:00:00.000Z"}}"#,
        ),
        (
            Cursor::Users {
                lower: Lower::Exclusive("2024-01-01T00:00:00.001Z".into()),
            },
            r#"{"phase":"users","lower":{"kind":"exclusive","at":"2024-01-01T00:00:00.001Z"}}"#,
        ),
        (
            Cursor::Export {
                at: "2024-02-02T00:00:00.000Z".into(),
                job: None,
            },
            r#"{"phase":"export","at":"2024-02-02T00:00:00.000Z"}"#,
        ),
        (
            Cursor::Export {
                at: "t".into(),
                job: some("job_1"),
            },
            r#"{"phase":"export","at":"t","job":"job_1"}"#,
        ),
        (
            Cursor::Organizations {
                next: 0,
                members: None,
            },
            r#"{"phase":"organizations","next":0}"#,
        ),
        (
            Cursor::Organizations {
                next: 7,
                members: Some(MemberProgress {
                    org: "org_1".into(),
                    from: some("cp"),
                    ids: Vec::new(),
                }),
            },
            r#"{"phase":"organizations","next":7,"members":{"org":"org_1","from":"cp"}}"#,
        ),
        (
            Cursor::Organizations {
                next: 12,
                members: Some(MemberProgress {
                    org: "org_2".into(),
                    from: None,
                    ids: Vec::new(),
                }),
            },
            r#"{"phase":"organizations","next":12,"members":{"org":"org_2","from":null}}"#,
        ),
        (
            app(AppProgress::Lists, None, &[], false),
            r#"{"phase":"applications","state":{"progress":"lists","changed":false,"baseline":false}}"#,
        ),
        (
            app(
                AppProgress::Connections,
                Some("organizations not synced"),
                &["n1", "n2"],
                true,
            ),
            r#"{"phase":"applications","state":{"progress":"connections","partial":"organizations not synced","notes":["n1","n2"],"changed":true,"baseline":true}}"#,
        ),
        (
            app(AppProgress::Clients { after: None }, None, &[], true),
            r#"{"phase":"applications","state":{"progress":{"clients":{"after":null}},"changed":true,"baseline":true}}"#,
        ),
        (
            app(
                AppProgress::Clients {
                    after: some("con_1"),
                },
                None,
                &["n"],
                false,
            ),
            r#"{"phase":"applications","state":{"progress":{"clients":{"after":"con_1"}},"notes":["n"],"changed":false,"baseline":false}}"#,
        ),
        (
            app(AppProgress::Orgs { after: None }, Some("p"), &[], false),
            r#"{"phase":"applications","state":{"progress":{"orgs":{"after":null}},"partial":"p","changed":false,"baseline":false}}"#,
        ),
        (
            app(
                AppProgress::Orgs {
                    after: Some(String::new()),
                },
                None,
                &[],
                false,
            ),
            r#"{"phase":"applications","state":{"progress":{"orgs":{"after":""}},"changed":false,"baseline":false}}"#,
        ),
        (
            app(AppProgress::Reach, None, &[], true),
            r#"{"phase":"applications","state":{"progress":"reach","changed":true,"baseline":true}}"#,
        ),
        (
            Cursor::Logs {
                partial: None,
                note: None,
                progress: LogProgress::default(),
            },
            r#"{"phase":"logs","progress":{"pages":0,"events":0}}"#,
        ),
        (
            Cursor::Logs {
                partial: some("organizations not synced"),
                note: some("Applications: not enabled"),
                progress: LogProgress {
                    pages: 3,
                    events: 250,
                    note: some("usage unknown from a to b"),
                },
            },
            r#"{"phase":"logs","partial":"organizations not synced","note":"Applications: not enabled","progress":{"pages":3,"events":250,"note":"usage unknown from a to b"}}"#,
        ),
        (
            Cursor::Logs {
                partial: None,
                note: some("n"),
                progress: LogProgress {
                    pages: 150,
                    events: 15_000,
                    note: None,
                },
            },
            r#"{"phase":"logs","note":"n","progress":{"pages":150,"events":15000}}"#,
        ),
        (
            Cursor::Snapshot {
                message: None,
                note: None,
            },
            r#"{"phase":"snapshot"}"#,
        ),
        (
            Cursor::Snapshot {
                message: some("partial: x"),
                note: some("n"),
            },
            r#"{"phase":"snapshot","message":"partial: x","note":"n"}"#,
        ),
        (
            Cursor::Snapshot {
                message: None,
                note: some("n"),
            },
            r#"{"phase":"snapshot","note":"n"}"#,
        ),
    ]
}

/// Text older versions stored that the writer no longer produces (or never produced in this
/// shape), with what it reads as.
fn old_texts() -> Vec<(&'static str, Cursor)> {
    vec![
        // Members read so far rode in the cursor before they were held in the store.
        (
            r#"{"phase":"organizations","next":1,"members":{"org":"o","from":"cp","ids":["a","b"]}}"#,
            Cursor::Organizations {
                next: 1,
                members: Some(MemberProgress {
                    org: "o".into(),
                    from: Some("cp".into()),
                    ids: vec!["a".into(), "b".into()],
                }),
            },
        ),
        // Optional parts absent, `null`, or in another order; unknown keys ignored.
        (
            r#"{"members":null,"next":3,"phase":"organizations","extra":1}"#,
            Cursor::Organizations {
                next: 3,
                members: None,
            },
        ),
        (
            r#"{"phase":"organizations","next":3,"members":{"org":"o"}}"#,
            Cursor::Organizations {
                next: 3,
                members: Some(MemberProgress {
                    org: "o".into(),
                    from: None,
                    ids: Vec::new(),
                }),
            },
        ),
        (
            r#"{"phase":"applications","state":{"progress":"lists"}}"#,
            app(AppProgress::Lists, None, &[], false),
        ),
        (
            r#"{"phase":"applications","state":{"progress":{"clients":{}},"partial":null}}"#,
            app(AppProgress::Clients { after: None }, None, &[], false),
        ),
        (
            r#"{"phase":"applications","state":{"progress":{"reach":null}}}"#,
            app(AppProgress::Reach, None, &[], false),
        ),
        (
            r#"{"phase":"logs"}"#,
            Cursor::Logs {
                partial: None,
                note: None,
                progress: LogProgress::default(),
            },
        ),
        (
            r#"{"phase":"logs","progress":{},"partial":null,"note":null}"#,
            Cursor::Logs {
                partial: None,
                note: None,
                progress: LogProgress::default(),
            },
        ),
        (
            r#"{"phase":"export","at":"t","job":null}"#,
            Cursor::Export {
                at: "t".into(),
                job: None,
            },
        ),
        (
            r#"{"phase":"users","lower":{"kind":"unbounded","at":null}}"#,
            Cursor::start(),
        ),
        (
            r#"{"phase":"snapshot","message":null}"#,
            Cursor::Snapshot {
                message: None,
                note: None,
            },
        ),
    ]
}

fn saved(cursor: Cursor, deaths: u32, baseline: bool) -> Saved {
    Saved {
        cursor,
        deaths,
        baseline,
    }
}

fn text_value(text: &str) -> Value {
    crate::fields::parse(text).unwrap()
}

#[test]
fn the_writer_produces_the_pinned_json_of_every_variant() {
    for (cursor, text) in fixtures() {
        assert_eq!(text_value(&cursor.to_json()), text_value(text), "{text}");
        for (deaths, baseline) in [(0, false), (2, true)] {
            let mut want = json!({"cursor": text_value(text), "deaths": deaths});
            if baseline {
                want["baseline"] = json!(true);
            }
            let s = saved(cursor.clone(), deaths, baseline);
            assert_eq!(text_value(&s.to_json()), want, "{text}");
        }
    }
}

#[test]
fn the_reader_reads_the_pinned_json_into_equal_values() {
    for (cursor, text) in fixtures() {
        assert_eq!(Cursor::from_json(text).as_ref(), Some(&cursor), "{text}");
        let stored = format!(r#"{{"cursor":{text},"deaths":1,"baseline":true}}"#);
        assert_eq!(
            Saved::from_json(&stored),
            Some(saved(cursor.clone(), 1, true))
        );
        // Saved before the baseline flag existed, or with it false.
        let stored = format!(r#"{{"deaths":0,"cursor":{text}}}"#);
        assert_eq!(
            Saved::from_json(&stored),
            Some(saved(cursor.clone(), 0, false))
        );
    }
    for (text, cursor) in old_texts() {
        assert_eq!(Cursor::from_json(text), Some(cursor), "{text}");
    }
    // The old members list is read, never written back.
    let (text, cursor) = &old_texts()[0];
    assert!(!cursor.to_json().contains("ids"), "{text}");
}

#[test]
fn unreadable_cursors_read_as_none() {
    for text in [
        "",
        "junk",
        "null",
        "[]",
        "{}",
        "{\"phase\":\"nope\"}",
        "{\"phase\":null}",
        "{\"phase\":7}",
        "{\"phase\":\"users\"}",
        "{\"phase\":\"users\",\"lower\":{\"kind\":\"inclusive\"}}",
        "{\"phase\":\"users\",\"lower\":{\"kind\":\"sideways\",\"at\":\"t\"}}",
        "{\"phase\":\"users\",\"lower\":{\"kind\":\"inclusive\",\"at\":5}}",
        "{\"phase\":\"export\"}",
        "{\"phase\":\"export\",\"at\":\"t\",\"job\":5}",
        "{\"phase\":\"organizations\"}",
        "{\"phase\":\"organizations\",\"next\":-1}",
        "{\"phase\":\"organizations\",\"next\":1.5}",
        "{\"phase\":\"organizations\",\"next\":\"1\"}",
        "{\"phase\":\"organizations\",\"next\":1,\"members\":{\"from\":\"x\"}}",
        "{\"phase\":\"applications\"}",
        "{\"phase\":\"applications\",\"state\":{}}",
        "{\"phase\":\"applications\",\"state\":{\"progress\":\"nope\"}}",
        "{\"phase\":\"applications\",\"state\":{\"progress\":\"clients\"}}",
        "{\"phase\":\"applications\",\"state\":{\"progress\":\"lists\",\"changed\":1}}",
        "{\"phase\":\"applications\",\"state\":{\"progress\":\"lists\",\"notes\":\"n\"}}",
        "{\"phase\":\"logs\",\"progress\":{\"pages\":-1}}",
        "{\"phase\":\"logs\",\"progress\":{\"pages\":4294967296}}",
        "{\"phase\":\"logs\",\"progress\":null}",
        "{\"phase\":\"snapshot\",\"note\":false}",
    ] {
        assert_eq!(Cursor::from_json(text), None, "{text}");
    }
    let ok = r#"{"phase":"snapshot"}"#;
    for text in [
        String::new(),
        "junk".into(),
        format!(r#"{{"cursor":{ok}}}"#),
        format!(r#"{{"cursor":{ok},"deaths":-1}}"#),
        format!(r#"{{"cursor":{ok},"deaths":4294967296}}"#),
        format!(r#"{{"cursor":{ok},"deaths":1.0}}"#),
        format!(r#"{{"cursor":{ok},"deaths":null}}"#),
        format!(r#"{{"cursor":{ok},"deaths":0,"baseline":null}}"#),
        format!(r#"{{"cursor":{ok},"deaths":0,"baseline":1}}"#),
        r#"{"cursor":{"phase":"nope"},"deaths":0}"#.into(),
        r#"{"cursor":null,"deaths":0}"#.into(),
    ] {
        assert_eq!(Saved::from_json(&text), None, "{text}");
    }
}

/// Junk to put where any part of a stored cursor was.
fn junk() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-1),
        json!(1.5),
        json!(2.0),
        json!(4_294_967_296_u64),
        json!(u64::MAX),
        json!(""),
        json!("x"),
        json!("users"),
        json!("clients"),
        json!("inclusive"),
        json!({}),
        json!({"kind": "unbounded"}),
        json!({"lists": null}),
        json!({"clients": {}, "orgs": {}}),
        json!([]),
        json!(["x"]),
        json!([{}]),
    ]
}

/// Every way of spoiling one part of `v`: each key dropped, each value (at any depth) replaced
/// by each junk value, an unknown key added to each object.
fn mangled(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for j in junk() {
        out.push(j);
    }
    match v {
        Value::Object(m) => {
            let mut extra = m.clone();
            extra.insert("zz_unknown".into(), json!([1]));
            out.push(Value::Object(extra));
            for (k, child) in m {
                let mut without = m.clone();
                without.remove(k);
                out.push(Value::Object(without));
                for spoiled in mangled(child) {
                    let mut with = m.clone();
                    with.insert(k.clone(), spoiled);
                    out.push(Value::Object(with));
                }
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                for spoiled in mangled(child) {
                    let mut with = a.clone();
                    with[i] = spoiled;
                    out.push(Value::Array(with));
                }
            }
        }
        _ => {}
    }
    out
}

/// Stored texts spoiled every way: mangled values, and the text cut short at every character.
fn mangled_texts() -> Vec<String> {
    let mut texts = Vec::new();
    for (cursor, _) in fixtures() {
        let stored = saved(cursor, 1, true).to_json();
        texts.extend(mangled(&text_value(&stored)).iter().map(Value::to_string));
        texts.extend(stored.char_indices().map(|(i, _)| stored[..i].to_string()));
    }
    texts
}

/// A JSON array where the derive wanted an object: serde's derives read a struct from an array
/// of its fields in order, a form no version ever wrote; the hand-written reader refuses it.
fn has_array_for_struct(text: &str) -> bool {
    [
        "cursor", "lower", "members", "state", "clients", "orgs", "progress",
    ]
    .iter()
    .any(|k| text.contains(&format!("\"{k}\":[")))
}

/// The hand-written reader against the derive it replaced (kept in tests), over thousands of
/// spoiled cursors: the same verdict, and when read, the same value. No input panics.
#[test]
fn fuzz_mangled_cursors_read_as_the_derive_read_them() {
    let texts = mangled_texts();
    assert!(texts.len() > 5000, "{}", texts.len());
    let (mut read, mut refused) = (0, 0);
    for text in &texts {
        let new = Saved::from_json(text);
        let old = serde_json::from_str::<Saved>(text).ok();
        if new.is_some() {
            read += 1;
        } else {
            refused += 1;
        }
        if new.is_none() && old.is_some() && has_array_for_struct(text) {
            continue;
        }
        assert_eq!(new, old, "{text}");
        // What is read is written back as the derive wrote it.
        if let Some(s) = new {
            assert_eq!(s.to_value(), serde_json::to_value(&s).unwrap(), "{text}");
        }
    }
    // Both outcomes occur: the mangling reaches readable and unreadable cursors.
    assert!(
        read > 100 && refused > 1000,
        "{read} read, {refused} refused"
    );
}

/// A paused run whose stored cursor cannot be read is given up, as before: no panic, nothing
/// marked removed, its pending removals dropped, and a cron run starts over (a `continue` run
/// just stops).
#[test]
fn fuzz_a_run_with_an_unreadable_cursor_is_given_up_and_loses_nothing() {
    use crate::auth0::fake::FakeAuth0;
    use crate::clock::fake::FakeClock;
    use crate::store::{RunRecord, RunStatus, SyncStore};
    use crate::sync::{SyncResult, Trigger, run_sync};
    use crate::testing::memory::MemoryStore;
    use crate::testing::{block_on, sync_config};

    let fake = FakeAuth0::with_users(FakeAuth0::generate(40, 5));
    let store = MemoryStore::default();
    let clock = FakeClock::at(1_750_000_000_000);
    let cfg = sync_config("test-secret");
    let sync = |trigger| block_on(run_sync(&fake, &clock, &store, Ok(&cfg), trigger));
    assert!(matches!(sync(Trigger::Cron), Ok(SyncResult::Ran { .. })));
    let stored = |store: &MemoryStore| {
        let users = store.users.borrow();
        (
            users.len(),
            users.values().filter(|u| u.removed_at.is_none()).count(),
        )
    };
    assert_eq!(stored(&store), (40, 40));

    let unreadable: Vec<String> = mangled_texts()
        .into_iter()
        .filter(|t| Saved::from_json(t).is_none())
        .step_by(23)
        .collect();
    assert!(unreadable.len() > 60, "{}", unreadable.len());
    for (i, text) in unreadable.iter().enumerate() {
        let id = block_on(store.start_run(
            "2025-06-01T00:00:00.000Z",
            "cron",
            crate::store::RunKind::Full,
            None,
        ))
        .unwrap();
        let mut paused = RunRecord::started(id, "2025-06-01T00:00:00.000Z".into(), "cron");
        paused.users_seen = 20;
        paused.cursor = Some(text.clone());
        block_on(store.save_run(&paused)).unwrap();
        let trigger = if i % 10 == 0 {
            Trigger::Continue
        } else {
            Trigger::Cron
        };
        let result = sync(trigger);
        let given_up = store.runs.borrow()[(id - 1) as usize].clone();
        assert_eq!(given_up.id, id);
        assert_eq!(given_up.status, RunStatus::Failed, "{text}");
        let msg = given_up.error.as_deref().unwrap_or_default();
        assert!(
            msg.contains("given up") && msg.contains("Nothing was marked removed"),
            "{text}: {msg}"
        );
        match (trigger, result) {
            (Trigger::Continue, Ok(SyncResult::Ran { .. })) => panic!("{text}: a run continued"),
            (Trigger::Continue, Ok(_)) => {}
            (_, Ok(SyncResult::Ran { run, .. })) => {
                assert_eq!(
                    (run.id, run.status),
                    (id + 1, RunStatus::Succeeded),
                    "{text}"
                );
            }
            (_, other) => panic!("{text}: {other:?}"),
        }
        assert_eq!(stored(&store), (40, 40), "{text}");
    }
}
