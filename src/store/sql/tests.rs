use super::limits::{CHUNK_VALUE_BYTES, MAX_BOUND_PARAMETERS, MAX_SQL_BYTES, MAX_VALUE_BYTES};
use super::{Arg, check, chunks};

#[test]
fn each_limit_holds_at_its_figure_and_fails_one_past_it_naming_statement_and_figure() {
    let op = "write organizations";
    let sql = "INSERT INTO organizations (id) SELECT value FROM json_each(?1)";
    assert!(check(op, sql, &vec![Arg::Int(1); MAX_BOUND_PARAMETERS]).is_ok());
    let e = check(op, sql, &vec![Arg::Int(1); MAX_BOUND_PARAMETERS + 1]).unwrap_err();
    assert_eq!(e.op, op);
    assert!(
        e.detail.contains("binds 101 parameters; D1 allows 100"),
        "{}",
        e.detail
    );
    assert!(
        e.detail
            .contains("`write organizations` (INSERT INTO organizations"),
        "{}",
        e.detail
    );

    let long = format!("SELECT 1 {}", " ".repeat(MAX_SQL_BYTES - 9));
    assert_eq!(long.len(), MAX_SQL_BYTES);
    assert!(check(op, &long, &[]).is_ok());
    let e = check(op, &format!("{long} "), &[]).unwrap_err();
    assert!(
        e.detail
            .contains("is 100,001 bytes of SQL; D1 allows 100,000"),
        "{}",
        e.detail
    );

    assert!(check(op, sql, &[Arg::Text("x".repeat(MAX_VALUE_BYTES))]).is_ok());
    // Bytes, not characters: 'é' is two bytes in UTF-8.
    let e = check(op, sql, &[Arg::Text("é".repeat(MAX_VALUE_BYTES / 2 + 1))]).unwrap_err();
    assert!(
        e.detail
            .contains("binds a value of 2,000,002 bytes; D1 allows 2,000,000 per string or BLOB"),
        "{}",
        e.detail
    );
}

#[test]
fn chunks_keep_order_count_and_bytes() {
    let ids: Vec<String> = (0..2_500).map(|i| format!("org_{i:06}")).collect();
    let runs = chunks(&ids, 1_000);
    assert_eq!(
        runs.iter().map(|r| r.len()).collect::<Vec<_>>(),
        [1_000, 1_000, 500]
    );
    assert_eq!(runs.concat(), ids);

    // 600-byte items: about 1,660 fit in CHUNK_VALUE_BYTES, so bytes cut before the count.
    let big: Vec<String> = (0..5_000).map(|i| format!("{i:0>600}")).collect();
    let runs = chunks(&big, 10_000);
    assert!(runs.len() > 1);
    assert_eq!(runs.concat(), big);
    for run in &runs {
        let bound = serde_json::to_string(run).unwrap().len();
        assert!(bound <= CHUNK_VALUE_BYTES, "{bound}");
    }
    // Each run but the last is full: one more item would not have fitted.
    for (run, next) in runs.iter().zip(runs.iter().skip(1)) {
        let grown = serde_json::to_string(&[*run, &next[..1]].concat())
            .unwrap()
            .len();
        assert!(grown > CHUNK_VALUE_BYTES, "{grown}");
    }
}

#[test]
fn chunks_of_nothing_or_of_one_oversized_item() {
    let none: Vec<String> = Vec::new();
    assert_eq!(chunks(&none, 10), vec![&none[..]]);
    let huge = vec!["x".repeat(CHUNK_VALUE_BYTES * 3), "y".into()];
    let runs = chunks(&huge, 10);
    assert_eq!(
        runs.len(),
        2,
        "the oversized item stands alone, for the check to name"
    );
    assert_eq!(runs[1], ["y".to_string()]);
}
