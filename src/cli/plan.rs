//! `--dry-run`: print the planned calls, their token estimates and a cost estimate,
//! as a table or as JSON, without sending anything.

use super::run::exit_code_for;
use super::{Failure, print_stdout};
use anyhow::anyhow;
use redraft::assemble::dry_run;
use redraft::assemble::dry_run::Plan;
use redraft::config::Config;
use redraft::thought::{CallRole, Mode};
use std::process::ExitCode;

/// Plan the run and print the plan. The exit code is the one the planned run would
/// have (0 unless it would fail; an empty text never gets here: reading the input
/// refuses it).
pub(crate) async fn run(
    mode: Mode,
    input: &str,
    config: &Config,
    json: bool,
) -> Result<ExitCode, Failure> {
    let plan = dry_run::plan(config, mode, input).await?;
    if json {
        let text = serde_json::to_string_pretty(&plan)
            .map_err(|e| Failure::Runtime(anyhow!("cannot serialise the plan: {e}")))?;
        print_stdout(&format!("{text}\n"))?;
    } else {
        print_stdout(&render(&plan))?;
    }
    Ok(exit_code_for(plan.stop_reason))
}

/// The plan as a table, one line per call, then the totals and the assumptions.
pub(crate) fn render(plan: &Plan) -> String {
    let mut out = format!(
        "Dry run: nothing was sent. {} with {}/{}, up to {} iteration(s).\n\n",
        match plan.mode {
            Mode::Improve => "improve",
            Mode::Generate => "generate",
        },
        plan.provider,
        plan.model,
        plan.max_iterations,
    );
    out.push_str(&format!(
        "{:>4}  {:<9} {:<16} {:<24} {:>9} {:>9} {:>11}\n",
        "iter", "call", "critic", "model", "prompt≈", "max out", "cost≈ USD"
    ));
    for c in &plan.calls {
        let role = match c.role {
            CallRole::Draft => "draft",
            CallRole::Critique => "critique",
            CallRole::Revise => "revise",
            CallRole::Judge => "judge",
        };
        out.push_str(&format!(
            "{:>4}  {:<9} {:<16} {:<24} {:>9} {:>9} {:>11}\n",
            c.iteration,
            role,
            c.critic.as_deref().unwrap_or("-"),
            c.model,
            c.prompt_tokens,
            c.max_completion_tokens,
            c.cost_usd.map_or_else(|| "no price".to_owned(), |c| format!("{c:.6}")),
        ));
    }
    let t = &plan.totals;
    out.push_str(&format!(
        "\nTotal: {} call(s) over {} iteration(s); ≈{} prompt + ≤{} completion = ≈{} tokens; ",
        t.calls,
        plan.iterations,
        t.prompt_tokens,
        t.max_completion_tokens,
        t.total_tokens(),
    ));
    out.push_str(&match t.unpriced_calls {
        0 => format!("≈${:.6} at most.\n", t.cost_usd),
        n if n == t.calls => {
            "no cost estimate (no price for the model; see [prices]).\n".to_owned()
        }
        n => format!("≈${:.6} at most, plus {n} call(s) with no price.\n", t.cost_usd),
    });
    if let Some(reason) = plan.stop_reason {
        let detail = plan.stop_detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        out.push_str(&format!("The run would stop: {reason}{detail}.\n"));
    }
    out.push_str("\nAssumptions:\n");
    for a in &plan.assumptions {
        out.push_str(&format!("- {a}\n"));
    }
    out
}
