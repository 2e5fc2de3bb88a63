//! A newline-delimited JSON decoder (Ollama streams this way): bytes in, in chunks of
//! any size; one JSON value out per complete non-blank line. Lines are split on bytes
//! and decoded only when whole, so a chunk may end inside a UTF-8 character.

/// Incremental decoder state.
#[derive(Debug, Default)]
pub(crate) struct NdjsonDecoder {
    line: Vec<u8>,
}

impl NdjsonDecoder {
    /// Feed bytes; returns the values of the lines they complete (an invalid line is
    /// an `Err` with the parser's message).
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<Result<serde_json::Value, String>> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                parse_line(&line, &mut out);
            } else {
                self.line.push(b);
            }
        }
        out
    }

    /// The end of the stream: a last line without a newline still counts.
    pub(crate) fn finish(&mut self) -> Vec<Result<serde_json::Value, String>> {
        let mut out = Vec::new();
        let line = std::mem::take(&mut self.line);
        parse_line(&line, &mut out);
        out
    }
}

fn parse_line(line: &[u8], out: &mut Vec<Result<serde_json::Value, String>>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    out.push(serde_json::from_slice(line).map_err(|e| e.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn blank_lines_and_crlf_are_fine_and_garbage_is_an_error() {
        let mut d = NdjsonDecoder::default();
        let mut out = d.push(b"{\"a\":1}\r\n\n{\"b\":\"\xc3\xa9\"}\nnot json\n");
        out.extend(d.finish());
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].as_ref().unwrap()["b"], "é");
        assert!(out[2].is_err());
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_values(
            texts in proptest::collection::vec("[a-zé☀ ]{0,12}", 1..6),
            cut in 0usize..300,
        ) {
            let stream: String = texts.iter().map(|t| format!("{}\n", serde_json::json!({"t": t}))).collect();
            let bytes = stream.as_bytes();
            let cut = cut % (bytes.len() + 1);
            let mut d = NdjsonDecoder::default();
            let mut out = d.push(&bytes[..cut]);
            out.extend(d.push(&bytes[cut..]));
            out.extend(d.finish());
            let got: Vec<String> = out.into_iter().map(|v| v.unwrap()["t"].as_str().unwrap().to_owned()).collect();
            prop_assert_eq!(got, texts);
        }
    }
}
