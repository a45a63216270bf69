//! The charts: titles, hover numbers and tables agree, names stay inert, empty data draws.

use super::*;
use crate::trends::{Reclaim, Week};

fn points(days: &[(&str, i64)]) -> Vec<Point> {
    days.iter()
        .map(|(d, n)| Point {
            day: (*d).into(),
            seats: Some(*n),
            active: Some(*n - 1),
            blocked: Some(1),
            removed: Some(0),
            active_30: Some(*n / 2),
            active_90: Some(*n - 1),
            ..Point::default()
        })
        .collect()
}

fn trends(tenant: Vec<Point>, series: Vec<Series>) -> Trends {
    Trends {
        days: 90,
        from: "2025-03-05".into(),
        to: "2025-06-02".into(),
        tracking_since: None,
        tenant,
        logins_per_week: vec![
            Week {
                week: "2025-05-19".into(),
                logins: None,
            },
            Week {
                week: "2025-05-26".into(),
                logins: Some(1234),
            },
        ],
        reclaim: Some(Reclaim {
            day: "2025-06-02".into(),
            buckets: vec![],
        }),
        by: None,
        series,
    }
}

const HOSTILE: &str = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>";

#[test]
fn a_line_chart_has_its_title_hover_numbers_and_table() {
    let t = trends(
        points(&[("2025-06-01", 1500), ("2025-06-02", 1502)]),
        vec![],
    );
    let svg = seats_chart("c1", "Seats over time, 90 days", &t);
    assert!(svg.contains("<title id=\"c1-t\">Seats over time, 90 days</title>"));
    assert!(svg.contains("aria-labelledby=\"c1-t c1-d\""));
    assert!(svg.contains(">Seats</text>"), "y axis label");
    assert!(svg.contains(">Day (UTC)</text>"), "x axis label");
    // Hover: each day's numbers in an SVG <title>.
    assert!(
        svg.contains("<title>2025-06-02\nActive: 1,501\nBlocked: 1\nRemoved that day: 0</title>"),
        "{svg}"
    );
    // The same numbers in the collapsed table.
    assert!(svg.contains("<details><summary>Data table</summary>"));
    assert!(
        svg.contains(
            "<tr><th scope=\"row\">2025-06-02</th><td>1,501</td><td>1</td><td>0</td></tr>"
        )
    );
    assert_eq!(svg.matches("<path class=\"line").count(), 3);
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
}

#[test]
fn empty_and_single_point_series_still_draw() {
    let empty = seats_chart("c2", "Seats", &trends(vec![], vec![]));
    assert!(empty.contains("No data yet"));
    assert!(empty.contains("<table class=\"data\">"));
    assert!(!empty.contains("NaN"));
    let one = seats_chart("c3", "Seats", &trends(points(&[("2025-06-02", 3)]), vec![]));
    assert!(one.contains("h0.1"), "a lone point stays visible");
    let bars = logins_chart("c4", &[]);
    assert!(bars.contains("<tbody></tbody>"));
}

#[test]
fn unknown_weeks_are_marked_not_zero() {
    let t = trends(vec![], vec![]);
    let svg = logins_chart("c5", &t.logins_per_week);
    assert!(svg.contains(">?<title>05-19: unknown</title>"));
    assert!(svg.contains("<td class=\"muted\">unknown</td>"));
    assert!(svg.contains("<title>05-26: 1,234</title>"));
}

#[test]
fn hostile_names_stay_inert_everywhere() {
    let s = Series {
        key: HOSTILE.into(),
        label: HOSTILE.into(),
        points: points(&[("2025-06-01", 7)]),
        logins_per_week: vec![Week {
            week: "2025-05-26".into(),
            logins: Some(3),
        }],
    };
    let t = trends(vec![], vec![s]);
    for html in [
        members_chart("m", &t),
        app_logins_chart("a", &t),
        bar_chart(&BarChart {
            id: "b",
            title: HOSTILE,
            x_label: HOSTILE,
            y_label: HOSTILE,
            bars: vec![Bar {
                label: HOSTILE.into(),
                value: Some(1),
                href: Some(format!("/?q={HOSTILE}")),
            }],
            note: Some(HOSTILE.into()),
        }),
    ] {
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("\"'>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }
}

#[test]
fn reclaim_bars_link_to_the_filtered_list() {
    let mut t = trends(vec![], vec![]);
    t.reclaim = Some(Reclaim {
        day: "2025-06-02".into(),
        buckets: vec![crate::trends::Bucket {
            label: "31–60",
            users: 12,
            href: "/?last_login_days=30-60#users",
        }],
    });
    let svg = reclaim_chart("r", &t);
    assert!(svg.contains("<a href=\"/?last_login_days=30-60#users\"><rect class=\"bar\""));
    assert!(svg.contains("<title>31–60: 12</title>"));
}

#[test]
fn huge_counts_draw_without_overflow() {
    let t = trends(
        points(&[("2025-06-01", i64::MAX), ("2025-06-02", 0)]),
        vec![],
    );
    let svg = seats_chart("h", "Seats", &t);
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    assert!(svg.contains("9,223,372,036,854,775,806"));
}

#[test]
fn multi_series_charts_draw_the_six_largest() {
    let series: Vec<Series> = (0..8)
        .map(|i| Series {
            key: format!("org_{i}"),
            label: format!("Org {i}"),
            points: points(&[("2025-06-02", [5, 80, 7, 60, 1, 90, 30, 2][i])]),
            logins_per_week: vec![],
        })
        .collect();
    let svg = members_chart("m", &trends(vec![], series));
    let legend: Vec<&str> = svg
        .split("<li><span class=\"key s")
        .skip(1)
        .filter_map(|li| li.split("</span>").nth(1)?.split("</li>").next())
        .collect();
    assert_eq!(
        legend,
        ["Org 5", "Org 1", "Org 3", "Org 6", "Org 2", "Org 0"]
    );
    assert!(svg.contains("The 6 largest of 8 organizations"));
}

#[test]
fn small_counts_get_whole_number_ticks() {
    let svg = logins_chart(
        "w",
        &[Week {
            week: "2025-05-26".into(),
            logins: Some(1),
        }],
    );
    for t in ["0", "1", "2", "3", "4"] {
        assert!(
            svg.contains(&format!("text-anchor=\"end\">{t}</text>")),
            "{t}: {svg}"
        );
    }
    assert!(!svg.contains(".5<"));
}
