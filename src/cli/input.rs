//! Reading the text or prompt: an argument, standard input, or a file; UTF-8 only.

use super::Failure;
use anyhow::anyhow;
use std::io::{IsTerminal, Read};
use std::path::Path;

/// The input from `arg` (`-` means stdin), or `file`, or piped stdin.
pub(crate) fn read(arg: Option<&str>, file: Option<&Path>) -> Result<String, Failure> {
    match (arg, file) {
        (Some("-"), _) => stdin(),
        (Some(text), _) => Ok(text.to_owned()),
        (None, Some(path)) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::Usage(anyhow!("cannot read {}: {e}", path.display())))?;
            utf8(bytes, &path.display().to_string())
        }
        (None, None) if !std::io::stdin().is_terminal() => stdin(),
        (None, None) => Err(Failure::Usage(anyhow!(
            "no input: pass the text as an argument, `-` to read standard input, or --file PATH"
        ))),
    }
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
