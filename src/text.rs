//! Rules for client text that reaches PostgreSQL or goes back out in an HTTP header, shared
//! by both edges (each maps a refusal to its own error: `InvalidArgument` on S3,
//! `validation_error` on the JSON side).
//!
//! Why these two rules: PostgreSQL refuses NUL in `text` and `jsonb` (so a NUL that reaches
//! SQL would be an internal error, not the client's), XML 1.0 cannot carry most C0 characters
//! (a key holding one could never be listed), and a header value holding CR, LF or another
//! control character cannot be sent at all.

/// Whether `s` holds a control character: C0 (NUL, CR, LF, TAB, ...), DEL or C1. None belongs
/// in a name, key, prefix, marker or cursor.
pub fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Whether `s` can be sent as an HTTP header value: no control character but HTAB (RFC 9110
/// `field-value`). Non-ASCII text passes; it is sent as UTF-8 bytes (`obs-text`), or
/// RFC 2047-encoded for user metadata.
pub fn is_header_value(s: &str) -> bool {
    s.chars().all(|c| c == '\t' || !c.is_control())
}

/// `s` with every control character replaced by U+FFFD, for text that is recorded whatever
/// it holds (the audit of presigned requests): it can always be stored and shown.
pub fn scrub(s: &str) -> String {
    if has_control(s) {
        s.chars()
            .map(|c| if c.is_control() { char::REPLACEMENT_CHARACTER } else { c })
            .collect()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_anywhere() {
        for bad in [
            "\0",
            "a\0b",
            "\u{1}",
            "tab\there",
            "cr\r",
            "lf\n",
            "\u{1f}",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            assert!(has_control(bad), "{bad:?}");
        }
        for good in ["", "plain", "ünïcødé/键/🔑", "spaces and + plus", "\u{200b}", "%00"] {
            assert!(!has_control(good), "{good:?}");
        }
    }

    #[test]
    fn header_values_allow_tab_and_text_but_no_other_control() {
        assert!(is_header_value("text/plain; charset=utf-8"));
        assert!(is_header_value("a\tb"));
        assert!(is_header_value("attachment; filename=\"é.pdf\""));
        for bad in ["a\r\nSet-Cookie: x=1", "\n", "\r", "\0", "\u{7f}", "\u{1b}[31m"] {
            assert!(!is_header_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn scrubbing_replaces_only_control_characters() {
        assert_eq!(scrub("a\0b\r\n"), "a\u{FFFD}b\u{FFFD}\u{FFFD}");
        assert_eq!(scrub("ünï/键"), "ünï/键");
    }

    proptest::proptest! {
        /// Whatever passes `is_header_value` is accepted by `http` as a header value, and a
        /// scrubbed string never holds a control character.
        #[test]
        fn header_safe_text_is_sendable(s in proptest::arbitrary::any::<String>()) {
            if is_header_value(&s) {
                proptest::prop_assert!(http::HeaderValue::from_str(&s).is_ok());
            }
            proptest::prop_assert!(!has_control(&scrub(&s)));
        }
    }
}
