//! Writing JSON text straight into a byte buffer, for the texts built on every model
//! call (a request body, the cache key): strings escaped eight bytes at a time, and a
//! small object writer, with no intermediate `serde_json::Value`.
//!
//! The output is byte for byte what `serde_json` writes for the same values, so a
//! text written here and one written by `serde_json::to_vec` are interchangeable
//! (the cache key depends on it).

use serde::Serialize;

/// `s` as a JSON string, quotes included, escaped exactly as `serde_json` escapes it:
/// `"` and `\` with a backslash, `\b \t \n \f \r` by name, other control characters
/// as `\u00XX` (lowercase hex), everything else — non-ASCII included — as it is.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Plain bytes are copied in runs; `start` is where the current run began.
    let mut start = 0;
    while let Some(at) = next_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..at]);
        match escape(bytes[at]) {
            &[a, b] => out.extend_from_slice(&[a, b]),
            long => out.extend_from_slice(long),
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The first byte at or after `from` that needs escaping. Sixteen bytes at a time,
/// then eight, then one by one; a mask's lowest set bit marks the first such byte.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<16>) {
        let pair = u128::from_le_bytes(*chunk);
        let (low, high) = (escape_mask(pair as u64), escape_mask((pair >> 64) as u64));
        if low | high != 0 {
            let (word, mask) = if low != 0 { (i, low) } else { (i + 8, high) };
            return Some(word + (mask.trailing_zeros() / 8) as usize);
        }
        i += 16;
    }
    if let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let mask = escape_mask(u64::from_le_bytes(*chunk));
        if mask != 0 {
            return Some(i + (mask.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes.get(i..)?.iter().position(|&b| !escape(b).is_empty()).map(|at| i + at)
}

/// The high bit of each byte of `word` (little-endian) that is below 0x20, a `"` or a
/// `\`, by the classic "has a byte less than n" and "has a zero byte" bit tricks. Bytes
/// above the first such byte may be marked wrongly, so only the lowest mark is exact
/// (which is all [`next_escape`] reads); zero means none.
///
/// Each trick is `(x - n) & !x & HIGH` for some `x`; here `x` is `word`, or `word` with
/// `"` or `\` xored out of every byte, and as those have no high bit, `!x` has the
/// high bits of `!word` in all three: one `& !word` serves them all.
fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20);
    let quote = (word ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
    let backslash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    (below_space | quote | backslash) & !word & HIGH
}

/// The escape of one byte, or nothing when it stands for itself.
fn escape(byte: u8) -> &'static [u8] {
    const CONTROL: [&[u8]; 32] = [
        b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006",
        b"\\u0007", b"\\b", b"\\t", b"\\n", b"\\u000b", b"\\f", b"\\r", b"\\u000e", b"\\u000f",
        b"\\u0010", b"\\u0011", b"\\u0012", b"\\u0013", b"\\u0014", b"\\u0015", b"\\u0016",
        b"\\u0017", b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c", b"\\u001d",
        b"\\u001e", b"\\u001f",
    ];
    match byte {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        0..=0x1f => CONTROL[usize::from(byte)],
        _ => b"",
    }
}

/// `value` as `serde_json` writes it (compact).
pub(crate) fn push_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing a string, a number, an option of one or a `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, value);
}

/// A JSON object being written: `{`, then one `"key":value` per member, then `}`.
pub(crate) struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    /// Open an object in `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Start the member `key` (plain ASCII, nothing to escape) and return the buffer
    /// for its value, which the caller must write.
    pub(crate) fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// The member `key` with the string `value`.
    pub(crate) fn str(&mut self, key: &str, value: &str) {
        push_str(self.key(key), value);
    }

    /// The member `key` with `value` as `serde_json` writes it.
    pub(crate) fn value<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        push_value(self.key(key), value);
    }

    /// Close the object.
    pub(crate) fn end(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        push_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        for s in [
            "",
            "plain",
            "exactly8",
            "sixteen bytes!!!",
            "a \"quoted\" back\\slash",
            "tab\there\nnew line\r\n\u{8}\u{c}\u{1}\u{1f}\u{7f}",
            "é ünïcødé ⟦text⟧ 🦀 \"\u{0}\"",
            every_ascii.as_str(),
        ] {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn an_escape_is_found_at_every_position_of_every_chunk() {
        // Neighbours just above each class's bound, and multi-byte characters, so a
        // borrow or a high bit in another byte cannot hide or fake a mark.
        for fill in [" ", "!", "#", "[", "]", "\u{7f}", "é", "~"] {
            for len in 0..40 {
                for at in 0..len {
                    for special in ["\"", "\\", "\n", "\u{0}", "\u{1f}", "\u{8}"] {
                        let s: String =
                            (0..len).map(|i| if i == at { special } else { fill }).collect();
                        assert_eq!(ours(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in any::<String>()) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn mostly_plain_strings_too(s in "[ -~\\n\\t\"\\\\é]{0,80}") {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn objects_have_commas_between_members() {
        let mut out = Vec::new();
        let mut object = Object::new(&mut out);
        object.str("a", "x\"y");
        object.value("b", &[1, 2]);
        object.value("c", &None::<u32>);
        object.end();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":"x\"y","b":[1,2],"c":null}"#);
        let mut out = Vec::new();
        Object::new(&mut out).end();
        assert_eq!(out, b"{}");
    }
}
