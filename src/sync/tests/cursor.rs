//! The stored cursor's format, pinned: literal JSON as the serde derives wrote and read it before
//! the hand-written conversion, so a run paused by one version resumes after a deploy.

use serde_json::{Value, json};

use super::applications::{AppProgress, AppState};
use super::cursor::{Cursor, Saved};
use super::listing::Lower;
use super::logs::LogProgress;
use super::organizations::MemberProgress;

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
