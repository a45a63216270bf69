//! Unicode lower case, for search text and search queries.
//!
//! On wasm the runtime's `String.prototype.toLowerCase` does it; natively Rust's
//! `str::to_lowercase` (the same Unicode mapping). Why: Rust's brings its case tables, about 8 KB
//! of gzipped wasm, for a job the runtime already does. Stored text and queries are both lowered
//! on the same side, so they always agree.

/// `text` in lower case. ASCII text never leaves Rust.
pub fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    #[cfg(target_arch = "wasm32")]
    {
        worker::js_sys::JsString::from(text).to_lower_case().into()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        text.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::lowercase;

    #[test]
    fn lowers_ascii_and_unicode() {
        assert_eq!(lowercase("Ann@Example.COM"), "ann@example.com");
        assert_eq!(lowercase("ÅSTRÖM"), "åström");
        // Final sigma, as both Rust and JS write it.
        assert_eq!(lowercase("ΟΔΟΣ"), "\u{3bf}\u{3b4}\u{3bf}\u{3c2}");
        assert_eq!(lowercase(""), "");
    }
}
