//! The trend charts as inline SVG: no script, only classes the hashed stylesheet styles. Each
//! chart has a `<title>`, axis labels, the numbers on hover (an SVG `<title>` per day or bar),
//! and the same numbers in a table collapsed under `<details>`. Every name is escaped.

use std::fmt::Write;

use super::html::escape;
use super::svg::{Scale, compact, grouped, line_path, nice_ticks, px};
use crate::trends::{Point, Series, Trends, Week, day_number, day_text};

const W: f64 = 640.0;
// The viewBox is written out as text (no float formatting in the wasm): keep them in step.
const _: () = assert!(W == 640.0 && H == 240.0);
const H: f64 = 240.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;
/// Series drawn per multi-series chart: the largest; the table still lists every one.
const MAX_LINES: usize = 6;

/// One line: a value per day number.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    /// The legend's text (escaped when drawn).
    pub name: String,
    /// (day number, value), oldest first.
    pub values: Vec<(i64, i64)>,
    /// Drawn dashed: derived, not observed.
    pub dashed: bool,
}

/// A chart of lines over days.
#[derive(Debug, Clone, PartialEq)]
struct LineChart<'a> {
    /// Unique on the page: names the `<title>` for `aria-labelledby`.
    pub id: &'a str,
    /// The chart's title.
    pub title: &'a str,
    /// The y axis' label.
    pub y_label: &'a str,
    /// First and last day numbers shown.
    pub days: (i64, i64),
    /// The lines.
    pub lines: Vec<Line>,
    /// A sentence under the chart (what is derived or unknown).
    pub note: Option<String>,
}

/// One bar.
#[derive(Debug, Clone, PartialEq)]
struct Bar {
    /// Its label on the x axis.
    pub label: String,
    /// Its value; `None` is unknown, drawn as a `?`.
    pub value: Option<i64>,
    /// Where clicking it leads.
    pub href: Option<String>,
}

/// A bar chart.
#[derive(Debug, Clone, PartialEq)]
struct BarChart<'a> {
    /// Unique on the page.
    pub id: &'a str,
    /// The chart's title.
    pub title: &'a str,
    /// The x axis' label.
    pub x_label: &'a str,
    /// The y axis' label.
    pub y_label: &'a str,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
    /// A sentence under the chart.
    pub note: Option<String>,
}

fn open_svg(out: &mut String, id: &str, title: &str, desc: &str) {
    write!(
        out,
        "<svg viewBox=\"0 0 640 240\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" \
         class=\"plot\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(desc)
    )
    .ok();
}

/// The y axis: grid lines, tick numbers and its label; returns the scale.
fn y_axis(out: &mut String, max: i64, label: &str) -> Scale {
    // Counts: at least 0–4, so the ticks are whole numbers.
    let ticks = nice_ticks(0.0, max.max(4) as f64, 4);
    let top = ticks.last().copied().unwrap_or(1.0).max(1.0);
    let y = Scale::new((0.0, top), (H - BOTTOM, TOP));
    out.push_str("<g class=\"axis\">");
    for t in &ticks {
        let ty = px(y.map(*t));
        write!(
            out,
            "<line x1=\"{}\" x2=\"{}\" y1=\"{ty}\" y2=\"{ty}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{ty}\" dy=\"4\" text-anchor=\"end\">{}</text>",
            px(LEFT),
            px(W - RIGHT),
            px(LEFT - 6.0),
            compact(*t)
        )
        .ok();
    }
    write!(
        out,
        "<text class=\"label\" transform=\"rotate(-90)\" x=\"{}\" y=\"12\" text-anchor=\"middle\">{}</text></g>",
        px(-(TOP + (H - BOTTOM - TOP) / 2.0)),
        escape(label)
    )
    .ok();
    y
}

