//! Small wording helpers shared by the validators, so every message reads the same way
//! ("1 word", "2 words", "'a', 'b' and 'c'").

/// `n` followed by the singular or plural noun: `1 word`, `3 words`.
pub(crate) fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// `1 time`, `2 times`.
pub(crate) fn times(n: usize) -> String {
    count(n, "time", "times")
}

/// Items quoted and joined for prose: `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`.
pub(crate) fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|t| format!("'{t}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// `text` cut to at most `max` characters, with `…` when cut.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(quoted_list(&[]), "");
        assert_eq!(quoted_list(&["a".into()]), "'a'");
        assert_eq!(quoted_list(&["a".into(), "b".into()]), "'a' and 'b'");
        assert_eq!(quoted_list(&["a".into(), "b".into(), "c".into()]), "'a', 'b' and 'c'");
        assert_eq!(count(1, "word", "words"), "1 word");
        assert_eq!(times(0), "0 times");
        assert_eq!(snippet("héllo wörld", 5), "héllo…");
        assert_eq!(snippet("short", 5), "short");
    }
}
