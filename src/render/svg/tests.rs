//! The drawing primitives: round numbers, empty and single inputs, huge values, reversed domains.

use super::*;

#[test]
fn a_scale_maps_linearly_and_flips_with_a_reversed_domain_or_range() {
    let s = Scale::new((0.0, 100.0), (200.0, 0.0));
    assert_eq!(s.map(0.0), 200.0);
    assert_eq!(s.map(100.0), 0.0);
    assert_eq!(s.map(25.0), 150.0);
    let r = Scale::new((100.0, 0.0), (0.0, 200.0));
    assert_eq!(r.map(25.0), 150.0);
    // Outside the domain: clamped onto the chart.
    assert_eq!(s.map(-50.0), 200.0);
    assert_eq!(s.map(1e30), 0.0);
    // An empty domain maps to the middle; non-finite input stays finite.
    let flat = Scale::new((5.0, 5.0), (0.0, 10.0));
    assert_eq!(flat.map(5.0), 5.0);
    assert_eq!(flat.map(f64::NAN), 5.0);
    assert!(s.map(f64::NAN).is_finite());
    assert!(
        Scale::new((f64::NAN, f64::INFINITY), (0.0, 1.0))
            .map(1.0)
            .is_finite()
    );
}

#[test]
fn ticks_are_round_and_cover_the_domain() {
    assert_eq!(
        nice_ticks(0.0, 100.0, 5),
        vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    );
    assert_eq!(nice_ticks(0.0, 97.0, 4), vec![0.0, 50.0, 100.0]);
    assert_eq!(
        nice_ticks(0.0, 3200.0, 4),
        vec![0.0, 1000.0, 2000.0, 3000.0, 4000.0]
    );
    assert_eq!(nice_ticks(0.0, 7.0, 4), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    // Reversed ends, and a negative span.
    assert_eq!(nice_ticks(100.0, 0.0, 5), nice_ticks(0.0, 100.0, 5));
    assert_eq!(
        nice_ticks(-10.0, 10.0, 4),
        vec![-10.0, -5.0, 0.0, 5.0, 10.0]
    );
    // Equal ends: one tick. Nothing non-finite comes out.
    assert_eq!(nice_ticks(3.0, 3.0, 5), vec![3.0]);
    assert_eq!(nice_ticks(f64::NAN, f64::NAN, 5), vec![0.0]);
    assert_eq!(nice_ticks(0.0, 10.0, 0), vec![0.0, 10.0]);
    assert_eq!(nice_step(0.0), 0.0);
    assert_eq!(nice_step(-3.0), 0.0);
    assert_eq!(nice_step(0.3), 0.5);
}

#[test]
fn huge_values_stay_finite_and_bounded() {
    let max = u64::MAX as f64;
    let ticks = nice_ticks(0.0, max, 4);
    assert!(ticks.len() >= 2 && ticks.len() <= 13, "{ticks:?}");
    assert!(ticks.iter().all(|t| t.is_finite()));
    assert!(*ticks.last().unwrap() >= max);
    let ticks = nice_ticks(f64::MAX / 2.0, f64::MAX, 4);
    assert!(!ticks.is_empty() && ticks.len() <= 13);
    assert!(ticks.iter().all(|t| t.is_finite()));
    let s = Scale::new((0.0, max), (0.0, 100.0));
    assert_eq!(s.map(max), 100.0);
    assert_eq!(compact(max), "18E");
    assert_eq!(compact(f64::NAN), "0");
    assert_eq!(px(f64::INFINITY), "0");
}

#[test]
fn numbers_read_well() {
    assert_eq!(compact(950.0), "950");
    assert_eq!(compact(1200.0), "1,200");
    assert_eq!(compact(12_000.0), "12k");
    assert_eq!(compact(3_400_000.0), "3.4M");
    assert_eq!(compact(-2_000_000.0), "-2.0M");
    assert_eq!(grouped(1_234_567), "1,234,567");
    assert_eq!(grouped(-1000), "-1,000");
    assert_eq!(grouped(i64::MIN), "-9,223,372,036,854,775,808");
    assert_eq!(px(1.25), "1.3");
    assert_eq!(px(3.0), "3");
}

#[test]
fn paths_break_at_gaps_and_show_lone_points() {
    assert_eq!(line_path(&[]), "");
    assert_eq!(line_path(&[None, None]), "");
    assert_eq!(line_path(&[Some((1.0, 2.0))]), "M1 2h0.1");
    assert_eq!(
        line_path(&[Some((0.0, 0.0)), Some((10.0, 5.5)), None, Some((20.0, 1.0))]),
        "M0 0L10 5.5M20 1h0.1"
    );
}
