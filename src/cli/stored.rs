//! The stored thoughts from the command line: `--store` as configuration keys, and
//! `redraft list`, `show`, `search` and `delete`.

use super::args::{DeleteArgs, SearchArgs, ShowArgs, StoreArgs, StoredListArgs};
use super::{Failure, print_stdout, stderr};
use anyhow::anyhow;
use redraft::config::{Config, Flag, LoadOptions, mask_redis_url};
use redraft::store::{Query, StoreError, Summary, ThoughtStore};
use redraft::thought::{StopReason, Thought};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

/// What `--store` was given as: `memory`, `file:DIR` or `redis://HOST:PORT[/DB]`
/// (`rediss://` too), as the `[store]` keys it sets.
pub(crate) fn flags(spec: &str) -> Result<Vec<Flag>, Failure> {
    let kind = |k: &str| Flag::one("--store", "store.kind", k);
    if spec == "memory" || spec == "none" || spec == "tiered" {
        return Ok(vec![kind(spec)]);
    }
    if let Some(dir) = spec.strip_prefix("file:").filter(|d| !d.is_empty()) {
        return Ok(vec![kind("file"), Flag::one("--store", "store.dir", dir)]);
    }
    let redis = ["redis://", "rediss://"].iter().any(|s| spec.starts_with(s));
    if redis && spec.len() > "redis://".len() {
        return Ok(vec![kind("redis"), Flag::one("--store", "store.url", spec)]);
    }
    Err(Failure::Usage(anyhow!(
        "invalid value `{}` for --store: expected memory, file:DIR, redis://HOST:PORT[/DB] or tiered",
        mask_redis_url(spec)
    )))
}

/// The configured store; a usage error saying how to configure one when there is none.
pub(crate) async fn open(config: &Config) -> Result<Arc<dyn ThoughtStore>, Failure> {
    let store = redraft::assemble::store::open(&config.store).map_err(|e| {
        Failure::Usage(anyhow!("cannot open the store {}: {e}", config.store.describe()))
    })?;
    store.ok_or_else(|| {
        Failure::Usage(anyhow!(
            "no thought store is configured: give --store memory|file:DIR|redis://HOST:PORT[/DB]|tiered, \
             or set [store] kind (and dir or url) in redraft.toml or REDRAFT__STORE__KIND"
        ))
    })
}

/// The one stored id `prefix` names; not found and ambiguous are usage errors.
pub(crate) async fn resolve(store: &dyn ThoughtStore, prefix: &str) -> Result<String, Failure> {
    store.resolve_prefix(prefix).await.map_err(|e| match e {
        StoreError::NotFound(_) | StoreError::Ambiguous { .. } | StoreError::InvalidId(_) => {
            Failure::Usage(e.into())
        }
        e => Failure::Runtime(e.into()),
    })
}

/// The configuration `--store` and `--config` describe, and its store.
async fn store_of(args: &StoreArgs) -> Result<Arc<dyn ThoughtStore>, Failure> {
    let flags = args.store.as_deref().map(flags).transpose()?.unwrap_or_default();
    let opts = LoadOptions { file: args.config.clone(), flags, ..LoadOptions::default() };
    let config = Config::load_with(&opts)?;
    super::print_warnings(&config);
    open(&config).await
}

fn runtime(e: StoreError) -> Failure {
    Failure::Runtime(e.into())
}

/// Up to `limit` summaries matching `query` (every one when `None`), newest first.
async fn collect(
    store: &dyn ThoughtStore,
    query: Option<Query>,
    limit: usize,
) -> Result<Vec<Summary>, Failure> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let want = (limit - items.len()).min(500);
        let page = match &query {
            None => store.list(cursor.as_ref(), want).await.map_err(runtime)?,
            Some(q) => {
                let q = Query { cursor: cursor.clone(), limit: want, ..q.clone() };
                store.search(&q).await.map_err(runtime)?
            }
        };
        for skipped in &page.skipped {
            stderr::line(format_args!(
                "redraft: warning: skipped {}: {}",
                skipped.name, skipped.reason
            ));
        }
        items.extend(page.items);
        match page.next {
            Some(next) if items.len() < limit => cursor = Some(next),
            _ => return Ok(items),
        }
    }
}

/// `redraft list`.
pub(crate) async fn list(args: &StoredListArgs) -> Result<ExitCode, Failure> {
    let store = store_of(&args.store).await?;
    let items =
        if args.limit == 0 { Vec::new() } else { collect(&*store, None, args.limit).await? };
    print_summaries(&items, args.json)
}