/// Closes the svg, then adds `legend`, the note and the collapsed table.
fn close_figure(out: &mut String, legend: &str, note: Option<&str>, table: &str) {
    out.push_str("</svg>");
    out.push_str(legend);
    if let Some(n) = note {
        write!(out, "<p class=\"muted note\">{}</p>", escape(n)).ok();
    }
    write!(
        out,
        "<details><summary>Data table</summary><div class=\"scroll\">{table}</div></details></figure>"
    )
    .ok();
}

fn value_cell(v: Option<i64>) -> String {
    v.map_or_else(
        || "<td class=\"muted\">–</td>".to_string(),
        |v| format!("<td>{}</td>", grouped(v)),
    )
}

/// A line chart over days: one path per line, a hover column per day with its numbers, and the
/// data table.
fn line_chart(c: &LineChart<'_>) -> String {
    let (from, to) = (c.days.0.min(c.days.1), c.days.0.max(c.days.1));
    let mut out = format!("<figure class=\"chart\" id=\"{}\">", escape(c.id));
    write!(out, "<h3>{}</h3>", escape(c.title)).ok();
    let lines: Vec<&Line> = c.lines.iter().filter(|l| !l.values.is_empty()).collect();
    let desc = if lines.is_empty() {
        "No snapshot in this period yet.".to_string()
    } else {
        format!(
            "{} from {} to {}.",
            lines
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            day_text(from),
            day_text(to)
        )
    };
    open_svg(&mut out, c.id, c.title, &desc);
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().map(|(_, v)| *v))
        .max()
        .unwrap_or(0);
    let y = y_axis(&mut out, max, c.y_label);
    let x = Scale::new((from as f64, to as f64), (LEFT, W - RIGHT));
    // X axis: first, middle and last day.
    out.push_str("<g class=\"axis\">");
    for (d, anchor) in [(from, "start"), ((from + to) / 2, "middle"), (to, "end")] {
        write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            px(x.map(d as f64)),
            px(H - BOTTOM + 16.0),
            day_text(d)
        )
        .ok();
    }
    write!(
        out,
        "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">Day (UTC)</text></g>",
        px(LEFT + (W - RIGHT - LEFT) / 2.0),
        px(H - 4.0)
    )
    .ok();
    if lines.is_empty() {
        write!(
            out,
            "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">No data yet</text>",
            px(W / 2.0),
            px(H / 2.0)
        )
        .ok();
    }
    for (i, l) in lines.iter().enumerate() {
        let pts: Vec<Option<(f64, f64)>> = l
            .values
            .iter()
            .map(|(d, v)| Some((x.map(*d as f64), y.map(*v as f64))))
            .collect();
        let dash = if l.dashed { " dashed" } else { "" };
        write!(
            out,
            "<path class=\"line s{}{dash}\" d=\"{}\"><title>{}</title></path>",
            i % 6,
            line_path(&pts),
            escape(&l.name)
        )
        .ok();
    }
    // Each line's value by day offset in the window: one pass, then lookups by index (a search
    // per day and line would cost days × points on a year-long chart). Days in order without a
    // sort (kilobytes of wasm): those of the window that have data.
    let width = usize::try_from(to - from + 1).unwrap_or(0).min(4000);
    let grid: Vec<Vec<Option<i64>>> = lines
        .iter()
        .map(|l| {
            let mut row = vec![None; width];
            for (d, v) in &l.values {
                if let Some(slot) = usize::try_from(d - from).ok().and_then(|i| row.get_mut(i)) {
                    *slot = Some(*v);
                }
            }
            row
        })
        .collect();
    let days: Vec<i64> = (from..=to)
        .take(width)
        .enumerate()
        .filter(|(i, _)| {
            grid.iter()
                .any(|row| row.get(*i).is_some_and(Option::is_some))
        })
        .map(|(_, d)| d)
        .collect();
    let span = (to - from).max(1) as f64;
    let col = ((W - RIGHT - LEFT) / (span + 1.0)).max(1.0);
    let value_on = |i: usize, d: i64| {
        let at = usize::try_from(d - from).ok()?;
        grid.get(i)?.get(at).copied().flatten()
    };
    for d in &days {
        let mut tip = day_text(*d);
        for (i, l) in lines.iter().enumerate() {
            if let Some(v) = value_on(i, *d) {
                write!(tip, "\n{}: {}", l.name, grouped(v)).ok();
            }
        }
        write!(
            out,
            "<rect class=\"hit\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
            px(x.map(*d as f64) - col / 2.0),
            px(TOP),
            px(col),
            px(H - BOTTOM - TOP),
            escape(&tip)
        )
        .ok();
    }
    // Legend, in the markup order of the lines.
    let mut legend = String::from("<ul class=\"legend\">");
    for (i, l) in lines.iter().enumerate() {
        let dash = if l.dashed { " dashed" } else { "" };
        write!(
            legend,
            "<li><span class=\"key s{}{dash}\"></span>{}</li>",
            i % 6,
            escape(&l.name)
        )
        .ok();
    }
    legend.push_str("</ul>");
    // The table: a row per day, a column per line.
    let mut table = String::from("<table class=\"data\"><thead><tr><th>Day</th>");
    for l in &lines {
        write!(table, "<th>{}</th>", escape(&l.name)).ok();
    }
    table.push_str("</tr></thead><tbody>");
    for d in &days {
        write!(table, "<tr><th scope=\"row\">{}</th>", day_text(*d)).ok();
        for i in 0..lines.len() {
            table.push_str(&value_cell(value_on(i, *d)));
        }
        table.push_str("</tr>");
    }
    table.push_str("</tbody></table>");
    close_figure(&mut out, &legend, c.note.as_deref(), &table);
    out
}

