//! Plain decimal numbers written as text (a setting, an Auth0 header, a lenient field): digits
//! with at most one point.
//!
//! Why not `str::parse::<f64>`: it also takes `inf`, `NaN`, `1e9` and signs, which these inputs
//! must refuse anyway, and it links core's float-parsing tables (about 14 KB of gzipped wasm).

/// Reads `12`, `2.5`, `.5` or `5.`, surrounding whitespace allowed. Anything else (signs,
/// exponents, `inf`, two points, no digits) is `None`, and so is a value too large for an `f64`.
/// The result is within one unit in the last place of the exact value, which is all a rate or a
/// number of seconds needs.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let mut value = 0.0_f64;
    for b in whole.bytes() {
        value = value * 10.0 + f64::from(b - b'0');
    }
    // Seventeen digits carry all an f64 can hold; more only add noise below its precision.
    let mut scale = 1.0_f64;
    let mut part = 0.0_f64;
    for b in fraction.bytes().take(17) {
        part = part * 10.0 + f64::from(b - b'0');
        scale *= 10.0;
    }
    let value = value + part / scale;
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_plain_decimals_exactly_where_std_does() {
        for text in [
            "0", "2", "2.5", "0.1", "2.1", "1000", ".5", "5.", " 3 ", "86400", "0.001", "123.456",
        ] {
            assert_eq!(parse(text), text.trim().parse::<f64>().ok(), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for text in [
            "", " ", ".", "-1", "+1", "1e3", "inf", "NaN", "1.2.3", "0x10", "1,5", "½", "١",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn huge_and_long_inputs_answer_without_overflow() {
        assert_eq!(parse(&"9".repeat(400)), None, "past f64::MAX");
        let long = format!("1.{}", "3".repeat(500));
        let v = parse(&long).unwrap();
        assert!((v - 4.0 / 3.0).abs() < 1e-15, "{v}");
        assert_eq!(
            parse("18446744073709551616"),
            Some(18_446_744_073_709_551_616.0)
        );
    }
}