/// `redraft search`.
pub(crate) async fn search(args: &SearchArgs) -> Result<ExitCode, Failure> {
    let stop_reason =
        args.stop_reason
            .as_deref()
            .map(|r| {
                serde_json::from_value::<StopReason>(serde_json::Value::String(r.to_owned()))
                    .map_err(|_| {
                        Failure::Usage(anyhow!(
                            "invalid value `{r}` for --stop-reason: expected accepted, \
                         max_iterations, plateau, budget, cancelled or failed"
                        ))
                    })
            })
            .transpose()?;
    let since_ms = args
        .since
        .as_deref()
        .map(|s| {
            parse_time(s).ok_or_else(|| {
                Failure::Usage(anyhow!(
                    "invalid value `{s}` for --since: expected YYYY-MM-DD or an RFC 3339 time \
                     such as 2025-01-31T12:00:00Z"
                ))
            })
        })
        .transpose()?;
    let store = store_of(&args.store).await?;
    let query = Query {
        text: Some(args.query.clone()).filter(|q| !q.is_empty()),
        critic: args.critic.clone(),
        stop_reason,
        since_ms,
        ..Query::default()
    };
    let items = if args.limit == 0 {
        Vec::new()
    } else {
        collect(&*store, Some(query), args.limit).await?
    };
    print_summaries(&items, args.json)
}

/// `redraft delete`.
pub(crate) async fn delete(args: &DeleteArgs) -> Result<ExitCode, Failure> {
    let store = store_of(&args.store).await?;
    let id = resolve(&*store, &args.id).await?;
    if !store.delete(&id).await.map_err(runtime)? {
        return Err(Failure::Usage(anyhow!("no stored thought has the id `{id}`")));
    }
    stderr::line(format_args!("redraft: deleted {id}"));
    Ok(ExitCode::SUCCESS)
}