/// A bar chart: each bar has its number on hover, links where it has a target, and `?` where
/// the value is unknown.
fn bar_chart(c: &BarChart<'_>) -> String {
    let mut out = format!("<figure class=\"chart\" id=\"{}\">", escape(c.id));
    write!(out, "<h3>{}</h3>", escape(c.title)).ok();
    let desc = c
        .bars
        .iter()
        .map(|b| {
            format!(
                "{}: {}",
                b.label,
                b.value.map_or_else(|| "unknown".into(), grouped)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    open_svg(&mut out, c.id, c.title, &desc);
    let max = c.bars.iter().filter_map(|b| b.value).max().unwrap_or(0);
    let y = y_axis(&mut out, max, c.y_label);
    let n = c.bars.len().max(1) as f64;
    let slot = (W - RIGHT - LEFT) / n;
    let width = (slot * 0.7).max(1.0);
    let label_every = c.bars.len().div_ceil(7).max(1);
    for (i, b) in c.bars.iter().enumerate() {
        let x0 = LEFT + slot * i as f64 + (slot - width) / 2.0;
        let tip = format!(
            "{}: {}",
            b.label,
            b.value.map_or_else(|| "unknown".into(), grouped)
        );
        let shape = match b.value {
            Some(v) => {
                let top = y.map(v.max(0) as f64);
                format!(
                    "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
                    px(x0),
                    px(top),
                    px(width),
                    px((H - BOTTOM - top).max(0.0)),
                    escape(&tip)
                )
            }
            None => format!(
                "<text class=\"unknown\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">?<title>{}</title></text>",
                px(x0 + width / 2.0),
                px(H - BOTTOM - 4.0),
                escape(&tip)
            ),
        };
        match &b.href {
            Some(href) => write!(out, "<a href=\"{}\">{shape}</a>", escape(href)).ok(),
            None => write!(out, "{shape}").ok(),
        };
        if i % label_every == 0 {
            write!(
                out,
                "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                px(x0 + width / 2.0),
                px(H - BOTTOM + 16.0),
                escape(&b.label)
            )
            .ok();
        }
    }
    write!(
        out,
        "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        px(LEFT + (W - RIGHT - LEFT) / 2.0),
        px(H - 4.0),
        escape(c.x_label)
    )
    .ok();
    let mut table = format!(
        "<table class=\"data\"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(c.x_label),
        escape(c.y_label)
    );
    for b in &c.bars {
        let label = match &b.href {
            Some(h) => format!("<a href=\"{}\">{}</a>", escape(h), escape(&b.label)),
            None => escape(&b.label),
        };
        write!(
            table,
            "<tr><th scope=\"row\">{label}</th>{}</tr>",
            b.value.map_or_else(
                || "<td class=\"muted\">unknown</td>".to_string(),
                |v| format!("<td>{}</td>", grouped(v))
            )
        )
        .ok();
    }
    table.push_str("</tbody></table>");
    close_figure(&mut out, "", c.note.as_deref(), &table);
    out
}

fn days_of(t: &Trends) -> (i64, i64) {
    (
        day_number(&t.from).unwrap_or(0),
        day_number(&t.to).unwrap_or(0),
    )
}

fn line_of(
    name: &str,
    points: &[Point],
    pick: impl Fn(&Point) -> Option<i64>,
    observed: bool,
) -> Line {
    Line {
        name: name.to_string(),
        values: points
            .iter()
            .filter(|p| p.derived != observed)
            .filter_map(|p| Some((day_number(&p.day)?, pick(p)?)))
            .collect(),
        dashed: !observed,
    }
}

fn tracking_note(t: &Trends) -> Option<String> {
    t.tracking_since.as_ref().map(|d| {
        format!(
            "Snapshots began on {d}. Before it, the dashed line is derived from created_at: users \
             created by then that are still known; removals before {d} are unknown."
        )
    })
}

/// Seats over time: active, blocked and removed that day, with the derived count before
/// tracking began.
fn seats_chart(id: &str, title: &str, t: &Trends) -> String {
    let mut lines = vec![
        line_of("Active", &t.tenant, |p| p.active, true),
        line_of("Blocked", &t.tenant, |p| p.blocked, true),
        line_of("Removed that day", &t.tenant, |p| p.removed, true),
    ];
    lines.push(line_of(
        "Created, cumulative (derived)",
        &t.tenant,
        |p| p.seats,
        false,
    ));
    line_chart(&LineChart {
        id,
        title,
        y_label: "Seats",
        days: days_of(t),
        lines,
        note: tracking_note(t),
    })
}

/// Active users in 30 and in 90 days, over time.
fn activity_chart(id: &str, t: &Trends) -> String {
    line_chart(&LineChart {
        id,
        title: "Active users (logged in within 30 and 90 days)",
        y_label: "Users",
        days: days_of(t),
        lines: vec![
            line_of("Active in 30 days", &t.tenant, |p| p.active_30, true),
            line_of("Active in 90 days", &t.tenant, |p| p.active_90, true),
        ],
        note: None,
    })
}

fn week_bars(weeks: &[Week]) -> Vec<Bar> {
    weeks
        .iter()
        .map(|w| Bar {
            label: w.week.get(5..).unwrap_or(&w.week).to_string(), // ok: MM-DD of our own text
            value: w.logins,
            href: None,
        })
        .collect()
}

const WEEK_NOTE: &str = "Weeks start on Monday (UTC); each is the growth of the cumulative login \
     count between the last snapshots before and in it. ? marks a week before tracking or \
     without a snapshot: unknown, not zero.";

/// Logins per week, for the tenant.
fn logins_chart(id: &str, weeks: &[Week]) -> String {
    bar_chart(&BarChart {
        id,
        title: "Logins per week",
        x_label: "Week starting",
        y_label: "Logins",
        bars: week_bars(weeks),
        note: Some(WEEK_NOTE.into()),
    })
}

/// The reclaim curve: seats by days since last login, each bar linking to those users.
fn reclaim_chart(id: &str, t: &Trends) -> String {
    let bars = t
        .reclaim
        .as_ref()
        .map(|r| {
            r.buckets
                .iter()
                .map(|b| Bar {
                    label: b.label.to_string(),
                    value: Some(b.users),
                    href: Some(b.href.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    let note = t.reclaim.as_ref().map(|r| {
        format!(
            "As of the snapshot of {}. Each bar opens the user list filtered to it.",
            r.day
        )
    });
    bar_chart(&BarChart {
        id,
        title: "Reclaim curve: seats by days since last login",
        x_label: "Days since last login",
        y_label: "Seats",
        bars,
        note,
    })
}

/// The largest series (by their last seats), at most [`MAX_LINES`].
fn largest(series: &[Series]) -> Vec<&Series> {
    let size = |x: &Series| x.points.last().and_then(|p| p.seats).unwrap_or(0);
    let mut left: Vec<&Series> = series.iter().collect();
    let mut out = Vec::new();
    // Picked one by one (at most six passes) rather than sorted: no sort code in the wasm.
    while out.len() < MAX_LINES {
        let Some((i, _)) = left
            .iter()
            .enumerate()
            .max_by_key(|(i, x)| (size(x), std::cmp::Reverse(*i)))
        else {
            break;
        };
        out.push(left.remove(i));
    }
    out
}

/// Members over time, one line per organization (the largest).
fn members_chart(id: &str, t: &Trends) -> String {
    let lines = largest(&t.series)
        .into_iter()
        .map(|s| line_of(&s.label, &s.points, |p| p.seats, true))
        .collect();
    let note = (t.series.len() > MAX_LINES).then(|| {
        format!(
            "The {MAX_LINES} largest of {} organizations; /api/trends?by=organization lists all.",
            t.series.len()
        )
    });
    line_chart(&LineChart {
        id,
        title: "Members over time, per organization",
        y_label: "Members",
        days: days_of(t),
        lines,
        note,
    })
}

/// Logins per week, one line per application with tracked usage (the largest).
fn app_logins_chart(id: &str, t: &Trends) -> String {
    let lines = largest(&t.series)
        .into_iter()
        .map(|s| Line {
            name: s.label.clone(),
            values: s
                .logins_per_week
                .iter()
                .filter_map(|w| Some((day_number(&w.week)?, w.logins?)))
                .collect(),
            dashed: false,
        })
        .collect();
    line_chart(&LineChart {
        id,
        title: "Logins per week, per application",
        y_label: "Logins",
        days: days_of(t),
        lines,
        note: Some(WEEK_NOTE.into()),
    })
}

/// The dashboard's trends section: `year` is the tenant over 365 days with organizations,
/// `quarter` over 90 days with applications.
pub fn dashboard_section(year: &Trends, quarter: &Trends) -> String {
    let mut s = String::from("<section id=\"trends\"><h2>Trends</h2>");
    if year.tenant.iter().all(|p| p.derived) && year.reclaim.is_none() {
        s.push_str(
            "<p class=\"muted\">No snapshot yet: the first complete sync takes one. Until then \
             only the seats created before it (derived from created_at) are known.</p>",
        );
    }
    s.push_str("<div class=\"charts\">");
    s.push_str(&seats_chart(
        "chart-seats-90",
        "Seats over time, 90 days",
        quarter,
    ));
    s.push_str(&seats_chart(
        "chart-seats-365",
        "Seats over time, 1 year",
        year,
    ));
    s.push_str(&activity_chart("chart-active", quarter));
    s.push_str(&logins_chart("chart-logins", &quarter.logins_per_week));
    s.push_str(&reclaim_chart("chart-reclaim", year));
    if !year.series.is_empty() {
        s.push_str(&members_chart("chart-members", year));
    }
    if !quarter.series.is_empty() {
        s.push_str(&app_logins_chart("chart-app-logins", quarter));
    }
    s.push_str("</div></section>");
    s
}

#[cfg(test)]
mod tests;
