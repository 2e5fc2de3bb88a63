//! Reading the text or prompt: an argument, standard input, or a file; UTF-8 only, and
//! not empty or blank — that is an input error (exit 2) found before any model call.

use super::Failure;
use anyhow::anyhow;
use std::io::{IsTerminal, Read};
use std::path::Path;

/// The input from `arg` (`-` means stdin), or `file`, or piped stdin; `what` (`text
/// to improve`, `prompt`) is how an empty one is named.
pub(crate) fn read(arg: Option<&str>, file: Option<&Path>, what: &str) -> Result<String, Failure> {
    let (text, from) = match (arg, file) {
        (Some("-"), _) => (stdin()?, Some("standard input".to_owned())),
        (Some(text), _) => (text.to_owned(), None),
        (None, Some(path)) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::Usage(anyhow!("cannot read {}: {e}", path.display())))?;
            let name = path.display().to_string();
            (utf8(bytes, &name)?, Some(name))
        }
        (None, None) if !std::io::stdin().is_terminal() => {
            (stdin()?, Some("standard input".to_owned()))
        }
        (None, None) => {
            return Err(Failure::Usage(anyhow!(
                "no input: pass the text as an argument, `-` to read standard input, or --file PATH"
            )));
        }
    };
    if text.trim().is_empty() {
        let blank = (!text.is_empty()).then(|| "only whitespace".to_owned());
        let from = from.map(|f| format!("read from {f}"));
        let notes: Vec<String> = blank.into_iter().chain(from).collect();
        let notes =
            if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
        return Err(Failure::Usage(anyhow!("the {what} is empty{notes}; nothing was sent")));
    }
    Ok(text)
}

fn stdin() -> Result<String, Failure> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::Usage(anyhow!("cannot read standard input: {e}")))?;
    utf8(bytes, "standard input")
}

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Failure::Usage(anyhow!("{what} is not valid UTF-8 (invalid byte at offset {at})"))
    })
}