/// `redraft show`.
pub(crate) async fn show(args: &ShowArgs) -> Result<ExitCode, Failure> {
    let store = store_of(&args.store).await?;
    let id = resolve(&*store, &args.id).await?;
    let thought = store
        .load(&id)
        .await
        .map_err(runtime)?
        .ok_or_else(|| Failure::Usage(anyhow!("no stored thought has the id `{id}`")))?;
    if args.json {
        let mut text = Vec::with_capacity(64 * 1024);
        super::json::to_writer_pretty(&mut text, &thought)
            .map_err(|e| Failure::Runtime(anyhow!("cannot serialise the thought: {e}")))?;
        text.push(b'\n');
        super::write_stdout(&text)?;
    } else {
        print_stdout(&audit(&thought))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summaries(items: &[Summary], json: bool) -> Result<ExitCode, Failure> {
    if json {
        let text = serde_json::to_string_pretty(items)
            .map_err(|e| Failure::Runtime(anyhow!("cannot serialise the list: {e}")))?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        let mut out = String::new();
        for s in items {
            let status = s.stop_reason.map_or_else(
                || format!("unfinished ({})", s.phase.as_str()),
                |r| r.as_str().to_owned(),
            );
            let _ = writeln!(
                out,
                "{}  {}  {:<16}  {} it.  {}  {}",
                s.id,
                format_time(s.created_at_ms),
                status,
                s.iterations,
                s.model,
                one_line(&s.input, 60)
            );
        }
        print_stdout(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `text` on one line, cut to `max` characters with an ellipsis.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The readable audit trail of `t`.
fn audit(t: &Thought) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(o, "thought {} ({}, created {})", t.id, mode(t), format_time(t.created_at_ms));
    match t.stop_reason {
        Some(reason) => {
            let detail = t.stop_detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
            let _ = writeln!(o, "stopped: {reason}{detail}");
            if let Some(phase) = t.resume_from {
                let _ = writeln!(o, "resumable from {}: redraft resume {}", phase.as_str(), t.id);
            }
        }
        None => {
            let _ = writeln!(
                o,
                "unfinished, in phase {}: redraft resume {} continues it",
                t.phase.as_str(),
                t.id
            );
        }
    }
    if let Some(error) = &t.error {
        let _ = writeln!(o, "error: {error}");
    }
    let s = &t.settings;
    let names = |v: Vec<&str>| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
    let _ = writeln!(o, "model: {}/{}", s.provider.kind, s.provider.model);
    let _ = writeln!(o, "critics: {}", names(s.critics.iter().map(|c| c.name.as_str()).collect()));
    let _ = writeln!(
        o,
        "validators: {}",
        names(s.validators.iter().map(|v| v.name.as_str()).collect())
    );
    let u = &t.usage;
    let _ = writeln!(
        o,
        "usage: {} call(s), {} cache hit(s), {} prompt + {} completion tokens, ${:.6}",
        u.calls, u.cache_hits, u.prompt_tokens, u.completion_tokens, u.cost_usd
    );
    let tm = &t.timings;
    let _ = writeln!(
        o,
        "time: {:.0} ms (draft {:.0}, validate {:.0}, critique {:.0}, decide {:.0}, revise {:.0})",
        tm.total_ms, tm.draft_ms, tm.validate_ms, tm.critique_ms, tm.decide_ms, tm.revise_ms
    );
    let _ = writeln!(o, "\n--- input ---\n{}", t.input.trim_end());
    for it in &t.iterations {
        let best = if t.best_iteration == Some(it.index) { " (best)" } else { "" };
        let _ = writeln!(o, "\n=== iteration {}{best} ===\n{}", it.index, it.text.trim_end());
        if !it.validations.is_empty() {
            let _ = writeln!(o, "validators:");
        }
        for v in &it.validations {
            let mark = if v.passed { "pass" } else { "FAIL" };
            let hard = if v.hard { "hard" } else { "soft" };
            let _ = writeln!(
                o,
                "  {mark} {} ({hard}, score {:.2}): {}",
                v.validator, v.score, v.message
            );
        }
        if !it.critiques.is_empty() {
            let _ = writeln!(o, "critiques:");
        }
        for c in &it.critiques {
            let verdict = match (&c.error, c.needs_improvement) {
                (Some(e), _) => format!("error: {e}"),
                (None, true) => "needs improvement".to_owned(),
                (None, false) => "satisfied".to_owned(),
            };
            let _ = writeln!(
                o,
                "  {}: {verdict} (confidence {:.2}): {}",
                c.critic,
                c.confidence,
                c.feedback.trim()
            );
            for suggestion in &c.suggestions {
                let _ = writeln!(o, "    - {suggestion}");
            }
        }
        if let Some(d) = &it.decision {
            let action = serde_json::to_value(d.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let stop = d.stop_reason.map(|r| format!(" ({r})")).unwrap_or_default();
            let _ = writeln!(
                o,
                "decision: {action}{stop}: {} (hard validators {}/{}, critics {}/{} satisfied)",
                d.reason, d.hard_passed, d.hard_total, d.critics_satisfied, d.critics_voting
            );
        }
        if !it.calls.is_empty() {
            let _ = writeln!(o, "calls:");
        }
        for call in &it.calls {
            let role = serde_json::to_value(call.role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let critic = call.critic.as_deref().map(|c| format!(" {c}")).unwrap_or_default();
            let cached = if call.cache_hit { ", cache hit" } else { "" };
            let error = call.error.as_ref().map(|e| format!(", error: {e}")).unwrap_or_default();
            let _ = writeln!(
                o,
                "  {role}{critic} {}/{}: {} + {} tokens, {:.0} ms, attempt {}{cached}{error}",
                call.provider,
                call.model,
                call.prompt_tokens,
                call.completion_tokens,
                call.latency_ms,
                call.attempt
            );
        }
    }
    if let Some(text) = &t.final_text {
        let _ = writeln!(o, "\n--- final text ---\n{}", text.trim_end());
    }
    out
}

fn mode(t: &Thought) -> &'static str {
    match t.mode {
        redraft::thought::Mode::Improve => "improve",
        redraft::thought::Mode::Generate => "generate",
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix milliseconds as `YYYY-MM-DDTHH:MM:SSZ`.
fn format_time(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) as
/// Unix milliseconds.
fn parse_time(text: &str) -> Option<u64> {
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (num(parts.next()?)?, num(parts.next()?)?, num(parts.next()?)?);
    if parts.next().is_some()
        || date.len() != 10
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let mut millis = 0;
    if let Some(time) = time {
        let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
            (clock, 0)
        } else {
            let at = time.rfind(['+', '-'])?;
            let (clock, off) = time.split_at(at);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let (h, mi) = off[1..].split_once(':')?;
            if h.len() != 2 || mi.len() != 2 {
                return None;
            }
            (clock, sign * (num(h)? * 3600 + num(mi)? * 60))
        };
        let (clock, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let mut hms = clock.split(':');
        let (h, mi, s) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
        if hms.next().is_some() || clock.len() != 8 || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        if !frac.is_empty() {
            num(frac)?;
            millis = frac.chars().chain("000".chars()).take(3).collect::<String>().parse().ok()?;
        }
        secs += h * 3600 + mi * 60 + s - offset;
    }
    u64::try_from(secs).ok().map(|s| s * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_print_in_utc() {
        assert_eq!(parse_time("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_time("2025-01-31T12:00:00Z"), Some(1_738_324_800_000));
        assert_eq!(parse_time("2025-01-31T14:00:00.5+02:00"), Some(1_738_324_800_500));
        assert_eq!(format_time(1_738_324_800_000), "2025-01-31T12:00:00Z");
        for bad in
            ["", "2025-1-31", "2025-13-01", "yesterday", "2025-01-31T12:00Z", "2025-01-31T12:00:00"]
        {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn store_specs_become_keys_and_bad_ones_name_the_flag() {
        assert_eq!(flags("memory").ok().map(|f| f.len()), Some(1));
        let f = flags("file:/tmp/x").ok().unwrap_or_default();
        assert_eq!(f[1].key, "store.dir");
        let f = flags("redis://127.0.0.1:6379/2").ok().unwrap_or_default();
        assert_eq!(f[1].key, "store.url");
        for bad in ["", "file:", "tiered?", "http://x", "redis://"] {
            let Err(Failure::Usage(e)) = flags(bad) else { panic!("{bad} accepted") };
            assert!(e.to_string().contains("--store"), "{e}");
        }
        let Err(Failure::Usage(e)) = flags("mysql://u:secret@h") else { panic!() };
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
